#include "emulated_device.h"

#include <cerrno>
#include <memory>
#include <new>

#include "../core/context.h"
#include "../core/model.h"
#include "../devices/device_ops.h"
#include "cuse-iommu.h"
#include "ioas.h"
#include "iommufd_ctx.h"

namespace ciommu {

Access* emulated_device(IommufdCtx& ictx, uint32_t dev_id) {
    Access* access = ictx.objects.get<Access>(dev_id);
    return access && access->is_emulated_device() ? access : nullptr;
}

long bind_emulated_device(Model& model, Context& ctx, const DeviceSpec& spec, uint32_t& out_dev_id) {
    IommufdCtx& ictx = ctx.iommufd;
    long id;
    try {
        id = add_access(ictx, std::make_unique<Access>(true, model.topology().index_of(spec)));
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
    if (id < 0)
        return id;
    Access& access = *ictx.objects.get<Access>(static_cast<uint32_t>(id));
    access.users = 1;  // the driver's, until it unbinds (iommufd_access_create)
    long err;
    try {
        err = bind_device(model, ctx, spec.name, static_cast<uint64_t>(id));
    } catch (const std::bad_alloc&) {  // nothing bound
        err = -ENOMEM;
    }
    if (err) {
        access.users = 0;
        ictx.destroy_object(model.ledger(), access.id);
        return err;
    }
    out_dev_id = access.id;
    return 0;
}

void unbind_emulated_device(Model& model, Context& ctx, Access& access) noexcept {
    unbind_device(model, ctx, access.id);
    access.users = 0;  // iommufd_access_destroy
    ctx.iommufd.destroy_object(model.ledger(), access.id);  // its pins and its IOAS go (iommufd_ctx.cpp)
}

long attach_emulated_device(Context& ctx, Access& access, uint32_t pt_id) {
    if (access.ioas_id)
        return -EBUSY;
    if (!ctx.iommufd.objects.get<Ioas>(pt_id))
        return -ENOENT;
    change_access_ioas(ctx.iommufd, access, pt_id);
    return 0;
}

long detach_emulated_device(Context& ctx, Access& access) noexcept {
    if (!access.ioas_id)
        return -ENOENT;
    change_access_ioas(ctx.iommufd, access, 0);  // the driver's pins go first (ops->unmap of everything)
    return 0;
}

long pin_emulated_pages(Context& ctx, Access& access, uint64_t iova, uint32_t npages, bool write) {
    IommufdCtx& ictx = ctx.iommufd;
    const Ioas* ioas = ictx.objects.get<Ioas>(access.ioas_id);
    if (!ioas)
        return -ENOENT;  // iommufd_access_pin_pages with no IOAS
    const uint64_t length = uint64_t{npages} * kPageSize;
    if (long err = check_access_pin(ioas->iopt, iova, iova + (length - 1), write, nullptr, 0))
        return err;
    if (access.pins.pin_again(iova, length))  // iopt_pages_add_access: the same range counts its users
        return 0;
    if (!ictx.records.take(1))
        return -ENOSPC;
    try {
        access.pins.add(iova, length);
    } catch (const std::bad_alloc&) {
        ictx.records.give(1);
        return -ENOMEM;
    }
    return 0;
}

// iommufd_access_unpin_pages names exactly a range pinned before (the
// kernel WARNs otherwise; this refuses, changing nothing).
long unpin_emulated_pages(Model& model, Context& ctx, Access& access, uint64_t iova, uint32_t npages) {
    if (!access.ioas_id)
        return -ENOENT;
    switch (access.pins.unpin_exact(iova, uint64_t{npages} * kPageSize, model.ledger())) {
    case DriverPins::Unpinned::kNone:
        return -EINVAL;
    case DriverPins::Unpinned::kRange:
        ctx.iommufd.records.give(1);
        return 0;
    default:
        return 0;
    }
}

void plan_emulated_dma(const IommufdCtx& ictx, const Access& access, uint64_t iova, uint64_t length, bool write,
                       EmulatedDmaPlan& plan) {
    const Ioas* ioas = ictx.objects.get<Ioas>(access.ioas_id);
    if (!ioas) {
        plan.fault_reason = IOMMU_FAULT_REASON_BLOCKED;
        return;
    }
    const long err = plan_access_rw(ioas->iopt, iova, iova + (length - 1), write, plan.pieces);
    for (const RwPiece& piece : plan.pieces)
        plan.bytes += piece.length;
    if (err)
        plan.fault_reason = err == -EPERM ? IOMMU_FAULT_REASON_PERMISSION : IOMMU_FAULT_REASON_NOT_MAPPED;
}

bool forget_revoked_emulated_device(Model& model, Context& ctx, uint64_t cookie) noexcept {
    Access* access = ctx.iommufd.objects.get<Access>(object_id_of_cookie(cookie));
    if (!access || !access->is_emulated_device() || ctx.find_device(cookie))
        return false;
    access->users = 0;
    ctx.iommufd.destroy_object(model.ledger(), access->id);
    return true;
}

}  // namespace ciommu
