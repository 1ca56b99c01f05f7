// What the devices need of the IOMMU's fault reporting, which sits above
// them (fault-region/: the router, the records, the page-request groups).
// The devices say what they need here; fault-region/ provides it
// (fault_router_port()) and the core installs it in the Model, so a
// device's DMA can report a fault without devices/ including
// fault-region/ (docs/design.md, "Layers").
#pragma once

#include <cstdint>
#include <optional>

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

struct FaultPort {
    // Reports one fault of dev, made through its attachment `attachment_key`
    // (a PASID or kNoPasid).  dma_id: the stalled DMA a SUCCESS resumes (0:
    // none).  *grpid receives a page request's group id.
    FaultFate (*raise_fault)(Model& model, BoundDevice& dev, uint32_t attachment_key, const Fault& fault,
                             bool recoverable, uint64_t dma_id, uint32_t* grpid);
    // Queues a record in ctx's fault region; false: the region was full.
    bool (*deliver_record)(Model& model, Context& ctx, iommu_fault_record record) noexcept;
    // Answers INVALID every pending group of dev made through
    // attachment_key (nullopt: all of them): detach and unbind.
    void (*abort_page_requests)(Model& model, BoundDevice& dev, std::optional<uint32_t> attachment_key) noexcept;
};

}  // namespace ciommu
