// The IOVA side of an IOAS (iommufd's io_pagetable, drivers/iommu/iommufd/
// io_pagetable.c): areas mapping IOVA ranges to user memory, the reserved
// ranges no area may meet, the allowed ranges IOVAs are allocated from,
// and the alignment the attached domains impose.
//
// With no domain attached the table is byte-granular (alignment 1) and
// touches no memory: an area is a promise, pinned only when a domain needs
// its pages ("lazy pinning").  With domains, every area is pinned -- one
// pin per page per area, in the model's PinLedger, whatever the number of
// domains -- and written into each domain's IOPTEs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "../ioasid/io_address_space.h"  // kPageSize, the Prot bits
#include "../ioasid/iova_range.h"
#include "../ioasid/process.h"

namespace ciommu {

class PinLedger;
class IoDomain;

// What an area maps: a span of one process's memory (iommufd's
// iopt_pages).  Areas made by IOAS_COPY share their source's.
struct IoptPages {
    ProcessRef owner;
    uint64_t uptr;    // the user address the MAP named
    uint64_t length;
    bool writable;
};

struct IoptArea {
    uint64_t last;  // inclusive IOVA; the start is the map key
    std::shared_ptr<const IoptPages> pages;
    uint64_t start_byte;  // offset into pages of the area's first IOVA
    uint32_t prot;        // kProtRead | kProtWrite (ioasid/io_address_space.h)
    bool pinned = false;  // its pages hold one pin each (domains attached)

    uint64_t uptr() const { return pages->uptr + start_byte; }
};

// One contiguous piece of memory a MAP or COPY puts at consecutive IOVAs.
struct MapPiece {
    std::shared_ptr<const IoptPages> pages;
    uint64_t start_byte;
    uint64_t length;
};

// Pins an area's memory when a domain needs it, in the model's ledger: 0
// or -ENOMEM (over the lock limit; nothing pinned).  That the memory is
// there (pin_user_pages' EFAULT) is checked before, without the model
// lock: see ProbeSpan.
class AreaPinner {
public:
    explicit AreaPinner(PinLedger& ledger) : ledger_(ledger) {}
    long pin(const IoptArea& area, uint64_t iova) const;
    void unpin(const IoptArea& area, uint64_t iova) const;

private:
    PinLedger& ledger_;
};

// User memory a command is about to pin: collected under the model lock,
// probed (one byte a page, through the owner's /proc/<pid>/mem) after it
// is dropped -- the memory may be slow, a FUSE file say, and must not
// stall other clients -- then the command runs under the lock again if the
// table's generation has not moved meanwhile.
struct ProbeSpan {
    ProcessRef owner;
    uint64_t uptr;
    uint64_t length;
};
// 0, or -EFAULT if a page of a span is missing.  Shared memory under a
// span is kept reachable past its process (Process::retain_shared), as a
// pin keeps the pages.  Call without the lock.
long probe_spans(const std::vector<ProbeSpan>& spans);
// Once the command that probed them is done (pinned or failed): what the
// probe kept open that no pin holds is closed again.
class ProbedSpans {
public:
    explicit ProbedSpans(const std::vector<ProbeSpan>& spans) : spans_(spans) {}
    ~ProbedSpans() {
        for (const ProbeSpan& span : spans_)
            span.owner->drop_unheld_shared(span.uptr, span.length);
    }
    ProbedSpans(const ProbedSpans&) = delete;
    ProbedSpans& operator=(const ProbedSpans&) = delete;

private:
    const std::vector<ProbeSpan>& spans_;
};

// How many areas and ranges a context may hold, over all its IOASes, so
// that a client cannot grow the daemon without bound: VFIO type1's
// dma_entry_limit (65535 mappings per container; ENOSPC beyond).
struct RecordBudget {
    static constexpr uint64_t kLimit = 65535;
    uint64_t used = 0;
    bool take(uint64_t n) {
        if (n > kLimit - used)
            return false;
        used += n;
        return true;
    }
    void give(uint64_t n) { used -= n; }
};

class IoPagetable {
public:
    static constexpr size_t kMaxAllowed = RecordBudget::kLimit;

    // Areas, ADD_RESERVED ranges and allowed ranges are charged to budget,
    // which must outlive the table.
    explicit IoPagetable(RecordBudget& budget) : budget_(budget) {}
    ~IoPagetable();
    IoPagetable(const IoPagetable&) = delete;
    IoPagetable& operator=(const IoPagetable&) = delete;

    // --- IOAS_MAP / IOAS_COPY ---
    // Maps pieces (total `length` bytes) at iova, or at an IOVA it picks
    // (`allocate`: written to iova).  0 or -errno (nothing changed):
    // EINVAL (alignment, length 0, a reserved IOVA), EEXIST (an area there),
    // EOVERFLOW, ENOSPC (no room, or the context's RecordBudget spent),
    // EPERM (writable mapping of read-only pages), and with domains
    // attached ENOMEM from pinning.
    // The memory must have been probed if domains are attached.
    long map(std::span<const MapPiece> pieces, uint64_t length, uint64_t& iova, uint32_t prot, bool allocate,
             const AreaPinner& pinner);
    // The pieces mapping [iova, iova + length), for IOAS_COPY: ENOENT
    // unless areas cover it contiguously.
    long pieces(uint64_t iova, uint64_t length, std::vector<MapPiece>& out) const;
    // Removes the areas inside [start, last]: ENOENT (nothing changed) if
    // one is only partly inside.  Adds the bytes removed to `unmapped`.
    long unmap(uint64_t start, uint64_t last, const AreaPinner& pinner, uint64_t& unmapped);

    // VFIO type1's unmap inside a mapping (iopt_cut_iova): the area holding
    // iova becomes two, the first ending at iova.  0 (nothing to cut too),
    // EINVAL (misaligned, domains may hold it in huge pages, or a domain
    // keeps areas whole) or ENOMEM.
    long cut(uint64_t iova, const AreaPinner& pinner);

    // --- reserved and allowed ranges ---
    // A reserved range for `owner` (nullptr: IOMMU_TEST_OP_ADD_RESERVED,
    // charged to the budget: ENOSPC): EADDRINUSE if it meets an area or an
    // allowed range.
    long reserve(uint64_t start, uint64_t last, const void* owner);
    void remove_reserved(const void* owner);
    // Replaces the allowed ranges (sorted, disjoint: the caller checked):
    // EADDRINUSE (nothing changed) if one meets a reserved range, ENOSPC
    // past the budget.
    long set_allowed(std::vector<IovaRange> allowed);
    // Calls fn(start, last) for each hole between reserved ranges.
    template <typename Fn> void for_each_usable(Fn&& fn) const;

    // --- alignment (IOMMU_OPTION_HUGE_PAGES and attached domains) ---
    uint64_t iova_alignment() const { return iova_alignment_; }
    bool large_pages() const { return !disable_large_pages_; }
    long set_large_pages(bool on);

    // --- domains ---
    // Attaches a domain: its aperture becomes reserved, every area is
    // pinned (if none was: probed before, see spans_to_probe) and written
    // into it.  0 or -errno (nothing changed): EINVAL (its page size),
    // EADDRINUSE (an area outside its aperture), ENOMEM from pinning.
    long add_domain(IoDomain& domain, const AreaPinner& pinner);
    void remove_domain(IoDomain& domain, const AreaPinner& pinner) noexcept;
    std::span<IoDomain* const> domains() const { return domains_; }
    // What a first domain with that aperture would pin: every area inside
    // it, while there is no domain (one outside makes the attach fail
    // before anything is pinned).
    void spans_to_probe(const IovaRange& aperture, std::vector<ProbeSpan>& out) const;
    // Moves whenever areas or domains change (a probe's plan is stale).
    uint64_t generation() const { return generation_; }

    // Everything unmapped and unpinned (the IOAS is being destroyed).
    void clear(const AreaPinner& pinner) noexcept;

    const std::map<uint64_t, IoptArea>& areas() const { return areas_; }
    // Calls fn(const Process& owner, uint64_t va_page_address) for each
    // page a pinned area holds its pin on (the invariant checker's view).
    template <typename Fn> void for_each_pinned_page(Fn&& fn) const {
        for (const auto& [iova, area] : areas_) {
            if (!area.pinned)
                continue;
            const uint64_t last = (area.uptr() + (area.last - iova)) & ~(kPageSize - 1);
            for (uint64_t va = area.uptr() & ~(kPageSize - 1);; va += kPageSize) {
                fn(*area.pages->owner, va);
                if (va == last)
                    break;
            }
        }
    }
    // The area holding iova, or nullptr.
    const IoptArea* area_at(uint64_t iova, uint64_t* area_iova = nullptr) const;

private:
    struct Reserved {
        uint64_t last;
        const void* owner;
    };

    long check_iova(uint64_t iova, uint64_t length) const;
    long alloc_iova(uint64_t uptr, uint64_t length, uint64_t& iova) const;
    bool area_meets(uint64_t start, uint64_t last) const;
    bool reserved_meets(uint64_t start, uint64_t last) const;
    bool allowed_meets(uint64_t start, uint64_t last) const;
    // The first hole of reserved + areas inside [start, last] that fits.
    bool find_hole(uint64_t start, uint64_t last, uint64_t length, uint64_t alignment, uint64_t page_offset,
                   uint64_t& found) const;
    long check_alignment(uint64_t alignment) const;
    long recalculate_alignment();
    // Pins the area and writes it into every domain; undone on failure.
    long fill(uint64_t iova, IoptArea& area, const AreaPinner& pinner);
    void unfill(uint64_t iova, IoptArea& area, const AreaPinner& pinner) noexcept;

    std::map<uint64_t, IoptArea> areas_;  // by first IOVA; disjoint
    std::multimap<uint64_t, Reserved> reserved_;  // by start; may overlap
    std::vector<IovaRange> allowed_;              // sorted, disjoint
    std::vector<IoDomain*> domains_;
    uint64_t iova_alignment_ = 1;
    bool disable_large_pages_ = false;
    uint64_t generation_ = 0;
    RecordBudget& budget_;
};

template <typename Fn> void IoPagetable::for_each_usable(Fn&& fn) const {
    uint64_t next = 0;  // first IOVA not yet known to be reserved
    bool wrapped = false;
    for (const auto& [start, r] : reserved_) {
        if (start > next)
            fn(next, start - 1);
        if (r.last >= next) {
            if (r.last == UINT64_MAX) {
                wrapped = true;
                break;
            }
            next = r.last + 1;
        }
    }
    if (!wrapped)
        fn(next, UINT64_MAX);
}

}  // namespace ciommu
