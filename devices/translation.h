// Translating one device access the way the IOMMU would: route {unit, RID,
// PASID} -> attachment -> IOTLB -> stage 1 (the user's table) -> stage 2
// (kernel-managed mappings) -> a byte in the owner process.  Walking and
// reporting are separate (like QEMU's intel_iommu): this returns a fault
// value and the caller decides what to do with it.
#pragma once

#include <cstdint>
#include <sys/types.h>

#include "routing_table.h"

namespace ciommu {

class Model;
class IoAddressSpace;
struct Context;

struct Fault {
    uint64_t addr = 0;    // the IOVA the device used
    uint32_t reason = 0;  // IOMMU_FAULT_REASON_*
    uint32_t flags = 0;   // IOMMU_FAULT_WRITE | _STAGE1 | _STAGE2
    uint32_t ioasid = 0;  // the address space whose table faulted (0: none)
    uint32_t perm = 0;    // IOMMU_FAULT_PERM_* of the access (0: read or write, per flags)
    bool host_owned = false;  // an IOPF page the model failed to fault in: never a page request
};

struct Translation {
    bool ok = false;
    uint64_t vaddr = 0;  // ok: where the byte is in the owner process
    pid_t pid = 0;
    Fault fault;         // !ok && err == 0: why not
    long err = 0;        // -EFAULT: a table in user memory could not be read
    bool iotlb_hit = false;
};

// Translates through the routing table (any device behind an IOMMU).  A
// stage-2 access to an IOPF page that is not pinned yet pins it (the model
// resolving its own fault, seed 000) and counts it in the context's fault
// region; if that fails the access faults.
Translation translate_routed(Model& model, const RouteKey& route, uint64_t iova, bool write);
// Translates directly through a kernel-managed space (a software mdev's
// vendor driver: no IOMMU, no IOTLB).
Translation translate_in(Model& model, Context& ctx, uint32_t ioasid, uint64_t iova, bool write);

}  // namespace ciommu
