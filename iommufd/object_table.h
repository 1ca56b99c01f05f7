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

enum class ObjectKind : uint8_t {
    kIoas,        // ioas.h
    kHwptPaging,  // hw_pagetable.h
    kHwptNested,  // hw_pagetable.h
    kDevice,      // device.h: a bound device (iommufd_device)
    kSelftest,    // mock_device.h: the mock driver's device
    kFault,       // fault_queue.h
    kAccess,      // access.h
};

struct IommufdObject {
    explicit IommufdObject(ObjectKind k) : kind(k) {}
    virtual ~IommufdObject() = default;
    IommufdObject(const IommufdObject&) = delete;
    IommufdObject& operator=(const IommufdObject&) = delete;

    const ObjectKind kind;
    uint32_t id = 0;
    uint32_t users = 0;  // other objects that use this one
};

// The object a device bound in the RFC model by the iommufd profile is:
// its cookie is that object's id (a topology device's Device, an emulated
// device's Access).  0, which no object has, for a cookie no id can be.
inline uint32_t object_id_of_cookie(uint64_t cookie) {
    return cookie <= UINT32_MAX ? static_cast<uint32_t>(cookie) : 0;
}

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
    // Any object of that id, else nullptr.
    IommufdObject* find_any(uint32_t id) const;
    // 0, -ENOENT (no such id) or -EBUSY (in use).  The caller has undone
    // what the object holds (IommufdCtx::destroy_object).
    long destroy(uint32_t id);
    // Calls fn(IommufdObject&) for each object of that kind, by id; fn may
    // not add or destroy objects.
    template <typename Fn> void for_each(ObjectKind kind, Fn&& fn) const {
        for (const auto& entry : objects_) {
            if (entry.second->kind == kind)
                fn(*entry.second);
        }
    }
    // The lowest id >= from of an object of that kind with no users, or 0.
    uint32_t first_unused(ObjectKind kind, uint32_t from = 1) const;
    bool empty() const { return objects_.empty(); }
    size_t size() const { return objects_.size(); }

private:
    std::map<uint32_t, std::unique_ptr<IommufdObject>> objects_;
    std::set<uint32_t> freed_;  // ids below next_id_ that are free again
    uint32_t next_id_ = 1;
};

}  // namespace ciommu
