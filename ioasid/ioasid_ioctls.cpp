// The IOASID commands: allocate and free address spaces, map and unmap.
#include <cerrno>

#include "../dispatcher/caller.h"
#include "../dispatcher/context.h"
#include "../dispatcher/handlers.h"
#include "cuse-iommu.h"
#include "user_memory.h"

namespace ciommu {

long ioctl_ioasid_alloc(CallEnv& env) {
    return env.ctx.ioasids.alloc();
}

long ioctl_ioasid_free(CallEnv& env) {
    const auto& req = *static_cast<const iommu_ioasid_free*>(env.args);
    return env.ctx.ioasids.free(req.ioasid);
}

long ioctl_map_dma(CallEnv& env) {
    const auto& req = *static_cast<const iommu_map_dma*>(env.args);
    IoAddressSpace* space = env.ctx.ioasids.find(req.ioasid);
    if (!space)
        return -ENOENT;
    const MapRequest map{req.iova, req.size, req.vaddr, req.flags, env.caller.tgid()};
    if (long err = space->check_map(map))
        return err;
    // Like VFIO's pinning at MAP time: refuse memory the caller does not have.
    if (long err = probe_user_range(map.pid, map.vaddr, map.size))
        return err == -ESRCH ? -EFAULT : err;
    space->insert(map);
    return 0;
}

long ioctl_unmap_dma(CallEnv& env) {
    auto& req = *static_cast<iommu_unmap_dma*>(env.args);
    IoAddressSpace* space = env.ctx.ioasids.find(req.ioasid);
    if (!space)
        return -ENOENT;
    if (req.flags & IOMMU_UNMAP_DMA_ALL) {
        if (req.iova != 0 || req.size != 0)
            return -EINVAL;
        req.size = space->unmap_all();
        return 0;
    }
    const long long unmapped = space->unmap(req.iova, req.size);
    if (unmapped < 0)
        return static_cast<long>(unmapped);
    req.size = static_cast<uint64_t>(unmapped);
    return 0;
}

}  // namespace ciommu
