// A paging hardware page table (iommufd_hwpt_paging): a mock domain on an
// IOAS, filled from the IOAS's areas.  Devices attached to it are its
// users.  An automatic one (made when a device attaches to an IOAS
// directly) goes away with its last device.
#pragma once

#include <cstdint>

#include "mock_domain.h"
#include "object_table.h"

namespace ciommu {

struct HwptPaging final : IommufdObject {
    static constexpr ObjectKind kKind = ObjectKind::kHwptPaging;
    HwptPaging(uint32_t ioas, bool huge_iova, bool dirty_ops)
        : IommufdObject(kKind), ioas_id(ioas), domain(huge_iova, dirty_ops) {}

    const uint32_t ioas_id;
    MockDomain domain;
    bool auto_domain = false;  // made by an attach to the IOAS
    bool nest_parent = false;  // IOMMU_HWPT_ALLOC_NEST_PARENT
};

}  // namespace ciommu
