#include "iotlb.h"

namespace ciommu {

std::optional<IotlbEntry> Iotlb::lookup(const IotlbKey& key) const {
    auto it = entries_.find(key);
    if (it == entries_.end())
        return std::nullopt;
    return it->second;
}

void Iotlb::insert(const IotlbKey& key, const IotlbEntry& entry) {
    if (entries_.size() >= kCapacity)
        entries_.clear();
    entries_[key] = entry;
}

void Iotlb::flush_stage2(const IoAddressSpace* s2, uint64_t first_page, uint64_t last_page) {
    erase_if([&](const IotlbKey&, const IotlbEntry& e) {
        return e.s2 == s2 && e.s2_page >= first_page && e.s2_page <= last_page;
    });
}

void Iotlb::flush_stage1(const IoAddressSpace* s1, std::optional<uint32_t> pasid, uint64_t first_page,
                         uint64_t last_page) {
    erase_if([&](const IotlbKey& k, const IotlbEntry& e) {
        return e.s1 == s1 && (!pasid || k.pasid == *pasid) && k.page >= first_page && k.page <= last_page;
    });
}

void Iotlb::flush_route(unsigned unit, uint16_t rid, uint32_t pasid) {
    erase_if([&](const IotlbKey& k, const IotlbEntry&) {
        return k.unit == unit && k.rid == rid && k.pasid == pasid;
    });
}

void Iotlb::flush_space(const IoAddressSpace* space) {
    erase_if([&](const IotlbKey&, const IotlbEntry& e) { return e.s1 == space || e.s2 == space; });
}

}  // namespace ciommu
