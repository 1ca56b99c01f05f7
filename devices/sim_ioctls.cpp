// Device-side simulation commands: what real hardware and a vendor driver
// would do -- DMA through the IOMMU, and a software mdev's page pinning.
#include <cerrno>

#include "../dispatcher/caller.h"
#include "../dispatcher/context.h"
#include "../dispatcher/handlers.h"
#include "../dispatcher/model.h"
#include "cuse-iommu.h"
#include "../fault-region/stalled_dma.h"
#include "dma_engine.h"
#include "mdev_pins.h"

namespace ciommu {
namespace {

// SIM_DMA and SIM_DMA_STATUS report a job the same way.
template <typename Out> void report_job(const DmaJob& job, Out& out) {
    out.status = job.status;
    out.bytes_done = job.done;
    const bool faulted = job.status != IOMMU_SIM_DMA_OK;
    out.fault_addr = faulted ? job.fault.addr : 0;
    out.fault_reason = faulted ? job.fault.reason : 0;
    out.fault_flags = faulted ? job.fault.flags : 0;
}

}  // namespace

long ioctl_sim_dma(CallEnv& env) {
    auto& req = *static_cast<iommu_sim_dma*>(env.args);
    BoundDevice* dev = env.ctx.find_device(req.cookie);
    if (!dev)
        return -ENOENT;
    if (req.length == 0 || req.length > IOMMU_SIM_DMA_MAX)
        return -EINVAL;
    std::optional<uint32_t> pasid;
    if (req.flags & IOMMU_SIM_DMA_PASID) {
        if (long err = check_dma_pasid(env.model, *dev->spec, req.pasid))
            return err;
        pasid = req.pasid;
    }
    const pid_t initiator = env.caller.tgid();
    if (initiator <= 0)
        return -EFAULT;  // no process to hold @data (and never the daemon's own initiator)
    DmaJob job;
    job.req = {req.iova, req.length, (req.flags & IOMMU_SIM_DMA_WRITE) != 0, pasid, initiator, req.data};
    job.cookie = req.cookie;
    job.device = dev->index;
    if (long err = start_dma(job))
        return err;
    const uint64_t id = env.ctx.next_dma_id++;
    const long status = advance_dma(env.model, *dev, id, job);
    if (status < 0)
        return status;
    report_job(job, req);
    req.dma_id = job.status == IOMMU_SIM_DMA_PENDING ? id : 0;
    if (job.status == IOMMU_SIM_DMA_PENDING)
        env.ctx.dmas.emplace(id, std::move(job));
    return 0;
}

long ioctl_sim_dma_status(CallEnv& env) {
    auto& req = *static_cast<iommu_sim_dma_status*>(env.args);
    auto it = env.ctx.dmas.find(req.dma_id);
    if (it == env.ctx.dmas.end() || from_daemon(it->second))
        return -ENOENT;  // the control socket's DMAs are its own to reap
    const DmaJob& job = it->second;
    report_job(job, req);
    if (job.status != IOMMU_SIM_DMA_PENDING)
        env.ctx.dmas.erase(it);  // reaped, like waitpid()
    return 0;
}

namespace {

long check_pin_request(const iommu_sim_mdev_pin& req) {
    if (req.npages == 0 || req.npages > IOMMU_SIM_PIN_MAX || req.iova & (kPageSize - 1))
        return -EINVAL;
    if (req.iova + uint64_t{req.npages} * kPageSize - 1 < req.iova)
        return -EINVAL;
    return 0;
}

}  // namespace

long ioctl_sim_mdev_pin(CallEnv& env) {
    const auto& req = *static_cast<const iommu_sim_mdev_pin*>(env.args);
    if (long err = check_pin_request(req))
        return err;
    return mdev_pin(env.model, env.ctx, req.cookie, req.iova, req.npages, req.flags & IOMMU_SIM_PIN_WRITE);
}

long ioctl_sim_mdev_unpin(CallEnv& env) {
    const auto& req = *static_cast<const iommu_sim_mdev_pin*>(env.args);
    if (long err = check_pin_request(req))
        return err;
    return mdev_unpin(env.model, env.ctx, req.cookie, req.iova, req.npages);
}

}  // namespace ciommu
