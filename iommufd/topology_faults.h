// Page requests of topology devices on the iommufd profile.  The RFC
// model's DMA engine reports a fault through the fault port like any
// other; for a device bound with CUSE_IOMMUFD_DEVICE_BIND the core's port
// (core/model.cpp) hands it here first: a recoverable fault on a nested
// page table with a fault queue (HWPT_ALLOC's FAULT_ID) becomes a group in
// that queue, and the RFC model's page request it stands for -- the
// stalled DMA -- waits for the queue's answer.  The rest of the round trip
// (resume on SUCCESS, abort on INVALID, detach or unbind) is the RFC
// model's (fault-region/page_requests.h).
#pragma once

#include <cstdint>
#include <optional>

#include "../devices/fault_port.h"

namespace ciommu {

class Model;
struct BoundDevice;
struct Fault;
struct FaultGroup;

// nullopt: dev is no iommufd topology device (the RFC router's). Else
// what became of the fault: kStalled (queued; *grpid its group),
// kAborted (a page request nobody can take: no queue, out of credits, the
// queue full) or kUnrecoverable (iommufd reports those to no one).
std::optional<FaultFate> raise_topology_fault(Model& model, BoundDevice& dev, uint32_t attachment_key,
                                              const Fault& fault, bool recoverable, uint64_t dma_id,
                                              uint32_t* grpid);

// A fault queue's answer to one of its groups (a write() of its fd): a
// topology device's page request is answered in the RFC model.  The DMA a
// SUCCESS resumes is not run here: the object node has no CallGate, so
// its workers must never touch client memory (a hostile client's
// userfaultfd memory would hold them, and every client's fault fds with
// them).  It is marked DmaJob::resume_owed and runs when its status is
// next asked (CUSE_IOMMUFD_DEVICE_DMA_STATUS on the device node, or the
// control socket's dma-status): run_owed_resume in devices/stalled_dma.h.
void answer_topology_group(Model& model, uint64_t context_id, const FaultGroup& group, uint32_t code) noexcept;

}  // namespace ciommu
