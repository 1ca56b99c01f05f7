// The device commands (device_ioctls.cpp). Each receives arguments the
// dispatcher has already checked (argsz, flags, reserved fields) and runs
// with the model lock held unless its row says otherwise
// (dispatcher/command_table.cpp).
#pragma once

namespace ciommu {

struct CallEnv;  // core/call_env.h

long ioctl_device_bind(CallEnv& env);
long ioctl_device_unbind(CallEnv& env);
long ioctl_device_get_info(CallEnv& env);
long ioctl_device_attach(CallEnv& env);
long ioctl_device_detach(CallEnv& env);

}  // namespace ciommu
