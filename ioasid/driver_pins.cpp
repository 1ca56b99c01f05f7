#include "driver_pins.h"

#include <algorithm>

#include "pin_ledger.h"

namespace ciommu {

void release_charges(PinLedger& ledger, const PinnedRange& range) noexcept {
    for (uint32_t i = 0; i < range.count; ++i)
        for (const PagePin& pin : range.charges)
            ledger.unpin(*pin.owner, pin.vaddr, 1);
}

uint32_t DriverPins::add(uint64_t iova, uint64_t length, std::vector<PagePin> charges) {
    while (by_id_.count(next_id_))  // only after 2^32 pins: ids wrap, a long-lived range keeps its own
        ++next_id_;
    const uint32_t id = next_id_;
    auto [range, made] = by_id_.emplace(id, PinnedRange{iova, length, id, std::move(charges)});
    try {
        by_iova_.emplace(iova, id);
    } catch (...) {
        by_id_.erase(range);
        throw;
    }
    ++next_id_;
    longest_ = std::max(longest_, length);
    return id;
}

PinnedRange* DriverPins::find_exact(uint64_t iova, uint64_t length) {
    for (auto at = by_iova_.lower_bound({iova, 0}); at != by_iova_.end() && at->first == iova; ++at) {
        if (PinnedRange& range = by_id_.at(at->second); range.length == length)
            return &range;
    }
    return nullptr;
}

bool DriverPins::pin_again(uint64_t iova, uint64_t length) {
    PinnedRange* range = find_exact(iova, length);
    if (!range || range->count == UINT32_MAX)
        return false;
    ++range->count;
    return true;
}

std::optional<PinnedRange> DriverPins::take(uint32_t id) {
    auto range = by_id_.find(id);
    if (range == by_id_.end())
        return std::nullopt;
    PinnedRange out = std::move(range->second);
    by_iova_.erase({out.iova, id});
    by_id_.erase(range);
    return out;
}

DriverPins::Unpinned DriverPins::unpin_exact(uint64_t iova, uint64_t length, PinLedger& ledger) noexcept {
    PinnedRange* range = find_exact(iova, length);
    if (!range)
        return Unpinned::kNone;
    for (const PagePin& pin : range->charges)
        ledger.unpin(*pin.owner, pin.vaddr, 1);
    if (--range->count)
        return Unpinned::kOnePin;
    by_iova_.erase({range->iova, range->id});
    by_id_.erase(range->id);
    return Unpinned::kRange;
}

size_t DriverPins::count_exact(uint64_t iova, uint64_t length) const {
    size_t pins = 0;
    for (auto at = by_iova_.lower_bound({iova, 0}); at != by_iova_.end() && at->first == iova; ++at) {
        if (const PinnedRange& range = by_id_.at(at->second); range.length == length)
            pins += range.count;
    }
    return pins;
}

}  // namespace ciommu
