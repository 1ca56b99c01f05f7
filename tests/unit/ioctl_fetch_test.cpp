// The CUSE retry plan: as few round trips as are safe.
#include <doctest/doctest.h>

#include <cstring>

#include "../../cuse/ioctl_fetch.h"
#include "../../dispatcher/command_table.h"
#include "cuse-iommu.h"

using namespace ciommu;

namespace {

const CommandSpec& spec_of(unsigned cmd) {
    const CommandSpec* spec = find_command(cmd);
    REQUIRE(spec != nullptr);
    return *spec;
}

FetchPlan after(const CommandSpec& spec, uint64_t arg, uint32_t argsz, size_t fetched) {
    unsigned char bytes[IOMMU_ARGSZ_MAX + 8] = {};
    std::memcpy(bytes, &argsz, 4);
    return plan_ioctl_fetch(spec, arg, bytes, fetched, 4096);
}

}  // namespace

TEST_CASE("a struct inside one page is fetched whole in the first retry") {
    const CommandSpec& unmap = spec_of(IOMMU_UNMAP_DMA);
    FetchPlan first = plan_ioctl_fetch(unmap, 0x7000010, nullptr, 0, 4096);
    CHECK_FALSE(first.ready);
    CHECK(first.in_bytes == sizeof(iommu_unmap_dma));
    CHECK(first.out_bytes == sizeof(iommu_unmap_dma));
    CHECK(after(unmap, 0x7000010, sizeof(iommu_unmap_dma), sizeof(iommu_unmap_dma)).ready);

    const CommandSpec& map = spec_of(IOMMU_MAP_DMA);
    CHECK(plan_ioctl_fetch(map, 0x7000000, nullptr, 0, 4096).out_bytes == 0);  // no copy-out
}

TEST_CASE("a struct that may cross a page is fetched argsz first") {
    const CommandSpec& map = spec_of(IOMMU_MAP_DMA);
    const uint64_t arg = 0x7001000 - 24;  // 24 bytes left in the page
    FetchPlan first = plan_ioctl_fetch(map, arg, nullptr, 0, 4096);
    CHECK_FALSE(first.ready);
    CHECK(first.in_bytes == 4);
    FetchPlan second = after(map, arg, sizeof(iommu_map_dma), 4);
    CHECK_FALSE(second.ready);
    CHECK(second.in_bytes == sizeof(iommu_map_dma));
    CHECK(after(map, arg, sizeof(iommu_map_dma), sizeof(iommu_map_dma)).ready);
}

TEST_CASE("argsz decides the second round") {
    const CommandSpec& unmap = spec_of(IOMMU_UNMAP_DMA);
    const size_t known = sizeof(iommu_unmap_dma);
    SUBCASE("larger than known: fetch exactly argsz, write back at most known") {
        FetchPlan plan = after(unmap, 0x7000000, known + 16, known);
        CHECK_FALSE(plan.ready);
        CHECK(plan.in_bytes == known + 16);
        CHECK(plan.out_bytes == known);
    }
    SUBCASE("sizes the dispatcher refuses by themselves need no more data") {
        CHECK(after(unmap, 0x7000000, 4, known).ready);
        CHECK(after(unmap, 0x7000000, IOMMU_ARGSZ_MAX + 1, known).ready);
        CHECK(after(unmap, 0x7000000, 0xffffffffu, known).ready);
    }
    SUBCASE("smaller than known but above the minimum: ready") {
        CHECK(after(unmap, 0x7000000, unmap.min_size, known).ready);
    }
}
