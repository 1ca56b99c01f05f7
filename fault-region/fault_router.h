// Turning a translation fault into what the RFC's section 4.6 prescribes:
// the fault's device and address space become a record in the fault region
// of the device's consumer; a page request stays pending until answered.
// The rules of "iommu: introduce device fault report API" (Jacob Pan, May
// 2018): without a consumer nothing is reported (page requests are answered
// INVALID at once); a device whose page request got FAILURE reports none
// until re-attached.
#pragma once

#include <cstdint>

#include "cuse-iommu.h"

namespace ciommu {

class Model;
struct BoundDevice;
struct Context;
struct Fault;

enum class FaultFate {
    kStalled,        // reported as a page request: the DMA waits for the answer
    kAborted,        // a page request answered INVALID at once (no consumer, lost, stopped)
    kUnrecoverable,  // reported (or counted) and done with
};

// Could the device have asked for this page (PRI device, IOPF IOMMU, a
// non-present page in a table the user manages: stage 1 of a nested IOASID,
// or a plain kernel-managed IOASID)?
bool is_page_request(const Model& model, const BoundDevice& dev, uint32_t attachment_key, const Fault& fault);
// True if dev can issue page requests at all.
bool can_page_request(const Model& model, const BoundDevice& dev);

// Queues a record in ctx's fault region (its seq and LOST_BEFORE are filled
// in there), notes the context so its readers wake once the lock is
// dropped, and tells the event listener (the record as queued, or lost).
// false: the region was full and the record is lost.
bool deliver_record(Model& model, Context& ctx, iommu_fault_record record) noexcept;

// Reports one fault of dev, made through its attachment `attachment_key`
// (a PASID or kNoPasid).  dma_id: the stalled DMA a SUCCESS resumes (0:
// none).  *grpid receives a page request's group id.
FaultFate raise_fault(Model& model, BoundDevice& dev, uint32_t attachment_key, const Fault& fault,
                      bool recoverable, uint64_t dma_id, uint32_t* grpid = nullptr);

}  // namespace ciommu
