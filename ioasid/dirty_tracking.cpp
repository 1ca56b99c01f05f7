// Dirty tracking of a kernel-managed address space (IOMMU_DIRTY_TRACKING):
// a bit in each page-table entry, set when a device writes the page while
// tracking is on, read (and cleared) into the user's bitmap.  Only pages
// with an entry can be dirty: an IOPF page gets one when first touched.
#include "io_address_space.h"

namespace ciommu {

void IoAddressSpace::set_dirty_tracking(bool on) noexcept {
    if (on) {
        // Entries exist already: rewriting one allocates nothing.
        pages_.for_each(0, PageRadix<uint64_t>::kPageLimit - 1, [&](uint64_t page, uint64_t pte) {
            if (pte & kDirty)
                pages_.set(page, pte & ~kDirty);
            return true;
        });
    }
    dirty_tracking_ = on;
}

void IoAddressSpace::mark_dirty(uint64_t page) noexcept {
    if (!dirty_tracking_ || page >= PageRadix<uint64_t>::kPageLimit)
        return;
    if (const uint64_t pte = pages_.get(page); pte && !(pte & kDirty))
        pages_.set(page, pte | kDirty);
}

bool IoAddressSpace::fully_mapped(uint64_t first_page, uint64_t last_page) const {
    if (last_page >= PageRadix<uint64_t>::kPageLimit)
        return false;
    for (uint64_t page = first_page; page <= last_page;) {
        if (auto range = iopf_at(page); range != iopf_.end()) {
            if (range->second.last >= last_page)
                return true;
            page = range->second.last + 1;
        } else if (pages_.get(page)) {
            ++page;
        } else {
            return false;
        }
    }
    return true;
}

void IoAddressSpace::collect_dirty(uint64_t first_page, uint64_t last_page, std::vector<uint64_t>& out) const {
    pages_.for_each(first_page, last_page, [&](uint64_t page, uint64_t pte) {
        if (pte & kDirty)
            out.push_back(page);
        return true;
    });
}

void IoAddressSpace::set_dirty(std::span<const uint64_t> pages, bool dirty) noexcept {
    for (uint64_t page : pages) {
        if (const uint64_t pte = pages_.get(page))
            pages_.set(page, dirty ? pte | kDirty : pte & ~kDirty);
    }
}

}  // namespace ciommu
