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
    const uint64_t first_page = req.iova >> kPageShift, last_page = last >> kPageShift;
    if (pages_.find_first(first_page, last_page) || iopf_overlaps(first_page, last_page))
        return -EEXIST;
    return 0;
}

long IoAddressSpace::owner_index(const ProcessRef& process) {
    for (size_t i = 0; i < owners_.size(); ++i) {
        if (owners_[i].process == process)
            return static_cast<long>(i);
    }
    for (size_t i = 0; i < owners_.size(); ++i) {  // reuse a slot nobody uses
        if (owners_[i].refs == 0) {
            owners_[i].process = process;
            return static_cast<long>(i);
        }
    }
    if (owners_.size() > 0xffff)
        return -ENOSPC;
    try {
        owners_.push_back({process, 0});
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
    return static_cast<long>(owners_.size() - 1);
}

void IoAddressSpace::drop_owner_ref(uint32_t index) {
    Owner& owner = owners_[index];
    if (--owner.refs == 0)
        owner.process.reset();  // the process is not held by an empty slot
}

long IoAddressSpace::insert(const MapRequest& req) {
    const long owner = owner_index(req.owner);
    if (owner < 0)
        return owner;
    const uint64_t npages = req.size >> kPageShift;
    const uint64_t first = req.iova >> kPageShift;
    // Whatever can run out of memory comes first, while nothing has changed.
    bool stored = false;
    if (req.iopf) {
        try {
            iopf_.emplace(first, IopfRange{first + npages - 1, req.vaddr, static_cast<uint32_t>(owner), req.prot});
            stored = true;
        } catch (const std::bad_alloc&) {
        }
    } else {
        stored = pages_.reserve(first, npages);
    }
    if (!stored) {
        if (owners_[owner].refs == 0)
            owners_[owner].process.reset();  // a slot taken for this mapping
        return -ENOMEM;
    }
    mapped_pages_ += npages;
    ++mapping_count_;
    if (req.iopf) {
        ++owners_[owner].refs;
        return 0;
    }
    uint64_t flags = kValid | kPinned;
    flags |= (req.prot & kProtRead) ? kRead : 0;
    flags |= (req.prot & kProtWrite) ? kWrite : 0;
    flags |= static_cast<uint64_t>(owner) << kOwnerShift;
    for (uint64_t i = 0; i < npages; ++i) {
        uint64_t pte = flags | ((req.vaddr + i * kPageSize) & kVaMask);
        pte |= (i == 0) ? kStart : 0;
        pte |= (i == npages - 1) ? kEnd : 0;
        pages_.set(first + i, pte);
    }
    owners_[owner].refs += npages;
    return 0;
}

std::map<uint64_t, IoAddressSpace::IopfRange>::const_iterator IoAddressSpace::iopf_at(uint64_t page) const {
    auto it = iopf_.upper_bound(page);
    if (it == iopf_.begin())
        return iopf_.end();
    --it;
    return it->second.last >= page ? it : iopf_.end();
}

bool IoAddressSpace::iopf_overlaps(uint64_t first, uint64_t last) const {
    if (iopf_at(first) != iopf_.end())
        return true;
    auto next = iopf_.upper_bound(first);
    return next != iopf_.end() && next->first <= last;
}

bool IoAddressSpace::cuts_iopf(uint64_t first, uint64_t last) const {
    auto head = iopf_at(first);
    if (head != iopf_.end() && head->first < first)
        return true;
    auto tail = iopf_at(last);
    return tail != iopf_.end() && tail->second.last > last;
}

uint64_t IoAddressSpace::remove_iopf_ranges(uint64_t first, uint64_t last) {
    uint64_t removed = 0;
    for (auto it = iopf_.lower_bound(first); it != iopf_.end() && it->second.last <= last;) {
        removed += it->second.last - it->first + 1;
        --mapping_count_;
        drop_owner_ref(it->second.owner);
        it = iopf_.erase(it);
    }
    return removed;
}

std::optional<PageTarget> IoAddressSpace::lookup(uint64_t iova) const {
    if (iova >= kApertureEnd)
        return std::nullopt;
    const uint64_t page = iova >> kPageShift;
    if (const uint64_t pte = pages_.get(page)) {
        uint32_t prot = 0;
        prot |= (pte & kRead) ? uint32_t{kProtRead} : 0u;
        prot |= (pte & kWrite) ? uint32_t{kProtWrite} : 0u;
        return PageTarget{(pte & kVaMask) | (iova & (kPageSize - 1)), owner_of(pte), prot, (pte & kPinned) != 0};
    }
    auto range = iopf_at(page);
    if (range == iopf_.end())
        return std::nullopt;
    const uint64_t offset = iova - (range->first << kPageShift);
    return PageTarget{range->second.vaddr + offset, owners_[range->second.owner].process.get(), range->second.prot,
                      false};
}

long IoAddressSpace::fault_in(uint64_t iova) {
    const uint64_t page = iova >> kPageShift;
    auto range = iopf_at(page);
    if (range == iopf_.end() || pages_.get(page))
        return 0;
    if (!pages_.reserve(page, 1))
        return -ENOMEM;
    const IopfRange& r = range->second;
    uint64_t pte = kValid | kPinned | kIopf | (static_cast<uint64_t>(r.owner) << kOwnerShift);
    pte |= (r.prot & kProtRead) ? kRead : 0;
    pte |= (r.prot & kProtWrite) ? kWrite : 0;
    pte |= (r.vaddr + ((page - range->first) << kPageShift)) & kVaMask;
    pages_.set(page, pte);
    ++owners_[r.owner].refs;
    return 0;
}

long IoAddressSpace::check_fits(uint64_t aperture_end, const std::vector<IovaRange>& reserved) const {
    const uint64_t limit = PageRadix<uint64_t>::kPageLimit - 1;
    if (aperture_end < kApertureEnd &&
        (pages_.find_first(aperture_end >> kPageShift, limit) || iopf_overlaps(aperture_end >> kPageShift, limit)))
        return -ERANGE;
    for (const IovaRange& range : reserved) {
        const uint64_t first = range.start >> kPageShift, last = std::min(range.last >> kPageShift, limit);
        if (pages_.find_first(first, last) || iopf_overlaps(first, last))
            return -EADDRINUSE;
    }
    return 0;
}

void IoAddressSpace::check(std::vector<std::string>& problems, const std::string& where) const {
    auto fail = [&](const std::string& what) { problems.push_back(where + ": " + what); };
    std::vector<uint64_t> refs(owners_.size(), 0);
    uint64_t starts = 0, pinned_pages = 0;
    bool in_mapping = false;
    pages_.for_each(0, PageRadix<uint64_t>::kPageLimit - 1, [&](uint64_t page, uint64_t pte) {
        const uint64_t owner = pte >> kOwnerShift;
        if (owner >= owners_.size() || !owners_[owner].process) {
            fail("page " + std::to_string(page) + " names owner slot " + std::to_string(owner) + ", which is empty");
            return;
        }
        ++refs[owner];
        if (pte & kIopf) {
            if (iopf_at(page) == iopf_.end())
                fail("faulted-in page " + std::to_string(page) + " lies in no IOPF mapping");
            return;
        }
        ++pinned_pages;
        if (!(pte & kPinned))
            fail("page " + std::to_string(page) + " of a pinned mapping is not pinned");
        if ((pte & kStart) == in_mapping)
            fail("page " + std::to_string(page) + ": mapping start/end bits out of step");
        starts += (pte & kStart) != 0;
        in_mapping = !(pte & kEnd);
    });
    uint64_t iopf_pages = 0, last_end = 0;
    for (const auto& [first, range] : iopf_) {
        if (range.last < first || (first < last_end && last_end != 0))
            fail("IOPF mapping at page " + std::to_string(first) + " is empty or overlaps another");
        if (range.owner >= owners_.size() || !owners_[range.owner].process)
            fail("IOPF mapping at page " + std::to_string(first) + " names an empty owner slot");
        else
            ++refs[range.owner];
        iopf_pages += range.last - first + 1;
        last_end = range.last + 1;
    }
    for (size_t i = 0; i < owners_.size(); ++i) {
        if (owners_[i].refs != refs[i])
            fail("owner slot " + std::to_string(i) + " counts " + std::to_string(owners_[i].refs) + " uses, has " +
                 std::to_string(refs[i]));
        if (owners_[i].refs == 0 && owners_[i].process)
            fail("owner slot " + std::to_string(i) + " holds a process nobody uses");
    }
    if (mapping_count_ != starts + iopf_.size())
        fail("mapping_count " + std::to_string(mapping_count_) + " != " + std::to_string(starts + iopf_.size()));
    if (mapped_pages_ != pinned_pages + iopf_pages)
        fail("mapped pages " + std::to_string(mapped_pages_) + " != " + std::to_string(pinned_pages + iopf_pages));
}

}  // namespace ciommu
