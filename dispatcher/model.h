// The whole IOMMU model the daemon serves: the topology, every open context,
// the device table, the routing table, the IOTLB and the pin ledger.  One
// mutex guards all of it; see docs/design.md for the lock discipline.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <sys/types.h>

#include "../devices/device_table.h"
#include "../devices/routing_table.h"
#include "../devices/topology.h"
#include "../ioasid/iotlb.h"
#include "../ioasid/pin_ledger.h"
#include "context.h"

namespace ciommu {

class Model {
public:
    explicit Model(const Topology& topology = default_topology(),
                   PinLedger::LimitFn memlock_limit = PinLedger::system_allows);

    // Taken by the dispatcher around every handler and by open/release.
    std::mutex& lock() { return mutex_; }

    // The rest require lock() held.
    Context* add_context(pid_t opener);
    // Unbinds the context's devices, frees its IOASIDs, then destroys it.
    void remove_context(Context* ctx);

    template <typename Fn> void for_each_context(Fn&& fn) const {
        for (const auto& entry : contexts_)
            fn(*entry.second);
    }
    size_t context_count() const { return contexts_.size(); }

    const Topology& topology() const { return topology_; }
    DeviceTable& devices() { return devices_; }
    RoutingTable& routes() { return routes_; }
    Iotlb& iotlb() { return iotlb_; }
    PinLedger& ledger() { return ledger_; }

private:
    std::mutex mutex_;
    Topology topology_;
    DeviceTable devices_;
    RoutingTable routes_;
    Iotlb iotlb_;
    PinLedger ledger_;
    uint64_t next_context_id_ = 1;
    std::map<uint64_t, std::unique_ptr<Context>> contexts_;  // by Context::id
};

}  // namespace ciommu
