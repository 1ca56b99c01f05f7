#include "topology_domain.h"

#include <algorithm>
#include <cerrno>
#include <new>

#include "../core/context.h"
#include "../core/model.h"
#include "../ioasid/ioasid_ops.h"
#include "cuse-iommu.h"

namespace ciommu {

ContextSpace::~ContextSpace() {
    if (get())
        free_ioasid(model_, ctx_, id_);  // no device or child is left on it: iommufd's users; a
                                         // user-managed child drops its parent's child count
}

long ContextSpace::add(std::unique_ptr<IoAddressSpace> space) {
    IoAddressSpace* raw = space.get();
    const long id = ctx_.ioasids.alloc(std::move(space));
    if (id < 0)
        return id;
    id_ = static_cast<uint32_t>(id);
    space_ = raw;
    return 0;
}

IoAddressSpace* ContextSpace::get() const { return space_ && ctx_.ioasids.find(id_) == space_ ? space_ : nullptr; }

TopologyDomain::TopologyDomain(Model& model, Context& ctx, unsigned unit) : unit_(unit), space_(model, ctx) {
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
        if (long err = domain->space_.add(std::move(space)))
            return err;
        out = std::move(domain);
        return 0;
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
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
    space_.model().iotlb().flush_stage2(space, iova >> kPageShift, (iova + length - 1) >> kPageShift);
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
        if (long err = stage1->space_.add(std::move(space)))
            return err;
        ++parent_space->children;  // free_ioasid drops it
        out = std::move(stage1);
        return 0;
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
}

void TopologyStage1::invalidate(uint64_t first_page, uint64_t last_page) noexcept {
    if (IoAddressSpace* space = space_.get())
        space_.model().iotlb().flush_stage1(space, std::nullopt, first_page, last_page);
}

}  // namespace ciommu
