// iommu_ctx of the RFC: the state of one open of /dev/iommu -- its IOASID
// table and its device table (bound devices by cookie) -- and, under the
// iommufd profile, iommufd_ctx's objects.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <sys/types.h>

#include "../devices/bound_device.h"
#include "../devices/dma_engine.h"
#include "../fault-region/fault_region.h"
#include "../ioasid/ioasid_table.h"
#include "../iommufd/iommufd_ctx.h"
#include "cuse-iommu.h"

namespace ciommu {

struct Context {
    Context(uint64_t context_id, pid_t opener_pid) : id(context_id), opener(opener_pid) {}

    const uint64_t id;  // daemon-wide, never reused while the daemon runs
    const pid_t opener;
    IoasidTable ioasids{IOMMU_IOASID_MAX};
    std::map<uint64_t, std::unique_ptr<BoundDevice>> devices;  // by cookie
    uint64_t iotlb_hits = 0;
    uint64_t iotlb_misses = 0;
    FaultRegion faults;
    std::map<uint64_t, DmaJob> dmas;  // stalled, or finished and not yet asked about
    uint64_t next_dma_id = 1;
    uint64_t next_binding = 1;  // BoundDevice::binding
    uint32_t next_grpid = 1;  // page request group ids, unique in the context
    IommufdCtx iommufd;  // the iommufd profile's objects (cuse-iommu --abi iommufd)

    BoundDevice* find_device(uint64_t cookie) {
        auto it = devices.find(cookie);
        return it == devices.end() ? nullptr : it->second.get();
    }
};

}  // namespace ciommu
