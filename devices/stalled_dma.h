// The life of a device DMA that can stall on a page request, one
// implementation for IOMMU_SIM_DMA and the control socket's dma:
//   admit  -- the device's page-request credits (IOMMU_DEVICE_INFO_CAP_PRI)
//             leave room for it, else EBUSY, so what one client makes the
//             daemon hold stays bounded;
//   run    -- page by page (devices/dma_engine.h); a fault goes to the
//             fault router, and a page request keeps the job in its
//             context, PENDING;
//   resume -- a SUCCESS answer runs it on from where it stopped, in the
//             responder's call, without the model lock around memory;
//   reap   -- SIM_DMA_STATUS (or dma-status) takes a finished job out,
//             releasing its slot.
// The model lock is held wherever a function takes a unique_lock; it may be
// dropped inside (around client memory) and is held again on return.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>

#include "dma_engine.h"

namespace ciommu {

class Model;
struct BoundDevice;
struct Context;

// What a caller reports of a job (SIM_DMA, SIM_DMA_STATUS, dma-status).
struct DmaReport {
    uint32_t status = 0;  // IOMMU_SIM_DMA_*
    uint64_t done = 0;
    Fault fault;
    uint64_t dma_id = 0;  // PENDING: the id the job waits under
};

// A context holds at most this many DMAs (stalled, or finished and not
// reaped), whatever devices come and go.
inline constexpr size_t kContextDmaLimit = 4096;

// Checks job's PASID (if any) against dev, reserves one of dev's DMA slots
// for `job` and fills its device fields: 0, -EOPNOTSUPP or -EINVAL (the
// PASID: check_dma_pasid), or -EBUSY when dev has max_page_requests page
// requests outstanding or DMAs held, or its context holds kContextDmaLimit.
// SIM_DMA and the control socket's dma both start a DMA here.
long admit_dma(const Model& model, BoundDevice& dev, DmaJob& job);
// Runs an admitted job (its bytes loaded) in context `context_id`.  A job
// left PENDING is kept in the context (report->dma_id); any other ends
// here, its slot released, and stays with the caller (a read's bytes are
// in job.bytes).  Returns 0 or -EFAULT (memory behind a mapping is gone).
long run_new_dma(Model& model, std::unique_lock<std::mutex>& lock, uint64_t context_id, DmaJob& job,
                 DmaReport* report);
// Runs on a held job whose page request was answered SUCCESS (marked
// running by the answer).  It finishes, faults, or stalls again.
void resume_dma(Model& model, std::unique_lock<std::mutex>& lock, uint64_t context_id, uint64_t dma_id);
// Runs dma_id on if an answer left it owed (DmaJob::resume_owed: answered
// SUCCESS where client memory could not be touched); else does nothing.
// Called before its status is read.
void run_owed_resume(Model& model, std::unique_lock<std::mutex>& lock, uint64_t context_id, uint64_t dma_id);
// SIM_DMA_STATUS: nullopt while the job is PENDING (or running) -- *report
// says so -- else the finished job, taken out of ctx with its slot
// released.  The caller delivers a read's bytes.
std::optional<DmaJob> reap_dma(Context& ctx, uint64_t dma_id, DmaReport* report);
// Frees the buffers of the DMAs a binding leaves behind (unbind): their
// status stays to be reaped, their data is dropped.
void forget_dma_data(Context& ctx, uint64_t binding) noexcept;

}  // namespace ciommu
