// In-process fault throughput: how many faults per second the model routes
// into a fault region and hands out, and how many full page-request round
// trips (DMA faults -> record read -> page mapped -> SUCCESS -> DMA done)
// it completes, driven through the dispatcher as a transport would.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

#include "../core/caller.h"
#include "../dispatcher/dispatcher.h"
#include "../core/model.h"
#include "cuse-iommu.h"

using namespace ciommu;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint64_t K4 = 4096;
constexpr uint64_t kCookie = 1;

struct Bench {
    Model model{default_topology(), PinLedger::unlimited()};
    Dispatcher dispatcher{model};
    Context* ctx = dispatcher.open(getpid());
    Caller caller = Caller::self();
    uint32_t ioasid = 0;

    template <typename T> long call(unsigned cmd, T& args) {
        return dispatcher.ioctl(*ctx, caller, cmd, reinterpret_cast<uintptr_t>(&args));
    }

    Bench() {
        iommu_ioasid_alloc alloc{sizeof(alloc), 0, 0, 0, 0};
        ioasid = static_cast<uint32_t>(call(IOMMU_IOASID_ALLOC, alloc));
        iommu_device_bind bind{};
        bind.argsz = sizeof(bind);
        std::strcpy(bind.name, "accel0");
        bind.cookie = kCookie;
        call(IOMMU_DEVICE_BIND, bind);
        iommu_device_attach attach{sizeof(attach), 0, kCookie, ioasid, 0};
        call(IOMMU_DEVICE_ATTACH, attach);
        iommu_device_fault reg{sizeof(reg), 0, kCookie};
        call(IOMMU_DEVICE_FAULT_REGISTER, reg);
        iommu_fault_region_info info{};
        info.argsz = sizeof(info);
        info.flags = IOMMU_FAULT_REGION_SET_DEPTH;
        info.depth = IOMMU_FAULT_REGION_DEPTH_MAX;
        call(IOMMU_FAULT_REGION_INFO, info);
    }
    ~Bench() { dispatcher.release(ctx); }

    double injected_per_second(int count) {
        std::vector<iommu_fault_record> records(256);
        const auto start = Clock::now();
        for (int i = 0; i < count; ++i) {
            iommu_sim_inject_fault fault{sizeof(fault), 0, kCookie, 0, 0, uint64_t(i) * K4, IOMMU_FAULT_PERM_READ, 0};
            call(IOMMU_SIM_INJECT_FAULT, fault);
            if (i % 256 == 255)
                dispatcher.read_faults(ctx->id, records);
        }
        dispatcher.read_faults(ctx->id, records);
        return count / std::chrono::duration<double>(Clock::now() - start).count();
    }

    double round_trips_per_second(int count, char* memory) {
        char byte = 'x';
        iommu_fault_record record;
        const auto start = Clock::now();
        for (int i = 0; i < count; ++i) {
            const uint64_t iova = 0x10000000 + uint64_t(i) * K4;
            iommu_sim_dma dma{};
            dma.argsz = sizeof(dma);
            dma.flags = IOMMU_SIM_DMA_WRITE;
            dma.cookie = kCookie;
            dma.iova = iova;
            dma.length = 1;
            dma.data = reinterpret_cast<uintptr_t>(&byte);
            call(IOMMU_SIM_DMA, dma);
            if (dispatcher.read_faults(ctx->id, std::span(&record, 1)) != 1)
                return 0;
            iommu_map_dma map{sizeof(map), IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE, ioasid, 0,
                              reinterpret_cast<uintptr_t>(memory + (i % 256) * K4), iova, K4};
            call(IOMMU_MAP_DMA, map);
            iommu_page_response response{sizeof(response), 0, kCookie, record.grpid, IOMMU_PAGE_RESP_SUCCESS};
            call(IOMMU_PAGE_RESPONSE, response);
            iommu_sim_dma_status status{};
            status.argsz = sizeof(status);
            status.dma_id = dma.dma_id;
            call(IOMMU_SIM_DMA_STATUS, status);
            if (status.status != IOMMU_SIM_DMA_OK)
                return 0;
        }
        return count / std::chrono::duration<double>(Clock::now() - start).count();
    }
};

}  // namespace

int main() {
    auto* memory = static_cast<char*>(
        mmap(nullptr, 256 * K4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    Bench bench;
    const double injected = bench.injected_per_second(200000);
    const double round_trips = bench.round_trips_per_second(20000, memory);
    std::printf("bench: faults routed and read, in-process     %10.0f per second\n", injected);
    std::printf("bench: page-request round trips, in-process   %10.0f per second\n", round_trips);
    return round_trips > 0 ? 0 : 1;
}
