// Hardware page tables.  A paging one (iommufd_hwpt_paging) is a mock
// domain on an IOAS, filled from the IOAS's areas; an automatic one (made
// when a device attaches to an IOAS directly) goes away with its last
// device.  A nested one (iommufd_hwpt_nested) is a stage-1 table the
// caller manages over a NEST_PARENT paging one: the mock keeps only the
// IOTLB entries HWPT_INVALIDATE acts on.  Devices attached are users of
// either; a nested one is a user of its parent.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "mock_domain.h"
#include "object_table.h"
#include "topology_domain.h"

namespace ciommu {


struct HwptPaging final : IommufdObject {
    static constexpr ObjectKind kKind = ObjectKind::kHwptPaging;
    HwptPaging(uint32_t ioas, std::unique_ptr<IoDomain> io_domain);
    ~HwptPaging() override;

    const uint32_t ioas_id;
    const std::unique_ptr<IoDomain> domain;  // a MockDomain or a TopologyDomain
    bool auto_domain = false;  // made by an attach to the IOAS
    bool nest_parent = false;  // IOMMU_HWPT_ALLOC_NEST_PARENT

    MockDomain* mock() const { return domain->mock(); }
    // A topology device's domain, or nullptr (the mock's).
    TopologyDomain* topology() const;
};

struct IommufdCtx;
struct Ioas;
class PinLedger;

struct PagingOptions {
    std::unique_ptr<IoDomain> topology_domain{};  // a topology device's; else a mock one
    bool huge_iova = false;    // the device has MOCK_FLAGS_DEVICE_HUGE_IOVA
    bool dirty_ops = false;    // IOMMU_HWPT_ALLOC_DIRTY_TRACKING
    bool nest_parent = false;  // IOMMU_HWPT_ALLOC_NEST_PARENT
    bool auto_domain = false;  // made by an attach to the IOAS
};

// iommufd_hwpt_paging_alloc: a paging page table on the IOAS, its domain
// attached to the IOAS at once (the IOAS gains a user).  0, or -errno with
// nothing made: ENOSPC (the context's objects), ENOMEM, and what
// IoPagetable::add_domain gives.
long alloc_hwpt_paging(IommufdCtx& ictx, PinLedger& ledger, Ioas& ioas, PagingOptions options,
                       HwptPaging*& out);

struct HwptNested final : IommufdObject {
    static constexpr ObjectKind kKind = ObjectKind::kHwptNested;
    HwptNested(uint32_t parent, uint32_t iotlb_value) : IommufdObject(kKind), parent_id(parent) {
        iotlb.fill(iotlb_value);
    }

    const uint32_t parent_id;
    std::array<uint32_t, 4> iotlb;  // mock_iommu_domain_nested's
    uint32_t fault_id = 0;          // HWPT_ALLOC's FAULT_ID_VALID: the queue its faults go to
    // IOMMU_HWPT_DATA_VTD_S1 over a topology domain: the RFC model's
    // user-managed space; nullptr: the mock's.
    std::unique_ptr<TopologyStage1> stage1;
    uint32_t stage1_ioasid() const;
    ~HwptNested() override;
};

}  // namespace ciommu
