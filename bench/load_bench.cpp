// In-process load: 64 contexts x 10k mixed operations through the
// dispatcher, from 1, 2, 8 and 64 threads (each thread serves 64/T of the
// contexts).  Prints, per thread count, the throughput, p50/p99 latency of
// each operation, and whether the model was left clean (no context, IOASID,
// mapping, locked page, route or IOTLB entry) once every context closed.
//
// The mix per context repeats: ALLOC, MAP 4 KiB, a device DMA of 64 bytes
// through it (contexts that hold a device) or GET_STATS (the rest), UNMAP,
// FREE, GET_STATS.  Six contexts hold a device (bound before the clock
// starts; attached to each new IOASID, detached before it is freed).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "../core/caller.h"
#include "../dispatcher/dispatcher.h"
#include "../core/model.h"
#include "cuse-iommu.h"

using namespace ciommu;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kContexts = 64;
constexpr int kOpsPerContext = 10000;
constexpr uint64_t kIova = 0x100000;
constexpr uint64_t kCookie = 1;
// Devices of the default topology that separate contexts can hold at once
// (nic2 shares nic1's group; gpu0 would exclude its mdevs).
const char* const kDevices[] = {"nic0", "nic1", "accel0", "legacy0", "mdev0", "mdev1"};

enum Op { kAlloc, kMap, kDma, kStats, kUnmap, kFree, kOps };
const char* const kOpNames[kOps] = {"alloc", "map", "dma", "stats", "unmap", "free"};

struct Lane {  // one context and what its loop keeps
    Context* ctx;
    bool device = false;
    char* page;
    long ioasid = 0;
};

struct Samples {
    std::vector<double> us[kOps];
};

template <typename T> long call(Dispatcher& d, Lane& lane, const Caller& caller, unsigned cmd, T& args) {
    return d.ioctl(*lane.ctx, caller, cmd, reinterpret_cast<uintptr_t>(&args));
}

// One operation of the mix, step `i` of `lane`; returns its kind, or -1 on
// an unexpected error.
int step(Dispatcher& d, Lane& lane, const Caller& caller, int i) {
    switch (i % 6) {
    case 0: {
        iommu_ioasid_alloc a{};
        a.argsz = sizeof(a);
        lane.ioasid = call(d, lane, caller, IOMMU_IOASID_ALLOC, a);
        if (lane.device) {  // the device follows its context's one IOASID
            iommu_device_attach at{sizeof(at), 0, kCookie, static_cast<uint32_t>(lane.ioasid), 0};
            call(d, lane, caller, IOMMU_DEVICE_ATTACH, at);
        }
        return lane.ioasid > 0 ? kAlloc : -1;
    }
    case 1: {
        iommu_map_dma m{sizeof(m), IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE, static_cast<uint32_t>(lane.ioasid), 0,
                        reinterpret_cast<uintptr_t>(lane.page), kIova, 4096};
        return call(d, lane, caller, IOMMU_MAP_DMA, m) == 0 ? kMap : -1;
    }
    case 2:
        if (lane.device) {
            char data[64] = "load";
            iommu_sim_dma dma{};
            dma.argsz = sizeof(dma);
            dma.flags = IOMMU_SIM_DMA_WRITE;
            dma.cookie = kCookie;
            dma.iova = kIova;
            dma.length = sizeof(data);
            dma.data = reinterpret_cast<uintptr_t>(data);
            return call(d, lane, caller, IOMMU_SIM_DMA, dma) == 0 && dma.status == IOMMU_SIM_DMA_OK ? kDma : -1;
        }
        [[fallthrough]];
    case 5: {
        iommu_stats s{};
        s.argsz = sizeof(s);
        return call(d, lane, caller, IOMMU_GET_STATS, s) == 0 ? kStats : -1;
    }
    case 3: {
        iommu_unmap_dma u{sizeof(u), 0, static_cast<uint32_t>(lane.ioasid), 0, kIova, 4096};
        return call(d, lane, caller, IOMMU_UNMAP_DMA, u) == 0 && u.size == 4096 ? kUnmap : -1;
    }
    default: {
        if (lane.device) {
            iommu_device_detach det{sizeof(det), 0, kCookie, 0, 0};
            call(d, lane, caller, IOMMU_DEVICE_DETACH, det);
        }
        iommu_ioasid_free f{sizeof(f), 0, static_cast<uint32_t>(lane.ioasid), 0};
        return call(d, lane, caller, IOMMU_IOASID_FREE, f) == 0 ? kFree : -1;
    }
    }
}

double percentile(std::vector<double>& v, double p) {
    if (v.empty())
        return 0;
    const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

bool model_is_clean(Model& model) {
    std::lock_guard guard(model.lock());
    return model.context_count() == 0 && model.routes().size() == 0 && model.iotlb().size() == 0 &&
           model.ledger().total_locked_pages() == 0;
}

// Runs the whole load with `threads` threads; false on any failure.
bool run(int threads, double* ops_per_s) {
    Model model;
    Dispatcher dispatcher(model);
    auto* pages = static_cast<char*>(mmap(nullptr, kContexts * 4096, PROT_READ | PROT_WRITE,
                                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0));
    std::vector<Lane> lanes(kContexts);
    for (int c = 0; c < kContexts; ++c) {
        lanes[c] = {dispatcher.open(getpid()), false, pages + c * 4096};
        if (c < static_cast<int>(std::size(kDevices))) {
            iommu_device_bind b{};
            b.argsz = sizeof(b);
            std::strcpy(b.name, kDevices[c]);
            b.cookie = kCookie;
            lanes[c].device = call(dispatcher, lanes[c], Caller::self(), IOMMU_DEVICE_BIND, b) == 0;
        }
    }
    std::vector<Samples> samples(threads);
    std::atomic<int> failures{0};
    const auto start = Clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            const Caller caller = Caller::self();
            for (int i = 0; i < kOpsPerContext; ++i) {
                for (int c = t; c < kContexts; c += threads) {
                    const auto t0 = Clock::now();
                    const int op = step(dispatcher, lanes[c], caller, i);
                    const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
                    if (op < 0)
                        ++failures;
                    else
                        samples[t].us[op].push_back(us);
                }
            }
        });
    }
    for (auto& w : workers)
        w.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    for (Lane& lane : lanes)
        dispatcher.release(lane.ctx);
    const bool clean = model_is_clean(model);
    munmap(pages, kContexts * 4096);

    *ops_per_s = kContexts * kOpsPerContext / seconds;
    std::printf("load: %2d threads: %d ops in %.2f s = %.0f ops/s; %s\n", threads, kContexts * kOpsPerContext,
                seconds, *ops_per_s, clean ? "model clean after close" : "MODEL NOT CLEAN");
    std::printf("load: %2d threads: p50/p99 us:", threads);
    for (int op = 0; op < kOps; ++op) {
        std::vector<double> all;
        for (Samples& s : samples)
            all.insert(all.end(), s.us[op].begin(), s.us[op].end());
        std::printf(" %s %.1f/%.1f", kOpNames[op], percentile(all, 0.50), percentile(all, 0.99));
    }
    std::printf("\n");
    if (failures)
        std::printf("load: %2d threads: %d operations failed\n", threads, failures.load());
    return clean && failures == 0;
}

}  // namespace

int main() {
    bool ok = true;
    double one = 0;
    for (int threads : {1, 2, 8, 64}) {
        double ops = 0;
        ok = run(threads, &ops) && ok;
        if (threads == 1)
            one = ops;
        else
            std::printf("load: %2d threads: throughput %.2fx one thread's\n", threads, ops / one);
    }
    return ok ? 0 : 1;
}
