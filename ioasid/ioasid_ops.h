// IOASID lifetime and the mappings of kernel-managed spaces, with their
// side effects on the pin ledger, the IOTLB and software-mdev pins.  All
// require the model lock; each checks everything before changing anything.
#pragma once

#include <cstdint>
#include <sys/types.h>

#include "io_address_space.h"

struct iommu_ioasid_alloc;

namespace ciommu {

class Model;
struct Context;

// Returns the new id or -errno (see IOMMU_IOASID_ALLOC).  caller: the
// owner of an identity space (nullptr: the caller could not be opened).
long alloc_ioasid(Context& ctx, const iommu_ioasid_alloc& req, const ProcessRef& caller);
// 0, -ENOENT or -EBUSY.
long free_ioasid(Model& model, Context& ctx, uint32_t id) noexcept;
// Frees every IOASID of a context whose devices are already unbound.
void free_all_ioasids(Model& model, Context& ctx) noexcept;

// The checks of IOMMU_MAP_DMA that need no memory: 0 or -errno.
long check_map_dma(Context& ctx, uint32_t ioasid, const MapRequest& req);
// Checks (again) and maps: charges the pages to req.owner -- the process
// making the call -- unless lazily pinned.  The caller has probed the
// memory without the model lock.
long map_dma(Model& model, Context& ctx, uint32_t ioasid, const MapRequest& req);
// Bytes unmapped or -errno.  all: every mapping (iova and size ignored).
long long unmap_dma(Model& model, Context& ctx, uint32_t ioasid, uint64_t iova, uint64_t size, bool all);

}  // namespace ciommu
