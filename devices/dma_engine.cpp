#include "dma_engine.h"

#include "../core/model.h"
#include "cuse-iommu.h"

namespace ciommu {
namespace {

// More client memory than any walk needs: a table that keeps changing
// under the walk ends it rather than looping.
constexpr size_t kMaxReadsPerPage = 16;

// Where dev's DMA goes: through the IOMMU, or (software mdev) its vendor
// driver's view of the attached space.  Model lock held.
Translation translate_for(Model& model, BoundDevice& dev, const DmaRequest& req, uint64_t iova,
                          const MemoryOracle& memory) {
    const DeviceSpec& spec = *dev.spec;
    if (spec.kind == DeviceKind::kSwMdev) {
        auto it = dev.attachments.find(kNoPasid);
        if (it == dev.attachments.end()) {
            Translation t;
            t.fault.addr = iova;
            t.fault.reason = IOMMU_FAULT_REASON_BLOCKED;
            t.fault.flags = req.write ? IOMMU_FAULT_WRITE : 0u;
            return t;
        }
        return translate_in(model, *dev.ctx, it->second.ioasid, iova, req.write, memory);
    }
    const uint32_t bus_pasid = spec.kind == DeviceKind::kMdev ? dev.def_pasid : req.pasid.value_or(kNoPasid);
    return translate_routed(model, RouteKey{spec.iommu, spec.rid, bus_pasid}, iova, req.write, memory);
}

// One page at a time: translated under the lock, copied without it.
DmaStop move_bytes(Model& model, std::unique_lock<std::mutex>& lock, uint64_t context_id, DmaJob& job) {
    const DmaRequest& req = job.req;
    MemoryOracle memory;
    while (job.done < req.length) {
        // Looked up afresh each page: the lock was dropped since the last.
        Context* ctx = model.find_context(context_id);
        BoundDevice* dev = ctx ? ctx->find_device(job.cookie) : nullptr;
        if (!dev || dev->index != job.device)
            return DmaStop::kGone;
        const uint64_t iova = req.iova + job.done;
        const uint64_t chunk = std::min(req.length - job.done, kPageSize - (iova & (kPageSize - 1)));
        const Translation t = translate_for(model, *dev, req, iova, memory);
        if (t.needs_memory()) {
            if (memory.size() >= kMaxReadsPerPage)
                return DmaStop::kFailed;
            lock.unlock();
            memory.fetch(t.need);
            lock.lock();
            continue;  // translate again, against the model as it is now
        }
        memory.clear();
        if (t.err)
            return t.err == -ENOMEM ? DmaStop::kNoMemory : DmaStop::kFailed;
        if (!t.ok) {
            job.fault = t.fault;
            return DmaStop::kFaulted;
        }
        const std::shared_ptr<const Process> owner = t.owner->shared_from_this();
        lock.unlock();
        unsigned char* bytes = job.bytes.data() + job.done;
        const long err = req.write ? owner->write(t.vaddr, bytes, chunk) : owner->read(t.vaddr, bytes, chunk);
        lock.lock();
        if (err)  // the owner unmapped the memory behind the IOMMU's back, or is gone
            return DmaStop::kFailed;
        job.done += chunk;
    }
    return DmaStop::kDone;
}

}  // namespace

long check_dma_pasid(const Model& model, const DeviceSpec& dev, uint32_t pasid) {
    if (dev.kind != DeviceKind::kPci || !dev.pasid)
        return -EOPNOTSUPP;
    const unsigned width = model.topology().iommus[dev.iommu].pasid_width;
    if (width == 0)
        return -EOPNOTSUPP;
    if (pasid == 0 || pasid >= (uint64_t{1} << width))
        return -EINVAL;
    return 0;
}

DmaStop drive_dma(Model& model, std::unique_lock<std::mutex>& lock, uint64_t context_id, DmaJob& job) noexcept {
    try {
        return move_bytes(model, lock, context_id, job);
    } catch (const std::bad_alloc&) {
        if (!lock.owns_lock())
            lock.lock();  // as promised: held on return
        return DmaStop::kNoMemory;
    }
}

}  // namespace ciommu
