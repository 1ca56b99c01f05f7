// A nested setup for DMA tests: a stage-1 table in this process's memory
// under a kernel-managed parent, accel0 attached to it by PASID 5.
#pragma once

#include "../../ioasid/x86_pgtable.h"
#include "fixture.h"

namespace ciommu::test {

// A stage-1 table in this process's memory, mapped into a parent IOASID:
// tables at GPA 0x10000000 (L4, L3, L2, L1), data pages at GPA 0x20000000.
struct NestedSetup {
    static constexpr uint64_t K4 = 4096;
    static constexpr uint64_t kTablesGpa = 0x10000000, kDataGpa = 0x20000000;
    static constexpr uint64_t kIova = 0x40000000;  // L4[0] L3[1] L2[0] L1[0]
    static constexpr uint64_t kRW = x86pt::kPresent | x86pt::kWritable;

    Fixture& f;
    Buffer tables{4 * K4};
    Buffer data{4 * K4};
    long parent = 0, child = 0;

    explicit NestedSetup(Fixture& fixture) : f(fixture) {
        parent = f.alloc();
        REQUIRE(f.map(parent, kTablesGpa, tables.ptr, 4 * K4, IOMMU_MAP_DMA_READ) == 0);
        REQUIRE(f.map(parent, kDataGpa, data.ptr, 3 * K4) == 0);
        REQUIRE(f.map(parent, kDataGpa + 3 * K4, data.bytes() + 3 * K4, K4, IOMMU_MAP_DMA_READ) == 0);
        entry(0, 0) = (kTablesGpa + 1 * K4) | kRW;          // L4[0] -> L3
        entry(1, 1) = (kTablesGpa + 2 * K4) | kRW;          // L3[1] -> L2
        entry(2, 0) = (kTablesGpa + 3 * K4) | kRW;          // L2[0] -> L1
        entry(3, 0) = kDataGpa | kRW;                       // L1[0] -> data page 0
        entry(3, 1) = (kDataGpa + K4) | x86pt::kPresent;    // L1[1] -> data page 1, read-only
        child = f.alloc(IOMMU_IOASID_USER_PGTABLE, parent, kTablesGpa);
        REQUIRE(child > 0);
        REQUIRE(f.bind("accel0", 7) == 0);
        REQUIRE(f.attach(7, child, 5u) == 0);
    }
    // Entry `index` of table `table` (0: L4 .. 3: L1).
    uint64_t& entry(int table, int index) { return reinterpret_cast<uint64_t*>(tables.bytes() + table * K4)[index]; }
    long dma(uint64_t iova, void* buf, uint64_t len, bool write, iommu_sim_dma* out) {
        return f.dma(7, iova, buf, len, write, 5u, out);
    }
    long invalidate(uint32_t granularity, uint32_t pasid = 5, uint64_t addr = 0, uint64_t size = 0) {
        iommu_invalidate_cache inv{sizeof(inv), 0, static_cast<uint32_t>(child), granularity,
                                   IOMMU_INV_CACHE_IOTLB, pasid, addr, size};
        return f.call(IOMMU_INVALIDATE_CACHE, inv);
    }
};


}  // namespace ciommu::test
