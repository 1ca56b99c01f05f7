// An inclusive IOVA range, shared by the topology and the address spaces.
#pragma once

#include <cstdint>

namespace ciommu {

struct IovaRange {
    uint64_t start;
    uint64_t last;  // inclusive
    bool operator==(const IovaRange&) const = default;
    bool operator<(const IovaRange& o) const { return start != o.start ? start < o.start : last < o.last; }
};

}  // namespace ciommu
