// The iommufd profile's command handlers (its rows: dispatcher/
// iommufd_table.cpp).  Each follows the kernel function of the same job in
// drivers/iommu/iommufd/ (named beside it); docs/iommufd.md lists where
// they differ.
#pragma once

#include <cstdint>
#include <functional>
#include <linux/vfio.h>
#include <optional>

#include "cuse-iommu-iommufd.h"
#include "object_table.h"

namespace ciommu {

struct CallEnv;  // core/call_env.h
struct IommufdCtx;

// main.c
long ioctl_iommufd_destroy(CallEnv& env, const iommu_destroy& cmd);
// Marks object `id` as made by this call: if the caller cannot take the
// answer it is destroyed again (iommufd_object_abort_and_destroy).
void created_object(CallEnv& env, uint32_t id);
long ioctl_iommufd_option(CallEnv& env, iommu_option& cmd);
// ioas.c
long ioctl_ioas_alloc(CallEnv& env, iommu_ioas_alloc& cmd);
long ioctl_ioas_map(CallEnv& env, iommu_ioas_map& cmd);
// What IOAS_MAP and VFIO_IOMMU_MAP_DMA map.
struct UserMap {
    uint64_t uptr, length;
    uint64_t iova;   // in, or out when allocate
    uint32_t prot;   // kProtRead | kProtWrite
    bool allocate;   // pick the IOVA
};
// Maps into the IOAS ioas_id, or (compat) the VFIO compatibility IOAS
// (ENODEV without one).  Self-locked.
long map_user_pages(CallEnv& env, uint32_t ioas_id, bool compat, UserMap& map);
// Runs op with the model lock held, after probing without it the memory a
// first domain on pt_id would pin (ProbeSpan in io_pagetable.h).  For the
// commands that attach domains: MOCK_DOMAIN, MOCK_DOMAIN_REPLACE,
// HWPT_ALLOC.
// dev_id: the device the domain is for (0: a mock device not made yet).
long with_first_domain_probed(CallEnv& env, uint32_t pt_id, uint32_t dev_id, const std::function<long()>& op);
long ioctl_ioas_copy(CallEnv& env, iommu_ioas_copy& cmd);
long ioctl_ioas_unmap(CallEnv& env, iommu_ioas_unmap& cmd);
long ioctl_ioas_iova_ranges(CallEnv& env, iommu_ioas_iova_ranges& cmd);
long ioctl_ioas_allow_iovas(CallEnv& env, const iommu_ioas_allow_iovas& cmd);
long ioas_option(IommufdCtx& ictx, iommu_option& cmd);
// hw_pagetable.c
long ioctl_hwpt_alloc(CallEnv& env, iommu_hwpt_alloc& cmd);
long ioctl_hwpt_set_dirty_tracking(CallEnv& env, const iommu_hwpt_set_dirty_tracking& cmd);
long ioctl_hwpt_get_dirty_bitmap(CallEnv& env, const iommu_hwpt_get_dirty_bitmap& cmd);
long ioctl_hwpt_invalidate(CallEnv& env, iommu_hwpt_invalidate& cmd);
// device.c
long ioctl_get_hw_info(CallEnv& env, iommu_hw_info& cmd);
// vfio_compat.c: IOMMU_VFIO_IOAS, and the VFIO type1 value commands
long ioctl_vfio_ioas(CallEnv& env, iommu_vfio_ioas& cmd);
long ioctl_vfio_get_api_version(CallEnv& env);
long ioctl_vfio_check_extension(CallEnv& env);
long ioctl_vfio_set_iommu(CallEnv& env);
long ioctl_vfio_iommu_get_info(CallEnv& env, vfio_iommu_type1_info& cmd);
long ioctl_vfio_map_dma(CallEnv& env, const vfio_iommu_type1_dma_map& cmd);
long ioctl_vfio_unmap_dma(CallEnv& env, vfio_iommu_type1_dma_unmap& cmd);
// fault.c: IOMMU_FAULT_QUEUE_ALLOC, answered through an object file
long ioctl_fault_queue_alloc(CallEnv& env, iommu_fault_alloc& cmd);
// cuse-iommu's CUSE_IOMMUFD_OBJECT_FD_CALL: names the command the
// dispatcher then runs with the object file (CallEnv::forward_cmd).
long ioctl_object_fd_call(CallEnv& env, const cuse_iommufd_object_fd_call& cmd);
// For the commands that answer an fd: the id of the caller's unbound
// object file that env.object_file names, else 0 (EBADF); and binding it.
uint64_t claim_object_file(CallEnv& env);
void bind_object_file(CallEnv& env, uint64_t file_id, uint32_t object_id, ObjectKind kind);
// cuse-iommu's topology devices (topology_device_ioctls.cpp): VFIO cdev's
// BIND_IOMMUFD and [AT|DE]TACH_IOMMUFD_PT, and the device's DMA.
long ioctl_topology_device_bind(CallEnv& env, cuse_iommufd_device_bind& cmd);
long ioctl_topology_device_unbind(CallEnv& env, const cuse_iommufd_device_unbind& cmd);
long ioctl_topology_device_attach(CallEnv& env, cuse_iommufd_device_attach& cmd);
long ioctl_topology_device_detach(CallEnv& env, const cuse_iommufd_device_attach& cmd);
long ioctl_topology_device_dma(CallEnv& env, cuse_iommufd_device_dma& cmd);
long ioctl_topology_device_dma_status(CallEnv& env, cuse_iommufd_dma_status& cmd);
// A software mdev's (emulated_device_ioctls.cpp): the pins of its vendor
// driver; its ATTACH (self-locked) and DMA (self-locked) when dev_id is
// one, else nullopt.
long ioctl_emulated_device_pin(CallEnv& env, const cuse_iommufd_device_pin& cmd);
long ioctl_emulated_device_unpin(CallEnv& env, const cuse_iommufd_device_pin& cmd);
std::optional<long> attach_if_emulated(CallEnv& env, cuse_iommufd_device_attach& cmd);
std::optional<long> dma_if_emulated(CallEnv& env, cuse_iommufd_device_dma& cmd);
// selftest.c: the mock driver's IOMMU_TEST_CMD
long ioctl_iommufd_test(CallEnv& env, iommu_test_cmd& cmd);
// Its access operations (selftest_access.cpp); self-locked too.
long selftest_access_op(CallEnv& env, iommu_test_cmd& cmd);

}  // namespace ciommu
