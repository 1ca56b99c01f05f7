// The fault-region commands (fault_ioctls.cpp). Each receives arguments the
// dispatcher has already checked (argsz, flags, reserved fields) and runs
// with the model lock held unless its row says otherwise
// (dispatcher/command_table.cpp).
#pragma once

namespace ciommu {

struct CallEnv;  // core/call_env.h

long ioctl_device_fault_register(CallEnv& env);
long ioctl_device_fault_unregister(CallEnv& env);
long ioctl_fault_set_eventfd(CallEnv& env);
long ioctl_page_response(CallEnv& env);
long ioctl_fault_region_info(CallEnv& env);
long ioctl_sim_inject_fault(CallEnv& env);

}  // namespace ciommu
