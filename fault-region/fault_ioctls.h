// The fault-region commands (fault_ioctls.cpp). Each receives arguments the
// dispatcher has already checked (argsz, flags, reserved fields) and runs
// with the model lock held unless its row says otherwise
// (dispatcher/command_table.cpp).
#pragma once

struct iommu_device_fault;
struct iommu_fault_eventfd;
struct iommu_page_response;
struct iommu_fault_region_info;
struct iommu_sim_inject_fault;

namespace ciommu {

struct CallEnv;  // core/call_env.h

long ioctl_device_fault_register(CallEnv& env, const iommu_device_fault& req);
long ioctl_device_fault_unregister(CallEnv& env, const iommu_device_fault& req);
long ioctl_fault_set_eventfd(CallEnv& env, const iommu_fault_eventfd& req);
long ioctl_page_response(CallEnv& env, const iommu_page_response& req);
long ioctl_fault_region_info(CallEnv& env, iommu_fault_region_info& info);
long ioctl_sim_inject_fault(CallEnv& env, const iommu_sim_inject_fault& req);

}  // namespace ciommu
