// An I/O address space (the RFC's ioasid_data): kernel-managed (MAP_DMA /
// UNMAP_DMA with VFIO type1v2 rules), user-managed (a child whose stage-1
// table lives in user memory), or identity.
//
// Kernel-managed mappings live in a 4-level page table indexed by IOVA page
// (PageRadix): one 64-bit entry per 4 KiB page holding the backing virtual
// address, the owner process, R/W, and whether the page starts or ends a
// mapping (type1 never splits a mapping, so unmap needs the boundaries).
// A lazily pinned mapping (MAP_DMA_IOPF) is one record in a range map
// instead, whatever its size; each page gets an entry only when a device
// first touches it (it is "faulted in" and pinned then).  So a map costs
// what it records: one entry per pinned page, or one record.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

#include "iova_range.h"
#include "page_radix.h"
#include "process.h"

namespace ciommu {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr unsigned kPageShift = 12;
// The widest aperture an address space has: [0, 2^48).
inline constexpr uint64_t kApertureEnd = uint64_t{1} << 48;

// Device permissions (same bits as IOMMU_MAP_DMA_READ/WRITE).
enum Prot : uint32_t { kProtRead = 1u << 0, kProtWrite = 1u << 1 };

enum class IoasKind { kKernelManaged, kUserPgtable, kIdentity };

struct MapRequest {
    uint64_t iova;
    uint64_t size;
    uint64_t vaddr;
    uint32_t prot;      // Prot bits
    ProcessRef owner;   // the process whose memory backs the range
    bool iopf = false;  // pin each page on its first fault, not now
};

// Where one IOVA lands.  `owner` lives as long as the mapping does.
struct PageTarget {
    uint64_t vaddr;         // the byte's address in the owner process
    const Process* owner;
    uint32_t prot;
    bool pinned;            // false: an IOPF page not faulted in yet
};


class IoAddressSpace {
public:
    explicit IoAddressSpace(IoasKind kind = IoasKind::kKernelManaged) : kind_(kind) {}

    IoasKind kind() const { return kind_; }

    // --- kernel-managed mappings ---
    // Checks a request against the type1 rules, the aperture and reserved
    // regions, and existing mappings: 0, -EINVAL, -EADDRINUSE or -EEXIST.
    long check_map(const MapRequest& req) const;
    // Inserts a request check_map() accepted.  Returns 0, -ENOSPC if the
    // space already has 65536 distinct owner processes (a 16-bit PTE field)
    // or -ENOMEM (then nothing changed).
    // An IOPF request costs one record, whatever its size.
    long insert(const MapRequest& req);

    // Unmaps every mapping lying wholly inside [iova, iova+size); calls
    // on_page(const Process& owner, vaddr) for each *pinned* page removed.
    // A range that would split a mapping fails with -EINVAL and removes
    // nothing.  Returns the bytes unmapped or -EINVAL.
    template <typename OnPage> long long unmap(uint64_t iova, uint64_t size, OnPage&& on_page);
    template <typename OnPage> uint64_t unmap_all(OnPage&& on_page) {
        return static_cast<uint64_t>(remove_range(0, PageRadix<uint64_t>::kPageLimit - 1, on_page));
    }

    std::optional<PageTarget> lookup(uint64_t iova) const;
    // Pins the page of an IOPF mapping that holds iova (the caller has
    // charged it): it gets its own entry.  0, or -ENOMEM (nothing changed).
    long fault_in(uint64_t iova);

    // One kernel-managed mapping, as MAP_DMA made it.
    struct MappingInfo {
        uint64_t iova;
        uint64_t size;
        uint64_t vaddr;
        const Process* owner;
        uint32_t prot;  // Prot bits
        bool iopf;      // pinned page by page on first touch
    };
    // Calls fn(const MappingInfo&) for each mapping in IOVA order until fn
    // returns false.  Costs one step per pinned page visited (for the
    // control socket's dump, not for the data path).
    template <typename Fn> void for_each_mapping(Fn&& fn) const;

    // Calls fn(const Process& owner, uint64_t va_page_address) for every
    // pinned page (what the pin ledger must have charged for this space).
    template <typename Fn> void for_each_pinned_page(Fn&& fn) const {
        pages_.for_each(0, PageRadix<uint64_t>::kPageLimit - 1, [&](uint64_t, uint64_t pte) {
            if (pte & kPinned)
                fn(*owner_of(pte), pte & kVaMask);
        });
    }
    // Appends what is inconsistent inside this space (owner counts, mapping
    // and page counts, boundaries) to problems, each prefixed with where.
    void check(std::vector<std::string>& problems, const std::string& where) const;

    size_t mapping_count() const { return mapping_count_; }
    uint64_t mapped_bytes() const { return mapped_pages_ * kPageSize; }
    size_t table_bytes() const { return pages_.table_bytes() + iopf_.size() * kIopfRecordBytes; }

    // --- dirty tracking (IOMMU_DIRTY_TRACKING): a dirty bit per IOPTE ---
    bool dirty_tracking() const { return dirty_tracking_; }
    // On: every dirty bit is cleared first (as iommufd does when it
    // enables tracking).  Off: the bits stay, unread.
    void set_dirty_tracking(bool on) noexcept;
    // A device wrote IOVA page `page` (tracking on): its entry's dirty bit,
    // as the IOMMU sets it in the IOPTE.
    void mark_dirty(uint64_t page) noexcept;
    // Whether every page of [first_page, last_page] is mapped (pinned or
    // IOPF).  Costs a step per pinned page, one per IOPF range.
    bool fully_mapped(uint64_t first_page, uint64_t last_page) const;
    // Appends the dirty pages of [first_page, last_page] to out, ascending.
    // May throw bad_alloc (nothing changed but out).
    void collect_dirty(uint64_t first_page, uint64_t last_page, std::vector<uint64_t>& out) const;
    // Sets or clears the dirty bit of each page of `pages` still mapped.
    void set_dirty(std::span<const uint64_t> pages, bool dirty) noexcept;

    // --- constraints from attached devices' IOMMUs ---
    // 0, -ERANGE (a mapping beyond aperture_end) or -EADDRINUSE (a mapping in
    // a reserved range): whether the current mappings fit.
    long check_fits(uint64_t aperture_end, const std::vector<IovaRange>& reserved) const;
    void set_constraints(uint64_t aperture_end, std::vector<IovaRange> reserved) {
        aperture_end_ = aperture_end;
        reserved_ = std::move(reserved);
    }
    // Detach: the aperture widens to aperture_end and the reserved ranges
    // drop(range) picks go, in place (a teardown must not need memory).
    template <typename Drop> void loosen_constraints(uint64_t aperture_end, Drop&& drop) noexcept {
        aperture_end_ = aperture_end;
        std::erase_if(reserved_, drop);
    }
    uint64_t aperture_end() const { return aperture_end_; }
    const std::vector<IovaRange>& reserved() const { return reserved_; }

    // The IOMMU units of the devices attached (through this space or a
    // child), each with its count of attachments: constraints change only
    // when a unit comes or goes, whatever the number of attachments.
    std::map<unsigned, unsigned> attached_units;

    // --- attributes and bookkeeping the owning objects keep ---
    bool enforce_snoop = false;
    uint32_t parent_id = 0;         // kUserPgtable: the stage-2 IOASID
    uint32_t pgtable_format = 0;    // kUserPgtable
    uint64_t user_pgd = 0;          // kUserPgtable: root table, an IOVA of the parent
    ProcessRef identity_owner;      // kIdentity: whose address space IOVA == VA is
    unsigned children = 0;          // user-managed IOASIDs with this one as parent
    unsigned attachments = 0;       // devices / PASIDs attached
    // An iommufd paging domain's space (iommufd/topology_domain.h): its
    // pages' pins are its IOAS's areas', so freeing it unpins nothing.
    bool borrowed_pins = false;

private:
    // Page table entry layout.  kIopf: a faulted-in page of an IOPF
    // mapping, whose boundaries and size live in its range record.
    static constexpr uint64_t kValid = 1u << 0, kRead = 1u << 1, kWrite = 1u << 2;
    static constexpr uint64_t kStart = 1u << 3, kEnd = 1u << 4, kPinned = 1u << 5, kIopf = 1u << 6;
    static constexpr uint64_t kDirty = 1u << 7;  // a device wrote the page while tracking was on
    static constexpr uint64_t kVaMask = ((uint64_t{1} << 48) - 1) & ~(kPageSize - 1);
    static constexpr unsigned kOwnerShift = 48;

    // A lazily pinned mapping: [first, last] IOVA pages -> vaddr.
    struct IopfRange {
        uint64_t last;    // IOVA page
        uint64_t vaddr;   // of the first page
        uint32_t owner;   // index into owners_
        uint32_t prot;    // Prot bits
    };
    static constexpr size_t kIopfRecordBytes = sizeof(IopfRange) + 48;  // with the tree node

    const Process* owner_of(uint64_t pte) const { return owners_[pte >> kOwnerShift].process.get(); }
    long owner_index(const ProcessRef& process);
    void drop_owner_ref(uint32_t index);
    // The IOPF range holding IOVA page `page`, if any.
    std::map<uint64_t, IopfRange>::const_iterator iopf_at(uint64_t page) const;
    bool iopf_overlaps(uint64_t first, uint64_t last) const;
    // Whether an unmap of [first, last] would cut an IOPF range.
    bool cuts_iopf(uint64_t first, uint64_t last) const;
    template <typename OnPage> long long remove_range(uint64_t first, uint64_t last, OnPage& on_page);
    uint64_t remove_iopf_ranges(uint64_t first, uint64_t last);

    struct Owner {
        ProcessRef process;
        uint64_t refs;  // entries and IOPF records naming this slot
    };

    IoasKind kind_;
    PageRadix<uint64_t> pages_;
    std::map<uint64_t, IopfRange> iopf_;  // by first IOVA page
    std::vector<Owner> owners_;           // indexed by the PTE's owner field
    size_t mapping_count_ = 0;
    uint64_t mapped_pages_ = 0;           // pinned mappings' pages + IOPF ranges' pages
    uint64_t aperture_end_ = kApertureEnd;
    std::vector<IovaRange> reserved_;
    bool dirty_tracking_ = false;
};

template <typename OnPage>
long long IoAddressSpace::remove_range(uint64_t first, uint64_t last, OnPage& on_page) {
    // Find-then-clear, one page at a time: clearing may free the table a
    // visitor would be standing in.
    uint64_t removed = 0;
    for (auto page = pages_.find_first(first, last); page; page = pages_.find_first(*page + 1, last)) {
        const uint64_t pte = pages_.get(*page);
        if (pte & kPinned)
            on_page(*owner_of(pte), pte & kVaMask);
        mapping_count_ -= (pte & kStart) != 0;
        removed += (pte & kIopf) == 0;  // an IOPF page is counted with its range
        drop_owner_ref(static_cast<uint32_t>(pte >> kOwnerShift));
        pages_.set(*page, 0);
        if (*page == last)
            break;
    }
    removed += remove_iopf_ranges(first, last);
    mapped_pages_ -= removed;
    return static_cast<long long>(removed * kPageSize);
}

template <typename Fn> void IoAddressSpace::for_each_mapping(Fn&& fn) const {
    // Pinned mappings come from the page table, IOPF ones from their
    // records; merged in IOVA order.
    auto iopf = iopf_.begin();
    auto emit_iopf_before = [&](uint64_t page) {
        for (; iopf != iopf_.end() && iopf->first < page; ++iopf) {
            const IopfRange& r = iopf->second;
            const MappingInfo info{iopf->first << kPageShift, (r.last - iopf->first + 1) << kPageShift, r.vaddr,
                                   owners_[r.owner].process.get(), r.prot, true};
            if (!fn(info))
                return false;
        }
        return true;
    };
    MappingInfo current{};
    bool go_on = true;
    pages_.for_each(0, PageRadix<uint64_t>::kPageLimit - 1, [&](uint64_t page, uint64_t pte) {
        if (pte & kIopf)
            return true;
        if (pte & kStart) {
            if (!(go_on = emit_iopf_before(page)))
                return false;
            const uint32_t prot =
                ((pte & kRead) ? uint32_t{kProtRead} : 0u) | ((pte & kWrite) ? uint32_t{kProtWrite} : 0u);
            current = {page << kPageShift, 0, pte & kVaMask, owner_of(pte), prot, false};
        }
        if (!(pte & kEnd))
            return true;
        current.size = ((page + 1) << kPageShift) - current.iova;
        go_on = static_cast<bool>(fn(static_cast<const MappingInfo&>(current)));
        return go_on;
    });
    if (go_on)
        emit_iopf_before(PageRadix<uint64_t>::kPageLimit);
}

template <typename OnPage>
long long IoAddressSpace::unmap(uint64_t iova, uint64_t size, OnPage&& on_page) {
    if ((iova | size) & (kPageSize - 1) || size == 0 || iova + (size - 1) < iova)
        return -EINVAL;
    const uint64_t first = iova >> kPageShift;
    const uint64_t last = (iova + (size - 1)) >> kPageShift;
    if (first >= PageRadix<uint64_t>::kPageLimit)
        return 0;
    const uint64_t clamped_last = std::min(last, PageRadix<uint64_t>::kPageLimit - 1);
    // Refuse before removing anything if either end cuts through a mapping.
    if (const uint64_t head = pages_.get(first); head && !(head & (kStart | kIopf)))
        return -EINVAL;
    if (const uint64_t tail = pages_.get(clamped_last); tail && !(tail & (kEnd | kIopf)))
        return -EINVAL;
    if (cuts_iopf(first, clamped_last))
        return -EINVAL;
    return remove_range(first, clamped_last, on_page);
}

}  // namespace ciommu
