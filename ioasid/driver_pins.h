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
    std::vector<PagePin> charges;

    uint64_t last() const { return iova + (length - 1); }
    bool meets(uint64_t first, uint64_t last_iova) const { return iova <= last_iova && last() >= first; }
};

// Releases the ledger pins a dropped range held.
void release_charges(PinLedger& ledger, const PinnedRange& range) noexcept;

class DriverPins {
public:
    // Records [iova, iova + length) (length > 0, no wrap): its id.  Throws
    // std::bad_alloc with nothing recorded.
    uint32_t add(uint64_t iova, uint64_t length, std::vector<PagePin> charges = {});
    // The range with that id, removed; nullopt if none.
    std::optional<PinnedRange> take(uint32_t id);
    // One range that is exactly [iova, iova + length), removed.
    std::optional<PinnedRange> take_exact(uint64_t iova, uint64_t length);
    // How many ranges are exactly [iova, iova + length).
    size_t count_exact(uint64_t iova, uint64_t length) const;
    // Every range meeting [first, last] removed, each handed to gone(const
    // PinnedRange&) first; how many went.
    template <typename Fn> size_t drop_meeting(uint64_t first, uint64_t last, Fn&& gone) noexcept {
        size_t dropped = 0;
        auto it = by_iova_.lower_bound(first - std::min(first, longest_ - 1));
        while (it != by_iova_.end() && it->first <= last) {
            if (!it->second.meets(first, last)) {
                ++it;
                continue;
            }
            gone(it->second);
            it = by_iova_.erase(it);
            ++dropped;
        }
        return dropped;
    }
    template <typename Fn> size_t drop_all(Fn&& gone) noexcept { return drop_meeting(0, UINT64_MAX, gone); }
    template <typename Fn> void for_each(Fn&& fn) const {
        for (const auto& [iova, range] : by_iova_)
            fn(range);
    }
    size_t size() const { return by_iova_.size(); }
    bool empty() const { return by_iova_.empty(); }

private:
    std::multimap<uint64_t, PinnedRange> by_iova_;  // by first IOVA
    uint64_t longest_ = 1;  // no range is longer: how far back a range meeting an IOVA may start
    uint32_t next_id_ = 0;
};

}  // namespace ciommu
