// Who must hear that IOVA pages of a kernel-managed address space were
// unmapped: whatever holds pages of it outside the page table, such as a
// software mdev's vendor-driver pins (devices/mdev_pins.h).  iommufd calls
// an access's ops->unmap the same way.  The unmap code names no listener;
// the core registers them in the Model (docs/design.md, "Layers").
#pragma once

#include <cstdint>

namespace ciommu {

class Model;
struct Context;
class IoAddressSpace;

// Called with the model lock held, after [first_page, last_page] of `space`
// (an IOASID of ctx) was unmapped; must not fail.
using UnmapListener = void (*)(Model& model, Context& ctx, const IoAddressSpace& space, uint64_t first_page,
                               uint64_t last_page) noexcept;

}  // namespace ciommu
