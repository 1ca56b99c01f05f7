// The IOASIDs of one context (one open of /dev/iommu).  Ids are small
// integers starting at 1; the lowest free id is reused, like the kernel's idr.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <memory>

#include "io_address_space.h"

namespace ciommu {

class IoasidTable {
public:
    explicit IoasidTable(uint32_t max_ioasids) : max_(max_ioasids) {}

    // Takes ownership of space; returns its new id (> 0) or -ENOSPC.
    long alloc(std::unique_ptr<IoAddressSpace> space);
    // Returns 0 or -ENOENT.
    long free(uint32_t id);
    // nullptr if the id is unknown.
    IoAddressSpace* find(uint32_t id);

    size_t size() const { return spaces_.size(); }
    // The smallest id above `after`, if any (a walk that frees as it goes).
    std::optional<uint32_t> next_id(uint32_t after) const {
        auto it = spaces_.upper_bound(after);
        return it == spaces_.end() ? std::nullopt : std::optional<uint32_t>(it->first);
    }
    template <typename Fn> void for_each(Fn&& fn) const {
        for (const auto& [id, space] : spaces_)
            fn(id, *space);
    }

private:
    uint32_t max_;
    std::map<uint32_t, std::unique_ptr<IoAddressSpace>> spaces_;
};

}  // namespace ciommu
