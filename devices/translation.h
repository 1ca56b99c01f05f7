// Translating one device access the way the IOMMU would: route {unit, RID,
// PASID} -> attachment -> IOTLB -> stage 1 (the user's table) -> stage 2
// (kernel-managed mappings) -> a byte in the owner process.  Walking and
// reporting are separate (like QEMU's intel_iommu): this returns a fault
// value and the caller decides what to do with it.
//
// Translation runs with the model lock held, and a client's memory is never
// touched with it held (docs/design.md, rule 2).  So a walk that needs client
// memory -- an entry of a user page table, or whether an IOPF page can be
// faulted in -- stops and says so (Translation::need); the caller reads it
// without the lock into a MemoryOracle and translates again from the start,
// against the model as it is then.  A walk needs at most a handful of
// reads, so it ends after a handful of passes.
#pragma once

#include <cstdint>
#include <optional>
#include <sys/types.h>
#include <vector>

#include "../ioasid/process.h"
#include "routing_table.h"

namespace ciommu {

class Model;
class IoAddressSpace;
struct Context;

struct Fault {
    uint64_t addr = 0;    // the IOVA the device used
    uint32_t reason = 0;  // IOMMU_FAULT_REASON_*
    uint32_t flags = 0;   // IOMMU_FAULT_WRITE | _STAGE1 | _STAGE2
    uint32_t ioasid = 0;  // the address space whose table faulted (0: none)
    uint32_t perm = 0;    // IOMMU_FAULT_PERM_* of the access (0: read or write, per flags)
    bool host_owned = false;  // an IOPF page the model failed to fault in: never a page request
};

// Client memory a walk needs: 8 bytes of a table entry, or whether a page
// can be read (an IOPF fault-in).
struct MemoryNeed {
    enum class Kind { kNone, kTableEntry, kPage } kind = Kind::kNone;
    std::shared_ptr<const Process> owner;
    uint64_t addr = 0;  // the entry's address, or the page's
};

// What has been read for one translation, without the model lock.
class MemoryOracle {
public:
    // nullopt: not read yet.  Else the entry, or nullopt inside: unreadable.
    std::optional<std::optional<uint64_t>> table_entry(const Process& owner, uint64_t addr) const;
    // nullopt: not probed yet; else whether the page is readable.
    std::optional<bool> page_readable(const Process& owner, uint64_t page) const;
    // Reads what `need` names (call it without the model lock).
    void fetch(const MemoryNeed& need);
    void clear() { known_.clear(); }
    size_t size() const { return known_.size(); }

private:
    struct Known {
        std::shared_ptr<const Process> owner;  // held: the pointer stays unique while compared
        MemoryNeed::Kind kind;
        uint64_t addr;
        bool ok;
        uint64_t value;
    };
    const Known* find(const Process& owner, MemoryNeed::Kind kind, uint64_t addr) const;
    std::vector<Known> known_;
};

struct Translation {
    bool ok = false;
    uint64_t vaddr = 0;            // ok: where the byte is in the owner process
    const Process* owner = nullptr;  // ok: held by the model (a mapping or an identity space)
    Fault fault;                   // !ok, no err, no need: why not
    long err = 0;                  // -EFAULT: a table in user memory could not be read
    MemoryNeed need;               // kind != kNone: read it, then translate again
    bool iotlb_hit = false;

    bool needs_memory() const { return need.kind != MemoryNeed::Kind::kNone; }
};

// Translates through the routing table (any device behind an IOMMU).  A
// stage-2 access to an IOPF page that is not pinned yet pins it (the model
// resolving its own fault: "[RFC PATCH v3 8/8] vfio: Add nested IOPF
// support", Shenming Lu, May 2021) and counts it in the context's fault
// region; if that fails the access faults.  Model lock held.
Translation translate_routed(Model& model, const RouteKey& route, uint64_t iova, bool write,
                             const MemoryOracle& memory);
// Translates directly through a kernel-managed space (a software mdev's
// vendor driver: no IOMMU, no IOTLB).  Model lock held.
Translation translate_in(Model& model, Context& ctx, uint32_t ioasid, uint64_t iova, bool write,
                         const MemoryOracle& memory);

}  // namespace ciommu
