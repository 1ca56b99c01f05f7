#include "driver_pins.h"

#include <algorithm>

#include "pin_ledger.h"

namespace ciommu {

void release_charges(PinLedger& ledger, const PinnedRange& range) noexcept {
    for (const PagePin& pin : range.charges)
        ledger.unpin(*pin.owner, pin.vaddr, 1);
}

uint32_t DriverPins::add(uint64_t iova, uint64_t length, std::vector<PagePin> charges) {
    const uint32_t id = next_id_;
    by_iova_.emplace(iova, PinnedRange{iova, length, id, std::move(charges)});
    ++next_id_;
    longest_ = std::max(longest_, length);
    return id;
}

std::optional<PinnedRange> DriverPins::take(uint32_t id) {
    auto it = std::find_if(by_iova_.begin(), by_iova_.end(), [&](const auto& entry) { return entry.second.id == id; });
    if (it == by_iova_.end())
        return std::nullopt;
    PinnedRange range = std::move(it->second);
    by_iova_.erase(it);
    return range;
}

std::optional<PinnedRange> DriverPins::take_exact(uint64_t iova, uint64_t length) {
    auto [first, end] = by_iova_.equal_range(iova);
    for (auto it = first; it != end; ++it) {
        if (it->second.length == length) {
            PinnedRange range = std::move(it->second);
            by_iova_.erase(it);
            return range;
        }
    }
    return std::nullopt;
}

size_t DriverPins::count_exact(uint64_t iova, uint64_t length) const {
    auto [first, end] = by_iova_.equal_range(iova);
    return static_cast<size_t>(std::count_if(first, end, [&](const auto& entry) { return entry.second.length == length; }));
}

}  // namespace ciommu
