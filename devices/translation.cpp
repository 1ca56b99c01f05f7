#include "translation.h"

#include <cerrno>

#include "../core/model.h"
#include "../ioasid/x86_pgtable.h"
#include "cuse-iommu.h"

namespace ciommu {

const MemoryOracle::Known* MemoryOracle::find(const Process& owner, MemoryNeed::Kind kind, uint64_t addr) const {
    for (const Known& k : known_) {
        if (k.owner.get() == &owner && k.kind == kind && k.addr == addr)
            return &k;
    }
    return nullptr;
}

std::optional<std::optional<uint64_t>> MemoryOracle::table_entry(const Process& owner, uint64_t addr) const {
    const Known* k = find(owner, MemoryNeed::Kind::kTableEntry, addr);
    if (!k)
        return std::nullopt;
    return k->ok ? std::optional<uint64_t>(k->value) : std::optional<uint64_t>();
}

std::optional<bool> MemoryOracle::page_readable(const Process& owner, uint64_t page) const {
    const Known* k = find(owner, MemoryNeed::Kind::kPage, page);
    return k ? std::optional<bool>(k->ok) : std::nullopt;
}

void MemoryOracle::fetch(const MemoryNeed& need) {
    Known k{need.owner, need.kind, need.addr, false, 0};
    if (need.kind == MemoryNeed::Kind::kTableEntry) {
        k.ok = need.owner->read(need.addr, &k.value, sizeof(k.value)) == 0;
    } else {
        char byte;
        k.ok = need.owner->read(need.addr, &byte, 1) == 0;
    }
    known_.push_back(std::move(k));
}

namespace {

Translation reached(const PageTarget& target) {
    Translation t;
    t.ok = true;
    t.vaddr = target.vaddr;
    t.owner = target.owner;
    return t;
}

Translation needs(MemoryNeed::Kind kind, const Process& owner, uint64_t addr) {
    Translation t;
    // Under the model lock the owner is alive (a mapping holds it): take a
    // reference the reader can keep once the lock is dropped.
    t.need = {kind, owner.shared_from_this(), addr};
    return t;
}

// One device access being translated: the device's IOVA, the access, and
// the context whose address spaces it walks.
struct Walk {
    Model& model;
    Context& ctx;
    uint64_t iova;
    bool write;
    bool iopf;  // the IOMMU can fault IOPF pages in (a software mdev's driver pins on demand)
    const MemoryOracle& memory;

    Translation fault(uint32_t reason, uint32_t stage, uint32_t ioasid) const {
        Translation t;
        t.fault.addr = iova;
        t.fault.reason = reason;
        t.fault.flags = stage | (write ? IOMMU_FAULT_WRITE : 0u);
        t.fault.ioasid = ioasid;
        return t;
    }

    // Pins an IOPF page on its first touch, once the page is known to be
    // readable.  A Translation that needs memory, or has failed (the host's
    // page, not the user's to fix: never a page request), or ok.
    Translation fault_in(IoAddressSpace& s2, uint32_t s2_id, uint64_t addr, const PageTarget& target) const {
        const uint64_t va_page = target.vaddr & ~(kPageSize - 1);
        const std::optional<bool> readable = memory.page_readable(*target.owner, va_page);
        if (!readable)
            return needs(MemoryNeed::Kind::kPage, *target.owner, va_page);
        const long pinned = *readable ? model.ledger().pin(*target.owner, va_page, 1) : -EFAULT;
        if (pinned == -ENOBUFS || (pinned == 0 && s2.fault_in(addr) != 0)) {
            if (pinned == 0)
                model.ledger().unpin(*target.owner, va_page, 1);
            Translation t;
            t.err = -ENOMEM;  // the daemon's memory, not the page's fault
            return t;
        }
        if (pinned != 0) {
            Translation t = fault(IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE2, s2_id);
            t.fault.host_owned = true;
            return t;
        }
        ++ctx.faults.iopf_resolved;
        return reached(target);
    }

    // Stage 2: a kernel-managed space.  `addr` is its input (the IOVA, or a
    // stage-1 output or table pointer); `access_write` what is done there.
    Translation stage2(uint32_t s2_id, uint64_t addr, bool access_write) const {
        IoAddressSpace& s2 = *ctx.ioasids.find(s2_id);
        auto target = s2.lookup(addr);
        if (target && !target->pinned) {
            if (!iopf) {
                Translation t = fault(IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE2, s2_id);
                t.fault.host_owned = true;  // the host's page, not the user's to fix
                return t;
            }
            if (Translation t = fault_in(s2, s2_id, addr, *target); !t.ok)
                return t;
        }
        if (!target)
            return fault(IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE2, s2_id);
        if (!(target->prot & (access_write ? kProtWrite : kProtRead)))
            return fault(IOMMU_FAULT_REASON_PERMISSION, IOMMU_FAULT_STAGE2, s2_id);
        return reached(*target);
    }

    // Stage 1 in the user's x86-64 table, every table read going through
    // stage 2.  On success, *s1_output is the stage-1 output (an IOVA of the
    // parent) and *s1_writable whether every level allowed writes.
    Translation nested(uint32_t s1_id, const IoAddressSpace& s1, uint64_t* s1_output, bool* s1_writable) const {
        uint64_t table = s1.user_pgd;
        bool writable = true;
        for (unsigned level = x86pt::kLevels; level >= 1; --level) {
            const uint64_t entry_addr = table + 8ull * x86pt::index_at(iova, level);
            Translation entry_loc = stage2(s1.parent_id, entry_addr, false);
            if (!entry_loc.ok)
                return entry_loc;
            const auto read = memory.table_entry(*entry_loc.owner, entry_loc.vaddr);
            if (!read)
                return needs(MemoryNeed::Kind::kTableEntry, *entry_loc.owner, entry_loc.vaddr);
            if (!*read) {
                Translation t;
                t.err = -EFAULT;
                return t;
            }
            const uint64_t pte = **read;
            if (!(pte & x86pt::kPresent))
                return fault(IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE1, s1_id);
            writable = writable && (pte & x86pt::kWritable);
            const bool leaf = level == 1 || ((level == 2 || level == 3) && (pte & x86pt::kLargePage));
            if (leaf) {
                if (write && !writable)
                    return fault(IOMMU_FAULT_REASON_PERMISSION, IOMMU_FAULT_STAGE1, s1_id);
                const uint64_t span = x86pt::entry_span(level);
                *s1_output = ((pte & x86pt::kAddressMask) & ~(span - 1)) | (iova & (span - 1));
                *s1_writable = writable;
                return stage2(s1.parent_id, *s1_output, write);
            }
            table = pte & x86pt::kAddressMask;
        }
        return fault(IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE1, s1_id);  // not reached
    }
};

bool in_reserved(const IommuUnit& unit, uint64_t iova) {
    for (const ReservedRegion& region : unit.reserved) {
        if (region.type != ResvType::kDirect && iova >= region.start && iova <= region.last)
            return true;
    }
    return false;
}

Translation unrouted_fault(uint64_t iova, bool write, uint32_t reason) {
    Translation t;
    t.fault.addr = iova;
    t.fault.reason = reason;
    t.fault.flags = write ? IOMMU_FAULT_WRITE : 0u;
    return t;
}

}  // namespace

Translation translate_in(Model& model, Context& ctx, uint32_t ioasid, uint64_t iova, bool write,
                         const MemoryOracle& memory) {
    return Walk{model, ctx, iova, write, true, memory}.stage2(ioasid, iova, write);
}

namespace {

// A write sets the dirty bit of the stage-2 entry it went through, as the
// IOMMU sets it in its IOPTE (IOMMU_DIRTY_TRACKING); an identity space has
// no entries.
void note_write(Context& ctx, const Attachment& attachment, uint64_t s2_page) {
    IoAddressSpace* s2 = attachment.space;
    if (s2->kind() == IoasKind::kUserPgtable)
        s2 = ctx.ioasids.find(s2->parent_id);
    if (s2 && s2->kind() == IoasKind::kKernelManaged)
        s2->mark_dirty(s2_page);
}

}  // namespace

Translation translate_routed(Model& model, const RouteKey& route, uint64_t iova, bool write,
                             const MemoryOracle& memory) {
    const IommuUnit& unit = model.topology().iommus[route.unit];
    if (unit.address_width < 64 && iova >> unit.address_width)
        return unrouted_fault(iova, write, IOMMU_FAULT_REASON_ADDR_SIZE);
    if (in_reserved(unit, iova))
        return unrouted_fault(iova, write, IOMMU_FAULT_REASON_RESERVED);
    const Attachment* attachment = model.routes().find(route);
    if (!attachment)
        return unrouted_fault(iova, write, IOMMU_FAULT_REASON_BLOCKED);
    Context& ctx = *attachment->dev->ctx;

    const IotlbKey key{route.unit, route.rid, route.pasid, iova >> kPageShift};
    if (auto hit = model.iotlb().lookup(key); hit && (hit->prot & (write ? kProtWrite : kProtRead))) {
        ++ctx.iotlb_hits;
        Translation t =
            reached({(hit->va_page << kPageShift) | (iova & (kPageSize - 1)), hit->owner, hit->prot, true});
        t.iotlb_hit = true;
        if (write)
            note_write(ctx, *attachment, hit->s2_page);
        return t;
    }

    const Walk walk{model, ctx, iova, write, unit.iopf, memory};
    const IoAddressSpace& space = *attachment->space;
    Translation t;
    IotlbEntry entry{};
    switch (space.kind()) {
    case IoasKind::kIdentity:
        t = reached({iova, space.identity_owner.get(), kProtRead | kProtWrite, true});
        entry = {iova >> kPageShift, space.identity_owner.get(), kProtRead | kProtWrite, nullptr, &space, key.page,
                 attachment->pasid};
        break;
    case IoasKind::kKernelManaged:
        t = walk.stage2(attachment->ioasid, iova, write);
        if (t.ok)
            entry = {t.vaddr >> kPageShift, t.owner, space.lookup(iova)->prot, nullptr, &space, key.page,
                     attachment->pasid};
        break;
    case IoasKind::kUserPgtable: {
        uint64_t s1_output = 0;
        bool s1_writable = false;
        t = walk.nested(attachment->ioasid, space, &s1_output, &s1_writable);
        if (t.ok) {
            // Effective permission: both stages must allow it.
            const IoAddressSpace& parent = *ctx.ioasids.find(space.parent_id);
            const uint32_t s2_prot = parent.lookup(s1_output)->prot;
            const uint32_t prot = s2_prot & (s1_writable ? (kProtRead | kProtWrite) : kProtRead);
            entry = {t.vaddr >> kPageShift, t.owner, prot, &space, &parent, s1_output >> kPageShift,
                     attachment->pasid};
        }
        break;
    }
    }
    if (!t.needs_memory())
        ++ctx.iotlb_misses;  // once per translation, not per pass
    if (t.ok) {
        model.iotlb().insert(key, entry);
        if (write)
            note_write(ctx, *attachment, entry.s2_page);
    }
    return t;
}

}  // namespace ciommu
