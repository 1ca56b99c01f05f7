// The RFC's iommu_dev and iommu_attach_data: what a successful bind creates
// and what each attach adds to it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>

namespace ciommu {

struct Context;
struct DeviceSpec;
class IoAddressSpace;

// The PASID key of a whole-device (requester ID) attachment.
inline constexpr uint32_t kNoPasid = ~0u;

struct BoundDevice;

// One {device, PASID} attached to an IOASID.
struct Attachment {
    BoundDevice* dev;
    uint32_t pasid;        // user-visible PASID, or kNoPasid for the whole device
    uint32_t ioasid;
    IoAddressSpace* space;
};

// A page a software mdev's vendor driver pinned.
struct MdevPin {
    uint64_t vaddr;  // in the mapping owner
    int pid;
    uint32_t count;  // pins of this page by this mdev
};

// A page request group reported to the user and not answered yet.
struct PageRequestGroup {
    uint32_t attachment_key;                         // PASID or kNoPasid
    std::chrono::steady_clock::time_point deadline;  // answered INVALID then
    uint64_t dma_id;                                 // the stalled DMA (0: an injected fault)
};

struct BoundDevice {
    const DeviceSpec* spec;
    unsigned index;       // in the topology
    Context* ctx;
    uint64_t cookie;      // the user's name for it
    unsigned physical;    // topology index of the physical device: the parent for an mdev
    uint32_t def_pasid;   // IOMMU-backed mdev: the PASID that marks it on the parent; else kNoPasid
    std::map<uint32_t, Attachment> attachments;  // by PASID (kNoPasid: whole device)
    std::map<uint64_t, MdevPin> pins;            // software mdev: by IOVA page

    // Fault reporting (seed 004): one consumer, the context's fault region.
    bool fault_consumer = false;
    bool page_requests_stopped = false;  // after a FAILURE response, until re-attached
    std::map<uint32_t, PageRequestGroup> page_requests;  // by group id
};

}  // namespace ciommu
