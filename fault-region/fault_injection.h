// Injecting a raw fault as the IOMMU would see it arrive on the bus: a
// route {unit, RID, PASID}, looked up in the routing table like any DMA's,
// so the fault goes to whatever is attached there.  Shared by
// IOMMU_SIM_INJECT_FAULT (a client, its own devices) and the control socket
// (daemon-wide).
#pragma once

#include <cstdint>
#include <optional>

#include "../devices/routing_table.h"
#include "fault_router.h"

namespace ciommu {

class Model;
struct Context;
struct BoundDevice;
struct Topology;

// Every IOMMU_FAULT_PERM_* bit.
extern const uint32_t kAllFaultPerms;

// Where a fault from requester `rid` arrives: the IOMMU of the present PCI
// device with that RID.  nullopt if there is none.
std::optional<RouteKey> route_of_rid(const Topology& topo, uint32_t rid, std::optional<uint32_t> pasid);
// Where a fault of a bound device arrives (an IOMMU-backed mdev: its
// parent's RID and its defPASID).  0, or -EOPNOTSUPP: a software mdev (no
// IOMMU), or a PASID the device cannot carry.
long route_of_bound(const BoundDevice& dev, std::optional<uint32_t> pasid, RouteKey* route);

struct InjectedFault {
    RouteKey route;
    uint64_t addr;
    uint32_t perm;      // IOMMU_FAULT_PERM_*, non-zero
    uint32_t reason;    // IOMMU_FAULT_REASON_* (0: NOT_MAPPED); a recoverable one is NOT_MAPPED
    bool recoverable;   // a page request
};

struct Injection {
    BoundDevice* dev = nullptr;  // who the routing table said it was
    FaultFate fate = FaultFate::kUnrecoverable;
    uint32_t grpid = 0;          // a page request that was queued
};

// Raises the fault on what is attached at its route.  only_in: the device
// must belong to that context (nullptr: any).  0, -ENOENT (nothing attached
// there, or not only_in's) or -EOPNOTSUPP (recoverable, and the device
// cannot issue page requests; out->dev names it).
long inject_fault(Model& model, const InjectedFault& fault, const Context* only_in, Injection* out = nullptr);

}  // namespace ciommu
