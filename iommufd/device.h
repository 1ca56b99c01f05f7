// A device bound to the context (iommufd_device): the id a caller names it
// by in HWPT_ALLOC and GET_HW_INFO, and the page table it is attached to.
// Its driver holds it (one user) until the driver unbinds it: DESTROY of
// its id is EBUSY.
#pragma once

#include <cstdint>
#include <map>

#include "../devices/bound_device.h"  // kNoPasid
#include "object_table.h"

namespace ciommu {

struct Device final : IommufdObject {
    static constexpr ObjectKind kKind = ObjectKind::kDevice;
    static constexpr unsigned kMock = ~0u;
    explicit Device(uint32_t flags, unsigned topology_index = kMock)
        : IommufdObject(kKind), mock_flags(flags), topology(topology_index) {
        users = 1;
    }

    const uint32_t mock_flags;  // MOCK_FLAGS_DEVICE_*
    // A topology device (CUSE_IOMMUFD_DEVICE_BIND): its index in the
    // topology, and it is bound in the RFC model's device table under
    // its id as cookie (topology_device.h).  kMock: the selftest's.
    const unsigned topology;
    uint32_t hwpt_id = 0;       // the page table attached; 0: none
    // A topology device's PASIDs: the page table each is attached to.
    std::map<uint32_t, uint32_t> pasid_hwpts;

    bool is_topology() const { return topology != kMock; }
    // The page table the whole device (kNoPasid) or a PASID is attached
    // to; 0: none.
    uint32_t hwpt_at(uint32_t key) const {
        if (key == kNoPasid)
            return hwpt_id;
        auto it = pasid_hwpts.find(key);
        return it == pasid_hwpts.end() ? 0 : it->second;
    }
};

}  // namespace ciommu
