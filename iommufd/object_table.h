// iommufd's objects of one context (drivers/iommu/iommufd/main.c): one id
// space for every kind of object, ids from 1, the lowest free one first
// (as xa_alloc gives them).  An object another object uses (an IOAS under a
// page table) has users and cannot be destroyed (EBUSY).  Closing the fd
// destroys everything, leaves first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>

namespace ciommu {

enum class ObjectKind : uint8_t { kIoas };

struct IommufdObject {
    explicit IommufdObject(ObjectKind k) : kind(k) {}
    virtual ~IommufdObject() = default;
    IommufdObject(const IommufdObject&) = delete;
    IommufdObject& operator=(const IommufdObject&) = delete;

    const ObjectKind kind;
    uint32_t id = 0;
    uint32_t users = 0;  // other objects that use this one
};

class ObjectTable {
public:
    // Per context, so one client cannot grow the daemon without bound.
    static constexpr size_t kMaxObjects = 1u << 16;

    // The new object's id, or -ENOSPC when the context has kMaxObjects.
    // Throws std::bad_alloc (nothing changed).
    long add(std::unique_ptr<IommufdObject> object);
    // The object of that id and kind, else nullptr.
    IommufdObject* find(uint32_t id, ObjectKind kind) const;
    template <typename T> T* get(uint32_t id) const { return static_cast<T*>(find(id, T::kKind)); }
    // 0, -ENOENT (no such id) or -EBUSY (in use).
    long destroy(uint32_t id);
    bool empty() const { return objects_.empty(); }
    size_t size() const { return objects_.size(); }

private:
    std::map<uint32_t, std::unique_ptr<IommufdObject>> objects_;
    std::set<uint32_t> freed_;  // ids below next_id_ that are free again
    uint32_t next_id_ = 1;
};

}  // namespace ciommu
