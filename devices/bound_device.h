// The RFC's iommu_dev and iommu_attach_data: what a successful bind creates
// and what each attach adds to it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>

#include "../ioasid/driver_pins.h"
#include "../ioasid/process.h"
#include "cuse-iommu.h"

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
    uint64_t binding;     // unique in its context: this bind, not a later one
    unsigned physical;    // topology index of the physical device: the parent for an mdev
    uint32_t def_pasid;   // IOMMU-backed mdev: the PASID that marks it on the parent; else kNoPasid
    std::map<uint32_t, Attachment> attachments;  // by PASID (kNoPasid: whole device)
    DriverPins pins;  // software mdev: one one-page range per pin (devices/mdev_pins.h)

    // Fault reporting ("iommu: introduce device fault report API", Jacob
    // Pan, May 2018): one consumer, the context's fault region.
    bool fault_consumer = false;
    bool page_requests_stopped = false;  // after a FAILURE response, until re-attached
    std::map<uint32_t, PageRequestGroup> page_requests;  // by group id

    // Page-request credits (IOMMU_DEVICE_INFO_CAP_PRI): at most this many
    // page requests outstanding and DMAs held (stalled or unreaped).
    uint32_t max_page_requests = IOMMU_PRI_REQUESTS_DEFAULT;
    uint32_t held_dmas = 0;  // DMAs of this binding held or running
};

}  // namespace ciommu
