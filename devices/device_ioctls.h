// The device commands (device_ioctls.cpp). Each receives arguments the
// dispatcher has already checked (argsz, flags, reserved fields) and runs
// with the model lock held unless its row says otherwise
// (dispatcher/command_table.cpp).
#pragma once

struct iommu_device_bind;
struct iommu_device_unbind;
struct iommu_device_info;
struct iommu_device_attach;
struct iommu_device_detach;

namespace ciommu {

struct CallEnv;  // core/call_env.h

long ioctl_device_bind(CallEnv& env, const iommu_device_bind& req);
long ioctl_device_unbind(CallEnv& env, const iommu_device_unbind& req);
long ioctl_device_get_info(CallEnv& env, iommu_device_info& req);
long ioctl_device_attach(CallEnv& env, const iommu_device_attach& req);
long ioctl_device_detach(CallEnv& env, const iommu_device_detach& req);

}  // namespace ciommu
