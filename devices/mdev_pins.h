// A software mdev's vendor driver pins guest pages through the owning
// context's IOMMU backend, with no side channel ("[PATCH 3/3] VFIO Type1
// IOMMU: Add support for mediated devices", Alex Williamson and Kirti
// Wankhede, June 2016), so pins share the MAP_DMA ledger and a page is
// charged once.
#pragma once

#include <cstdint>

namespace ciommu {

class Model;
struct Context;
struct BoundDevice;
class IoAddressSpace;

// A vendor driver's request: 1 .. IOMMU_SIM_PIN_MAX pages from a 4 KiB
// aligned iova, not wrapping.  0 or -EINVAL.  (The iommufd profile's
// emulated devices ask the same.)
long check_pin_range(uint64_t iova, uint32_t npages);
// See IOMMU_SIM_MDEV_PIN / UNPIN for the errnos.
long mdev_pin(Model& model, Context& ctx, uint64_t cookie, uint64_t iova, uint32_t npages, bool write);
long mdev_unpin(Model& model, Context& ctx, uint64_t cookie, uint64_t iova, uint32_t npages);

// Detach / unbind: every pin of dev goes.
void release_all_mdev_pins(Model& model, BoundDevice& dev) noexcept;
// UNMAP of [first_page, last_page] in space: pins there go, as a vendor
// driver's DMA-unmap notifier would drop them.  An UnmapListener
// (ioasid/unmap_listener.h) the core registers.
void drop_mdev_pins_in(Model& model, Context& ctx, const IoAddressSpace& space, uint64_t first_page,
                       uint64_t last_page) noexcept;

}  // namespace ciommu
