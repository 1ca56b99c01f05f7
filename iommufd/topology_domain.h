// A paging domain for a topology device (a simulated device of the
// daemon's topology, bound with CUSE_IOMMUFD_DEVICE_BIND): the RFC model's
// kernel-managed IoAddressSpace, kept in the context's IOASID table (the
// RFC uAPI is not served under --abi iommufd, so nothing else sees it).
// The devices' DMA, the IOTLB and the fault router then work on an
// iommufd page table exactly as on an RFC IOASID: one model, two uAPIs.
//
// Its IOMMU unit's aperture and reserved regions become reserved ranges
// of the IOAS it is attached to; its 4 KiB entries hold no pins of their
// own (IoAddressSpace::borrowed_pins): the IOAS's areas hold them.  It
// keeps each area as one mapping, so VFIO's unmap inside an area (a cut)
// is refused while it is attached.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "io_domain.h"

namespace ciommu {

class IoAddressSpace;
class Model;
struct Context;

// One RFC-model space an iommufd page table keeps in its context's IOASID
// table, freed with the page table -- unless the context's teardown,
// which frees every IOASID before the iommufd objects, got there first.
class ContextSpace {
public:
    ContextSpace(Model& model, Context& ctx) : model_(model), ctx_(ctx) {}
    ~ContextSpace();
    ContextSpace(const ContextSpace&) = delete;
    ContextSpace& operator=(const ContextSpace&) = delete;

    // Puts space in the table: 0 or -ENOSPC.  Throws bad_alloc (nothing changed).
    long add(std::unique_ptr<IoAddressSpace> space);
    // The space, or nullptr once the context's teardown has freed it.
    IoAddressSpace* get() const;
    uint32_t id() const { return id_; }
    Model& model() const { return model_; }

private:
    Model& model_;
    Context& ctx_;
    uint32_t id_ = 0;
    IoAddressSpace* space_ = nullptr;
};

class TopologyDomain final : public IoDomain {
public:
    // A new domain for IOMMU unit `unit`, its space allocated in ctx's
    // IOASID table: 0, -ENOSPC (the table is full) or -ENOMEM.
    static long make(Model& model, Context& ctx, unsigned unit, std::unique_ptr<TopologyDomain>& out);

    uint64_t pgsize_bitmap() const override { return pgsize_bitmap_; }
    IovaRange aperture() const override { return aperture_; }
    std::vector<IovaRange> reserved_regions() const override { return reserved_; }
    long map(uint64_t iova, const ProcessRef& owner, uint64_t vaddr, uint64_t length, uint32_t prot) override;
    // Unmaps and flushes what the IOTLB cached of it.
    void unmap(uint64_t iova, uint64_t length) noexcept override;
    bool cuttable() const override { return false; }

    // What a domain of that unit translates.
    static IovaRange aperture_of(const struct IommuUnit& unit);

    unsigned unit() const { return unit_; }
    // Its IOASID in the context's table: what devices attach to.
    uint32_t ioasid() const { return space_.id(); }
    // The space, or nullptr once the context's teardown has freed it.
    IoAddressSpace* space() const { return space_.get(); }

private:
    TopologyDomain(Model& model, Context& ctx, unsigned unit);

    const unsigned unit_;
    uint64_t pgsize_bitmap_ = 0;
    IovaRange aperture_{};
    std::vector<IovaRange> reserved_;
    ContextSpace space_;
};

// A VT-d nested page table's stage 1 over a TopologyDomain: the RFC
// model's user-managed space, the caller's x86-64 first-level table at
// pgtbl_addr (an IOVA of the parent domain), in the context's IOASID
// table.  The IOTLB caches its translations until HWPT_INVALIDATE.
class TopologyStage1 {
public:
    // 0, -ENOSPC or -ENOMEM.
    static long make(Model& model, Context& ctx, const TopologyDomain& parent, uint64_t pgtbl_addr,
                     std::unique_ptr<TopologyStage1>& out);

    uint32_t ioasid() const { return space_.id(); }
    // Flushes the IOTLB entries walked through it for stage-1 IOVA pages
    // [first_page, last_page].
    void invalidate(uint64_t first_page, uint64_t last_page) noexcept;

private:
    TopologyStage1(Model& model, Context& ctx) : space_(model, ctx) {}

    ContextSpace space_;
};

}  // namespace ciommu
