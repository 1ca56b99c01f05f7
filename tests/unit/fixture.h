// An in-process daemon for unit tests: a model on the default topology, its
// dispatcher and an open context, driven exactly as a transport drives it.
// The test process is the "caller": the dispatcher reads each argument
// from the test's own memory, and mappings point at it too.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

#include "../../core/caller.h"
#include "../../dispatcher/command_table.h"
#include "../../dispatcher/dispatcher.h"
#include "../../core/model.h"
#include "../../core/model_check.h"
#include "cuse-iommu.h"

namespace ciommu::test {

inline constexpr uint32_t kRW = IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE;

// Two readable pages followed by an unmapped guard page: an argument placed
// to end at the guard has nothing readable after it, as a struct at the end
// of a caller's mapping would.
struct ArgArena {
    static constexpr size_t kPage = 4096;
    ArgArena() {
        base = static_cast<std::byte*>(
            mmap(nullptr, 3 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        REQUIRE(base != MAP_FAILED);
        REQUIRE(mprotect(base + 2 * kPage, kPage, PROT_NONE) == 0);
    }
    ~ArgArena() { munmap(base, 3 * kPage); }
    ArgArena(const ArgArena&) = delete;
    ArgArena& operator=(const ArgArena&) = delete;
    // Copies bytes to end exactly at the guard page; returns their address.
    std::byte* place(const std::vector<std::byte>& bytes) {
        REQUIRE(bytes.size() <= 2 * kPage);
        std::byte* at = base + 2 * kPage - bytes.size();
        std::copy(bytes.begin(), bytes.end(), at);
        return at;
    }
    std::byte* base;
};

struct IoctlResult {
    long result;  // >= 0, or -errno
};

struct Fixture {
    explicit Fixture(PinLedger::LimitFn limit = PinLedger::unlimited())
        : model(default_topology(), std::move(limit)) {}
    explicit Fixture(const Topology& topology) : model(topology, PinLedger::unlimited()) {}
    // A daemon serving another uAPI (cuse-iommu --abi).
    explicit Fixture(Abi abi) : model(default_topology(), PinLedger::unlimited()), dispatcher(model, abi) {}
    // Every test leaves a sound model behind, and an empty one once its
    // context is released.
    ~Fixture() {
        check();
        dispatcher.release(ctx);
        check();
    }
    // The model's invariants (core/model_check.h), each broken one a
    // failed check.
    void check() {
        std::lock_guard guard(model.lock());
        for (const std::string& problem : check_model(model))
            FAIL_CHECK("model invariant: " << problem);
    }

    Model model;
    Dispatcher dispatcher{model};
    Context* ctx = dispatcher.open(getpid());

    // Runs a struct command whose argument is exactly `bytes` (ending at an
    // unreadable page); *out receives what the dispatcher wrote back.
    IoctlResult raw(unsigned cmd, const std::vector<std::byte>& bytes, std::vector<std::byte>* out = nullptr,
                    Context* in_ctx = nullptr) {
        thread_local ArgArena arena;  // one per calling thread: tests call from several
        std::byte* at = arena.place(bytes);
        size_t written = 0;
        const long result = dispatcher.ioctl(in_ctx ? *in_ctx : *ctx, Caller::self(), cmd,
                                             reinterpret_cast<uintptr_t>(at), &written);
        if (out)
            *out = std::vector<std::byte>(at, at + written);
        return {result};
    }
    template <typename T> long call(unsigned cmd, T& args, Context* in_ctx = nullptr) {
        std::vector<std::byte> bytes(sizeof(T)), out;
        std::memcpy(bytes.data(), &args, sizeof(T));
        const IoctlResult reply = raw(cmd, bytes, &out, in_ctx);
        if (!out.empty())
            std::memcpy(&args, out.data(), std::min(out.size(), sizeof(T)));
        return reply.result;
    }
    long value(unsigned cmd, uint64_t arg) { return dispatcher.ioctl(*ctx, Caller::self(), cmd, arg); }

    long alloc(uint32_t flags = 0, uint32_t parent = 0, uint64_t pgd = 0, Context* in_ctx = nullptr) {
        iommu_ioasid_alloc a{};
        a.argsz = sizeof(a);
        a.flags = flags;
        a.parent_ioasid = parent;
        a.pgtable_format = (flags & IOMMU_IOASID_USER_PGTABLE) ? IOMMU_PGTABLE_FORMAT_X86_64 : 0;
        a.user_pgd = pgd;
        return call(IOMMU_IOASID_ALLOC, a, in_ctx);
    }
    long free_ioasid(uint32_t ioasid, Context* in_ctx = nullptr) {
        iommu_ioasid_free fr{sizeof(fr), 0, ioasid, 0};
        return call(IOMMU_IOASID_FREE, fr, in_ctx);
    }
    long map(uint32_t ioasid, uint64_t iova, const void* vaddr, uint64_t size, uint32_t flags = kRW,
             Context* in_ctx = nullptr) {
        iommu_map_dma m{sizeof(m), flags, ioasid, 0, reinterpret_cast<uintptr_t>(vaddr), iova, size};
        return call(IOMMU_MAP_DMA, m, in_ctx);
    }
    long long unmap(uint32_t ioasid, uint64_t iova, uint64_t size, Context* in_ctx = nullptr) {
        iommu_unmap_dma u{sizeof(u), 0, ioasid, 0, iova, size};
        const long result = call(IOMMU_UNMAP_DMA, u, in_ctx);
        return result < 0 ? result : static_cast<long long>(u.size);
    }
    long bind(const std::string& name, uint64_t cookie, Context* in_ctx = nullptr) {
        iommu_device_bind b{};
        b.argsz = sizeof(b);
        std::strncpy(b.name, name.c_str(), sizeof(b.name) - 1);
        b.cookie = cookie;
        return call(IOMMU_DEVICE_BIND, b, in_ctx);
    }
    long unbind(uint64_t cookie, Context* in_ctx = nullptr) {
        iommu_device_unbind u{sizeof(u), 0, cookie};
        return call(IOMMU_DEVICE_UNBIND, u, in_ctx);
    }
    long attach(uint64_t cookie, uint32_t ioasid, std::optional<uint32_t> pasid = {}, Context* in_ctx = nullptr) {
        iommu_device_attach a{sizeof(a), pasid ? IOMMU_ATTACH_PASID : 0u, cookie, ioasid, pasid.value_or(0)};
        return call(IOMMU_DEVICE_ATTACH, a, in_ctx);
    }
    long detach(uint64_t cookie, std::optional<uint32_t> pasid = {}, Context* in_ctx = nullptr) {
        iommu_device_detach d{sizeof(d), pasid ? IOMMU_ATTACH_PASID : 0u, cookie, pasid.value_or(0), 0};
        return call(IOMMU_DEVICE_DETACH, d, in_ctx);
    }
    // Device DMA; returns the ioctl result, fills *out with the struct.
    long dma(uint64_t cookie, uint64_t iova, void* data, uint64_t length, bool write,
             std::optional<uint32_t> pasid = {}, iommu_sim_dma* out = nullptr) {
        iommu_sim_dma d{};
        d.argsz = sizeof(d);
        d.flags = (write ? IOMMU_SIM_DMA_WRITE : 0u) | (pasid ? IOMMU_SIM_DMA_PASID : 0u);
        d.cookie = cookie;
        d.pasid = pasid.value_or(0);
        d.iova = iova;
        d.length = length;
        d.data = reinterpret_cast<uintptr_t>(data);
        const long result = call(IOMMU_SIM_DMA, d);
        if (out)
            *out = d;
        return result;
    }
    // --- faults ---
    long fault_register(uint64_t cookie, unsigned cmd = IOMMU_DEVICE_FAULT_REGISTER) {
        iommu_device_fault r{sizeof(r), 0, cookie};
        return call(cmd, r);
    }
    long respond(uint64_t cookie, uint32_t grpid, uint32_t code) {
        iommu_page_response r{sizeof(r), 0, cookie, grpid, code};
        return call(IOMMU_PAGE_RESPONSE, r);
    }
    long inject(uint64_t cookie, uint64_t addr, uint32_t perm, uint32_t flags = 0, uint32_t rid = 0,
                uint32_t pasid = 0, uint32_t reason = 0) {
        iommu_sim_inject_fault f{sizeof(f), flags, cookie, rid, pasid, addr, perm, reason};
        return call(IOMMU_SIM_INJECT_FAULT, f);
    }
    iommu_sim_dma_status dma_status(uint64_t dma_id, long* result = nullptr) {
        iommu_sim_dma_status st{};
        st.argsz = sizeof(st);
        st.dma_id = dma_id;
        const long r = call(IOMMU_SIM_DMA_STATUS, st);
        if (result)
            *result = r;
        return st;
    }
    iommu_fault_region_info region(uint32_t flags = 0, uint32_t depth = 0, uint32_t timeout_ms = 0,
                                   long* result = nullptr) {
        iommu_fault_region_info info{};
        info.argsz = sizeof(info);
        info.flags = flags;
        info.depth = depth;
        info.timeout_ms = timeout_ms;
        const long r = call(IOMMU_FAULT_REGION_INFO, info);
        if (result)
            *result = r;
        return info;
    }
    // Every record waiting in the context's fault region.
    std::vector<iommu_fault_record> records(Context* in_ctx = nullptr) {
        std::vector<iommu_fault_record> out(IOMMU_FAULT_REGION_DEPTH_MAX);
        out.resize(dispatcher.read_faults((in_ctx ? in_ctx : ctx)->id, out));
        return out;
    }

    iommu_sim_daemon_stats daemon_stats() {
        iommu_sim_daemon_stats s{sizeof(s), 0, 0, 0, 0, 0};
        REQUIRE(call(IOMMU_SIM_DAEMON_STATS, s) == 0);
        return s;
    }
    iommu_stats stats(Context* in_ctx = nullptr) {
        iommu_stats s{};
        s.argsz = sizeof(s);
        REQUIRE(call(IOMMU_GET_STATS, s, in_ctx) == 0);
        return s;
    }
};

// Anonymous memory for DMA, unmapped on scope exit.
struct Buffer {
    explicit Buffer(size_t bytes) : size(bytes) {
        ptr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        REQUIRE(ptr != MAP_FAILED);
    }
    ~Buffer() {
        if (ptr)
            munmap(ptr, size);
    }
    char* bytes() { return static_cast<char*>(ptr); }
    size_t size;
    void* ptr;
};

inline std::vector<std::byte> struct_bytes(uint32_t argsz, uint32_t flags, size_t total) {
    std::vector<std::byte> bytes(std::max<size_t>(total, 8));
    std::memcpy(bytes.data(), &argsz, 4);
    std::memcpy(bytes.data() + 4, &flags, 4);
    bytes.resize(total);  // a short buffer keeps only what fits
    return bytes;
}

}  // namespace ciommu::test
