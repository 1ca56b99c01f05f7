#include "topology_device.h"

#include <cerrno>
#include <new>

#include "../core/context.h"
#include "../core/model.h"
#include "../devices/device_ops.h"
#include "device.h"
#include "device_attach.h"
#include "emulated_device.h"
#include "hw_pagetable.h"
#include "ioas.h"
#include "iommufd_ctx.h"
#include "topology_domain.h"

namespace ciommu {
namespace {

unsigned unit_of(const Model& model, const Device& idev) { return model.topology().devices[idev.topology].iommu; }

// The paging page table of the device's unit an attach to `ioas` uses:
// an automatic one there already, or a new one (*made).
long auto_topology_domain(Model& model, Context& ctx, const Device& idev, Ioas& ioas, HwptPaging*& out,
                          bool& made) {
    out = nullptr;
    made = false;
    const unsigned unit = unit_of(model, idev);
    ctx.iommufd.objects.for_each(ObjectKind::kHwptPaging, [&](IommufdObject& object) {
        auto& hwpt = static_cast<HwptPaging&>(object);
        if (!out && hwpt.auto_domain && hwpt.ioas_id == ioas.id && hwpt.topology() && hwpt.topology()->unit() == unit)
            out = &hwpt;
    });
    if (out)
        return 0;
    PagingOptions options{.auto_domain = true};
    if (long err = make_topology_domain(model, ctx, idev, options.topology_domain))
        return err;
    if (long err = alloc_hwpt_paging(ctx.iommufd, model.ledger(), ioas, std::move(options), out))
        return err;
    made = true;
    return 0;
}

// The page table pt_id names for the device, and the RFC space its
// attachment goes to.
long resolve(Model& model, Context& ctx, const Device& idev, uint32_t pt_id, IommufdObject*& hwpt,
             uint32_t& ioasid, bool& made) {
    made = false;
    IommufdObject* object = ctx.iommufd.objects.find_any(pt_id);
    if (!object)
        return -ENOENT;
    const unsigned unit = unit_of(model, idev);
    HwptPaging* paging = nullptr;
    switch (object->kind) {
    case ObjectKind::kIoas:
        if (long err = auto_topology_domain(model, ctx, idev, static_cast<Ioas&>(*object), paging, made))
            return err;
        break;
    case ObjectKind::kHwptPaging:
        paging = static_cast<HwptPaging*>(object);
        break;
    case ObjectKind::kHwptNested: {
        const auto& nested = static_cast<HwptNested&>(*object);
        const auto* parent = ctx.iommufd.objects.get<HwptPaging>(nested.parent_id);
        if (!nested.stage1_ioasid() || !parent || !parent->topology() || parent->topology()->unit() != unit)
            return -EINVAL;
        hwpt = object;
        ioasid = nested.stage1_ioasid();
        return 0;
    }
    default:
        return -EINVAL;
    }
    if (!paging->topology() || paging->topology()->unit() != unit)
        return -EINVAL;  // the mock's, or another IOMMU's
    hwpt = paging;
    ioasid = paging->topology()->ioasid();
    return 0;
}

}  // namespace

long bind_topology_device(Model& model, Context& ctx, std::string_view name, uint32_t& out_dev_id) {
    const DeviceSpec* spec = model.topology().find_device(name);
    if (!spec || !spec->present)
        return -ENODEV;
    if (spec->kind == DeviceKind::kSwMdev)
        return bind_emulated_device(model, ctx, *spec, out_dev_id);
    long id;
    try {
        id = ctx.iommufd.objects.add(std::make_unique<Device>(0, model.topology().index_of(*spec)));
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
    if (id < 0)
        return id;
    long err;
    try {
        err = bind_device(model, ctx, name, static_cast<uint64_t>(id));
    } catch (const std::bad_alloc&) {  // nothing bound: the device object goes too
        err = -ENOMEM;
    }
    if (err) {
        Device* idev = ctx.iommufd.objects.get<Device>(static_cast<uint32_t>(id));
        idev->users = 0;
        ctx.iommufd.objects.destroy(static_cast<uint32_t>(id));
        return err;
    }
    out_dev_id = static_cast<uint32_t>(id);
    return 0;
}

void unbind_topology_device(Model& model, Context& ctx, Device& idev) noexcept {
    unbind_device(model, ctx, idev.id);
    idev.users = 0;  // the "driver" lets go
    ctx.iommufd.destroy_object(model.ledger(), idev.id);  // puts its page tables
}

long attach_topology_device(Model& model, Context& ctx, Device& idev, uint32_t pt_id, std::optional<uint32_t> pasid,
                            uint32_t& out_hwpt) {
    if (idev.hwpt_at(pasid.value_or(kNoPasid)))
        return -EBUSY;
    IommufdObject* hwpt = nullptr;
    uint32_t ioasid = 0;
    bool made = false;
    if (long err = resolve(model, ctx, idev, pt_id, hwpt, ioasid, made))
        return err;
    long err;
    try {
        if (pasid)
            idev.pasid_hwpts.emplace(*pasid, 0);  // room first: the RFC attach is the last step
        err = attach_device(model, ctx, idev.id, ioasid, pasid);  // may throw, nothing changed
    } catch (const std::bad_alloc&) {
        err = -ENOMEM;
    }
    if (err) {
        if (pasid)
            idev.pasid_hwpts.erase(*pasid);  // (it was not there before: hwpt_at said so)
        if (made)
            ctx.iommufd.destroy_object(model.ledger(), hwpt->id);
        return err;
    }
    ++hwpt->users;
    *(pasid ? &idev.pasid_hwpts[*pasid] : &idev.hwpt_id) = out_hwpt = hwpt->id;
    return 0;
}

long detach_topology_device(Model& model, Context& ctx, Device& idev, std::optional<uint32_t> pasid) noexcept {
    const uint32_t hwpt_id = idev.hwpt_at(pasid.value_or(kNoPasid));
    if (!hwpt_id)
        return -ENOENT;
    detach_device(model, ctx, idev.id, pasid);
    if (pasid)
        idev.pasid_hwpts.erase(*pasid);
    else
        idev.hwpt_id = 0;
    put_hwpt(ctx.iommufd, model.ledger(), hwpt_id, idev.id);
    return 0;
}

long make_topology_domain(Model& model, Context& ctx, const Device& idev, std::unique_ptr<IoDomain>& out) {
    std::unique_ptr<TopologyDomain> domain;
    if (long err = TopologyDomain::make(model, ctx, unit_of(model, idev), domain))
        return err;
    out = std::move(domain);
    return 0;
}

bool forget_revoked_topology_device(Model& model, Context& ctx, uint64_t cookie) noexcept {
    Device* idev = ctx.iommufd.objects.get<Device>(object_id_of_cookie(cookie));
    if (!idev || !idev->is_topology() || ctx.find_device(cookie))
        return false;
    idev->users = 0;
    ctx.iommufd.destroy_object(model.ledger(), idev->id);  // puts its page tables
    return true;
}

void put_topology_hwpts(IommufdCtx& ictx, PinLedger& ledger, Device& idev) noexcept {
    if (const uint32_t hwpt_id = std::exchange(idev.hwpt_id, 0))
        put_hwpt(ictx, ledger, hwpt_id, idev.id);
    for (const auto& [pasid, hwpt_id] : idev.pasid_hwpts)
        put_hwpt(ictx, ledger, hwpt_id, idev.id);
    idev.pasid_hwpts.clear();
}

}  // namespace ciommu
