// The IOTLB: translations cached per (IOMMU unit, RID, PASID, IOVA page),
// like the hardware's.  It is what makes a user page table edit invisible to
// DMA until IOMMU_INVALIDATE_CACHE, the fidelity a prototyper needs.
// Kernel-managed changes (UNMAP, FREE, detach) invalidate by themselves.
#pragma once

#include <cstdint>
#include <optional>
#include <sys/types.h>
#include <functional>
#include <iterator>
#include <string>
#include <vector>
#include <unordered_map>
#include <unordered_set>

namespace ciommu {

class IoAddressSpace;
class Process;

struct IotlbKey {
    unsigned unit;
    uint16_t rid;
    uint32_t pasid;
    uint64_t page;  // IOVA >> 12
    bool operator==(const IotlbKey&) const = default;
};

struct IotlbEntry {
    uint64_t va_page;             // target page in the owner process
    const Process* owner;         // held by the mapping or identity space the
                                  // entry came from (flushed before it goes)
    uint32_t prot;                // effective (both stages)
    const IoAddressSpace* s1;     // the user-managed space walked, or nullptr
    const IoAddressSpace* s2;     // the kernel-managed (or identity) space used
    uint64_t s2_page;             // the stage-2 input page (== page without stage 1)
    uint32_t user_pasid;          // the attachment's PASID as the user knows it (kNoPasid:
                                  // whole device -- an mdev's bus PASID is its defPASID)
};

class Iotlb {
public:
    static constexpr size_t kCapacity = 4096;

    std::optional<IotlbEntry> lookup(const IotlbKey& key) const;
    // When full, everything is dropped: a simple, deterministic policy.
    void insert(const IotlbKey& key, const IotlbEntry& entry) noexcept;

    // Stage-2 pages [first, last] of s2 changed (UNMAP).  Entries walked
    // through a user table in s2 go too: the table itself may have lived in
    // those pages, and over-invalidating is always safe.
    void flush_stage2(const IoAddressSpace* s2, uint64_t first_page, uint64_t last_page);
    // INVALIDATE_CACHE of a user-managed space: entries of one user PASID
    // (kNoPasid: whole-device attachments) or of all, in a page range.
    void flush_stage1(const IoAddressSpace* s1, std::optional<uint32_t> pasid, uint64_t first_page,
                      uint64_t last_page);
    // Everything cached for one route (detach): costs what that route has
    // cached, through an index, never a scan.
    void flush_route(unsigned unit, uint16_t rid, uint32_t pasid);
    // Everything that used a space at either stage (FREE).
    void flush_space(const IoAddressSpace* space);
    void clear();

    size_t size() const { return entries_.size(); }
    template <typename Fn> void for_each(Fn&& fn) const {
        for (const auto& [key, entry] : entries_)
            fn(key, entry);
    }
    // Appends what is inconsistent between the entries and their indexes.
    void check(std::vector<std::string>& problems) const;

private:
    // UNMAP names stage-2 pages, not IOTLB keys: this reverse index finds
    // the entries a page backs without scanning the whole IOTLB.
    struct Stage2Page {
        const IoAddressSpace* s2;
        uint64_t page;
        bool operator==(const Stage2Page&) const = default;
    };
    struct Stage2Hash {
        size_t operator()(const Stage2Page& p) const {
            return std::hash<const void*>()(p.s2) ^ static_cast<size_t>(p.page * 0x9e3779b97f4a7c15ull);
        }
    };
    struct KeyHash {
        size_t operator()(const IotlbKey& k) const {
            uint64_t h = k.page * 0x9e3779b97f4a7c15ull;
            h ^= (uint64_t{k.unit} << 48) ^ (uint64_t{k.rid} << 32) ^ k.pasid;
            return static_cast<size_t>(h * 0xff51afd7ed558ccdull);
        }
    };
    using Entries = std::unordered_map<IotlbKey, IotlbEntry, KeyHash>;
    // {unit, RID, PASID} packed in one number.
    static uint64_t route_id(unsigned unit, uint16_t rid, uint32_t pasid) {
        return (uint64_t{unit} << 48) | (uint64_t{rid} << 32) | pasid;
    }

    Entries::iterator erase(Entries::iterator it);
    template <typename Pred> void erase_if(Pred pred) {
        for (auto it = entries_.begin(); it != entries_.end();)
            it = pred(it->first, it->second) ? erase(it) : std::next(it);
    }

    Entries entries_;
    size_t nested_entries_ = 0;  // entries with a stage 1
    std::unordered_multimap<Stage2Page, IotlbKey, Stage2Hash> by_stage2_;
    std::unordered_map<uint64_t, std::unordered_set<uint64_t>> by_route_;  // route_id -> IOVA pages
};

}  // namespace ciommu
