// Daemon-wide device state: which topology devices are bound and by whom,
// which context owns each IOMMU group, and the defPASIDs handed out on each
// mdev parent.
#pragma once

#include <cstdint>
#include <map>
#include <new>
#include <set>
#include <vector>

#include "cuse-iommu.h"

namespace ciommu {

struct BoundDevice;
struct Context;

class DeviceTable {
public:
    explicit DeviceTable(size_t device_count) : bound_(device_count, nullptr) {}

    BoundDevice* bound(unsigned index) const { return index < bound_.size() ? bound_[index] : nullptr; }
    // Grows for a device added at run time.
    void set_bound(unsigned index, BoundDevice* dev) {
        if (index >= bound_.size())
            bound_.resize(index + 1, nullptr);
        bound_[index] = dev;
    }

    // A device's page-request credits (IOMMU_DEVICE_INFO_CAP_PRI), which a
    // bind starts with; the control socket's `set` changes them.
    uint32_t page_request_limit(unsigned index) const {
        auto it = page_request_limits_.find(index);
        return it == page_request_limits_.end() ? IOMMU_PRI_REQUESTS_DEFAULT : it->second;
    }
    void set_page_request_limit(unsigned index, uint32_t limit) { page_request_limits_[index] = limit; }

    // The context that owns a group, or nullptr if the group is free.
    Context* group_owner(unsigned group) const {
        auto it = groups_.find(group);
        return it == groups_.end() ? nullptr : it->second.owner;
    }
    void claim_group(unsigned group, Context* ctx) {
        auto& claim = groups_[group];
        claim.owner = ctx;
        ++claim.bound;
    }
    void release_group(unsigned group) {
        auto it = groups_.find(group);
        if (it != groups_.end() && --it->second.bound == 0)
            groups_.erase(it);
    }

    // mdevs bound on a parent (a parent with bound mdevs cannot be bound).
    unsigned mdevs_bound_on(unsigned parent) const {
        auto it = mdevs_on_parent_.find(parent);
        return it == mdevs_on_parent_.end() ? 0 : it->second;
    }
    void add_mdev(unsigned parent) { ++mdevs_on_parent_[parent]; }
    void remove_mdev(unsigned parent) {
        if (--mdevs_on_parent_[parent] == 0)
            mdevs_on_parent_.erase(parent);
    }

    // The lowest free defPASID on a parent below 2^width (>= 1), or 0.
    // Out of memory it throws, having changed nothing.
    uint32_t alloc_def_pasid(unsigned parent, unsigned pasid_width) {
        auto& used = def_pasids_[parent];
        const uint64_t limit = uint64_t{1} << pasid_width;
        try {
            for (uint32_t pasid = 1; pasid < limit; ++pasid) {
                if (used.insert(pasid).second)
                    return pasid;
            }
        } catch (const std::bad_alloc&) {
            if (used.empty())
                def_pasids_.erase(parent);
            throw;
        }
        return 0;
    }
    void free_def_pasid(unsigned parent, uint32_t pasid) {
        auto it = def_pasids_.find(parent);
        if (it != def_pasids_.end() && it->second.erase(pasid) && it->second.empty())
            def_pasids_.erase(it);
    }

    // The invariant checker's view.
    template <typename Fn> void for_each_bound(Fn&& fn) const {
        for (unsigned i = 0; i < bound_.size(); ++i) {
            if (bound_[i])
                fn(i, bound_[i]);
        }
    }
    template <typename Fn> void for_each_group(Fn&& fn) const {
        for (const auto& [group, claim] : groups_)
            fn(group, claim.owner, claim.bound);
    }
    template <typename Fn> void for_each_parent(Fn&& fn) const {
        for (const auto& [parent, count] : mdevs_on_parent_)
            fn(parent, count);
    }
    const std::set<uint32_t>* def_pasids_of(unsigned parent) const {
        auto it = def_pasids_.find(parent);
        return it == def_pasids_.end() ? nullptr : &it->second;
    }

private:
    struct GroupClaim {
        Context* owner = nullptr;
        unsigned bound = 0;  // devices of the group bound by the owner
    };
    std::vector<BoundDevice*> bound_;
    std::map<unsigned, GroupClaim> groups_;
    std::map<unsigned, unsigned> mdevs_on_parent_;
    std::map<unsigned, std::set<uint32_t>> def_pasids_;
    std::map<unsigned, uint32_t> page_request_limits_;  // devices set away from the default
};

}  // namespace ciommu
