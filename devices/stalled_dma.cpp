#include "stalled_dma.h"

#include <cerrno>

#include "../core/model.h"
#include "cuse-iommu.h"
#include "page_request_capability.h"

namespace ciommu {
namespace {

DmaReport report_of(const DmaJob& job, uint64_t dma_id) {
    return {job.status, job.done, job.fault, job.status == IOMMU_SIM_DMA_PENDING ? dma_id : 0};
}

// The binding a job was admitted on, if it is still bound.
BoundDevice* binding_of(Context& ctx, const DmaJob& job) {
    BoundDevice* dev = ctx.find_device(job.cookie);
    return dev && dev->binding == job.binding ? dev : nullptr;
}

void release_slot(Context& ctx, const DmaJob& job) {
    if (BoundDevice* dev = binding_of(ctx, job))
        --dev->held_dmas;
}

// Runs job until it finishes, faults for good, or stalls on a page
// request; sets job.status.  -EFAULT when memory is gone.
long advance_dma(Model& model, std::unique_lock<std::mutex>& lock, uint64_t context_id, uint64_t dma_id,
                 DmaJob& job) {
    switch (drive_dma(model, lock, context_id, job)) {
    case DmaStop::kFailed:
        return -EFAULT;
    case DmaStop::kNoMemory:
        return -ENOMEM;
    case DmaStop::kGone:  // unbound (or released) while it ran
        job.status = IOMMU_SIM_DMA_ABORTED;
        return 0;
    case DmaStop::kDone:
        job.status = IOMMU_SIM_DMA_OK;
        return 0;
    case DmaStop::kFaulted:
        break;
    }
    BoundDevice& dev = *model.find_context(context_id)->find_device(job.cookie);
    const uint32_t key = job.req.pasid.value_or(kNoPasid);
    const bool recoverable = is_page_request(model, dev, key, job.fault);
    switch (model.fault_port().raise_fault(model, dev, key, job.fault, recoverable, dma_id, nullptr)) {
    case FaultFate::kStalled:
        job.status = IOMMU_SIM_DMA_PENDING;
        break;
    case FaultFate::kAborted:
        job.status = IOMMU_SIM_DMA_ABORTED;
        break;
    case FaultFate::kUnrecoverable:
        job.status = IOMMU_SIM_DMA_FAULT;
        break;
    }
    return 0;
}

}  // namespace

long admit_dma(const Model& model, BoundDevice& dev, DmaJob& job) {
    if (job.req.pasid) {
        if (long err = check_dma_pasid(model, *dev.spec, *job.req.pasid))
            return err;
    }
    const Context& ctx = *dev.ctx;
    if (dev.held_dmas >= dev.max_page_requests || dev.page_requests.size() >= dev.max_page_requests ||
        ctx.dmas.size() >= kContextDmaLimit)
        return -EBUSY;
    ++dev.held_dmas;
    job.cookie = dev.cookie;
    job.device = dev.index;
    job.binding = dev.binding;
    return 0;
}

long run_new_dma(Model& model, std::unique_lock<std::mutex>& lock, uint64_t context_id, DmaJob& job,
                 DmaReport* report) {
    Context* ctx = model.find_context(context_id);
    const uint64_t id = ctx->next_dma_id++;
    // The map node a stalled job parks in is allocated before it runs, so
    // a stall never needs memory it might not get (nor does anyone see it).
    std::map<uint64_t, DmaJob>::node_type parking;
    try {
        parking = ctx->dmas.extract(ctx->dmas.try_emplace(id).first);
    } catch (const std::bad_alloc&) {
        release_slot(*ctx, job);
        return -ENOMEM;
    }
    const long err = advance_dma(model, lock, context_id, id, job);
    ctx = model.find_context(context_id);  // the lock was dropped meanwhile
    *report = report_of(job, id);
    if (!err && job.status == IOMMU_SIM_DMA_PENDING) {
        parking.mapped() = std::move(job);  // with the fault's lock hold: its answer finds it
        ctx->dmas.insert(std::move(parking));
        return 0;
    }
    if (ctx)
        release_slot(*ctx, job);
    return err;
}

void resume_dma(Model& model, std::unique_lock<std::mutex>& lock, uint64_t context_id, uint64_t dma_id) {
    Context* ctx = model.find_context(context_id);
    if (!ctx)
        return;
    auto entry = ctx->dmas.find(dma_id);
    if (entry == ctx->dmas.end())
        return;
    DmaJob job = std::move(entry->second);  // its bytes go with this thread
    entry->second.running = true;           // the entry stays: PENDING to SIM_DMA_STATUS
    job.running = false;
    if (advance_dma(model, lock, context_id, dma_id, job) < 0)
        job.status = IOMMU_SIM_DMA_ABORTED;  // it resumed into memory that is gone
    ctx = model.find_context(context_id);
    if (!ctx)
        return;  // released meanwhile: the job went with its context
    if (entry = ctx->dmas.find(dma_id); entry != ctx->dmas.end())
        entry->second = std::move(job);
}

void run_owed_resume(Model& model, std::unique_lock<std::mutex>& lock, uint64_t context_id, uint64_t dma_id) {
    Context* ctx = model.find_context(context_id);
    if (!ctx)
        return;
    auto job = ctx->dmas.find(dma_id);
    if (job == ctx->dmas.end() || !job->second.resume_owed)
        return;
    job->second.resume_owed = false;
    resume_dma(model, lock, context_id, dma_id);  // drops the lock around client memory
}

std::optional<DmaJob> reap_dma(Context& ctx, uint64_t dma_id, DmaReport* report) {
    auto entry = ctx.dmas.find(dma_id);
    const DmaJob& job = entry->second;
    if (job.running || job.status == IOMMU_SIM_DMA_PENDING) {
        *report = {IOMMU_SIM_DMA_PENDING, job.done, job.fault, dma_id};
        return std::nullopt;
    }
    *report = report_of(job, dma_id);
    DmaJob done = std::move(entry->second);
    ctx.dmas.erase(entry);
    release_slot(ctx, done);
    return done;
}

void forget_dma_data(Context& ctx, uint64_t binding) noexcept {
    for (auto& [id, job] : ctx.dmas) {
        if (job.binding == binding && !job.running)
            std::vector<unsigned char>().swap(job.bytes);
    }
}

}  // namespace ciommu
