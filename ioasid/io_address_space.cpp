#include "io_address_space.h"

#include <cerrno>

namespace ciommu {
namespace {

bool page_aligned(uint64_t v) { return (v & (kPageSize - 1)) == 0; }

// True if [start, start+size) is non-empty and does not wrap past 2^64.
bool valid_range(uint64_t start, uint64_t size) {
    return size != 0 && start + (size - 1) >= start;
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
    if (last >= kApertureEnd)
        return -EINVAL;
    if (overlaps(req.iova, last))
        return -EEXIST;
    return 0;
}

void IoAddressSpace::insert(const MapRequest& req) {
    mappings_.emplace(req.iova, Mapping{req.size, req.vaddr, req.pid, req.prot});
    mapped_bytes_ += req.size;
}

bool IoAddressSpace::overlaps(uint64_t iova, uint64_t last) const {
    // The only candidates are the last mapping starting at or before `last`.
    auto it = mappings_.upper_bound(last);
    if (it == mappings_.begin())
        return false;
    --it;
    return it->first + (it->second.size - 1) >= iova;
}

const Mapping* IoAddressSpace::find(uint64_t iova, uint64_t* mapping_iova) const {
    auto it = mappings_.upper_bound(iova);
    if (it == mappings_.begin())
        return nullptr;
    --it;
    if (iova - it->first >= it->second.size)
        return nullptr;
    if (mapping_iova)
        *mapping_iova = it->first;
    return &it->second;
}

long long IoAddressSpace::unmap(uint64_t iova, uint64_t size) {
    if (!page_aligned(iova) || !page_aligned(size) || !valid_range(iova, size))
        return -EINVAL;
    const uint64_t last = iova + (size - 1);

    // Refuse before removing anything if either end cuts through a mapping.
    uint64_t first_iova = 0;
    if (const Mapping* m = find(iova, &first_iova); m && first_iova != iova)
        return -EINVAL;
    if (const Mapping* m = find(last, &first_iova); m && first_iova + (m->size - 1) != last)
        return -EINVAL;

    uint64_t unmapped = 0;
    auto it = mappings_.lower_bound(iova);
    while (it != mappings_.end() && it->first <= last) {
        unmapped += it->second.size;
        it = mappings_.erase(it);
    }
    mapped_bytes_ -= unmapped;
    return static_cast<long long>(unmapped);
}

uint64_t IoAddressSpace::unmap_all() {
    const uint64_t unmapped = mapped_bytes_;
    mappings_.clear();
    mapped_bytes_ = 0;
    return unmapped;
}

}  // namespace ciommu
