// cuse-iommu's own commands for topology devices on the iommufd profile
// (uapi/cuse-iommu-iommufd.h, "Topology devices"): VFIO cdev's bind and
// attach, and the device's DMA.  The DMA is the RFC profile's SIM_DMA on
// the same model: the device is bound there under its dev_id.  A software
// mdev's id is an emulated device's access (emulated_device.h): each
// command turns to emulated_device_ioctls.cpp for it.
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>

#include "../core/call_env.h"
#include "../core/context.h"
#include "../core/model.h"
#include "../devices/sim_ioctls.h"
#include "../devices/stalled_dma.h"
#include "access.h"
#include "cuse-iommu.h"
#include "device.h"
#include "emulated_device.h"
#include "iommufd_ioctls.h"
#include "topology_device.h"

namespace ciommu {

// The DMA answers are SIM_DMA's, by number.
static_assert(CUSE_IOMMUFD_DMA_OK == IOMMU_SIM_DMA_OK && CUSE_IOMMUFD_DMA_FAULT == IOMMU_SIM_DMA_FAULT &&
              CUSE_IOMMUFD_DMA_PENDING == IOMMU_SIM_DMA_PENDING && CUSE_IOMMUFD_DMA_ABORTED == IOMMU_SIM_DMA_ABORTED);
static_assert(CUSE_IOMMUFD_FAULT_BLOCKED == IOMMU_FAULT_REASON_BLOCKED &&
              CUSE_IOMMUFD_FAULT_NOT_MAPPED == IOMMU_FAULT_REASON_NOT_MAPPED &&
              CUSE_IOMMUFD_FAULT_PERMISSION == IOMMU_FAULT_REASON_PERMISSION &&
              CUSE_IOMMUFD_FAULT_RESERVED == IOMMU_FAULT_REASON_RESERVED &&
              CUSE_IOMMUFD_FAULT_ADDR_SIZE == IOMMU_FAULT_REASON_ADDR_SIZE);
static_assert(CUSE_IOMMUFD_DMA_MAX == IOMMU_SIM_DMA_MAX && CUSE_IOMMUFD_DEVICE_NAME_LEN == IOMMU_DEVICE_NAME_LEN);

namespace {

Device* topology_device(CallEnv& env, uint32_t dev_id) {
    Device* idev = env.ctx.iommufd.objects.get<Device>(dev_id);
    return idev && idev->is_topology() ? idev : nullptr;
}

// SIM_DMA's and SIM_DMA_STATUS's answer, in DMA's and DMA_STATUS's fields.
template <typename Sim, typename Out> void report(const Sim& sim, Out& out) {
    out.out_status = sim.status;
    out.out_fault_reason = sim.fault_reason;
    out.out_bytes_done = sim.bytes_done;
    out.out_fault_addr = sim.fault_addr;
}

std::optional<uint32_t> pasid_of(const cuse_iommufd_device_attach& cmd) {
    return cmd.flags & CUSE_IOMMUFD_ATTACH_PASID ? std::optional<uint32_t>(cmd.pasid) : std::nullopt;
}

}  // namespace

long ioctl_topology_device_bind(CallEnv& env, cuse_iommufd_device_bind& cmd) {
    if (!std::memchr(cmd.name, '\0', sizeof(cmd.name)))
        return -EINVAL;
    if (long err = bind_topology_device(env.model, env.ctx, cmd.name, cmd.out_dev_id))
        return err;
    // A caller that cannot take the id cannot unbind it: it goes again.
    env.created_id = cmd.out_dev_id;
    env.abort_created = [](CallEnv& e, uint32_t id) {
        if (Device* idev = topology_device(e, id))
            unbind_topology_device(e.model, e.ctx, *idev);
        else if (Access* access = emulated_device(e.ctx.iommufd, id))
            unbind_emulated_device(e.model, e.ctx, *access);
    };
    return 0;
}

long ioctl_topology_device_unbind(CallEnv& env, const cuse_iommufd_device_unbind& cmd) {
    if (Access* access = emulated_device(env.ctx.iommufd, cmd.dev_id)) {
        unbind_emulated_device(env.model, env.ctx, *access);
        return 0;
    }
    Device* idev = topology_device(env, cmd.dev_id);
    if (!idev)
        return -ENOENT;
    unbind_topology_device(env.model, env.ctx, *idev);
    return 0;
}

// Self-locked: a first domain's memory is probed without the lock.
long ioctl_topology_device_attach(CallEnv& env, cuse_iommufd_device_attach& cmd) {
    if (!(cmd.flags & CUSE_IOMMUFD_ATTACH_PASID) && cmd.pasid)
        return -EINVAL;
    if (auto done = attach_if_emulated(env, cmd))
        return *done;
    return with_first_domain_probed(env, cmd.pt_id, cmd.dev_id, [&]() -> long {
        Device* idev = topology_device(env, cmd.dev_id);
        if (!idev)
            return -ENOENT;
        return attach_topology_device(env.model, env.ctx, *idev, cmd.pt_id, pasid_of(cmd), cmd.pt_id);
    });
}

long ioctl_topology_device_detach(CallEnv& env, const cuse_iommufd_device_attach& cmd) {
    if ((!(cmd.flags & CUSE_IOMMUFD_ATTACH_PASID) && cmd.pasid) || cmd.pt_id)
        return -EINVAL;
    if (Access* access = emulated_device(env.ctx.iommufd, cmd.dev_id))
        return cmd.flags & CUSE_IOMMUFD_ATTACH_PASID ? -ENOENT : detach_emulated_device(env.ctx, *access);
    Device* idev = topology_device(env, cmd.dev_id);
    if (!idev)
        return -ENOENT;
    return detach_topology_device(env.model, env.ctx, *idev, pasid_of(cmd));
}

// Self-locked, as SIM_DMA is.
long ioctl_topology_device_dma(CallEnv& env, cuse_iommufd_device_dma& cmd) {
    if (!(cmd.flags & CUSE_IOMMUFD_DMA_PASID) && cmd.pasid)
        return -EINVAL;
    if (auto done = dma_if_emulated(env, cmd))
        return *done;
    iommu_sim_dma sim{};
    sim.argsz = sizeof(sim);
    sim.flags = ((cmd.flags & CUSE_IOMMUFD_DMA_WRITE) ? IOMMU_SIM_DMA_WRITE : 0u) |
                ((cmd.flags & CUSE_IOMMUFD_DMA_PASID) ? IOMMU_SIM_DMA_PASID : 0u);
    sim.cookie = cmd.dev_id;  // only topology devices are bound in the RFC model (a mock's: ENOENT)
    sim.pasid = cmd.pasid;
    sim.iova = cmd.iova;
    sim.length = cmd.length;
    sim.data = cmd.data;
    if (long err = ioctl_sim_dma(env, sim))
        return err;
    report(sim, cmd);
    cmd.out_dma_id = sim.dma_id;
    return 0;
}

// Self-locked, as SIM_DMA_STATUS is.  A DMA its fault queue's answer
// resumed runs on here first (iommufd/topology_faults.h).
long ioctl_topology_device_dma_status(CallEnv& env, cuse_iommufd_dma_status& cmd) {
    {
        std::unique_lock lock(env.model.lock());
        run_owed_resume(env.model, lock, env.ctx.id, cmd.dma_id);
    }
    iommu_sim_dma_status sim{};
    sim.argsz = sizeof(sim);
    sim.dma_id = cmd.dma_id;
    if (long err = ioctl_sim_dma_status(env, sim))
        return err;
    report(sim, cmd);
    return 0;
}

}  // namespace ciommu
