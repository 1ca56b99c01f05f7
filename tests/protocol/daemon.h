// Fixtures for the protocol tests: a whole daemon (model, dispatcher, real
// CUSE session) behind a FakeKernel, and caller memory laid out against a
// page that faults.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>
#include <utility>

#include "../../cuse/cuse_device.h"
#include "../../dispatcher/dispatcher.h"
#include "../../core/model.h"
#include "cuse-iommu.h"
#include "fake_kernel.h"

namespace protocol {

inline const size_t kPageSize = static_cast<size_t>(sysconf(_SC_PAGESIZE));
inline constexpr const char* kDeviceName = "protocol-test";

// How many times CUSE init_done reported the device ready (from a libfuse
// worker thread, after the CUSE_INIT reply has gone out).
inline std::atomic<int> g_ready_calls{0};
inline std::atomic<bool> g_ready_name_wrong{false};

inline ciommu::CuseDeviceOptions device_options() {
    ciommu::CuseDeviceOptions options;
    options.name = kDeviceName;
    options.on_ready = [](const std::string& name) {
        if (name != kDeviceName)
            g_ready_name_wrong = true;
        ++g_ready_calls;
    };
    return options;
}

// True once condition() holds, false if it still does not after kTimeout.
inline bool wait_until(auto&& condition) {
    const auto deadline = std::chrono::steady_clock::now() + FakeKernel::kTimeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

// IOASID_ALLOC's argument for a kernel-managed address space.
inline iommu_ioasid_alloc alloc_args(uint32_t argsz = sizeof(iommu_ioasid_alloc)) {
    iommu_ioasid_alloc a{};
    a.argsz = argsz;
    return a;
}

// A daemon whose loop runs; nothing sent yet.  Members are destroyed in
// reverse: the kernel hangs up and joins run() before the session goes.
struct Daemon {
    explicit Daemon(ciommu::CuseDeviceOptions options = device_options())
        : device(dispatcher, std::move(options)) {}

    ciommu::Model model;
    ciommu::Dispatcher dispatcher{model};
    ciommu::CuseDevice device;
    FakeKernel kernel{device};
};

// A daemon past CUSE_INIT with one open file for the test's commands and
// one for watching the daemon's object counts.
struct Session : Daemon {
    uint64_t fh = 0;
    uint64_t observer = 0;

    Session() {
        REQUIRE(kernel.init().error == 0);
        fh = kernel.open();
        observer = kernel.open();
    }

    template <typename T> IoctlResult call(const T* args, unsigned cmd, uint64_t file = 0) {
        return kernel.ioctl(file ? file : fh, cmd, args);
    }
    iommu_sim_daemon_stats stats() {
        iommu_sim_daemon_stats s{};
        s.argsz = sizeof(s);
        REQUIRE(kernel.ioctl(observer, IOMMU_SIM_DAEMON_STATS, &s).result == 0);
        return s;
    }
    // A new IOASID in `file` (default: fh); fails the test on error.
    uint32_t alloc(uint64_t file = 0) {
        const iommu_ioasid_alloc a = alloc_args();
        const IoctlResult r = call(&a, IOMMU_IOASID_ALLOC, file);
        REQUIRE(r.result >= 0);
        return static_cast<uint32_t>(r.result);
    }
    IoctlResult map(uint32_t ioasid, uint64_t iova, const void* vaddr, uint64_t size, uint64_t file = 0) {
        iommu_map_dma m{};
        m.argsz = sizeof(m);
        m.flags = IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE;
        m.ioasid = ioasid;
        m.vaddr = reinterpret_cast<uintptr_t>(vaddr);
        m.iova = iova;
        m.size = size;
        return call(&m, IOMMU_MAP_DMA, file);
    }
    IoctlResult free(uint32_t ioasid, uint64_t file = 0) {
        iommu_ioasid_free f{};
        f.argsz = sizeof(f);
        f.ioasid = ioasid;
        return call(&f, IOMMU_IOASID_FREE, file);
    }
};

// `rw_pages` read-write pages followed by one PROT_NONE page, so a struct
// can be put right against a boundary that faults when crossed.
class GuardedPages {
public:
    explicit GuardedPages(size_t rw_pages = 1, int extra_mmap_flags = 0) : size_((rw_pages + 1) * kPageSize) {
        void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra_mmap_flags, -1, 0);
        REQUIRE(p != MAP_FAILED);
        base_ = static_cast<std::byte*>(p);
        REQUIRE(mprotect(guard(), kPageSize, PROT_NONE) == 0);
    }
    ~GuardedPages() { munmap(base_, size_); }
    GuardedPages(const GuardedPages&) = delete;
    GuardedPages& operator=(const GuardedPages&) = delete;

    std::byte* begin() const { return base_; }
    uint64_t begin_address() const { return reinterpret_cast<uintptr_t>(base_); }
    std::byte* guard() const { return base_ + size_ - kPageSize; }  // the PROT_NONE page
    uint64_t guard_address() const { return reinterpret_cast<uintptr_t>(guard()); }
    // The first `bytes` of `value` copied to begin() + offset.
    template <typename T> T* place(size_t offset, const T& value, size_t bytes = sizeof(T)) {
        REQUIRE(offset + bytes <= size_ - kPageSize);
        std::memcpy(base_ + offset, &value, bytes);
        return reinterpret_cast<T*>(base_ + offset);
    }
    // ... so that they end exactly where the guard page starts.
    template <typename T> T* place_before_guard(const T& value, size_t bytes = sizeof(T)) {
        return place(size_ - kPageSize - bytes, value, bytes);
    }

private:
    size_t size_;
    std::byte* base_ = nullptr;
};

}  // namespace protocol
