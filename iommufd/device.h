// A device bound to the context (iommufd_device): the id a caller names it
// by in HWPT_ALLOC and GET_HW_INFO, and the page table it is attached to.
// Its driver holds it (one user) until the driver unbinds it: DESTROY of
// its id is EBUSY.
#pragma once

#include <cstdint>

#include "object_table.h"

namespace ciommu {

struct Device final : IommufdObject {
    static constexpr ObjectKind kKind = ObjectKind::kDevice;
    explicit Device(uint32_t flags) : IommufdObject(kKind), mock_flags(flags) { users = 1; }

    const uint32_t mock_flags;  // MOCK_FLAGS_DEVICE_*
    uint32_t hwpt_id = 0;       // the page table attached; 0: none
};

}  // namespace ciommu
