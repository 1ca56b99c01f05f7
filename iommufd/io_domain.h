// What an IOAS's io_pagetable needs of a paging domain attached to it
// (iommufd's iommu_domain, as iopt_table_add_domain uses it): the page
// sizes, the IOVAs it can translate, and map/unmap of whole areas.  Two
// kinds: the selftest's MockDomain (mock_domain.h) and a topology device's
// TopologyDomain (topology_domain.h), which is the RFC model's
// kernel-managed address space so that simulated devices translate
// through it.
#pragma once

#include <cstdint>
#include <vector>

#include "../ioasid/iova_range.h"
#include "../ioasid/process.h"

namespace ciommu {

class MockDomain;

class IoDomain {
public:
    IoDomain() = default;
    virtual ~IoDomain() = default;
    IoDomain(const IoDomain&) = delete;
    IoDomain& operator=(const IoDomain&) = delete;

    // The IOMMU page sizes it maps with (the kernel's pgsize_bitmap): the
    // lowest is the IOAS's alignment while it is attached.
    virtual uint64_t pgsize_bitmap() const = 0;
    // The IOVAs it translates: the IOAS reserves the rest while attached.
    virtual IovaRange aperture() const = 0;
    // Ranges inside the aperture no area may meet (an IOMMU's reserved
    // and MSI regions: iopt_table_enforce_dev_resv_regions).
    virtual std::vector<IovaRange> reserved_regions() const { return {}; }
    // Maps [iova, iova + length) of one area to owner's [vaddr, ...).  0,
    // or -ENOMEM with nothing mapped.
    virtual long map(uint64_t iova, const ProcessRef& owner, uint64_t vaddr, uint64_t length, uint32_t prot) = 0;
    // Unmaps what map() mapped at iova (a whole area).
    virtual void unmap(uint64_t iova, uint64_t length) noexcept = 0;
    // Whether an area it holds may be cut in two (VFIO type1's unmap
    // inside a mapping): a domain that keeps areas whole cannot.
    virtual bool cuttable() const { return true; }
    // Allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING (domain->dirty_ops).
    virtual bool dirty_ops() const { return false; }

    // The selftest's mock domain, or nullptr (MD_CHECK_MAP, dirty bits).
    virtual MockDomain* mock() { return nullptr; }
    const MockDomain* mock() const { return const_cast<IoDomain*>(this)->mock(); }
};

}  // namespace ciommu
