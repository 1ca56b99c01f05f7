// What one open of /dev/iommu holds under the iommufd profile
// (struct iommufd_ctx): its objects, the IOAS the VFIO compatibility
// ioctls act on, and how its pinned pages are accounted.
#pragma once

#include <cstdint>
#include <map>
#include <set>

#include "io_pagetable.h"
#include "object_table.h"

namespace ciommu {
class PinLedger;
}

namespace ciommu {

struct IommufdCtx {
    // What the IOASes' areas and ranges are charged to (declared before
    // the objects: it outlives them).
    RecordBudget records;
    ObjectTable objects;
    uint32_t vfio_ioas = 0;  // IOMMU_VFIO_IOAS; 0: none
    // The selftest's accesses (access.h) by the fd number the caller
    // names them by.
    std::map<int, uint32_t> access_by_fd;
    // Every access (the selftest's and emulated devices'): whom an IOAS
    // unmap notifies, without a walk over all the objects (add_access).
    std::set<uint32_t> accesses;
    // IOMMU_OPTION_RLIMIT_MODE: false charges the user (VFIO's way, the
    // default of /dev/iommu), true the mm.  Both charge the caller's
    // RLIMIT_MEMLOCK in this daemon (docs/iommufd.md, "Divergences").
    bool account_mm = false;
    // TEST_CMD SET_TEMP_MEMORY_LIMIT: the kernel sizes the batches its page
    // pinning works in by it (module-wide); the daemon pins without such
    // batches, so it is checked and kept, with no effect.
    uint32_t test_memory_limit = 65536;

    // IOMMU_DESTROY: undoes what the object holds, then removes it.  0,
    // -ENOENT or -EBUSY (nothing changed).
    long destroy_object(PinLedger& ledger, uint32_t id);
    // Closing the fd: every object, users before what they use; the
    // object files of its fault queues and accesses become orphans.  Needs
    // no memory.
    void destroy_all(PinLedger& ledger) noexcept;
};

}  // namespace ciommu
