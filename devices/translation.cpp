#include "translation.h"

#include <cerrno>

#include "../dispatcher/model.h"
#include "../ioasid/user_memory.h"
#include "../ioasid/x86_pgtable.h"
#include "cuse-iommu.h"

namespace ciommu {
namespace {

Translation faulted(uint64_t iova, bool write, uint32_t reason, uint32_t stage) {
    Translation t;
    t.fault = {iova, reason, stage | (write ? IOMMU_FAULT_WRITE : 0u)};
    return t;
}

Translation reached(const PageTarget& target) {
    Translation t;
    t.ok = true;
    t.vaddr = target.vaddr;
    t.pid = target.pid;
    return t;
}

// Stage 2: a kernel-managed space.  `addr` is its input (an IOVA, or a
// stage-1 output); faults are reported against the device's `iova`.
Translation walk_stage2(const IoAddressSpace& s2, uint64_t addr, uint64_t iova, bool write) {
    auto target = s2.lookup(addr);
    if (!target)
        return faulted(iova, write, IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE2);
    if (!(target->prot & (write ? kProtWrite : kProtRead)))
        return faulted(iova, write, IOMMU_FAULT_REASON_PERMISSION, IOMMU_FAULT_STAGE2);
    return reached(*target);
}

// Stage 1 in the user's x86-64 table, every table read going through stage 2.
// On success, *s1_output is the stage-1 output (an IOVA of s2) and
// *s1_writable whether every stage-1 level allowed writes.
Translation walk_nested(const IoAddressSpace& s1, const IoAddressSpace& s2, uint64_t iova, bool write,
                        uint64_t* s1_output, bool* s1_writable) {
    uint64_t table = s1.user_pgd;
    bool writable = true;
    for (unsigned level = x86pt::kLevels; level >= 1; --level) {
        const uint64_t entry_addr = table + 8ull * x86pt::index_at(iova, level);
        Translation entry_loc = walk_stage2(s2, entry_addr, iova, false);
        if (!entry_loc.ok)
            return entry_loc;
        uint64_t pte = 0;
        if (read_user(entry_loc.pid, entry_loc.vaddr, &pte, sizeof(pte))) {
            Translation t;
            t.err = -EFAULT;
            return t;
        }
        if (!(pte & x86pt::kPresent))
            return faulted(iova, write, IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE1);
        writable = writable && (pte & x86pt::kWritable);
        const bool leaf = level == 1 || ((level == 2 || level == 3) && (pte & x86pt::kLargePage));
        if (leaf) {
            const uint64_t span = x86pt::entry_span(level);
            if (write && !writable)
                return faulted(iova, write, IOMMU_FAULT_REASON_PERMISSION, IOMMU_FAULT_STAGE1);
            *s1_output = ((pte & x86pt::kAddressMask) & ~(span - 1)) | (iova & (span - 1));
            *s1_writable = writable;
            return walk_stage2(s2, *s1_output, iova, write);
        }
        table = pte & x86pt::kAddressMask;
    }
    return faulted(iova, write, IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE1);  // not reached
}

bool in_reserved(const IommuUnit& unit, uint64_t iova) {
    for (const ReservedRegion& region : unit.reserved) {
        if (region.type != ResvType::kDirect && iova >= region.start && iova <= region.last)
            return true;
    }
    return false;
}

}  // namespace

Translation translate_in(const IoAddressSpace& space, uint64_t iova, bool write) {
    return walk_stage2(space, iova, iova, write);
}

Translation translate_routed(Model& model, const RouteKey& route, uint64_t iova, bool write) {
    const IommuUnit& unit = model.topology().iommus[route.unit];
    if (unit.address_width < 64 && iova >> unit.address_width)
        return faulted(iova, write, IOMMU_FAULT_REASON_ADDR_SIZE, 0);
    if (in_reserved(unit, iova))
        return faulted(iova, write, IOMMU_FAULT_REASON_RESERVED, 0);
    const Attachment* attachment = model.routes().find(route);
    if (!attachment)
        return faulted(iova, write, IOMMU_FAULT_REASON_BLOCKED, 0);
    Context& ctx = *attachment->dev->ctx;

    const IotlbKey key{route.unit, route.rid, route.pasid, iova >> kPageShift};
    if (auto hit = model.iotlb().lookup(key); hit && (hit->prot & (write ? kProtWrite : kProtRead))) {
        ++ctx.iotlb_hits;
        Translation t = reached({(hit->va_page << kPageShift) | (iova & (kPageSize - 1)), hit->pid, hit->prot});
        t.iotlb_hit = true;
        return t;
    }
    ++ctx.iotlb_misses;

    const IoAddressSpace& space = *attachment->space;
    Translation t;
    IotlbEntry entry{};
    switch (space.kind()) {
    case IoasKind::kIdentity:
        t = reached({iova, space.identity_pid, kProtRead | kProtWrite});
        entry = {iova >> kPageShift, space.identity_pid, kProtRead | kProtWrite, nullptr, &space, key.page};
        break;
    case IoasKind::kKernelManaged:
        t = walk_stage2(space, iova, iova, write);
        if (t.ok)
            entry = {t.vaddr >> kPageShift, t.pid, space.lookup(iova)->prot, nullptr, &space, key.page};
        break;
    case IoasKind::kUserPgtable: {
        const IoAddressSpace& parent = *ctx.ioasids.find(space.parent_id);
        uint64_t s1_output = 0;
        bool s1_writable = false;
        t = walk_nested(space, parent, iova, write, &s1_output, &s1_writable);
        if (t.ok) {
            // Effective permission: both stages must allow it.
            const uint32_t s2_prot = parent.lookup(s1_output)->prot;
            const uint32_t prot = s2_prot & (s1_writable ? (kProtRead | kProtWrite) : kProtRead);
            entry = {t.vaddr >> kPageShift, t.pid, prot, &space, &parent, s1_output >> kPageShift};
        }
        break;
    }
    }
    if (t.ok)
        model.iotlb().insert(key, entry);
    return t;
}

}  // namespace ciommu
