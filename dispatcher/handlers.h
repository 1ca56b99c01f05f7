// Every command handler, grouped by the object kind that owns it: the
// model folders declare theirs beside their code; the dispatcher's own
// (version, stats) are declared here.
#pragma once

#include "../devices/device_ioctls.h"
#include "../devices/sim_ioctls.h"
#include "../fault-region/fault_ioctls.h"
#include "../ioasid/ioasid_ioctls.h"
#include "command_table.h"
#include "cuse-iommu.h"

namespace ciommu {

// dispatcher/version_ioctls.cpp
long ioctl_get_api_version(CallEnv& env);
long ioctl_check_extension(CallEnv& env);

// dispatcher/stats_ioctls.cpp
long ioctl_get_stats(CallEnv& env, iommu_stats& stats);
long ioctl_sim_daemon_stats(CallEnv& env, iommu_sim_daemon_stats& stats);

}  // namespace ciommu
