#include "object_table.h"

#include <cerrno>

namespace ciommu {

long ObjectTable::add(std::unique_ptr<IommufdObject> object) {
    if (objects_.size() >= kMaxObjects)
        return -ENOSPC;
    // The lowest free id: a freed one below next_id_, else next_id_.
    const uint32_t id = freed_.empty() ? next_id_ : *freed_.begin();
    object->id = id;
    objects_.emplace(id, std::move(object));  // may throw: nothing changed yet
    if (freed_.empty())
        ++next_id_;
    else
        freed_.erase(freed_.begin());
    return id;
}

IommufdObject* ObjectTable::find(uint32_t id, ObjectKind kind) const {
    auto it = objects_.find(id);
    if (it == objects_.end() || it->second->kind != kind)
        return nullptr;
    return it->second.get();
}

IommufdObject* ObjectTable::find_any(uint32_t id) const {
    auto it = objects_.find(id);
    return it == objects_.end() ? nullptr : it->second.get();
}

uint32_t ObjectTable::first_unused(ObjectKind kind, uint32_t from) const {
    for (auto it = objects_.lower_bound(from); it != objects_.end(); ++it) {
        if (it->second->kind == kind && it->second->users == 0)
            return it->first;
    }
    return 0;
}

long ObjectTable::destroy(uint32_t id) {
    auto it = objects_.find(id);
    if (it == objects_.end())
        return -ENOENT;
    if (it->second->users)
        return -EBUSY;
    objects_.erase(it);
    // Ids at the top shrink next_id_ instead of filling freed_.
    if (id + 1 == next_id_) {
        --next_id_;
        while (!freed_.empty() && *freed_.rbegin() + 1 == next_id_) {
            freed_.erase(std::prev(freed_.end()));
            --next_id_;
        }
    } else {
        try {
            freed_.insert(id);
        } catch (const std::bad_alloc&) {
            // The id is lost to reuse; ids stay unique.
        }
    }
    return 0;
}

}  // namespace ciommu
