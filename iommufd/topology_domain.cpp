#include "topology_domain.h"

#include <algorithm>
#include <cerrno>
#include <new>

#include "../core/context.h"
#include "../core/model.h"
#include "../ioasid/ioasid_ops.h"
#include "cuse-iommu.h"

namespace ciommu {

TopologyDomain::TopologyDomain(Model& model, Context& ctx, unsigned unit) : model_(model), ctx_(ctx), unit_(unit) {
    const IommuUnit& spec = model.topology().iommus[unit];
    pgsize_bitmap_ = spec.pgsize_bitmap | kPageSize;
    aperture_ = aperture_of(spec);
    for (const ReservedRegion& region : spec.reserved) {
        if (region.type != ResvType::kDirect)  // a direct region is mapped, not avoided
            reserved_.push_back({region.start, region.last});
    }
}

IovaRange TopologyDomain::aperture_of(const IommuUnit& unit) {
    return {0, std::min(kApertureEnd, uint64_t{1} << unit.address_width) - 1};
}

long TopologyDomain::make(Model& model, Context& ctx, unsigned unit, std::unique_ptr<TopologyDomain>& out) {
    try {
        std::unique_ptr<TopologyDomain> domain(new TopologyDomain(model, ctx, unit));
        auto space = std::make_unique<IoAddressSpace>(IoasKind::kKernelManaged);
        space->borrowed_pins = true;
        IoAddressSpace* raw = space.get();
        const long id = ctx.ioasids.alloc(std::move(space));
        if (id < 0)
            return id;
        domain->ioasid_ = static_cast<uint32_t>(id);
        domain->space_ = raw;
        out = std::move(domain);
        return 0;
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
}

TopologyDomain::~TopologyDomain() {
    if (space())
        free_ioasid(model_, ctx_, ioasid_);  // no device or child is left on it: iommufd's users
}

IoAddressSpace* TopologyDomain::space() const {
    // The context's teardown frees every IOASID before the iommufd objects.
    return ctx_.ioasids.find(ioasid_) == space_ ? space_ : nullptr;
}

long TopologyDomain::map(uint64_t iova, const ProcessRef& owner, uint64_t vaddr, uint64_t length, uint32_t prot) {
    IoAddressSpace* space = this->space();
    if (!space)
        return -ENOMEM;
    const MapRequest req{iova, length, vaddr, prot, owner};
    // The IOAS has checked the range (alignment, aperture, reserved) and
    // pinned it; only the space's own limits are left.
    return space->insert(req) ? -ENOMEM : 0;
}

void TopologyDomain::unmap(uint64_t iova, uint64_t length) noexcept {
    IoAddressSpace* space = this->space();
    if (!space)
        return;
    space->unmap(iova, length, [](const Process&, uint64_t) {});
    model_.iotlb().flush_stage2(space, iova >> kPageShift, (iova + length - 1) >> kPageShift);
}

long TopologyStage1::make(Model& model, Context& ctx, const TopologyDomain& parent, uint64_t pgtbl_addr,
                          std::unique_ptr<TopologyStage1>& out) {
    IoAddressSpace* parent_space = parent.space();
    if (!parent_space)
        return -ENOENT;
    try {
        std::unique_ptr<TopologyStage1> stage1(new TopologyStage1(model, ctx));
        auto space = std::make_unique<IoAddressSpace>(IoasKind::kUserPgtable);
        space->parent_id = parent.ioasid();
        space->pgtable_format = IOMMU_PGTABLE_FORMAT_X86_64;
        space->user_pgd = pgtbl_addr;
        IoAddressSpace* raw = space.get();
        const long id = ctx.ioasids.alloc(std::move(space));
        if (id < 0)
            return id;
        ++parent_space->children;
        stage1->ioasid_ = static_cast<uint32_t>(id);
        stage1->space_ = raw;
        out = std::move(stage1);
        return 0;
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
}

TopologyStage1::~TopologyStage1() {
    if (space())
        free_ioasid(model_, ctx_, ioasid_);  // drops the parent's child count
}

IoAddressSpace* TopologyStage1::space() const { return ctx_.ioasids.find(ioasid_) == space_ ? space_ : nullptr; }

void TopologyStage1::invalidate(uint64_t first_page, uint64_t last_page) noexcept {
    if (IoAddressSpace* space = this->space())
        model_.iotlb().flush_stage1(space, std::nullopt, first_page, last_page);
}

}  // namespace ciommu
