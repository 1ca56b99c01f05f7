#include "ioasid_ops.h"

#include <cerrno>

#include "../core/model.h"
#include "cuse-iommu.h"

namespace ciommu {
namespace {

long alloc_user_pgtable(Context& ctx, const iommu_ioasid_alloc& req) {
    IoAddressSpace* parent = ctx.ioasids.find(req.parent_ioasid);
    if (!parent)
        return -ENOENT;
    if (parent->kind() != IoasKind::kKernelManaged || req.user_pgd & (kPageSize - 1))
        return -EINVAL;
    if (req.pgtable_format != IOMMU_PGTABLE_FORMAT_X86_64)
        return -EOPNOTSUPP;
    auto space = std::make_unique<IoAddressSpace>(IoasKind::kUserPgtable);
    space->parent_id = req.parent_ioasid;
    space->pgtable_format = req.pgtable_format;
    space->user_pgd = req.user_pgd;
    space->enforce_snoop = req.flags & IOMMU_IOASID_ENFORCE_SNOOP;
    const long id = ctx.ioasids.alloc(std::move(space));
    if (id > 0)
        ++parent->children;
    return id;
}

}  // namespace

long alloc_ioasid(Context& ctx, const iommu_ioasid_alloc& req, const ProcessRef& caller) {
    const bool user = req.flags & IOMMU_IOASID_USER_PGTABLE;
    const bool identity = req.flags & IOMMU_IOASID_IDENTITY;
    if (user && identity)
        return -EINVAL;
    if (user)
        return alloc_user_pgtable(ctx, req);
    if (req.parent_ioasid || req.pgtable_format || req.user_pgd)
        return -EINVAL;  // nested attributes without USER_PGTABLE
    if (identity && !caller)
        return -EFAULT;  // no process to mirror
    auto space = std::make_unique<IoAddressSpace>(identity ? IoasKind::kIdentity : IoasKind::kKernelManaged);
    if (identity)
        space->identity_owner = caller;
    space->enforce_snoop = req.flags & IOMMU_IOASID_ENFORCE_SNOOP;
    return ctx.ioasids.alloc(std::move(space));
}

long free_ioasid(Model& model, Context& ctx, uint32_t id) noexcept {
    IoAddressSpace* space = ctx.ioasids.find(id);
    if (!space)
        return -ENOENT;
    if (space->attachments || space->children)
        return -EBUSY;
    const bool unpin = !space->borrowed_pins;
    space->unmap_all([&](const Process& owner, uint64_t vaddr) {
        if (unpin)
            model.ledger().unpin(owner, vaddr, 1);
    });
    model.iotlb().flush_space(space);
    if (space->kind() == IoasKind::kUserPgtable)
        --ctx.ioasids.find(space->parent_id)->children;
    return ctx.ioasids.free(id);
}

void free_all_ioasids(Model& model, Context& ctx) noexcept {
    // Children first: a parent is busy while it has any.  (Without a list:
    // teardown must not need memory.)
    for (const bool children : {true, false}) {
        for (auto id = ctx.ioasids.next_id(0); id; id = ctx.ioasids.next_id(*id)) {
            if ((ctx.ioasids.find(*id)->kind() == IoasKind::kUserPgtable) == children)
                free_ioasid(model, ctx, *id);
        }
    }
}

long check_map_dma(Context& ctx, uint32_t ioasid, const MapRequest& req) {
    IoAddressSpace* space = ctx.ioasids.find(ioasid);
    if (!space)
        return -ENOENT;
    if (space->kind() != IoasKind::kKernelManaged)
        return -EOPNOTSUPP;
    return space->check_map(req);
}

long map_dma(Model& model, Context& ctx, uint32_t ioasid, const MapRequest& req) {
    if (long err = check_map_dma(ctx, ioasid, req))
        return err;
    IoAddressSpace& space = *ctx.ioasids.find(ioasid);
    if (req.iopf)  // pinned page by page when the device first touches it
        return space.insert(req);
    const uint64_t npages = req.size / kPageSize;
    if (long err = model.ledger().pin(*req.owner, req.vaddr, npages, /*calling=*/true))
        return err == -ENOBUFS ? -ENOMEM : err;
    if (long err = space.insert(req)) {
        model.ledger().unpin(*req.owner, req.vaddr, npages);
        return err;
    }
    return 0;
}

long long unmap_dma(Model& model, Context& ctx, uint32_t ioasid, uint64_t iova, uint64_t size, bool all) {
    IoAddressSpace* space = ctx.ioasids.find(ioasid);
    if (!space)
        return -ENOENT;
    if (space->kind() != IoasKind::kKernelManaged)
        return -EOPNOTSUPP;
    auto unpin = [&](const Process& owner, uint64_t vaddr) { model.ledger().unpin(owner, vaddr, 1); };
    uint64_t first = 0, last = PageRadix<uint64_t>::kPageLimit - 1;
    long long unmapped;
    if (all) {
        if (iova || size)
            return -EINVAL;
        unmapped = static_cast<long long>(space->unmap_all(unpin));
    } else {
        unmapped = space->unmap(iova, size, unpin);
        if (unmapped < 0)
            return unmapped;
        first = iova >> kPageShift;
        last = (iova + (size - 1)) >> kPageShift;
    }
    if (unmapped == 0)
        return 0;  // nothing changed: nothing cached can be stale
    model.iotlb().flush_stage2(space, first, last);
    model.notify_unmapped(ctx, *space, first, last);
    return unmapped;
}

}  // namespace ciommu
