#include "mock_domain.h"

#include <cerrno>
#include <new>

#include "../ioasid/io_address_space.h"

namespace ciommu {

long MockDomain::map(uint64_t iova, const ProcessRef&, uint64_t vaddr, uint64_t length, uint32_t prot) {
    return map(iova, vaddr, length, prot);
}

long MockDomain::map(uint64_t iova, uint64_t vaddr, uint64_t length, uint32_t prot) {
    if (!in_aperture(iova) || !in_aperture(iova + (length - 1)))
        return -EINVAL;  // the IOAS reserves the rest: never reached
    const uint64_t bits = kValid | ((prot & kProtRead) ? kRead : 0) | ((prot & kProtWrite) ? kWrite : 0);
    uint64_t done = 0;
    try {
        while (done < length) {
            // A 1 MiB entry where the device has them and both addresses
            // and the rest of the range allow (iommu_map's page size pick).
            const bool huge = huge_iova_ && ((iova + done) | (vaddr + done)) % kHugePageSize == 0 &&
                              length - done >= kHugePageSize;
            const uint64_t step = huge ? kHugePageSize : kIoPageSize;
            for (uint64_t at = 0; at < step; at += kIoPageSize)
                ptes_.set(index(iova + done + at), (vaddr + done + at) | bits | (huge ? kHuge : 0));
            done += step;
            mapped_pages_ += step / kIoPageSize;
        }
    } catch (const std::bad_alloc&) {
        unmap(iova, length);
        return -ENOMEM;
    }
    return 0;
}

void MockDomain::unmap(uint64_t iova, uint64_t length) noexcept {
    for (uint64_t at = 0; at < length; at += kIoPageSize) {
        if (in_aperture(iova + at) && ptes_.get(index(iova + at))) {
            ptes_.set(index(iova + at), 0);  // clearing never allocates
            --mapped_pages_;
        }
    }
}

std::optional<MockDomain::Entry> MockDomain::lookup(uint64_t iova) const {
    if (!in_aperture(iova))
        return std::nullopt;
    const uint64_t pte = ptes_.get(index(iova));
    if (!pte)
        return std::nullopt;
    const uint32_t prot = ((pte & kRead) ? uint32_t{kProtRead} : 0u) | ((pte & kWrite) ? uint32_t{kProtWrite} : 0u);
    return Entry{pte & ~(kIoPageSize - 1), prot, (pte & kHuge) != 0, (pte & kDirty) != 0};
}

void MockDomain::mark_dirty(uint64_t iova) noexcept {
    if (!in_aperture(iova))
        return;
    if (const uint64_t pte = ptes_.get(index(iova)))
        ptes_.set(index(iova), pte | kDirty);
}

bool MockDomain::test_and_clear_dirty(uint64_t iova, bool keep, uint64_t* entry_size) noexcept {
    const uint64_t pte = in_aperture(iova) ? ptes_.get(index(iova)) : 0;
    const uint64_t size = (pte & kHuge) ? kHugePageSize : kIoPageSize;
    *entry_size = size;
    const uint64_t head = iova & ~(size - 1);
    bool dirty = false;
    for (uint64_t at = head; pte && at < head + size; at += kIoPageSize) {
        const uint64_t entry = ptes_.get(index(at));
        if (!(entry & kDirty))
            continue;
        dirty = true;
        if (!keep)
            ptes_.set(index(at), entry & ~kDirty);
    }
    return dirty;
}

}  // namespace ciommu
