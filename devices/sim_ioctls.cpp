// Device-side simulation commands: what real hardware and a vendor driver
// would do -- DMA through the IOMMU, and a software mdev's page pinning.
#include "sim_ioctls.h"

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <new>

#include "../core/call_env.h"
#include "../core/caller.h"
#include "../core/context.h"
#include "../core/model.h"
#include "../ioasid/process.h"
#include "cuse-iommu.h"
#include "dma_engine.h"
#include "mdev_pins.h"
#include "page_request_capability.h"
#include "stalled_dma.h"

namespace ciommu {
namespace {

// SIM_DMA and SIM_DMA_STATUS report a job the same way.
template <typename Out> void report_job(const DmaReport& job, Out& out) {
    out.status = job.status;
    out.bytes_done = job.done;
    const bool faulted = job.status != IOMMU_SIM_DMA_OK;
    out.fault_addr = faulted ? job.fault.addr : 0;
    out.fault_reason = faulted ? job.fault.reason : 0;
    out.fault_flags = faulted ? job.fault.flags : 0;
}

// Checks a SIM_DMA against its device and takes one of the device's DMA
// slots: 0 or -errno, in the uapi's order.  Model lock held.
long admit_sim_dma(CallEnv& env, const iommu_sim_dma& req, DmaJob& job) {
    BoundDevice* dev = env.ctx.find_device(req.cookie);
    if (!dev)
        return -ENOENT;
    if (req.length == 0 || req.length > IOMMU_SIM_DMA_MAX)
        return -EINVAL;
    std::optional<uint32_t> pasid;
    if (req.flags & IOMMU_SIM_DMA_PASID)
        pasid = req.pasid;
    job.req = {req.iova, req.length, (req.flags & IOMMU_SIM_DMA_WRITE) != 0, pasid, nullptr, req.data};
    return admit_dma(env.model, *dev, job);
}

// Between admission and the run, without the lock: only a read that may
// stall needs its initiator after this call (its bytes go to @data when
// reaped; finding it costs system calls); a write's bytes are read now.
long prepare_job(CallEnv& env, const iommu_sim_dma& req, bool may_stall, DmaJob& job) {
    try {
        if (!job.req.write && may_stall) {
            job.req.initiator = env.caller_process();
            if (!job.req.initiator)
                return -EFAULT;  // no process to hold @data
        }
        job.bytes.resize(req.length);
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
    if (job.req.write && env.caller.read_memory(req.data, job.bytes.data(), req.length))
        return -EFAULT;  // @data unreadable
    return 0;
}

// Gives back a slot admit_sim_dma took for a DMA that never ran.
void unadmit(CallEnv& env, const DmaJob& job) {
    std::lock_guard guard(env.model.lock());
    if (BoundDevice* dev = env.ctx.find_device(job.cookie); dev && dev->binding == job.binding)
        --dev->held_dmas;
}

}  // namespace

// Admitted under the lock; the caller's buffer read without it; run page
// by page (the lock dropped around memory); a read's bytes written back to
// the caller without the lock.
long ioctl_sim_dma(CallEnv& env, iommu_sim_dma& req) {
    DmaJob job;
    bool may_stall;
    {
        std::lock_guard guard(env.model.lock());
        if (long err = admit_sim_dma(env, req, job))
            return err;
        may_stall = can_page_request(env.model, *env.ctx.find_device(req.cookie));
    }
    if (long err = prepare_job(env, req, may_stall, job)) {
        unadmit(env, job);
        return err;
    }
    DmaReport report;
    std::unique_lock lock(env.model.lock());
    const long err = run_new_dma(env.model, lock, env.ctx.id, job, &report);
    lock.unlock();
    if (err)
        return err;
    report_job(report, req);
    req.dma_id = report.dma_id;
    if (report.status != IOMMU_SIM_DMA_PENDING && !job.req.write && job.done &&
        env.caller.write_memory(req.data, job.bytes.data(), job.done))
        return -EFAULT;
    return 0;
}

// A finished read hands its bytes to @data now: to the caller's own memory
// if it is the initiator, else through the initiator's Process (which
// fails once the initiator is gone).
long ioctl_sim_dma_status(CallEnv& env, iommu_sim_dma_status& req) {
    DmaReport report;
    std::optional<DmaJob> done;
    {
        std::lock_guard guard(env.model.lock());
        auto it = env.ctx.dmas.find(req.dma_id);
        if (it == env.ctx.dmas.end() || from_daemon(it->second))
            return -ENOENT;  // the control socket's DMAs are its own to reap
        done = reap_dma(env.ctx, req.dma_id, &report);
    }
    report_job(report, req);
    if (!done || done->req.write || !done->req.initiator)
        return 0;
    const size_t len = std::min<size_t>(done->done, done->bytes.size());  // unbind drops the data
    const Process& initiator = *done->req.initiator;
    const bool is_caller = initiator.pid() == env.caller.tgid() && initiator.alive();
    const long err = is_caller ? env.caller.write_memory(done->req.data, done->bytes.data(), len)
                               : initiator.write(done->req.data, done->bytes.data(), len);
    return err ? -EFAULT : 0;
}

long ioctl_sim_mdev_pin(CallEnv& env, const iommu_sim_mdev_pin& req) {
    if (long err = check_pin_range(req.iova, req.npages))
        return err;
    return mdev_pin(env.model, env.ctx, req.cookie, req.iova, req.npages, req.flags & IOMMU_SIM_PIN_WRITE);
}

long ioctl_sim_mdev_unpin(CallEnv& env, const iommu_sim_mdev_pin& req) {
    if (long err = check_pin_range(req.iova, req.npages))
        return err;
    return mdev_unpin(env.model, env.ctx, req.cookie, req.iova, req.npages);
}

}  // namespace ciommu
