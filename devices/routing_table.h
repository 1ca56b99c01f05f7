// What the IOMMU hardware looks up for every DMA and every fault: the
// requester ID and PASID on the bus -> the attachment (iommu_dev, IOASID).
// An IOMMU-backed mdev appears under its parent's RID with its defPASID.
#pragma once

#include <cstdint>
#include <map>
#include <tuple>

namespace ciommu {

struct Attachment;

struct RouteKey {
    unsigned unit;    // IOMMU unit index in the topology
    uint16_t rid;
    uint32_t pasid;   // kNoPasid: DMA without a PASID
    auto operator<=>(const RouteKey&) const = default;
};

class RoutingTable {
public:
    void add(const RouteKey& key, Attachment* attachment) { routes_[key] = attachment; }
    void remove(const RouteKey& key) { routes_.erase(key); }
    Attachment* find(const RouteKey& key) const {
        auto it = routes_.find(key);
        return it == routes_.end() ? nullptr : it->second;
    }
    size_t size() const { return routes_.size(); }
    template <typename Fn> void for_each(Fn&& fn) const {
        for (const auto& [key, attachment] : routes_)
            fn(key, attachment);
    }

private:
    std::map<RouteKey, Attachment*> routes_;
};

}  // namespace ciommu
