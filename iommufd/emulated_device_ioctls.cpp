// A software mdev bound on the iommufd profile (emulated_device.h): its
// vendor driver's pins (vfio_pin_pages / vfio_unpin_pages), and the
// topology-device commands that differ for it -- an attach names an IOAS
// and probes nothing (an access needs no domain), and its DMA is the
// driver's copy through the IOAS (vfio_dma_rw -> iommufd_access_rw).
#include <cerrno>
#include <mutex>
#include <optional>

#include "../core/call_env.h"
#include "../core/context.h"
#include "../core/model.h"
#include "../devices/mdev_pins.h"
#include "cuse-iommu.h"
#include "emulated_device.h"
#include "iommufd_ctx.h"
#include "iommufd_ioctls.h"

namespace ciommu {
namespace {

static_assert(CUSE_IOMMUFD_PIN_MAX == IOMMU_SIM_PIN_MAX);  // the request is checked as the RFC profile's

// The emulated device a well-formed PIN or UNPIN names.
long pin_target(CallEnv& env, const cuse_iommufd_device_pin& cmd, Access*& access) {
    if (long err = check_pin_range(cmd.iova, cmd.npages))
        return err;
    access = emulated_device(env.ctx.iommufd, cmd.dev_id);
    return access ? 0 : -ENOENT;
}

// nullopt: dev_id is no emulated device.
std::optional<long> plan_dma(CallEnv& env, const cuse_iommufd_device_dma& cmd, EmulatedDmaPlan& plan) {
    std::lock_guard guard(env.model.lock());
    const Access* access = emulated_device(env.ctx.iommufd, cmd.dev_id);
    if (!access)
        return std::nullopt;
    if (!cmd.length || cmd.length > CUSE_IOMMUFD_DMA_MAX || cmd.iova + (cmd.length - 1) < cmd.iova)
        return -EINVAL;  // as SIM_DMA checks a topology device's
    if (cmd.flags & CUSE_IOMMUFD_DMA_PASID)
        return -EOPNOTSUPP;  // no IOMMU, no PASID
    plan_emulated_dma(env.ctx.iommufd, *access, cmd.iova, cmd.length, cmd.flags & CUSE_IOMMUFD_DMA_WRITE, plan);
    return 0;
}

}  // namespace

long ioctl_emulated_device_pin(CallEnv& env, const cuse_iommufd_device_pin& cmd) {
    Access* access = nullptr;
    if (long err = pin_target(env, cmd, access))
        return err;
    return pin_emulated_pages(env.ctx, *access, cmd.iova, cmd.npages, cmd.flags & CUSE_IOMMUFD_PIN_WRITE);
}

long ioctl_emulated_device_unpin(CallEnv& env, const cuse_iommufd_device_pin& cmd) {
    Access* access = nullptr;
    if (long err = pin_target(env, cmd, access))
        return err;
    return unpin_emulated_pages(env.model, env.ctx, *access, cmd.iova, cmd.npages);
}

std::optional<long> attach_if_emulated(CallEnv& env, cuse_iommufd_device_attach& cmd) {
    std::lock_guard guard(env.model.lock());
    Access* access = emulated_device(env.ctx.iommufd, cmd.dev_id);
    if (!access)
        return std::nullopt;
    if (cmd.flags & CUSE_IOMMUFD_ATTACH_PASID)
        return -EOPNOTSUPP;
    return attach_emulated_device(env.ctx, *access, cmd.pt_id);  // pt_id stays the IOAS's
}

std::optional<long> dma_if_emulated(CallEnv& env, cuse_iommufd_device_dma& cmd) {
    EmulatedDmaPlan plan;
    const std::optional<long> planned = plan_dma(env, cmd, plan);
    if (!planned || *planned)
        return planned;
    if (long err = copy_through_access(env.caller, plan.pieces, plan.bytes, cmd.data, cmd.flags & CUSE_IOMMUFD_DMA_WRITE))
        return err;
    cmd.out_status = plan.fault_reason ? CUSE_IOMMUFD_DMA_FAULT : CUSE_IOMMUFD_DMA_OK;
    cmd.out_fault_reason = plan.fault_reason;
    cmd.out_bytes_done = plan.bytes;
    cmd.out_fault_addr = plan.fault_reason ? cmd.iova + plan.bytes : 0;
    cmd.out_dma_id = 0;
    return 0;
}

}  // namespace ciommu
