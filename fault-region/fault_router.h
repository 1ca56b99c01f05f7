// Turning a translation fault into what the RFC's section 4.6 prescribes:
// the fault's device and address space become a record in the fault region
// of the device's consumer; a page request stays pending until answered.
// The rules of "iommu: introduce device fault report API" (Jacob Pan, May
// 2018): without a consumer nothing is reported (page requests are answered
// INVALID at once); a device whose page request got FAILURE reports none
// until re-attached.
#pragma once

#include <cstdint>

#include "../devices/fault_port.h"
#include "cuse-iommu.h"

namespace ciommu {

class Model;
struct BoundDevice;
struct Context;
struct Fault;

// Queues a record in ctx's fault region (its seq and LOST_BEFORE are filled
// in there), notes the context so its readers wake once the lock is
// dropped, and tells the event listener (the record as queued, or lost).
// false: the region was full and the record is lost.
bool deliver_record(Model& model, Context& ctx, iommu_fault_record record) noexcept;

// FaultPort::raise_fault (devices/fault_port.h says what it takes).
FaultFate raise_fault(Model& model, BoundDevice& dev, uint32_t attachment_key, const Fault& fault,
                      bool recoverable, uint64_t dma_id, uint32_t* grpid = nullptr);

// raise_fault, deliver_record and abort_page_requests (page_requests.h) as
// the devices reach them (devices/fault_port.h); the core installs this in
// the Model.
const FaultPort& fault_router_port();

}  // namespace ciommu
