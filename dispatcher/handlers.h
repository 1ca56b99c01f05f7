// Every command handler, grouped by the object kind that owns it.  Each
// receives arguments the dispatcher has already checked (argsz, flags,
// reserved fields) and runs with the model lock held.
#pragma once

#include "command_table.h"

namespace ciommu {

// dispatcher/version_ioctls.cpp
long ioctl_get_api_version(CallEnv& env);
long ioctl_check_extension(CallEnv& env);

// dispatcher/stats_ioctls.cpp
long ioctl_get_stats(CallEnv& env);
long ioctl_sim_daemon_stats(CallEnv& env);

// ioasid/ioasid_ioctls.cpp
long ioctl_ioasid_alloc(CallEnv& env);
long ioctl_ioasid_free(CallEnv& env);
long ioctl_map_dma(CallEnv& env);
long ioctl_unmap_dma(CallEnv& env);
long ioctl_invalidate_cache(CallEnv& env);

// devices/device_ioctls.cpp
long ioctl_device_bind(CallEnv& env);
long ioctl_device_unbind(CallEnv& env);
long ioctl_device_get_info(CallEnv& env);
long ioctl_device_attach(CallEnv& env);
long ioctl_device_detach(CallEnv& env);

// fault-region/fault_ioctls.cpp
long ioctl_device_fault_register(CallEnv& env);
long ioctl_device_fault_unregister(CallEnv& env);
long ioctl_fault_set_eventfd(CallEnv& env);
long ioctl_page_response(CallEnv& env);
long ioctl_fault_region_info(CallEnv& env);
long ioctl_sim_inject_fault(CallEnv& env);

// devices/sim_ioctls.cpp
long ioctl_sim_dma(CallEnv& env);
long ioctl_sim_dma_status(CallEnv& env);
long ioctl_sim_mdev_pin(CallEnv& env);
long ioctl_sim_mdev_unpin(CallEnv& env);

}  // namespace ciommu
