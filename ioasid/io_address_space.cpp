#include "io_address_space.h"

namespace ciommu {
namespace {

bool page_aligned(uint64_t v) { return (v & (kPageSize - 1)) == 0; }

// True if [start, start+size) is non-empty and does not wrap past 2^64.
bool valid_range(uint64_t start, uint64_t size) {
    return size != 0 && start + (size - 1) >= start;
}

bool intersects(const std::vector<IovaRange>& ranges, uint64_t start, uint64_t last) {
    return std::any_of(ranges.begin(), ranges.end(),
                       [&](const IovaRange& r) { return r.start <= last && start <= r.last; });
}

}  // namespace

long IoAddressSpace::check_map(const MapRequest& req) const {
    if (req.prot == 0 || (req.prot & ~uint32_t{kProtRead | kProtWrite}) != 0)
        return -EINVAL;
    if (!page_aligned(req.iova) || !page_aligned(req.size) || !page_aligned(req.vaddr))
        return -EINVAL;
    if (!valid_range(req.iova, req.size) || !valid_range(req.vaddr, req.size))
        return -EINVAL;
    const uint64_t last = req.iova + (req.size - 1);
    if (last >= aperture_end_ || req.vaddr + (req.size - 1) > kVaMask + (kPageSize - 1))
        return -EINVAL;
    if (intersects(reserved_, req.iova, last))
        return -EADDRINUSE;
    if (pages_.find_first(req.iova >> kPageShift, last >> kPageShift))
        return -EEXIST;
    return 0;
}

long IoAddressSpace::owner_index(pid_t pid) {
    for (size_t i = 0; i < owners_.size(); ++i) {
        if (owners_[i].pid == pid)
            return static_cast<long>(i);
    }
    for (size_t i = 0; i < owners_.size(); ++i) {  // reuse a slot nobody uses
        if (owners_[i].pages == 0) {
            owners_[i].pid = pid;
            return static_cast<long>(i);
        }
    }
    if (owners_.size() > 0xffff)
        return -ENOSPC;
    owners_.push_back({pid, 0});
    return static_cast<long>(owners_.size() - 1);
}

void IoAddressSpace::drop_owner_page(uint64_t pte) {
    --owners_[pte >> kOwnerShift].pages;
}

long IoAddressSpace::insert(const MapRequest& req) {
    const long owner = owner_index(req.pid);
    if (owner < 0)
        return owner;
    const uint64_t npages = req.size >> kPageShift;
    const uint64_t first = req.iova >> kPageShift;
    uint64_t flags = kValid | (req.iopf ? 0 : kPinned);
    flags |= (req.prot & kProtRead) ? kRead : 0;
    flags |= (req.prot & kProtWrite) ? kWrite : 0;
    flags |= static_cast<uint64_t>(owner) << kOwnerShift;
    for (uint64_t i = 0; i < npages; ++i) {
        uint64_t pte = flags | ((req.vaddr + i * kPageSize) & kVaMask);
        pte |= (i == 0) ? kStart : 0;
        pte |= (i == npages - 1) ? kEnd : 0;
        pages_.set(first + i, pte);
    }
    owners_[owner].pages += npages;
    mapped_pages_ += npages;
    ++mapping_count_;
    return 0;
}

std::optional<PageTarget> IoAddressSpace::lookup(uint64_t iova) const {
    if (iova >= kApertureEnd)
        return std::nullopt;
    const uint64_t pte = pages_.get(iova >> kPageShift);
    if (!pte)
        return std::nullopt;
    uint32_t prot = 0;
    prot |= (pte & kRead) ? uint32_t{kProtRead} : 0u;
    prot |= (pte & kWrite) ? uint32_t{kProtWrite} : 0u;
    return PageTarget{(pte & kVaMask) | (iova & (kPageSize - 1)), owner_pid(pte), prot, (pte & kPinned) != 0};
}

void IoAddressSpace::mark_pinned(uint64_t iova) {
    const uint64_t page = iova >> kPageShift;
    if (const uint64_t pte = pages_.get(page))
        pages_.set(page, pte | kPinned);
}

long IoAddressSpace::check_fits(uint64_t aperture_end, const std::vector<IovaRange>& reserved) const {
    if (aperture_end < kApertureEnd &&
        pages_.find_first(aperture_end >> kPageShift, PageRadix<uint64_t>::kPageLimit - 1))
        return -ERANGE;
    for (const IovaRange& range : reserved) {
        if (pages_.find_first(range.start >> kPageShift, range.last >> kPageShift))
            return -EADDRINUSE;
    }
    return 0;
}

}  // namespace ciommu
