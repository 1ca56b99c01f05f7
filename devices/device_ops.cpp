#include "device_ops.h"

#include <cerrno>

#include "../core/model.h"
#include "mdev_pins.h"
#include "stalled_dma.h"

namespace ciommu {
namespace {

const IommuUnit* unit_of(const Model& model, const DeviceSpec& spec) {
    return spec.iommu == kNoIndex ? nullptr : &model.topology().iommus[spec.iommu];
}

// The kernel-managed space whose mappings a device attached to `space` uses.
IoAddressSpace* stage2_of(Context& ctx, IoAddressSpace& space) {
    if (space.kind() == IoasKind::kUserPgtable)
        return ctx.ioasids.find(space.parent_id);
    return space.kind() == IoasKind::kKernelManaged ? &space : nullptr;
}

std::vector<IovaRange> no_map_regions(const IommuUnit& unit) {
    std::vector<IovaRange> ranges;
    for (const ReservedRegion& region : unit.reserved) {
        if (region.type != ResvType::kDirect)
            ranges.push_back({region.start, region.last});
    }
    return ranges;
}

uint64_t aperture_of(const IommuUnit& unit) {
    return std::min(kApertureEnd, uint64_t{1} << unit.address_width);
}

long check_bindable(Model& model, Context& ctx, const DeviceSpec& spec, uint64_t cookie) {
    DeviceTable& table = model.devices();
    const unsigned index = model.topology().index_of(spec);
    if (ctx.find_device(cookie))
        return -EEXIST;
    if (table.bound(index))
        return -EBUSY;
    if (Context* owner = table.group_owner(spec.group); owner && owner != &ctx)
        return -EBUSY;
    if (spec.kind == DeviceKind::kPci && table.mdevs_bound_on(index))
        return -EBUSY;  // its mdevs' vendor driver owns it
    if (spec.kind != DeviceKind::kPci && table.bound(spec.parent))
        return -EBUSY;  // the parent is assigned whole
    return 0;
}

// Checks an attach against the device's IOMMU.  0 or -errno.  stage2: the
// kernel-managed space the device's DMA ends in (nullptr: identity).
long check_attach_caps(const DeviceSpec& spec, const IommuUnit& unit, const IoAddressSpace& space,
                       const IoAddressSpace* stage2, std::optional<uint32_t> pasid) {
    if (pasid) {
        if (spec.kind != DeviceKind::kPci || !spec.pasid || unit.pasid_width == 0)
            return -EOPNOTSUPP;
        if (*pasid == 0 || *pasid >= (uint64_t{1} << unit.pasid_width))
            return -EINVAL;
    }
    if (space.kind() == IoasKind::kUserPgtable &&
        (unit.nesting == Nesting::kNone || !(unit.pgtable_formats & (1u << space.pgtable_format))))
        return -EOPNOTSUPP;
    const bool snoop = space.enforce_snoop || (stage2 && stage2->enforce_snoop);
    if (snoop && !unit.snoop_control)
        return -EOPNOTSUPP;
    // iommufd refuses a device that cannot set dirty bits on a tracking
    // domain the same way.
    if (stage2 && stage2->dirty_tracking() && !unit.dirty_tracking)
        return -EINVAL;
    return 0;
}

void remove_attachment(Model& model, Context& ctx, BoundDevice& dev, uint32_t key) {
    model.fault_port().abort_page_requests(model, dev, key);  // nothing may wait on a route that is gone
    Attachment& attachment = dev.attachments.at(key);
    IoAddressSpace& space = *attachment.space;
    if (auto route = route_of(model, attachment)) {
        model.routes().remove(*route);
        model.iotlb().flush_route(route->unit, route->rid, route->pasid);
    } else {
        release_all_mdev_pins(model, dev);
    }
    --space.attachments;
    const unsigned unit = dev.spec->iommu;
    const bool translated = dev.spec->kind != DeviceKind::kSwMdev;
    dev.attachments.erase(key);
    IoAddressSpace* stage2 = stage2_of(ctx, space);
    if (translated && stage2) {
        auto attached = stage2->attached_units.find(unit);
        if (--attached->second == 0) {
            stage2->attached_units.erase(attached);  // the last of its IOMMU: constraints loosen
            loosen_constraints(model, *stage2);
        }
    }
}

// Records a checked attachment: the device's entry, its route, its
// IOMMU unit in the stage-2 space (and that space's narrowed constraints).
// Each step that can run out of memory is undone if a later one does.
long add_attachment(Model& model, BoundDevice& dev, const Attachment& made, IoAddressSpace* stage2,
                    std::optional<Constraints> narrowed) {
    const auto entry = dev.attachments.try_emplace(made.pasid, made).first;  // may throw: nothing changed yet
    Attachment& attachment = entry->second;
    const std::optional<RouteKey> route = route_of(model, attachment);
    try {
        if (route)
            model.routes().add(*route, &attachment);
        if (stage2)
            ++stage2->attached_units[dev.spec->iommu];
    } catch (const std::bad_alloc&) {
        if (route && model.routes().find(*route) == &attachment)
            model.routes().remove(*route);
        dev.attachments.erase(entry);
        return -ENOMEM;
    }
    if (narrowed)
        stage2->set_constraints(narrowed->aperture_end, std::move(narrowed->reserved));
    dev.page_requests_stopped = false;  // a FAILURE response lasts until re-attach
    ++attachment.space->attachments;
    return 0;
}

// Records a checked bind in the device table and the context.  Every step
// that can run out of memory (each one all or nothing) is undone if a
// later one does.
long add_binding(Model& model, Context& ctx, std::unique_ptr<BoundDevice> dev) {
    DeviceTable& table = model.devices();
    const DeviceSpec& spec = *dev->spec;
    BoundDevice* bound = dev.get();
    const bool mdev = spec.kind != DeviceKind::kPci;
    enum Step { kNone, kPasid, kGroup, kParent, kBound } done = kNone;
    try {
        if (spec.kind == DeviceKind::kMdev) {
            dev->def_pasid = table.alloc_def_pasid(spec.parent, unit_of(model, spec)->pasid_width);
            if (dev->def_pasid == 0)
                return -ENOSPC;
        }
        done = kPasid;
        table.claim_group(spec.group, &ctx);
        done = kGroup;
        if (mdev)
            table.add_mdev(spec.parent);
        done = kParent;
        table.set_bound(dev->index, bound);
        done = kBound;
        ctx.devices.emplace(dev->cookie, std::move(dev));
    } catch (const std::bad_alloc&) {
        if (done >= kBound)
            table.set_bound(bound->index, nullptr);
        if (done >= kParent && mdev)
            table.remove_mdev(spec.parent);
        if (done >= kGroup)
            table.release_group(spec.group);
        if (done >= kPasid && spec.kind == DeviceKind::kMdev)
            table.free_def_pasid(spec.parent, bound->def_pasid);
        return -ENOMEM;
    }
    bound->binding = ctx.next_binding++;
    return 0;
}

}  // namespace

std::optional<RouteKey> route_of(const Model& model, const Attachment& attachment) {
    const BoundDevice& dev = *attachment.dev;
    if (dev.spec->kind == DeviceKind::kSwMdev)
        return std::nullopt;
    const uint32_t bus_pasid = dev.spec->kind == DeviceKind::kMdev ? dev.def_pasid : attachment.pasid;
    (void)model;
    return RouteKey{dev.spec->iommu, dev.spec->rid, bus_pasid};
}

long bind_device(Model& model, Context& ctx, std::string_view name, uint64_t cookie) {
    const DeviceSpec* spec = model.topology().find_device(name);
    if (!spec)
        return -ENODEV;
    if (long err = check_bindable(model, ctx, *spec, cookie))
        return err;

    DeviceTable& table = model.devices();
    const unsigned index = model.topology().index_of(*spec);
    auto dev = std::make_unique<BoundDevice>();
    dev->spec = spec;
    dev->index = index;
    dev->ctx = &ctx;
    dev->cookie = cookie;
    dev->max_page_requests = table.page_request_limit(index);
    dev->physical = spec->kind == DeviceKind::kPci ? index : spec->parent;
    dev->def_pasid = kNoPasid;
    return add_binding(model, ctx, std::move(dev));
}

long unbind_device(Model& model, Context& ctx, uint64_t cookie) noexcept {
    BoundDevice* dev = ctx.find_device(cookie);
    if (!dev)
        return -ENOENT;
    while (!dev->attachments.empty())
        remove_attachment(model, ctx, *dev, dev->attachments.begin()->first);
    model.fault_port().abort_page_requests(model, *dev, std::nullopt);
    forget_dma_data(ctx, dev->binding);  // what one binding held stays bounded

    DeviceTable& table = model.devices();
    const DeviceSpec& spec = *dev->spec;
    if (spec.kind == DeviceKind::kMdev)
        table.free_def_pasid(spec.parent, dev->def_pasid);
    if (spec.kind != DeviceKind::kPci)
        table.remove_mdev(spec.parent);
    table.release_group(spec.group);
    table.set_bound(dev->index, nullptr);
    ctx.devices.erase(cookie);
    return 0;
}

void unbind_all_devices(Model& model, Context& ctx) noexcept {
    while (!ctx.devices.empty())
        unbind_device(model, ctx, ctx.devices.begin()->first);
}

long attach_device(Model& model, Context& ctx, uint64_t cookie, uint32_t ioasid,
                   std::optional<uint32_t> pasid) {
    BoundDevice* dev = ctx.find_device(cookie);
    IoAddressSpace* space = ctx.ioasids.find(ioasid);
    if (!dev || !space)
        return -ENOENT;
    const DeviceSpec& spec = *dev->spec;
    const uint32_t key = pasid.value_or(kNoPasid);
    // A new IOMMU for this space narrows what may be mapped; another
    // attachment behind an IOMMU it has already changes nothing.
    IoAddressSpace* stage2 = nullptr;
    std::optional<Constraints> narrowed;

    if (spec.kind == DeviceKind::kSwMdev) {
        // No IOMMU: the attachment only names where the vendor driver pins.
        if (pasid || space->kind() != IoasKind::kKernelManaged)
            return -EOPNOTSUPP;
        if (dev->attachments.count(key))
            return -EBUSY;
    } else {
        const IommuUnit& unit = *unit_of(model, spec);
        stage2 = stage2_of(ctx, *space);
        if (long err = check_attach_caps(spec, unit, *space, stage2, pasid))
            return err;
        if (dev->attachments.count(key))
            return -EBUSY;
        if (stage2 && !stage2->attached_units.count(spec.iommu)) {
            if (long err = stage2->check_fits(aperture_of(unit), no_map_regions(unit)))
                return err;
            auto units = stage2->attached_units;
            units[spec.iommu] = 1;
            narrowed = constraints_of(model, units);
        }
    }
    return add_attachment(model, *dev, Attachment{dev, key, ioasid, space}, stage2, std::move(narrowed));
}

long detach_device(Model& model, Context& ctx, uint64_t cookie, std::optional<uint32_t> pasid) noexcept {
    BoundDevice* dev = ctx.find_device(cookie);
    if (!dev || !dev->attachments.count(pasid.value_or(kNoPasid)))
        return -ENOENT;
    remove_attachment(model, ctx, *dev, pasid.value_or(kNoPasid));
    return 0;
}

Constraints constraints_of(const Model& model, const std::map<unsigned, unsigned>& attached_units) {
    Constraints c{kApertureEnd, {}};
    for (const auto& [unit, attached] : attached_units) {
        const IommuUnit& iommu = model.topology().iommus[unit];
        c.aperture_end = std::min(c.aperture_end, aperture_of(iommu));
        for (const IovaRange& r : no_map_regions(iommu))
            c.reserved.push_back(r);
    }
    std::sort(c.reserved.begin(), c.reserved.end());
    c.reserved.erase(std::unique(c.reserved.begin(), c.reserved.end()), c.reserved.end());
    return c;
}

void loosen_constraints(const Model& model, IoAddressSpace& kernel_space) noexcept {
    const auto& iommus = model.topology().iommus;
    uint64_t aperture_end = kApertureEnd;
    for (const auto& [unit, attached] : kernel_space.attached_units)
        aperture_end = std::min(aperture_end, aperture_of(iommus[unit]));
    // A range stays while a unit still attached reserves it.
    kernel_space.loosen_constraints(aperture_end, [&](const IovaRange& range) {
        for (const auto& [unit, attached] : kernel_space.attached_units) {
            for (const ReservedRegion& region : iommus[unit].reserved) {
                if (region.type != ResvType::kDirect && region.start == range.start && region.last == range.last)
                    return false;
            }
        }
        return true;
    });
}

}  // namespace ciommu
