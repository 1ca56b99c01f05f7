// Translation and DMA: kernel-managed, mdev (defPASID routing), software
// mdev, nested with a stage-1 table built in this process's memory, IOTLB
// staleness until INVALIDATE_CACHE, and every fault reason.
#include <doctest/doctest.h>

#include <cerrno>

#include "../../devices/bound_device.h"
#include "../../ioasid/x86_pgtable.h"
#include "fixture.h"
#include "nested_setup.h"

using namespace ciommu;
using namespace ciommu::test;

namespace {

constexpr uint64_t K4 = 4096;

// Expects a DMA that ran into a translation fault.
void check_fault(const iommu_sim_dma& d, uint32_t reason, uint32_t flags, uint64_t bytes_done = 0,
                 uint32_t status = IOMMU_SIM_DMA_FAULT) {
    CHECK(d.status == status);
    CHECK(d.fault_reason == reason);
    CHECK(d.fault_flags == flags);
    CHECK(d.bytes_done == bytes_done);
}

}  // namespace

TEST_CASE("a device writes and reads the caller's memory through its mappings") {
    Fixture f;
    Buffer mem(2 * K4);
    const long ioasid = f.alloc();
    REQUIRE(f.map(ioasid, 0x100000, mem.ptr, 2 * K4) == 0);
    REQUIRE(f.bind("nic0", 1) == 0);
    REQUIRE(f.attach(1, ioasid) == 0);

    char message[] = "DMA across a page";
    iommu_sim_dma d;
    REQUIRE(f.dma(1, 0x100ff8, message, sizeof(message), true, {}, &d) == 0);
    CHECK(d.status == IOMMU_SIM_DMA_OK);
    CHECK(d.bytes_done == sizeof(message));
    CHECK(std::memcmp(mem.bytes() + 0xff8, message, sizeof(message)) == 0);

    char back[sizeof(message)] = {};
    REQUIRE(f.dma(1, 0x100ff8, back, sizeof(back), false, {}, &d) == 0);
    CHECK(std::string(back) == message);
}

TEST_CASE("translation faults are results with a reason and a stage") {
    Fixture f;
    Buffer mem(2 * K4);
    const long ioasid = f.alloc();
    REQUIRE(f.map(ioasid, 0x100000, mem.ptr, K4) == 0);
    REQUIRE(f.map(ioasid, 0x200000, mem.bytes() + K4, K4, IOMMU_MAP_DMA_READ) == 0);
    REQUIRE(f.bind("nic0", 1) == 0);
    REQUIRE(f.bind("legacy0", 2) == 0);
    char data[64] = {};
    iommu_sim_dma d;

    SUBCASE("blocked: bound but not attached") {
        REQUIRE(f.dma(1, 0x100000, data, 8, false, {}, &d) == 0);
        check_fault(d, IOMMU_FAULT_REASON_BLOCKED, 0);
    }
    REQUIRE(f.attach(1, ioasid) == 0);
    SUBCASE("not mapped, after some bytes") {
        REQUIRE(f.dma(1, 0x100fe0, data, 64, true, {}, &d) == 0);
        check_fault(d, IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE2 | IOMMU_FAULT_WRITE, 32);
        CHECK(d.fault_addr == 0x101000);
    }
    SUBCASE("write to a read-only mapping") {
        REQUIRE(f.dma(1, 0x200000, data, 8, true, {}, &d) == 0);
        check_fault(d, IOMMU_FAULT_REASON_PERMISSION, IOMMU_FAULT_STAGE2 | IOMMU_FAULT_WRITE);
        REQUIRE(f.dma(1, 0x200000, data, 8, false, {}, &d) == 0);
        CHECK(d.status == IOMMU_SIM_DMA_OK);
    }
    SUBCASE("the MSI window") {
        REQUIRE(f.dma(1, 0xfee00000, data, 4, true, {}, &d) == 0);
        check_fault(d, IOMMU_FAULT_REASON_RESERVED, IOMMU_FAULT_WRITE);
    }
    SUBCASE("beyond the IOMMU's address width") {
        REQUIRE(f.attach(2, ioasid) == 0);
        REQUIRE(f.dma(2, uint64_t{1} << 39, data, 4, false, {}, &d) == 0);
        check_fault(d, IOMMU_FAULT_REASON_ADDR_SIZE, 0);
    }
    SUBCASE("bad requests are errors") {
        CHECK(f.dma(9, 0x100000, data, 8, false) == -ENOENT);
        CHECK(f.dma(1, 0x100000, data, 0, false) == -EINVAL);
        CHECK(f.dma(1, 0x100000, data, IOMMU_SIM_DMA_MAX + 1, false) == -EINVAL);
        CHECK(f.dma(1, 0x100000, data, 8, false, 5u) == -EOPNOTSUPP);  // nic0 has no PASID
        CHECK(f.dma(1, 0x100000, nullptr, 8, true) == -EFAULT);       // the caller's buffer
    }
    SUBCASE("UNMAP invalidates what the IOTLB cached") {
        REQUIRE(f.dma(1, 0x100000, data, 8, false, {}, &d) == 0);
        REQUIRE(d.status == IOMMU_SIM_DMA_OK);
        REQUIRE(f.unmap(ioasid, 0x100000, K4) == K4);
        REQUIRE(f.dma(1, 0x100000, data, 8, false, {}, &d) == 0);
        check_fault(d, IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE2);
    }
}

TEST_CASE("memory the owner unmapped behind the IOMMU's back is EFAULT, not a crash") {
    Fixture f;
    Buffer mem(K4);
    const long ioasid = f.alloc();
    REQUIRE(f.map(ioasid, 0x100000, mem.ptr, K4) == 0);
    REQUIRE(f.bind("nic0", 1) == 0);
    REQUIRE(f.attach(1, ioasid) == 0);
    REQUIRE(munmap(mem.ptr, mem.size) == 0);
    mem.ptr = nullptr;
    char data[8] = {};
    CHECK(f.dma(1, 0x100000, data, 8, true) == -EFAULT);
    CHECK(f.dma(1, 0x100000, data, 8, false) == -EFAULT);
}

TEST_CASE("an mdev is routed by its parent's RID and its defPASID") {
    Fixture f;
    Buffer mem(K4);
    const long ioasid = f.alloc();
    REQUIRE(f.map(ioasid, 0x100000, mem.ptr, K4) == 0);
    REQUIRE(f.bind("mdev1", 0xabc) == 0);
    REQUIRE(f.attach(0xabc, ioasid) == 0);

    const BoundDevice* dev = f.ctx->find_device(0xabc);
    const DeviceSpec& parent = f.model.topology().devices[dev->physical];
    CHECK(parent.name == "gpu0");
    const Attachment* route = f.model.routes().find({parent.iommu, parent.rid, dev->def_pasid});
    REQUIRE(route != nullptr);
    CHECK(route->dev->cookie == 0xabc);
    CHECK(f.model.routes().find({parent.iommu, parent.rid, kNoPasid}) == nullptr);

    char word[] = "mdev";
    REQUIRE(f.dma(0xabc, 0x100010, word, sizeof(word), true) == 0);
    CHECK(std::string(mem.bytes() + 0x10) == "mdev");
    REQUIRE(f.detach(0xabc) == 0);
    CHECK(f.model.routes().size() == 0);
}

TEST_CASE("a software mdev's vendor driver reaches memory through its IOASID") {
    Fixture f;
    Buffer mem(K4);
    const long ioasid = f.alloc();
    REQUIRE(f.map(ioasid, 0x100000, mem.ptr, K4) == 0);
    REQUIRE(f.bind("vmdev0", 5) == 0);
    char data[4] = {'s', 'w', '!', 0};
    iommu_sim_dma d;
    REQUIRE(f.dma(5, 0x100000, data, 4, true, {}, &d) == 0);
    check_fault(d, IOMMU_FAULT_REASON_BLOCKED, IOMMU_FAULT_WRITE);
    REQUIRE(f.attach(5, ioasid) == 0);
    REQUIRE(f.dma(5, 0x100000, data, 4, true, {}, &d) == 0);
    CHECK(d.status == IOMMU_SIM_DMA_OK);
    CHECK(std::string(mem.bytes()) == "sw!");
    CHECK(f.model.routes().size() == 0);  // no IOMMU routing
}


TEST_CASE("nested: stage 1 in the user's table, stage 2 in the parent") {
    Fixture f;
    NestedSetup n(f);
    char hello[] = "through two stages";
    iommu_sim_dma d;
    REQUIRE(n.dma(NestedSetup::kIova + 0x20, hello, sizeof(hello), true, &d) == 0);
    CHECK(d.status == IOMMU_SIM_DMA_OK);
    CHECK(std::string(n.data.bytes() + 0x20) == hello);

    SUBCASE("stage-1 read-only page") {
        REQUIRE(n.dma(NestedSetup::kIova + K4, hello, 4, true, &d) == 0);
        check_fault(d, IOMMU_FAULT_REASON_PERMISSION, IOMMU_FAULT_STAGE1 | IOMMU_FAULT_WRITE);
        REQUIRE(n.dma(NestedSetup::kIova + K4, hello, 4, false, &d) == 0);
        CHECK(d.status == IOMMU_SIM_DMA_OK);
    }
    SUBCASE("stage-1 entry not present: a page request nobody takes is answered INVALID") {
        REQUIRE(n.dma(NestedSetup::kIova + 2 * K4, hello, 4, false, &d) == 0);
        check_fault(d, IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE1, 0, IOMMU_SIM_DMA_ABORTED);
    }
    SUBCASE("stage 2 refuses what stage 1 allows") {
        n.entry(3, 3) = (NestedSetup::kDataGpa + 3 * K4) | NestedSetup::kRW;  // parent maps it read-only
        REQUIRE(n.dma(NestedSetup::kIova + 3 * K4, hello, 4, true, &d) == 0);
        check_fault(d, IOMMU_FAULT_REASON_PERMISSION, IOMMU_FAULT_STAGE2 | IOMMU_FAULT_WRITE);
    }
    SUBCASE("a stage-1 output the parent does not map") {
        n.entry(3, 4) = 0x30000000 | NestedSetup::kRW;
        REQUIRE(n.dma(NestedSetup::kIova + 4 * K4, hello, 4, false, &d) == 0);
        check_fault(d, IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE2);
    }
    SUBCASE("a table pointer the parent does not map") {
        n.entry(2, 1) = 0x30000000 | NestedSetup::kRW;  // L2[1] -> nowhere
        REQUIRE(n.dma(NestedSetup::kIova + 0x200000, hello, 4, false, &d) == 0);
        check_fault(d, IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE2);
    }
    SUBCASE("a 2 MiB leaf") {
        n.entry(2, 1) = NestedSetup::kDataGpa | NestedSetup::kRW | x86pt::kLargePage;
        char out[sizeof(hello)] = {};
        REQUIRE(n.dma(NestedSetup::kIova + 0x200020, out, sizeof(out), false, &d) == 0);
        CHECK(d.status == IOMMU_SIM_DMA_OK);
        CHECK(std::string(out) == hello);
    }
    SUBCASE("the RID (no PASID) is not attached") {
        REQUIRE(f.dma(7, NestedSetup::kIova, hello, 4, false, {}, &d) == 0);
        check_fault(d, IOMMU_FAULT_REASON_BLOCKED, 0);
    }
}

TEST_CASE("the IOTLB keeps a stale translation until INVALIDATE_CACHE") {
    Fixture f;
    NestedSetup n(f);
    std::memcpy(n.data.bytes(), "page-0", 7);
    std::memcpy(n.data.bytes() + 2 * K4, "page-2", 7);
    char out[8] = {};
    iommu_sim_dma d;
    REQUIRE(n.dma(NestedSetup::kIova, out, 7, false, &d) == 0);
    CHECK(std::string(out) == "page-0");
    const auto misses = f.stats().iotlb_misses;

    n.entry(3, 0) = (NestedSetup::kDataGpa + 2 * K4) | NestedSetup::kRW;  // the user edits its table...
    REQUIRE(n.dma(NestedSetup::kIova, out, 7, false, &d) == 0);
    CHECK(std::string(out) == "page-0");  // ...and DMA still sees the old page
    CHECK(f.stats().iotlb_hits >= 1);
    CHECK(f.stats().iotlb_misses == misses);

    CHECK(n.invalidate(IOMMU_INV_GRAN_PASID, 6) == 0);  // another PASID: no effect
    REQUIRE(n.dma(NestedSetup::kIova, out, 7, false, &d) == 0);
    CHECK(std::string(out) == "page-0");
    CHECK(n.invalidate(IOMMU_INV_GRAN_RANGE, 5, NestedSetup::kIova + K4, K4) == 0);  // another page
    REQUIRE(n.dma(NestedSetup::kIova, out, 7, false, &d) == 0);
    CHECK(std::string(out) == "page-0");

    CHECK(n.invalidate(IOMMU_INV_GRAN_RANGE, 5, NestedSetup::kIova, K4) == 0);
    REQUIRE(n.dma(NestedSetup::kIova, out, 7, false, &d) == 0);
    CHECK(std::string(out) == "page-2");

    n.entry(3, 0) = NestedSetup::kDataGpa | NestedSetup::kRW;
    CHECK(n.invalidate(IOMMU_INV_GRAN_ALL) == 0);
    REQUIRE(n.dma(NestedSetup::kIova, out, 7, false, &d) == 0);
    CHECK(std::string(out) == "page-0");
}

TEST_CASE("INVALIDATE_CACHE rejects what it cannot mean") {
    Fixture f;
    NestedSetup n(f);
    iommu_invalidate_cache inv{sizeof(inv), 0, static_cast<uint32_t>(n.parent), IOMMU_INV_GRAN_ALL,
                               IOMMU_INV_CACHE_IOTLB, 0, 0, 0};
    CHECK(f.call(IOMMU_INVALIDATE_CACHE, inv) == -EINVAL);  // kernel-managed
    inv.ioasid = 999;
    CHECK(f.call(IOMMU_INVALIDATE_CACHE, inv) == -ENOENT);
    inv.ioasid = static_cast<uint32_t>(n.child);
    inv.cache = 0;
    CHECK(f.call(IOMMU_INVALIDATE_CACHE, inv) == -EINVAL);
    inv.cache = 8;
    CHECK(f.call(IOMMU_INVALIDATE_CACHE, inv) == -EINVAL);
    inv.cache = IOMMU_INV_CACHE_IOTLB;
    inv.granularity = 3;
    CHECK(f.call(IOMMU_INVALIDATE_CACHE, inv) == -EINVAL);
    CHECK(n.invalidate(IOMMU_INV_GRAN_RANGE, 5, 0x1001, K4) == -EINVAL);
    CHECK(n.invalidate(IOMMU_INV_GRAN_RANGE, 5, 0x1000, 0) == -EINVAL);
    CHECK(n.invalidate(IOMMU_INV_GRAN_RANGE, 5, ~uint64_t{0} - K4 + 1, 2 * K4) == -EINVAL);
}

TEST_CASE("unmapping a parent page drops translations walked through it") {
    Fixture f;
    NestedSetup n(f);
    char out[8] = {};
    iommu_sim_dma d;
    REQUIRE(n.dma(NestedSetup::kIova, out, 4, false, &d) == 0);
    REQUIRE(d.status == IOMMU_SIM_DMA_OK);
    // The L1 table's page leaves the parent: nothing cached through it survives.
    REQUIRE(f.unmap(n.parent, NestedSetup::kTablesGpa + 3 * K4, K4) == -EINVAL);  // part of a mapping
    REQUIRE(f.unmap(n.parent, NestedSetup::kTablesGpa, 4 * K4) == 4 * K4);
    REQUIRE(n.dma(NestedSetup::kIova, out, 4, false, &d) == 0);
    check_fault(d, IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE2);
}

TEST_CASE("invalidating the whole-device attachment reaches an mdev behind its defPASID") {
    Fixture f;
    NestedSetup n(f);
    REQUIRE(f.bind("mdev0", 9) == 0);
    REQUIRE(f.attach(9, n.child) == 0);
    std::memcpy(n.data.bytes(), "page-0", 7);
    std::memcpy(n.data.bytes() + 2 * K4, "page-2", 7);
    char out[8] = {};
    REQUIRE(f.dma(9, NestedSetup::kIova, out, 7, false) == 0);
    CHECK(std::string(out) == "page-0");
    n.entry(3, 0) = (NestedSetup::kDataGpa + 2 * K4) | NestedSetup::kRW;
    CHECK(n.invalidate(IOMMU_INV_GRAN_PASID, 5) == 0);  // accel0's PASID: not the mdev
    REQUIRE(f.dma(9, NestedSetup::kIova, out, 7, false) == 0);
    CHECK(std::string(out) == "page-0");
    CHECK(n.invalidate(IOMMU_INV_GRAN_PASID, IOMMU_INV_PASID_RID) == 0);
    REQUIRE(f.dma(9, NestedSetup::kIova, out, 7, false) == 0);
    CHECK(std::string(out) == "page-2");
}

TEST_CASE("a PASID on the bus must be a PASID") {
    Fixture f;
    NestedSetup n(f);
    char out[4];
    CHECK(f.dma(7, NestedSetup::kIova, out, 4, false, 0u) == -EINVAL);
    CHECK(f.dma(7, NestedSetup::kIova, out, 4, false, 0xffffffffu) == -EINVAL);
    CHECK(f.dma(7, NestedSetup::kIova, out, 4, false, 1u << 20) == -EINVAL);
}
