#include "stalled_dma.h"

#include <cerrno>

#include "../dispatcher/model.h"
#include "cuse-iommu.h"
#include "fault_router.h"

namespace ciommu {

long advance_dma(Model& model, BoundDevice& dev, uint64_t dma_id, DmaJob& job) {
    const DmaStep step = run_dma(model, dev, job);
    if (step.err)
        return step.err;
    if (!step.faulted) {
        job.status = IOMMU_SIM_DMA_OK;
    } else {
        const uint32_t key = job.req.pasid.value_or(kNoPasid);
        const bool recoverable = is_page_request(model, dev, key, job.fault);
        switch (raise_fault(model, dev, key, job.fault, recoverable, dma_id)) {
        case FaultFate::kStalled:
            return job.status = IOMMU_SIM_DMA_PENDING;
        case FaultFate::kAborted:
            job.status = IOMMU_SIM_DMA_ABORTED;
            break;
        case FaultFate::kUnrecoverable:
            job.status = IOMMU_SIM_DMA_FAULT;
            break;
        }
    }
    return finish_dma(job) ? -EFAULT : job.status;
}

}  // namespace ciommu
