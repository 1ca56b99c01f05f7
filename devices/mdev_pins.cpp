#include "mdev_pins.h"

#include <cerrno>
#include <new>

#include "../core/model.h"
#include "bound_device.h"
#include "cuse-iommu.h"

namespace ciommu {
namespace {

// The software mdev named by cookie and the space it is attached to.
long find_attached_sw_mdev(Context& ctx, uint64_t cookie, BoundDevice** dev, IoAddressSpace** space) {
    *dev = ctx.find_device(cookie);
    if (!*dev)
        return -ENOENT;
    if ((*dev)->spec->kind != DeviceKind::kSwMdev)
        return -EINVAL;
    auto it = (*dev)->attachments.find(kNoPasid);
    if (it == (*dev)->attachments.end())
        return -ENXIO;
    *space = it->second.space;
    return 0;
}

// Drops one pin of each of the `npages` pages from iova.
void unpin_pages(Model& model, BoundDevice& dev, uint64_t iova, uint64_t npages) noexcept {
    for (uint64_t i = 0; i < npages; ++i)
        dev.pins.unpin_exact(iova + i * kPageSize, kPageSize, model.ledger());
}

}  // namespace

long check_pin_range(uint64_t iova, uint32_t npages) {
    if (npages == 0 || npages > IOMMU_SIM_PIN_MAX || iova & (kPageSize - 1))
        return -EINVAL;
    if (iova + uint64_t{npages} * kPageSize - 1 < iova)
        return -EINVAL;
    return 0;
}

// Type1 pins by page (vfio_pfn, with a count): each page pinned is a
// one-page range whose every pin holds one ledger charge, so an UNPIN may
// name any pages pinned, however they were pinned, and pinning a page again
// costs no memory.
long mdev_pin(Model& model, Context& ctx, uint64_t cookie, uint64_t iova, uint32_t npages, bool write) {
    BoundDevice* dev;
    IoAddressSpace* space;
    if (long err = find_attached_sw_mdev(ctx, cookie, &dev, &space))
        return err;
    // Translate every page first: a hole or a read-only page fails it all.
    std::vector<PageTarget> targets;
    for (uint32_t i = 0; i < npages; ++i) {
        auto target = space->lookup(iova + uint64_t{i} * kPageSize);
        if (!target || (write && !(target->prot & kProtWrite)))
            return -EFAULT;
        targets.push_back(*target);
    }
    for (uint32_t i = 0; i < npages; ++i) {
        const PageTarget& target = targets[i];
        const uint64_t page = iova + uint64_t{i} * kPageSize;
        long err = model.ledger().pin(*target.owner, target.vaddr, 1);
        if (!err && !dev->pins.pin_again(page, kPageSize)) {
            try {
                dev->pins.add(page, kPageSize, {PagePin{target.owner->shared_from_this(), target.vaddr}});
            } catch (const std::bad_alloc&) {
                model.ledger().unpin(*target.owner, target.vaddr, 1);
                err = -ENOMEM;
            }
        }
        if (err) {
            unpin_pages(model, *dev, iova, i);  // roll back what this call pinned
            return err == -ENOBUFS ? -ENOMEM : err;
        }
    }
    return 0;
}

long mdev_unpin(Model& model, Context& ctx, uint64_t cookie, uint64_t iova, uint32_t npages) {
    BoundDevice* dev;
    IoAddressSpace* space;
    if (long err = find_attached_sw_mdev(ctx, cookie, &dev, &space))
        return err;
    for (uint64_t i = 0; i < npages; ++i) {
        if (!dev->pins.count_exact(iova + i * kPageSize, kPageSize))
            return -EINVAL;
    }
    unpin_pages(model, *dev, iova, npages);
    return 0;
}

void release_all_mdev_pins(Model& model, BoundDevice& dev) noexcept {
    dev.pins.drop_all([&](const PinnedRange& range) { release_charges(model.ledger(), range); });
}

void drop_mdev_pins_in(Model& model, Context& ctx, const IoAddressSpace& space, uint64_t first_page,
                       uint64_t last_page) noexcept {
    for (auto& [cookie, dev] : ctx.devices) {
        auto attached = dev->attachments.find(kNoPasid);
        if (dev->pins.empty() || attached == dev->attachments.end() || attached->second.space != &space)
            continue;
        dev->pins.drop_meeting(first_page << kPageShift, (last_page << kPageShift) + (kPageSize - 1),
                               [&](const PinnedRange& range) { release_charges(model.ledger(), range); });
    }
}

}  // namespace ciommu
