#include "ioasid_table.h"

#include <cerrno>

namespace ciommu {

long IoasidTable::alloc(std::unique_ptr<IoAddressSpace> space) {
    if (spaces_.size() >= max_)
        return -ENOSPC;
    uint32_t id = 1;
    for (const auto& entry : spaces_) {  // ids are sorted: find the first gap
        if (entry.first != id)
            break;
        ++id;
    }
    spaces_.emplace(id, std::move(space));
    return id;
}

long IoasidTable::free(uint32_t id) {
    return spaces_.erase(id) ? 0 : -ENOENT;
}

IoAddressSpace* IoasidTable::find(uint32_t id) {
    auto it = spaces_.find(id);
    return it == spaces_.end() ? nullptr : it->second.get();
}

}  // namespace ciommu
