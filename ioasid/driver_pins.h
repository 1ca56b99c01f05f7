// Pages a driver holds outside the page tables, by IOVA range: a software
// mdev's vendor driver (vfio_pin_pages; "[PATCH 3/3] VFIO Type1 IOMMU: Add
// support for mediated devices", Alex Williamson and Kirti Wankhede, June
// 2016) and an iommufd access (iommufd_access_pin_pages) are the same
// idea, and both profiles keep them here.  Whoever unmaps IOVA under a
// range drops it (the vendor driver's DMA-unmap notifier, an access's
// ops->unmap): drop_meeting().
//
// A range may hold ledger charges (the RFC profile's mdev pins: one per
// page, in the PinLedger) or none (the iommufd profile's access pins, whose
// pages stay the IOAS's: docs/iommufd.md, "Divergences"); whoever drops a
// range releases its charges (release_charges).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "process.h"

namespace ciommu {

class PinLedger;

// One page charged to its owner in the PinLedger.
struct PagePin {
    std::shared_ptr<const Process> owner;
    uint64_t vaddr;
};

struct PinnedRange {
    uint64_t iova;
    uint64_t length;  // bytes, > 0
    uint32_t id;      // the driver's name for it (ACCESS_PAGES' out id)
    std::vector<PagePin> charges;  // what each of its pins holds
    uint32_t count = 1;            // pins of it (pin_again: type1 counts a page's pins)

    uint64_t last() const { return iova + (length - 1); }
    bool meets(uint64_t first, uint64_t last_iova) const { return iova <= last_iova && last() >= first; }
};

// Releases the ledger pins a dropped range held (each of its pins').
void release_charges(PinLedger& ledger, const PinnedRange& range) noexcept;

class DriverPins {
public:
    // Records [iova, iova + length) (length > 0, no wrap): its id, one no
    // range holds.  Throws std::bad_alloc with nothing recorded.
    uint32_t add(uint64_t iova, uint64_t length, std::vector<PagePin> charges = {});
    // Pins the range that is exactly [iova, iova + length) once more (its
    // charges are the caller's to take again): false if there is none.
    // Allocates nothing, so pinning one page again and again costs no memory.
    bool pin_again(uint64_t iova, uint64_t length);
    // The range with that id, removed with all its pins; nullopt if none.
    std::optional<PinnedRange> take(uint32_t id);
    // One pin of the range that is exactly [iova, iova + length) dropped,
    // its charges released once; the range goes with its last pin.
    enum class Unpinned { kNone, kOnePin, kRange };
    Unpinned unpin_exact(uint64_t iova, uint64_t length, PinLedger& ledger) noexcept;
    // How many pins of ranges exactly [iova, iova + length) there are.
    size_t count_exact(uint64_t iova, uint64_t length) const;
    // Every range meeting [first, last] removed, each handed to gone(const
    // PinnedRange&) first; how many went.
    template <typename Fn> size_t drop_meeting(uint64_t first, uint64_t last, Fn&& gone) noexcept {
        size_t dropped = 0;
        auto it = by_iova_.lower_bound({first - std::min(first, longest_ - 1), 0});
        while (it != by_iova_.end() && it->first <= last) {
            auto range = by_id_.find(it->second);
            if (!range->second.meets(first, last)) {
                ++it;
                continue;
            }
            gone(range->second);
            by_id_.erase(range);
            it = by_iova_.erase(it);
            ++dropped;
        }
        return dropped;
    }
    template <typename Fn> size_t drop_all(Fn&& gone) noexcept { return drop_meeting(0, UINT64_MAX, gone); }
    template <typename Fn> void for_each(Fn&& fn) const {
        for (const auto& [id, range] : by_id_)
            fn(range);
    }
    size_t size() const { return by_id_.size(); }  // ranges (not pins)
    bool empty() const { return by_id_.empty(); }

private:
    // The first range exactly [iova, iova + length), else nullptr.
    PinnedRange* find_exact(uint64_t iova, uint64_t length);

    std::map<uint32_t, PinnedRange> by_id_;
    std::set<std::pair<uint64_t, uint32_t>> by_iova_;  // {first IOVA, id}: what an unmap looks up
    uint64_t longest_ = 1;  // no range is longer: how far back a range meeting an IOVA may start
    uint32_t next_id_ = 0;
};

}  // namespace ciommu
