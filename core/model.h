// The whole IOMMU model the daemon serves: the topology, every open context,
// the device table, the routing table, the IOTLB and the pin ledger.  One
// mutex guards all of it; see docs/design.md for the lock discipline.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <vector>
#include <memory>
#include <mutex>
#include <optional>
#include <sys/types.h>

#include "../devices/device_table.h"
#include "../devices/fault_port.h"
#include "../devices/routing_table.h"
#include "../devices/topology.h"
#include "../ioasid/iotlb.h"
#include "../ioasid/pin_ledger.h"
#include "../ioasid/process.h"
#include "../ioasid/unmap_listener.h"
#include "../iommufd/object_file.h"
#include "context.h"
#include "new_records.h"

namespace ciommu {

// Something the trace wants to hear about besides uAPI calls.
struct FaultEvent {
    enum class Kind { kRecord, kLost, kAnswered } kind;
    uint64_t context_id;
    iommu_fault_record record;  // kRecord, kLost: the record (kLost: never delivered)
    uint64_t cookie;            // kAnswered: the device
    uint32_t grpid;             // kAnswered: the group
    uint32_t code;              // kAnswered: IOMMU_PAGE_RESP_*
    const char* origin;         // kAnswered: "user", "timeout", "detach", "failure"
};

class Model {
public:
    explicit Model(const Topology& topology = default_topology(),
                   PinLedger::LimitFn memlock_limit = PinLedger::system_allows);

    // Taken by the dispatcher around every handler and by open/release.
    std::mutex& lock() { return mutex_; }

    // The rest require lock() held.
    Context* add_context(pid_t opener);
    // Unbinds the context's devices, frees its IOASIDs, then destroys it.
    void remove_context(Context* ctx) noexcept;

    template <typename Fn> void for_each_context(Fn&& fn) const {
        for (const auto& entry : contexts_)
            fn(static_cast<const Context&>(*entry.second));
    }
    template <typename Fn> void for_each_context(Fn&& fn) {
        for (auto& entry : contexts_)
            fn(*entry.second);
    }
    Context* find_context(uint64_t id) {
        auto it = contexts_.find(id);
        return it == contexts_.end() ? nullptr : it->second.get();
    }

    // The time deadlines are measured in (tests may substitute a clock).
    using Clock = std::chrono::steady_clock;
    Clock::time_point now() const { return clock_ ? clock_() : Clock::now(); }
    void set_clock(std::function<Clock::time_point()> clock) { clock_ = std::move(clock); }

    // Contexts whose fault region got records: the transport wakes their
    // readers and pollers once the lock is dropped.  The notes have their
    // own mutex, so they can be taken without the model lock.  A note that
    // finds no memory becomes "everyone": a wakeup is never lost.
    void note_new_records(const Context& ctx) noexcept {
        std::lock_guard guard(records_mutex_);
        try {
            new_records_.contexts.push_back(ctx.id);
        } catch (const std::bad_alloc&) {
            new_records_.everyone = true;
        }
    }
    void note_object_file_readable(uint64_t file_id) noexcept {
        std::lock_guard guard(records_mutex_);
        try {
            new_records_.object_files.push_back(file_id);
        } catch (const std::bad_alloc&) {
            new_records_.every_object_file = true;
        }
    }
    NewRecords take_new_records() noexcept {
        std::lock_guard guard(records_mutex_);
        return std::exchange(new_records_, {});
    }

    // Fault events, reported with the model lock held: the listener must
    // not call back into the model (the trace writer only writes a line).
    using EventListener = std::function<void(const FaultEvent&)>;
    void set_event_listener(EventListener listener) { event_listener_ = std::move(listener); }
    void report(const FaultEvent& event) const noexcept {
        try {
            if (event_listener_)
                event_listener_(event);
        } catch (const std::exception&) {
            // The trace is best effort; the model's work goes on.
        }
    }
    size_t context_count() const { return contexts_.size(); }

    const Topology& topology() const { return topology_; }
    // Devices added at run time (the control socket): `topology().devices`
    // never reallocates, so the DeviceSpec pointers bound devices hold stay
    // valid.  This many adds fit, over the daemon's life.
    static constexpr size_t kDeviceHeadroom = 256;
    // A spec parse_device() accepted: its index, or nullopt when no room is left.
    std::optional<unsigned> add_device(DeviceSpec spec);
    // Takes back the device add_device() just added (nothing can refer to
    // it yet): a command that cannot finish undoes its add.
    void remove_last_device() noexcept { topology_.devices.pop_back(); }
    // Marks a device not present (it must be unbound): its index is never reused.
    void mark_removed(unsigned index) { topology_.devices[index].present = false; }
    // Client processes by identity; has its own mutex (no model lock needed).
    ProcessTable& processes() { return processes_; }
    DeviceTable& devices() { return devices_; }
    const DeviceTable& devices() const { return devices_; }
    RoutingTable& routes() { return routes_; }
    Iotlb& iotlb() { return iotlb_; }
    PinLedger& ledger() { return ledger_; }
    // The object node's open files (the iommufd profile's fd objects).
    ObjectFiles& object_files() { return object_files_; }

    // The seams that keep the model folders layered (docs/design.md):
    // devices reach fault reporting through fault_port(); an unmap tells
    // the listeners the core registered (a software mdev's pins).
    const FaultPort& fault_port() const { return fault_port_; }
    void notify_unmapped(Context& ctx, const IoAddressSpace& space, uint64_t first_page,
                         uint64_t last_page) noexcept {
        for (UnmapListener listener : unmap_listeners_)
            listener(*this, ctx, space, first_page, last_page);
    }

private:
    ProcessTable processes_;  // first: destroyed after everything holding a Process
    std::mutex mutex_;
    Topology topology_;
    size_t device_limit_;  // topology_.devices' reserved capacity
    DeviceTable devices_;
    RoutingTable routes_;
    Iotlb iotlb_;
    PinLedger ledger_;
    std::function<Clock::time_point()> clock_;
    const FaultPort& fault_port_;
    std::vector<UnmapListener> unmap_listeners_;
    EventListener event_listener_;
    std::mutex records_mutex_;  // guards new_records_ only
    NewRecords new_records_;
    uint64_t next_context_id_ = 1;
    std::map<uint64_t, std::unique_ptr<Context>> contexts_;  // by Context::id
    ObjectFiles object_files_;
};

}  // namespace ciommu
