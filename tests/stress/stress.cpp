// The stress driver of the ThreadSanitizer tier (docs/design.md, "Testing"):
// the whole model in-process, driven through the transport-neutral
// Dispatcher and handle_control_request by many threads at once, the way
// the daemon's libfuse workers, control-request threads and Asio timer do:
//
//   private workers   one context each: IOASIDs (kernel-managed, identity,
//                     nested over a real x86-64 table), map/unmap (pinned and
//                     IOPF), bind/unbind, attach/detach (RID and PASID),
//                     fault consumers, eventfds, SIM_DMA (reads, writes, page
//                     requests that stall), SIM_DMA_STATUS, injected faults,
//                     read_faults + PAGE_RESPONSE, region settings, stats,
//                     DEVICE_GET_INFO, INVALIDATE_CACHE, software-mdev pins
//   shared workers    the same, two threads per context, on two contexts
//   churn worker      the same, but opens a new context every few dozen
//                     operations and releases the old one with whatever it
//                     still holds (devices, stalled DMAs, page requests)
//   control (2)       dump, dma, dma-status, fault, set (context and
//                     device), device-add / device-remove (hot-plug of PRI
//                     devices and mdevs under them, removing bound devices)
//   timer             Dispatcher::expire_page_requests() every 2 ms, like
//                     the daemon's 20 ms Asio timer (region timeouts here
//                     are 5..60 ms, so requests do expire)
//   reader            read_faults / faults_pending on any context, like a
//                     read() or poll() on some other file
//
// The devices are contended on purpose: every worker binds from the same
// list of names, so most binds of a device held elsewhere fail (EBUSY),
// and the control threads remove devices that are bound.  Results are
// checked loosely: every ioctl returns >= 0 or an errno docs/uapi.md
// documents for that command, every control answer is {"ok": true} or
// {"ok": false, "error"} that is no internal error.  At the end everything
// is released and the model must be empty (SIM_DAEMON_STATS, the ledger,
// the routing table, the IOTLB, the device table).
//
// Bounded: --seconds (default 30) of wall clock, or --ops per worker.
// Deterministic seeds (--seed, default 1): each thread's choices come from
// its own generator; the interleaving is the scheduler's.  Exit status 0
// when every check passed; the last line is "stress: N passed, M failed".
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <span>
#include <string>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <thread>
#include <variant>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../control/control_server.h"
#include "../../control/trace_writer.h"
#include "../../core/caller.h"
#include "../../dispatcher/command_table.h"
#include "../../core/context.h"
#include "../../dispatcher/dispatcher.h"
#include "../../core/model.h"
#include "../../devices/hotplug.h"
#include "cuse-iommu.h"
#include "iommufd_worker.h"

using namespace ciommu;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// ---- a worker's memory: 48 data pages, a 4-level table and its leaf ----
constexpr uint64_t kPage = 4096;
constexpr unsigned kBufferPages = 64;
constexpr unsigned kDataPages = 48;   // pages 0..47: mapped at kIovaBase + page
constexpr unsigned kTablePage = 48;   // pages 48..51: levels 4..1; page 52: the leaf
constexpr unsigned kTablePages = 5;
constexpr uint64_t kIovaBase = 0x100000;
constexpr uint64_t kTableIova = kIovaBase + kTablePage * kPage;  // the parent IOVA of the level-4 table
constexpr uint64_t kStage1Va = 0x40000000;  // level indices 0, 1, 0, 0: the leaf.  +1 page: not present
constexpr uint64_t kMsiIova = 0xfee00000;   // reserved (MSI) on both IOMMUs
constexpr uint64_t kDataBytes = 3 * kPage;  // a SIM_DMA's data buffer

// Devices workers bind: the default topology's, and the control threads'
// hot-plugged ones (present or not at any moment).  Cookie = index + 1, so
// a name has the same cookie in every context.
const std::vector<std::string> kDeviceNames = {
    "nic0", "nic1", "nic2", "accel0", "gpu0", "mdev0", "mdev1", "vmdev0", "legacy0",
    "hp0",  "hp1",  "hp2",  "hp3",    "hp4",  "hp5",   "hp6",   "hp7",    "hpm0", "hpm1"};
constexpr uint64_t kVmdevCookie = 8;  // "vmdev0": the software mdev (SIM_MDEV_PIN)
constexpr unsigned kHotplugPci = 8;   // hp0..hp7
constexpr unsigned kHotplugMdevs = 2; // hpm0 on hp0, hpm1 on hp1

// The errnos docs/uapi.md documents per command (any other is a failure).
const std::map<unsigned, std::set<int>>& documented_errnos() {
    static const std::map<unsigned, std::set<int>> table = {
        {IOMMU_IOASID_ALLOC, {EINVAL, ENOENT, EOPNOTSUPP, ENOSPC}},
        {IOMMU_IOASID_FREE, {ENOENT, EBUSY}},
        {IOMMU_MAP_DMA, {ENOENT, EOPNOTSUPP, EINVAL, EADDRINUSE, EEXIST, EFAULT, ENOMEM, ENOSPC}},
        {IOMMU_UNMAP_DMA, {ENOENT, EOPNOTSUPP, EINVAL}},
        {IOMMU_INVALIDATE_CACHE, {ENOENT, EINVAL}},
        {IOMMU_DEVICE_BIND, {EINVAL, ENODEV, EEXIST, EBUSY, ENOSPC}},
        {IOMMU_DEVICE_UNBIND, {ENOENT}},
        {IOMMU_DEVICE_GET_INFO, {EINVAL, ENOENT}},
        {IOMMU_DEVICE_ATTACH, {ENOENT, EOPNOTSUPP, EBUSY, EINVAL, ERANGE, EADDRINUSE}},
        {IOMMU_DEVICE_DETACH, {ENOENT}},
        {IOMMU_DEVICE_FAULT_REGISTER, {ENOENT, EBUSY}},
        {IOMMU_DEVICE_FAULT_UNREGISTER, {ENOENT, EBUSY}},
        {IOMMU_FAULT_SET_EVENTFD, {EBADF, ESRCH, EOPNOTSUPP, EPERM, EINVAL}},
        {IOMMU_PAGE_RESPONSE, {ENOENT, EINVAL}},
        {IOMMU_FAULT_REGION_INFO, {EINVAL, EBUSY}},
        {IOMMU_GET_STATS, {}},
        {IOMMU_SIM_DAEMON_STATS, {}},
        {IOMMU_SIM_DMA, {ENOENT, EINVAL, EOPNOTSUPP, EBUSY, EFAULT}},
        {IOMMU_SIM_DMA_STATUS, {ENOENT, EFAULT}},
        {IOMMU_SIM_INJECT_FAULT, {EINVAL, ENOENT, EOPNOTSUPP, EBUSY}},
        {IOMMU_SIM_MDEV_PIN, {EINVAL, ENOENT, ENXIO, EFAULT, ENOMEM}},
        {IOMMU_SIM_MDEV_UNPIN, {EINVAL, ENOENT, ENXIO}},
    };
    return table;
}

const char* command_name(unsigned cmd) {
    const CommandSpec* spec = find_command(cmd);
    return spec ? spec->name : "?";
}

std::string errno_name(int err) {
    const char* name = strerrorname_np(err);
    return name ? name : "errno " + std::to_string(err);
}

// What one thread saw: results per command (ioctl) or per control command.
struct Tally {
    std::map<std::string, std::map<std::string, uint64_t>> results;  // name -> result -> count
    std::vector<std::string> problems;                               // unexpected results
    uint64_t unexpected = 0;
    void count(const std::string& name, const std::string& result) { ++results[name][result]; }
    void problem(std::string what) {
        ++unexpected;
        if (problems.size() < 8)
            problems.push_back(std::move(what));
    }
    void merge(const Tally& other) {
        for (const auto& [name, by_result] : other.results)
            for (const auto& [result, n] : by_result)
                results[name][result] += n;
    }
};

struct Options {
    double seconds = 30;
    uint64_t ops = 0;  // per worker; 0: until --seconds
    uint64_t seed = 1;
    std::string trace = "/dev/null";  // "": no trace
};

// Everything the threads share.
struct World {
    explicit World(const Options& o) : options(o) {
        // A software mdev (and its parent) for the iommufd workers alone:
        // the RFC workers keep vmdev0 bound most of the time.
        std::lock_guard guard(model.lock());
        const nlohmann::json parent = {{"name", "fdgpu"}, {"type", "pci"}, {"bdf", "00:1f.0"}, {"iommu", "iommu0"},
                                       {"group", 99}};
        const nlohmann::json mdev = {{"name", "fdvmdev"}, {"type", "sw-mdev"}, {"parent", "fdgpu"}};
        if (!std::holds_alternative<unsigned>(hot_add_device(model, parent, "")) ||
            !std::holds_alternative<unsigned>(hot_add_device(model, mdev, "")))
            std::abort();
    }
    const Options& options;
    Model model;  // the default topology; RLIMIT_MEMLOCK as the daemon reads it
    Dispatcher dispatcher{model};
    Dispatcher iommufd_dispatcher{model, Abi::kIommufd};  // the other profile, on the same model
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> max_context_id{0};
    std::atomic<uint64_t> records_notified{0};

    Context* open() {
        Context* ctx = dispatcher.open(getpid());
        uint64_t seen = max_context_id.load();
        while (seen < ctx->id && !max_context_id.compare_exchange_weak(seen, ctx->id)) {
        }
        return ctx;
    }
};

class Rng {
public:
    explicit Rng(uint64_t seed) : gen_(seed) {}
    uint64_t below(uint64_t n) { return n ? std::uniform_int_distribution<uint64_t>(0, n - 1)(gen_) : 0; }
    bool chance(unsigned percent) { return below(100) < percent; }
    template <typename T> const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }

private:
    std::mt19937_64 gen_;
};

uint64_t thread_seed(uint64_t seed, unsigned index) { return seed * 1000003u + index * 7919u + 17; }

std::string hex_bytes(size_t n, uint8_t fill) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        const uint8_t b = static_cast<uint8_t>(fill + i);
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

// ---- ioctl workers ----

struct IoasidRef {
    uint32_t id;
    enum Kind { kKernel, kIdentity, kUser } kind;
};

class Worker {
public:
    // home: the devices it binds most of the time (others' too, now and then).
    Worker(World& world, std::string name, uint64_t seed, Context* ctx, bool churn, std::vector<std::string> home)
        : world_(world), d_(world.dispatcher), name_(std::move(name)), rng_(seed), ctx_(ctx), churn_(churn) {
        for (const std::string& device : home)
            home_.push_back(static_cast<uint64_t>(
                std::find(kDeviceNames.begin(), kDeviceNames.end(), device) - kDeviceNames.begin()));
    }

    // Releases only a context this worker opened itself (churn).
    Context* context() const { return ctx_; }
    Tally& tally() { return tally_; }
    const std::string& name() const { return name_; }
    uint64_t ops() const { return ops_; }

    void run() {
        caller_ = std::make_unique<Caller>(Caller::self());
        setup_memory();
        if (churn_)
            ctx_ = world_.open();
        const uint64_t limit = world_.options.ops;
        while (!world_.stop.load(std::memory_order_relaxed) && (limit == 0 || ops_ < limit)) {
            if (churn_ && ops_ % 40 == 39)
                reopen();
            step();
            ++ops_;
        }
    }

    // After every thread stopped: what run() allocated.
    void teardown_memory() {
        if (eventfd_ >= 0)
            close(eventfd_);
        if (buffer_)
            munmap(buffer_, kBufferPages * kPage);
        if (data_)
            munmap(data_, kDataBytes);
    }

private:
    void setup_memory() {
        buffer_ = static_cast<char*>(mmap(nullptr, kBufferPages * kPage, PROT_READ | PROT_WRITE,
                                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0));
        data_ = static_cast<char*>(
            mmap(nullptr, kDataBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0));
        if (buffer_ == MAP_FAILED || data_ == MAP_FAILED) {
            std::perror("stress: mmap");
            std::exit(2);
        }
        // A 4-level x86-64 table translating kStage1Va to the leaf page; every
        // table pointer is a parent IOVA (the table is mapped at kTableIova).
        auto entry = [&](unsigned table, unsigned index, unsigned target) {
            const uint64_t value = (kTableIova + (target - kTablePage) * kPage) | 0x3;  // present, writable
            std::memcpy(buffer_ + table * kPage + index * 8, &value, 8);
        };
        entry(kTablePage + 0, 0, kTablePage + 1);
        entry(kTablePage + 1, 1, kTablePage + 2);
        entry(kTablePage + 2, 0, kTablePage + 3);
        entry(kTablePage + 3, 0, kTablePage + 4);
        eventfd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }

    // Releases the churn context with what it holds and starts afresh.
    void reopen() {
        d_.release(ctx_);
        ctx_ = world_.open();
        ioasids_.clear();
        bound_.clear();
        pending_.clear();
        mapped_.clear();
    }

    template <typename T> long call(unsigned cmd, T& args) {
        const long r = d_.ioctl(*ctx_, *caller_, cmd, reinterpret_cast<uintptr_t>(&args));
        const char* name = command_name(cmd);
        if (r >= 0) {
            tally_.count(name, "ok");
            return r;
        }
        tally_.count(name, errno_name(static_cast<int>(-r)));
        const auto& table = documented_errnos();
        auto it = table.find(cmd);
        if (it == table.end() || !it->second.count(static_cast<int>(-r)))
            tally_.problem(std::string(name) + " returned " + errno_name(static_cast<int>(-r)) +
                           ", which docs/uapi.md does not document for it");
        return r;
    }
    void check(bool ok, const std::string& what) {
        if (!ok)
            tally_.problem(what);
    }

    uint64_t cookie() { return bound_.empty() || rng_.chance(10) ? 1 + rng_.below(kDeviceNames.size()) : rng_.pick(bound_); }
    uint32_t pasid() { return static_cast<uint32_t>(1 + rng_.below(8)); }
    const IoasidRef* ioasid(std::optional<IoasidRef::Kind> kind = std::nullopt) {
        std::vector<const IoasidRef*> fit;
        for (const IoasidRef& ref : ioasids_)
            if (!kind || ref.kind == *kind)
                fit.push_back(&ref);
        return fit.empty() ? nullptr : fit[rng_.below(fit.size())];
    }
    void forget_ioasid(uint32_t id) {
        std::erase_if(ioasids_, [&](const IoasidRef& r) { return r.id == id; });
    }

    void step() {
        // A client sets up before it does anything else.
        if (bound_.empty() && rng_.chance(50))
            return op_bind();
        if (ioasids_.empty() && rng_.chance(50))
            return op_alloc();
        switch (rng_.below(24)) {
        case 0: case 1: return op_alloc();
        case 2: return op_free();
        case 3: case 4: return op_map();
        case 5: return op_unmap();
        case 6: return op_bind();
        case 7: return op_unbind();
        case 8: case 9: return op_attach();
        case 10: return op_detach();
        case 11: return op_fault_consumer();
        case 12: case 13: case 14: return op_dma();
        case 15: return op_dma_status();
        case 16: return op_inject();
        case 17: case 18: return op_answer_faults();
        case 19: return op_region();
        case 20: return op_info();
        case 21: return op_mdev_pin();
        case 22: return op_eventfd();
        default: return op_stats();
        }
    }

    void op_alloc() {
        if (ioasids_.size() >= 8)
            return op_free();
        iommu_ioasid_alloc a{};
        a.argsz = sizeof(a);
        IoasidRef::Kind kind = IoasidRef::kKernel;
        const unsigned roll = static_cast<unsigned>(rng_.below(10));
        if (roll >= 6 && roll < 8) {
            kind = IoasidRef::kIdentity;
            a.flags = IOMMU_IOASID_IDENTITY;
        } else if (roll >= 8) {
            const IoasidRef* parent = ioasid(IoasidRef::kKernel);
            if (!parent)
                return;
            // The table's pages go into the parent first (EEXIST if they are there already).
            iommu_map_dma m{sizeof(m), IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE, parent->id, 0,
                            reinterpret_cast<uintptr_t>(buffer_ + kTablePage * kPage), kTableIova,
                            kTablePages * kPage};
            call(IOMMU_MAP_DMA, m);
            kind = IoasidRef::kUser;
            a.flags = IOMMU_IOASID_USER_PGTABLE;
            a.parent_ioasid = parent->id;
            a.pgtable_format = IOMMU_PGTABLE_FORMAT_X86_64;
            a.user_pgd = kTableIova;
        }
        if (rng_.chance(10))
            a.flags |= IOMMU_IOASID_ENFORCE_SNOOP;
        const long r = call(IOMMU_IOASID_ALLOC, a);
        if (r > 0)
            ioasids_.push_back({static_cast<uint32_t>(r), kind});
        else
            check(r < 0, "IOASID_ALLOC returned 0 (ids start at 1)");
    }

    void op_free() {
        const IoasidRef* ref = ioasid();
        if (!ref)
            return;
        const uint32_t id = ref->id;
        iommu_ioasid_free f{sizeof(f), 0, id, 0};
        if (call(IOMMU_IOASID_FREE, f) != -EBUSY)
            forget_ioasid(id);
    }

    void op_map() {
        const IoasidRef* ref = ioasid(rng_.chance(85) ? std::optional(IoasidRef::kKernel) : std::nullopt);
        if (!ref)
            return op_alloc();
        const uint64_t first = rng_.below(kDataPages);
        const uint64_t pages = std::min<uint64_t>(1 + rng_.below(4), kDataPages - first);
        uint32_t flags = rng_.chance(85) ? IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE : IOMMU_MAP_DMA_READ;
        if (rng_.chance(20))
            flags |= IOMMU_MAP_DMA_IOPF;
        iommu_map_dma m{sizeof(m), flags, ref->id, 0, reinterpret_cast<uintptr_t>(buffer_ + first * kPage),
                        kIovaBase + first * kPage, pages * kPage};
        if (call(IOMMU_MAP_DMA, m) == 0) {
            mapped_.push_back(m.iova);
            if (mapped_.size() > 32)
                mapped_.erase(mapped_.begin());
        }
    }

    void op_unmap() {
        const IoasidRef* ref = ioasid(IoasidRef::kKernel);
        if (!ref)
            return;
        iommu_unmap_dma u{sizeof(u), 0, ref->id, 0, 0, 0};
        if (rng_.chance(10)) {
            u.flags = IOMMU_UNMAP_DMA_ALL;
        } else {
            const uint64_t first = rng_.below(kDataPages + kTablePages);
            u.iova = kIovaBase + first * kPage;
            u.size = (1 + rng_.below(8)) * kPage;
        }
        if (call(IOMMU_UNMAP_DMA, u) == 0)
            check(u.size % kPage == 0, "UNMAP_DMA reported a size that is no multiple of 4 KiB");
    }

    void op_bind() {
        const uint64_t index = home_.empty() || rng_.chance(25) ? rng_.below(kDeviceNames.size()) : rng_.pick(home_);
        iommu_device_bind b{};
        b.argsz = sizeof(b);
        std::strncpy(b.name, kDeviceNames[index].c_str(), sizeof(b.name) - 1);
        b.cookie = index + 1;
        if (call(IOMMU_DEVICE_BIND, b) == 0 && std::find(bound_.begin(), bound_.end(), b.cookie) == bound_.end())
            bound_.push_back(b.cookie);
    }

    void op_unbind() {
        const uint64_t c = cookie();
        iommu_device_unbind u{sizeof(u), 0, c};
        call(IOMMU_DEVICE_UNBIND, u);
        std::erase(bound_, c);
    }

    void op_attach() {
        const IoasidRef* ref = ioasid();
        if (!ref)
            return op_alloc();
        // A user-managed IOASID takes PASID attachments only.
        const bool with_pasid = ref->kind == IoasidRef::kUser || rng_.chance(30);
        iommu_device_attach a{sizeof(a), with_pasid ? IOMMU_ATTACH_PASID : 0u, cookie(), ref->id,
                              with_pasid ? pasid() : 0u};
        call(IOMMU_DEVICE_ATTACH, a);
    }

    void op_detach() {
        const bool with_pasid = rng_.chance(30);
        iommu_device_detach det{sizeof(det), with_pasid ? IOMMU_ATTACH_PASID : 0u, cookie(),
                                with_pasid ? pasid() : 0u, 0};
        call(IOMMU_DEVICE_DETACH, det);
    }

    void op_fault_consumer() {
        iommu_device_fault f{sizeof(f), 0, cookie()};
        call(rng_.chance(80) ? IOMMU_DEVICE_FAULT_REGISTER : IOMMU_DEVICE_FAULT_UNREGISTER, f);
    }

    uint64_t dma_iova() {
        const unsigned roll = static_cast<unsigned>(rng_.below(100));
        if (roll < 60)
            return kIovaBase + rng_.below(kDataPages) * kPage + rng_.below(kPage);
        if (roll < 80)
            return kStage1Va + rng_.below(2) * kPage + rng_.below(kPage);  // the leaf, or a hole in stage 1
        if (roll < 90)
            return reinterpret_cast<uintptr_t>(buffer_) + rng_.below(kDataPages) * kPage;  // identity
        if (roll < 95)
            return kMsiIova;
        return uint64_t{1} << 50;  // past every address width
    }

    void op_dma() {
        iommu_sim_dma dma{};
        dma.argsz = sizeof(dma);
        dma.flags = rng_.chance(50) ? IOMMU_SIM_DMA_WRITE : 0;
        if (rng_.chance(30)) {
            dma.flags |= IOMMU_SIM_DMA_PASID;
            dma.pasid = pasid();
        }
        dma.cookie = cookie();
        dma.iova = dma_iova();
        dma.length = 1 + rng_.below(kDataBytes);
        dma.data = reinterpret_cast<uintptr_t>(data_);
        if (call(IOMMU_SIM_DMA, dma) != 0)
            return;
        check(dma.status <= IOMMU_SIM_DMA_ABORTED, "SIM_DMA: unknown status " + std::to_string(dma.status));
        check(dma.bytes_done <= dma.length, "SIM_DMA: bytes_done past length");
        if (dma.status == IOMMU_SIM_DMA_PENDING) {
            check(dma.dma_id != 0, "SIM_DMA: PENDING without a dma_id");
            pending_.push_back(dma.dma_id);
        } else {
            check(dma.status != IOMMU_SIM_DMA_OK || dma.bytes_done == dma.length, "SIM_DMA: OK short of length");
        }
    }

    void op_dma_status() {
        iommu_sim_dma_status st{};
        st.argsz = sizeof(st);
        size_t at = 0;
        if (pending_.empty() || rng_.chance(10)) {
            st.dma_id = rng_.below(64);  // perhaps one another thread of a shared context started
        } else {
            at = rng_.below(pending_.size());
            st.dma_id = pending_[at];
        }
        const long r = call(IOMMU_SIM_DMA_STATUS, st);
        if (r == 0)
            check(st.status <= IOMMU_SIM_DMA_ABORTED, "SIM_DMA_STATUS: unknown status " + std::to_string(st.status));
        if (!pending_.empty() && st.dma_id == pending_[at] && (r != 0 || st.status != IOMMU_SIM_DMA_PENDING))
            pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(at));
    }

    void op_inject() {
        iommu_sim_inject_fault f{};
        f.argsz = sizeof(f);
        f.cookie = cookie();
        if (rng_.chance(50))
            f.flags |= IOMMU_SIM_FAULT_RECOVERABLE;
        if (rng_.chance(20)) {
            f.flags |= IOMMU_SIM_FAULT_PASID;
            f.pasid = pasid();
        }
        f.addr = kIovaBase + rng_.below(kDataPages) * kPage;
        f.perm = static_cast<uint32_t>(1 + rng_.below(15));
        f.reason = static_cast<uint32_t>(rng_.below(IOMMU_FAULT_REASON_ADDR_SIZE + 1));
        call(IOMMU_SIM_INJECT_FAULT, f);
    }

    // What a client's fault handler does: read the records, answer the page
    // requests (mostly SUCCESS; some INVALID or FAILURE; some left to time out).
    void op_answer_faults() {
        iommu_fault_record records[32];
        const size_t n = d_.read_faults(ctx_->id, std::span(records, 1 + rng_.below(32)));
        tally_.count("read_faults", n ? "records" : "none");
        for (size_t i = 0; i < n; ++i) {
            const iommu_fault_record& rec = records[i];
            check(rec.seq != 0, "read_faults: a record with seq 0");
            if (!(rec.flags & IOMMU_FAULT_RECORD_RECOVERABLE) || rng_.chance(10))
                continue;
            const unsigned roll = static_cast<unsigned>(rng_.below(100));
            const uint32_t code = roll < 75 ? IOMMU_PAGE_RESP_SUCCESS
                                  : roll < 93 ? IOMMU_PAGE_RESP_INVALID
                                              : IOMMU_PAGE_RESP_FAILURE;
            iommu_page_response resp{sizeof(resp), 0, rec.cookie, rec.grpid, code};
            call(IOMMU_PAGE_RESPONSE, resp);
        }
        if (rng_.chance(20)) {
            const bool pending = d_.faults_pending(ctx_->id);
            tally_.count("faults_pending", pending ? "yes" : "no");
        }
    }

    void op_region() {
        iommu_fault_region_info info{};
        info.argsz = sizeof(info);
        info.flags = IOMMU_FAULT_REGION_SET_TIMEOUT;
        info.timeout_ms = static_cast<uint32_t>(5 + rng_.below(56));
        if (rng_.chance(30)) {
            info.flags |= IOMMU_FAULT_REGION_SET_DEPTH;
            info.depth = static_cast<uint32_t>(4 + rng_.below(256));
        }
        call(IOMMU_FAULT_REGION_INFO, info);
    }

    void op_info() {
        if (rng_.chance(50)) {
            alignas(8) unsigned char buf[1024] = {};
            iommu_device_info info{};
            info.argsz = sizeof(buf);
            info.cookie = cookie();
            std::memcpy(buf, &info, sizeof(info));
            const long r = d_.ioctl(*ctx_, *caller_, IOMMU_DEVICE_GET_INFO, reinterpret_cast<uintptr_t>(buf));
            tally_.count("DEVICE_GET_INFO", r >= 0 ? "ok" : errno_name(static_cast<int>(-r)));
            if (r < 0 && !documented_errnos().at(IOMMU_DEVICE_GET_INFO).count(static_cast<int>(-r)))
                tally_.problem("DEVICE_GET_INFO returned " + errno_name(static_cast<int>(-r)));
            return;
        }
        const IoasidRef* ref = ioasid(IoasidRef::kUser);
        if (!ref)
            return;
        iommu_invalidate_cache inv{};
        inv.argsz = sizeof(inv);
        inv.ioasid = ref->id;
        inv.cache = IOMMU_INV_CACHE_IOTLB;
        inv.granularity = static_cast<uint32_t>(rng_.below(3));
        inv.pasid = IOMMU_INV_PASID_RID;
        inv.addr = kStage1Va;
        inv.size = kPage;
        call(IOMMU_INVALIDATE_CACHE, inv);
    }

    void op_mdev_pin() {
        iommu_sim_mdev_pin pin{};
        pin.argsz = sizeof(pin);
        pin.cookie = rng_.chance(80) ? kVmdevCookie : cookie();
        // Mostly where something was mapped lately, so some pins hold.
        pin.iova = mapped_.empty() || rng_.chance(30) ? kIovaBase + rng_.below(kDataPages) * kPage : rng_.pick(mapped_);
        pin.npages = static_cast<uint32_t>(1 + rng_.below(2));
        const bool unpin = rng_.chance(40);
        if (!unpin && rng_.chance(30))
            pin.flags = IOMMU_SIM_PIN_WRITE;
        if (call(unpin ? IOMMU_SIM_MDEV_UNPIN : IOMMU_SIM_MDEV_PIN, pin) == -ENXIO) {
            // Not attached: a vendor driver's mdev would be, first.
            if (const IoasidRef* ref = ioasid(IoasidRef::kKernel)) {
                iommu_device_attach a{sizeof(a), 0, pin.cookie, ref->id, 0};
                call(IOMMU_DEVICE_ATTACH, a);
            }
        }
    }

    void op_eventfd() {
        iommu_fault_eventfd e{sizeof(e), 0, rng_.chance(80) ? eventfd_ : -1, 0};
        call(IOMMU_FAULT_SET_EVENTFD, e);
    }

    void op_stats() {
        if (rng_.chance(50)) {
            iommu_stats s{};
            s.argsz = sizeof(s);
            call(IOMMU_GET_STATS, s);
        } else {
            iommu_sim_daemon_stats s{sizeof(s), 0, 0, 0, 0, 0};
            call(IOMMU_SIM_DAEMON_STATS, s);
        }
    }

    World& world_;
    Dispatcher& d_;
    std::string name_;
    Rng rng_;
    Context* ctx_;
    bool churn_;
    std::unique_ptr<Caller> caller_;  // this thread's (made on it)
    char* buffer_ = nullptr;
    char* data_ = nullptr;
    int eventfd_ = -1;
    std::vector<IoasidRef> ioasids_;
    std::vector<uint64_t> home_;   // indices in kDeviceNames
    std::vector<uint64_t> bound_;
    std::vector<uint64_t> pending_;  // dma ids left PENDING
    std::vector<uint64_t> mapped_;   // IOVAs recently mapped (in some IOASID)
    uint64_t ops_ = 0;
    Tally tally_;
};

// ---- control-socket requests, as the ControlWork threads run them ----

class Control {
public:
    Control(World& world, std::string name, uint64_t seed, bool hotplug)
        : world_(world), name_(std::move(name)), rng_(seed), hotplug_(hotplug) {}

    Tally& tally() { return tally_; }
    const std::string& name() const { return name_; }
    uint64_t ops() const { return ops_; }

    void run() {
        const auto start = Clock::now();
        while (!world_.stop.load(std::memory_order_relaxed)) {
            if (hotplug_)
                hotplug_step(std::chrono::duration<double>(Clock::now() - start).count());
            else
                step();
            ++ops_;
            // Control requests come from an operator, far less often than ioctls.
            std::this_thread::sleep_for(std::chrono::microseconds(200 + rng_.below(800)));
        }
    }

private:
    json request(const json& req) {
        const std::string cmd = req.value("cmd", "?");
        json out = handle_control_request(world_.dispatcher, req);
        if (!out.is_object() || !out.contains("ok") || !out["ok"].is_boolean()) {
            tally_.problem(cmd + ": an answer without a boolean \"ok\": " + out.dump());
            return out;
        }
        if (out["ok"].get<bool>()) {
            tally_.count("control " + cmd, "ok");
            return out;
        }
        const json& error = out.contains("error") ? out["error"] : json();
        if (!error.is_string()) {
            tally_.problem(cmd + ": {\"ok\": false} without an error string: " + out.dump());
        } else {
            const std::string& text = error.get_ref<const std::string&>();
            tally_.count("control " + cmd, "error " + text.substr(0, text.find(':')));
            if (text.starts_with("internal error"))
                tally_.problem(cmd + ": " + text + " (request " + req.dump() + ")");
        }
        return out;
    }

    // Mostly devices some worker keeps bound.
    std::string device() {
        static const std::vector<std::string> likely = {"accel0", "legacy0", "mdev0", "nic1", "mdev1", "hp0", "hp4"};
        return rng_.chance(70) ? rng_.pick(likely) : rng_.pick(kDeviceNames);
    }

    void step() {
        switch (rng_.below(10)) {
        case 0:
            request({{"cmd", "dump"}});
            return;
        case 1: case 2: case 3: {
            const bool write = rng_.chance(50);
            const uint64_t length = 1 + rng_.below(64);
            json req = {{"cmd", "dma"},
                        {"device", device()},
                        {"iova", kIovaBase + rng_.below(kDataPages + kTablePages) * kPage + rng_.below(64)},
                        {"length", length},
                        {"write", write}};
            if (write)
                req["data"] = hex_bytes(length, static_cast<uint8_t>(rng_.below(256)));
            if (rng_.chance(25))
                req["pasid"] = 1 + rng_.below(8);
            const json out = request(req);
            if (out.value("ok", false) && out.value("status", "") == "pending")
                pending_.push_back({req["device"], out["dma_id"]});
            return;
        }
        case 4: {
            if (pending_.empty())
                return;
            const size_t at = rng_.below(pending_.size());
            const json out = request({{"cmd", "dma-status"}, {"device", pending_[at].first},
                                      {"dma_id", pending_[at].second}});
            if (!out.value("ok", false) || out.value("status", "") != "pending")
                pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(at));
            return;
        }
        case 5: case 6: {
            json req = {{"cmd", "fault"},
                        {"device", device()},
                        {"addr", kIovaBase + rng_.below(kDataPages) * kPage},
                        {"perm", rng_.chance(50) ? json::array({"read"}) : json::array({"read", "write"})},
                        {"recoverable", rng_.chance(50)}};
            if (rng_.chance(20))
                req["pasid"] = 1 + rng_.below(8);
            request(req);
            return;
        }
        case 7: case 8: {
            const uint64_t max_id = world_.max_context_id.load();
            json req = {{"cmd", "set"}, {"context", 1 + rng_.below(max_id ? max_id : 1)}};
            req["fault_timeout_ms"] = 5 + rng_.below(56);
            if (rng_.chance(30))
                req["fault_depth"] = 4 + rng_.below(256);
            request(req);
            return;
        }
        default:
            request({{"cmd", "set"}, {"device", device()}, {"page_requests", 1 + rng_.below(24)}});
            return;
        }
    }

    static json pci_device(unsigned k) {
        char bdf[8];
        std::snprintf(bdf, sizeof bdf, "00:%02x.0", 0x10 + k);
        return {{"name", "hp" + std::to_string(k)}, {"type", "pci"}, {"bdf", bdf}, {"iommu", "iommu0"},
                {"group", 100 + k}, {"pasid", true}, {"pri", true}};
    }

    // Hot-plug: hp0..hp7 (PRI, PASID) and hpm0/hpm1 (mdevs on hp0/hp1) come
    // and go, bound or not; so do two default devices.  A model has room
    // for kDeviceHeadroom adds over its life: they are spread over the run.
    void hotplug_step(double elapsed) {
        const double share = world_.options.seconds > 0 ? std::min(1.0, elapsed / world_.options.seconds) : 1.0;
        const uint64_t allowed = 16 + static_cast<uint64_t>((Model::kDeviceHeadroom - 24) * share);
        // Adds are rationed; removes are rarer than add attempts, so a device
        // stays long enough (a few hundred ms) to be bound and used.
        const unsigned roll = static_cast<unsigned>(rng_.below(100));
        if (roll < 10 && adds_ < allowed) {
            json spec;
            const unsigned which = static_cast<unsigned>(rng_.below(kHotplugPci + kHotplugMdevs + 2));
            if (which < kHotplugPci)
                spec = pci_device(which);
            else if (which < kHotplugPci + kHotplugMdevs)
                spec = {{"name", "hpm" + std::to_string(which - kHotplugPci)},
                        {"type", "mdev"},
                        {"parent", "hp" + std::to_string(which - kHotplugPci)}};
            else if (which == kHotplugPci + kHotplugMdevs)
                spec = {{"name", "nic0"}, {"type", "pci"}, {"bdf", "00:01.0"}, {"iommu", "iommu0"}, {"group", 1}};
            else
                spec = {{"name", "legacy0"}, {"type", "pci"}, {"bdf", "00:05.0"}, {"iommu", "iommu1"}, {"group", 5}};
            if (request({{"cmd", "device-add"}, {"device", spec}}).value("ok", false))
                ++adds_;
            return;
        }
        if (roll >= 10 && roll < 14) {
            static const std::vector<std::string> removable = {"hp0", "hp1", "hp2",  "hp3",  "hp4",  "hp5",
                                                               "hp6", "hp7", "hpm0", "hpm1", "nic0", "legacy0"};
            request({{"cmd", "device-remove"}, {"name", rng_.pick(removable)}});
            return;
        }
        if (roll < 40)
            request({{"cmd", "dump"}});
        else
            request({{"cmd", "set"}, {"device", "hp" + std::to_string(rng_.below(kHotplugPci))},
                     {"page_requests", 1 + rng_.below(24)}});
    }

    World& world_;
    std::string name_;
    Rng rng_;
    bool hotplug_;
    uint64_t adds_ = 0;
    uint64_t ops_ = 0;
    std::vector<std::pair<json, json>> pending_;  // {device, dma_id} left pending
    Tally tally_;
};

bool parse_options(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--seconds" && has_value)
            o.seconds = std::atof(argv[++i]);
        else if (arg == "--ops" && has_value)
            o.ops = std::strtoull(argv[++i], nullptr, 10);
        else if (arg == "--seed" && has_value)
            o.seed = std::strtoull(argv[++i], nullptr, 10);
        else if (arg == "--trace" && has_value)
            o.trace = argv[++i];
        else if (arg == "--no-trace")
            o.trace.clear();
        else
            return false;
    }
    return o.seconds > 0 || o.ops > 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (!parse_options(argc, argv, options)) {
        std::fprintf(stderr,
                     "usage: stress [--seconds S (default 30)] [--ops N per worker] [--seed N (default 1)]\n"
                     "              [--trace FILE (default /dev/null) | --no-trace]\n"
                     "Stops at --seconds or when every worker did --ops operations, whichever is first\n"
                     "(--seconds 0 --ops N: by the count alone).\n");
        return 2;
    }
    std::string bound = options.seconds > 0 ? std::to_string(static_cast<long>(options.seconds)) + " s" : "";
    if (options.ops)
        bound += (bound.empty() ? "" : " or ") + std::to_string(options.ops) + " operations per worker";
    std::printf("stress: seed %llu; stops after %s\n", static_cast<unsigned long long>(options.seed), bound.c_str());
    std::fflush(stdout);

    World world(options);
    world.dispatcher.set_records_listener([&](uint64_t) { world.records_notified.fetch_add(1); });
    std::unique_ptr<TraceWriter> trace;
    if (!options.trace.empty()) {  // its call, context and fault-event listeners, under load too
        std::string error;
        trace = TraceWriter::open(options.trace, world.dispatcher, world.model, &error);
        if (!trace) {
            std::fprintf(stderr, "stress: --trace %s: %s\n", options.trace.c_str(), error.c_str());
            return 2;
        }
    }

    // Contexts: three private, two shared by two workers each; the churn
    // worker opens its own.
    // Home devices overlap on purpose (accel0, the PRI device of the
    // default topology, is wanted by two contexts; hp* come and go).
    const std::vector<std::string> private_homes[3] = {
        {"accel0", "legacy0"}, {"mdev0", "vmdev0", "nic0"}, {"hp0", "hp2", "hp3"}};
    const std::vector<std::string> shared_homes[2] = {{"nic1", "mdev1", "hp4", "hp5"},
                                                      {"accel0", "hp6", "hp7", "hpm1"}};
    std::vector<std::unique_ptr<Worker>> workers;
    Context* shared[2] = {world.open(), world.open()};
    unsigned index = 0;
    for (int i = 0; i < 3; ++i, ++index)
        workers.push_back(std::make_unique<Worker>(world, "private" + std::to_string(i),
                                                   thread_seed(options.seed, index), world.open(), false,
                                                   private_homes[i]));
    for (int i = 0; i < 4; ++i, ++index)
        workers.push_back(std::make_unique<Worker>(world, "shared" + std::to_string(i / 2) + "." + std::to_string(i % 2),
                                                   thread_seed(options.seed, index), shared[i / 2], false,
                                                   shared_homes[i / 2]));
    workers.push_back(std::make_unique<Worker>(world, "churn", thread_seed(options.seed, index++), nullptr, true,
                                               std::vector<std::string>{}));
    // The iommufd profile: two workers share a context, one has its own.
    Context* iommufd_shared = world.iommufd_dispatcher.open(getpid());
    std::vector<std::unique_ptr<stress::IommufdWorker>> iommufd_workers;
    for (int i = 0; i < 3; ++i, ++index)
        iommufd_workers.push_back(std::make_unique<stress::IommufdWorker>(
            world.iommufd_dispatcher, i < 2 ? iommufd_shared : world.iommufd_dispatcher.open(getpid()),
            thread_seed(options.seed, index), i < 2 ? "iommufd.shared." + std::to_string(i) : "iommufd.private",
            1000 * (i + 1)));
    std::vector<std::unique_ptr<Control>> controls;
    controls.push_back(std::make_unique<Control>(world, "control", thread_seed(options.seed, index++), false));
    controls.push_back(std::make_unique<Control>(world, "hotplug", thread_seed(options.seed, index++), true));

    const auto start = Clock::now();
    std::atomic<unsigned> workers_running{static_cast<unsigned>(workers.size() + iommufd_workers.size())};
    std::vector<std::thread> worker_threads, other_threads;
    for (auto& w : workers)
        worker_threads.emplace_back([&, w = w.get()] {
            w->run();
            workers_running.fetch_sub(1);
        });
    for (auto& w : iommufd_workers)
        worker_threads.emplace_back([&, w = w.get()] {
            w->run(world.stop, options.ops);
            workers_running.fetch_sub(1);
        });
    for (auto& c : controls)
        other_threads.emplace_back([c = c.get()] { c->run(); });
    uint64_t expiries = 0, reads = 0, records_read = 0;
    other_threads.emplace_back([&] {  // the daemon's response-timeout timer
        while (!world.stop.load()) {
            world.dispatcher.expire_page_requests();
            ++expiries;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    });
    other_threads.emplace_back([&] {  // a read()/poll() on any file
        Rng rng(thread_seed(options.seed, index + 1));
        iommu_fault_record records[8];
        while (!world.stop.load()) {
            const uint64_t max_id = world.max_context_id.load();
            const uint64_t id = 1 + rng.below(max_id ? max_id : 1);
            records_read += world.dispatcher.read_faults(id, std::span(records, 1 + rng.below(8)));
            world.dispatcher.faults_pending(id);
            ++reads;
            std::this_thread::sleep_for(std::chrono::milliseconds(3));
        }
    });

    while (workers_running.load() > 0 &&
           (options.seconds <= 0 || std::chrono::duration<double>(Clock::now() - start).count() < options.seconds))
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    world.stop.store(true);
    for (auto& t : worker_threads)
        t.join();
    for (auto& t : other_threads)
        t.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

    // Release everything: the private and churn workers' contexts, the shared ones.
    for (auto& w : workers)
        if (w->context() && w->context() != shared[0] && w->context() != shared[1])
            world.dispatcher.release(w->context());
    world.dispatcher.release(shared[0]);
    world.dispatcher.release(shared[1]);
    world.iommufd_dispatcher.release(iommufd_workers[2]->context());
    world.iommufd_dispatcher.release(iommufd_shared);

    unsigned passed = 0, failed = 0;
    auto check = [&](bool ok, const std::string& what) {
        ok ? ++passed : ++failed;
        std::printf("stress: %s: %s\n", ok ? "ok" : "FAILED", what.c_str());
    };

    // The results, thread by thread, and what was exercised.
    Tally all;
    uint64_t total_ops = 0;
    auto report = [&](const std::string& name, uint64_t ops, Tally& t) {
        total_ops += ops;
        all.merge(t);
        check(t.unexpected == 0, name + ": " + std::to_string(ops) + " operations, " +
                                     std::to_string(t.unexpected) + " unexpected results");
        for (const std::string& p : t.problems)
            std::printf("stress:   %s\n", p.c_str());
    };
    for (auto& w : workers)
        report(w->name(), w->ops(), w->tally());
    for (auto& c : controls)
        report(c->name(), c->ops(), c->tally());
    for (auto& w : iommufd_workers) {
        Tally t;
        t.results = w->results();
        t.problems = w->problems();
        t.unexpected = w->unexpected();
        report(w->name(), w->ops(), t);
    }
    for (const auto& [name, by_result] : all.results) {
        std::string line;
        uint64_t calls = 0;
        for (const auto& [result, n] : by_result) {
            calls += n;
            line += " " + result + " " + std::to_string(n) + ",";
        }
        line.pop_back();
        std::printf("stress:   %-28s %8llu:%s\n", name.c_str(), static_cast<unsigned long long>(calls), line.c_str());
    }
    std::printf("stress:   timer: %llu expiry passes; reader: %llu reads, %llu records; %llu record notifications\n",
                static_cast<unsigned long long>(expiries), static_cast<unsigned long long>(reads),
                static_cast<unsigned long long>(records_read),
                static_cast<unsigned long long>(world.records_notified.load()));
    std::printf("stress: %llu operations in %.1f s\n", static_cast<unsigned long long>(total_ops), seconds);

    // Nothing left: counted through the uAPI by a fresh observer context ...
    {
        Context* observer = world.open();
        iommu_sim_daemon_stats s{sizeof(s), 0, 0, 0, 0, 0};
        const Caller caller = Caller::self();
        const long r = world.dispatcher.ioctl(*observer, caller, IOMMU_SIM_DAEMON_STATS, reinterpret_cast<uintptr_t>(&s));
        check(r == 0 && s.contexts == 1 && s.ioasids == 0 && s.mappings == 0 && s.mapped_bytes == 0,
              "SIM_DAEMON_STATS after release: " + std::to_string(s.contexts) + " contexts (the observer's), " +
                  std::to_string(s.ioasids) + " IOASIDs, " + std::to_string(s.mappings) + " mappings, " +
                  std::to_string(s.mapped_bytes) + " bytes mapped");
        world.dispatcher.release(observer);
    }
    // ... and in the model itself.
    {
        std::lock_guard guard(world.model.lock());
        check(world.model.context_count() == 0, "no context left");
        check(world.model.object_files().size() == 0,
              "no object file left (" + std::to_string(world.model.object_files().size()) + ")");
        check(world.model.ledger().total_locked_pages() == 0,
              "no page locked (" + std::to_string(world.model.ledger().total_locked_pages()) + ")");
        check(world.model.routes().size() == 0, "no route left (" + std::to_string(world.model.routes().size()) + ")");
        check(world.model.iotlb().size() == 0, "no IOTLB entry left (" + std::to_string(world.model.iotlb().size()) + ")");
        unsigned still_bound = 0;
        for (unsigned i = 0; i < world.model.topology().devices.size(); ++i)
            still_bound += world.model.devices().bound(i) != nullptr;
        check(still_bound == 0, "no device bound (" + std::to_string(still_bound) + ")");
    }
    trace.reset();
    for (auto& w : workers)
        w->teardown_memory();

    std::printf("stress: %u passed, %u failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
