#include "iotlb.h"

#include <new>
#include <vector>

namespace ciommu {

std::optional<IotlbEntry> Iotlb::lookup(const IotlbKey& key) const {
    auto it = entries_.find(key);
    if (it == entries_.end())
        return std::nullopt;
    return it->second;
}

void Iotlb::insert(const IotlbKey& key, const IotlbEntry& entry) noexcept {
    if (auto it = entries_.find(key); it != entries_.end())
        erase(it);
    if (entries_.size() >= kCapacity)
        clear();
    // A cache may decline: out of memory, the entry is not cached, and
    // whatever part of it was indexed already goes again.
    Entries::iterator added;
    try {
        added = entries_.emplace(key, entry).first;
    } catch (const std::bad_alloc&) {
        return;
    }
    auto by_page = by_stage2_.end();
    try {
        by_page = by_stage2_.emplace(Stage2Page{entry.s2, entry.s2_page}, key);
        by_route_[route_id(key.unit, key.rid, key.pasid)].insert(key.page);
    } catch (const std::bad_alloc&) {
        if (by_page != by_stage2_.end())
            by_stage2_.erase(by_page);
        if (auto route = by_route_.find(route_id(key.unit, key.rid, key.pasid));
            route != by_route_.end() && route->second.empty())
            by_route_.erase(route);
        entries_.erase(added);
        return;
    }
    nested_entries_ += entry.s1 != nullptr;
}

Iotlb::Entries::iterator Iotlb::erase(Entries::iterator it) {
    auto [first, last] = by_stage2_.equal_range({it->second.s2, it->second.s2_page});
    for (auto rev = first; rev != last; ++rev) {
        if (rev->second == it->first) {
            by_stage2_.erase(rev);
            break;
        }
    }
    auto route = by_route_.find(route_id(it->first.unit, it->first.rid, it->first.pasid));
    route->second.erase(it->first.page);
    if (route->second.empty())
        by_route_.erase(route);
    nested_entries_ -= it->second.s1 != nullptr;
    return entries_.erase(it);
}

void Iotlb::clear() {
    entries_.clear();
    by_stage2_.clear();
    by_route_.clear();
    nested_entries_ = 0;
}

void Iotlb::flush_stage2(const IoAddressSpace* s2, uint64_t first_page, uint64_t last_page) {
    if (entries_.empty())
        return;
    if (nested_entries_)
        erase_if([&](const IotlbKey&, const IotlbEntry& e) { return e.s1 && e.s2 == s2; });
    if (last_page - first_page >= entries_.size()) {  // a wide range: one pass over everything
        erase_if([&](const IotlbKey&, const IotlbEntry& e) {
            return e.s2 == s2 && e.s2_page >= first_page && e.s2_page <= last_page;
        });
        return;
    }
    for (uint64_t page = first_page; page <= last_page; ++page) {
        auto range = by_stage2_.equal_range({s2, page});
        while (range.first != range.second) {
            const IotlbKey key = range.first->second;
            erase(entries_.find(key));  // invalidates the range: look it up again
            range = by_stage2_.equal_range({s2, page});
        }
    }
}

void Iotlb::flush_stage1(const IoAddressSpace* s1, std::optional<uint32_t> pasid, uint64_t first_page,
                         uint64_t last_page) {
    erase_if([&](const IotlbKey& k, const IotlbEntry& e) {
        return e.s1 == s1 && (!pasid || e.user_pasid == *pasid) && k.page >= first_page && k.page <= last_page;
    });
}

void Iotlb::flush_route(unsigned unit, uint16_t rid, uint32_t pasid) {
    // erase() drops the route's page set with its last page.
    for (auto route = by_route_.find(route_id(unit, rid, pasid)); route != by_route_.end();
         route = by_route_.find(route_id(unit, rid, pasid)))
        erase(entries_.find(IotlbKey{unit, rid, pasid, *route->second.begin()}));
}

void Iotlb::flush_space(const IoAddressSpace* space) {
    erase_if([&](const IotlbKey&, const IotlbEntry& e) { return e.s1 == space || e.s2 == space; });
}

void Iotlb::check(std::vector<std::string>& problems) const {
    size_t nested = 0, indexed_routes = 0, indexed_pages = 0;
    for (const auto& [key, entry] : entries_) {
        nested += entry.s1 != nullptr;
        bool in_stage2 = false;
        auto [first, last] = by_stage2_.equal_range({entry.s2, entry.s2_page});
        for (auto it = first; it != last; ++it)
            in_stage2 = in_stage2 || it->second == key;
        auto route = by_route_.find(route_id(key.unit, key.rid, key.pasid));
        if (!in_stage2 || route == by_route_.end() || !route->second.count(key.page))
            problems.push_back("iotlb: an entry of page " + std::to_string(key.page) + " is missing from an index");
    }
    for (const auto& [route, pages] : by_route_) {
        ++indexed_routes;
        indexed_pages += pages.size();
    }
    if (by_stage2_.size() != entries_.size() || indexed_pages != entries_.size())
        problems.push_back("iotlb: " + std::to_string(entries_.size()) + " entries, " +
                           std::to_string(by_stage2_.size()) + " by stage-2 page, " + std::to_string(indexed_pages) +
                           " by route");
    if (nested != nested_entries_)
        problems.push_back("iotlb: counts " + std::to_string(nested_entries_) + " nested entries, has " +
                           std::to_string(nested));
    (void)indexed_routes;
}

}  // namespace ciommu
