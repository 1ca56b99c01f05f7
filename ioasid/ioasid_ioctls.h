// The IOASID commands (ioasid_ioctls.cpp). Each receives arguments the
// dispatcher has already checked (argsz, flags, reserved fields) and runs
// with the model lock held unless its row says otherwise
// (dispatcher/command_table.cpp).
#pragma once

struct iommu_ioasid_alloc;
struct iommu_ioasid_free;
struct iommu_map_dma;
struct iommu_unmap_dma;
struct iommu_invalidate_cache;
struct iommu_dirty_tracking;

namespace ciommu {

struct CallEnv;  // core/call_env.h

long ioctl_ioasid_alloc(CallEnv& env, const iommu_ioasid_alloc& req);
long ioctl_ioasid_free(CallEnv& env, const iommu_ioasid_free& req);
long ioctl_map_dma(CallEnv& env, const iommu_map_dma& req);
long ioctl_unmap_dma(CallEnv& env, iommu_unmap_dma& req);
long ioctl_invalidate_cache(CallEnv& env, const iommu_invalidate_cache& req);
long ioctl_dirty_tracking(CallEnv& env, const iommu_dirty_tracking& req);  // dirty_ioctls.cpp

}  // namespace ciommu
