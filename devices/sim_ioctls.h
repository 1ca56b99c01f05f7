// The simulation commands of devices: DMA and mdev pins (sim_ioctls.cpp).
// Each receives arguments the dispatcher has already checked (argsz, flags,
// reserved fields) and runs with the model lock held unless its row says
// otherwise (dispatcher/command_table.cpp).
#pragma once

namespace ciommu {

struct CallEnv;  // core/call_env.h

long ioctl_sim_dma(CallEnv& env);
long ioctl_sim_dma_status(CallEnv& env);
long ioctl_sim_mdev_pin(CallEnv& env);
long ioctl_sim_mdev_unpin(CallEnv& env);

}  // namespace ciommu
