// The simulation commands of devices: DMA and mdev pins (sim_ioctls.cpp).
// Each receives arguments the dispatcher has already checked (argsz, flags,
// reserved fields) and runs with the model lock held unless its row says
// otherwise (dispatcher/command_table.cpp).
#pragma once

struct iommu_sim_dma;
struct iommu_sim_dma_status;
struct iommu_sim_mdev_pin;

namespace ciommu {

struct CallEnv;  // core/call_env.h

long ioctl_sim_dma(CallEnv& env, iommu_sim_dma& req);
long ioctl_sim_dma_status(CallEnv& env, iommu_sim_dma_status& req);
long ioctl_sim_mdev_pin(CallEnv& env, const iommu_sim_mdev_pin& req);
long ioctl_sim_mdev_unpin(CallEnv& env, const iommu_sim_mdev_pin& req);

}  // namespace ciommu
