// A simulated DMA's life when faults can stall it: run, and on a fault let
// the fault router decide -- stall on a page request, stop on anything else.
#pragma once

#include <cstdint>

namespace ciommu {

class Model;
struct BoundDevice;
struct DmaJob;

// Runs job (its id in dev's context is dma_id) until it finishes, faults
// for good, or stalls on a page request; sets and returns job.status
// (IOMMU_SIM_DMA_*), or returns -EFAULT when memory is gone.  A job that is
// no longer PENDING has handed a read's bytes to its initiator.
long advance_dma(Model& model, BoundDevice& dev, uint64_t dma_id, DmaJob& job);

}  // namespace ciommu
