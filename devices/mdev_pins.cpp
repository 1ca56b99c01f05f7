#include "mdev_pins.h"

#include <cerrno>
#include <new>
#include <tuple>

#include "../core/model.h"
#include "bound_device.h"

namespace ciommu {
namespace {

void unpin_page(Model& model, BoundDevice& dev, std::map<uint64_t, MdevPin>::iterator it) {
    model.ledger().unpin(*it->second.owner, it->second.vaddr, 1);
    if (--it->second.count == 0)
        dev.pins.erase(it);
}

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

}  // namespace

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
        long err = -ENOMEM;
        std::map<uint64_t, MdevPin>::iterator pin;
        bool made = false;
        try {
            std::tie(pin, made) = dev->pins.try_emplace((iova >> kPageShift) + i);
            err = model.ledger().pin(*targets[i].owner, targets[i].vaddr, 1);
        } catch (const std::bad_alloc&) {
        }
        if (err) {
            if (made)
                dev->pins.erase(pin);
            mdev_unpin(model, ctx, cookie, iova, i);  // roll back what this call pinned
            return err == -ENOBUFS ? -ENOMEM : err;
        }
        pin->second = {targets[i].vaddr, targets[i].owner->shared_from_this(), pin->second.count + 1};
    }
    return 0;
}

long mdev_unpin(Model& model, Context& ctx, uint64_t cookie, uint64_t iova, uint32_t npages) {
    BoundDevice* dev;
    IoAddressSpace* space;
    if (long err = find_attached_sw_mdev(ctx, cookie, &dev, &space))
        return err;
    const uint64_t first = iova >> kPageShift;
    for (uint64_t page = first; page < first + npages; ++page) {
        if (!dev->pins.count(page))
            return -EINVAL;
    }
    for (uint64_t page = first; page < first + npages; ++page)
        unpin_page(model, *dev, dev->pins.find(page));
    return 0;
}

void release_all_mdev_pins(Model& model, BoundDevice& dev) noexcept {
    for (auto& [page, pin] : dev.pins)
        for (uint32_t i = 0; i < pin.count; ++i)
            model.ledger().unpin(*pin.owner, pin.vaddr, 1);
    dev.pins.clear();
}

void drop_mdev_pins_in(Model& model, Context& ctx, const IoAddressSpace& space, uint64_t first_page,
                       uint64_t last_page) noexcept {
    for (auto& [cookie, dev] : ctx.devices) {
        auto attached = dev->attachments.find(kNoPasid);
        if (dev->pins.empty() || attached == dev->attachments.end() || attached->second.space != &space)
            continue;
        auto it = dev->pins.lower_bound(first_page);
        while (it != dev->pins.end() && it->first <= last_page) {
            for (uint32_t i = 0; i < it->second.count; ++i)
                model.ledger().unpin(*it->second.owner, it->second.vaddr, 1);
            it = dev->pins.erase(it);
        }
    }
}

}  // namespace ciommu
