// The IOASID commands: allocate and free address spaces, map and unmap,
// invalidate cached translations of user-managed ones.
#include "ioasid_ioctls.h"

#include <cerrno>
#include <mutex>

#include "../core/call_env.h"
#include "../core/caller.h"
#include "../core/context.h"
#include "../core/model.h"
#include "cuse-iommu.h"
#include "ioasid_ops.h"

namespace ciommu {

long ioctl_ioasid_alloc(CallEnv& env, const iommu_ioasid_alloc& req) {
    // Only an identity space needs to know whose address space it mirrors.
    const ProcessRef owner = (req.flags & IOMMU_IOASID_IDENTITY) ? env.caller_process() : nullptr;
    std::lock_guard guard(env.model.lock());
    return alloc_ioasid(env.ctx, req, owner);
}

long ioctl_ioasid_free(CallEnv& env, const iommu_ioasid_free& req) {
    return free_ioasid(env.model, env.ctx, req.ioasid);
}

// Checked under the lock, probed without it (the caller's memory may be
// slow: it stalls only this call), then checked again and mapped.
long ioctl_map_dma(CallEnv& env, const iommu_map_dma& req) {
    const uint32_t prot = req.flags & (IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE);
    MapRequest map{req.iova, req.size, req.vaddr, prot, nullptr, (req.flags & IOMMU_MAP_DMA_IOPF) != 0};
    {
        std::lock_guard guard(env.model.lock());
        if (long err = check_map_dma(env.ctx, req.ioasid, map))
            return err;
    }
    // Like VFIO's pinning at MAP time: refuse memory the caller does not have.
    if (!map.iopf && env.caller.probe_memory(req.vaddr, req.size))
        return -EFAULT;
    map.owner = env.caller_process();
    if (!map.owner)
        return -EFAULT;
    std::lock_guard guard(env.model.lock());
    return map_dma(env.model, env.ctx, req.ioasid, map);
}

long ioctl_unmap_dma(CallEnv& env, iommu_unmap_dma& req) {
    const long long unmapped = unmap_dma(env.model, env.ctx, req.ioasid, req.iova, req.size,
                                         req.flags & IOMMU_UNMAP_DMA_ALL);
    if (unmapped < 0)
        return static_cast<long>(unmapped);
    req.size = static_cast<uint64_t>(unmapped);
    return 0;
}

long ioctl_invalidate_cache(CallEnv& env, const iommu_invalidate_cache& req) {
    const IoAddressSpace* space = env.ctx.ioasids.find(req.ioasid);
    if (!space)
        return -ENOENT;
    constexpr uint32_t kAllCaches = IOMMU_INV_CACHE_IOTLB | IOMMU_INV_CACHE_DEVTLB | IOMMU_INV_CACHE_PASID;
    if (space->kind() != IoasKind::kUserPgtable || req.cache == 0 || (req.cache & ~kAllCaches))
        return -EINVAL;
    uint64_t first = 0, last = ~uint64_t{0};
    std::optional<uint32_t> pasid;
    switch (req.granularity) {
    case IOMMU_INV_GRAN_ALL:
        break;
    case IOMMU_INV_GRAN_RANGE:
        if ((req.addr | req.size) & (kPageSize - 1) || req.size == 0 || req.addr + (req.size - 1) < req.addr)
            return -EINVAL;
        first = req.addr >> kPageShift;
        last = (req.addr + (req.size - 1)) >> kPageShift;
        [[fallthrough]];
    case IOMMU_INV_GRAN_PASID:
        pasid = req.pasid;  // IOMMU_INV_PASID_RID == kNoPasid: the whole-device attachment
        break;
    default:
        return -EINVAL;
    }
    // The model caches only final translations (IOTLB/devTLB alike) and
    // walks the user's PASID-less table fresh on a miss, so every cache type
    // comes down to dropping IOTLB entries.
    env.model.iotlb().flush_stage1(space, pasid, first, last);
    return 0;
}

}  // namespace ciommu
