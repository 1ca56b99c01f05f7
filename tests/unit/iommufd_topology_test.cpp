// Topology devices on the iommufd profile: CUSE_IOMMUFD_DEVICE_BIND and
// its siblings, DMA through an automatic page table, a paging one and a
// VT-d nested one (stale until HWPT_INVALIDATE), and a page request that
// goes through the page table's fault queue and resumes the DMA.
#include <cstring>
#include <poll.h>
#include <vector>

#include "../../devices/hotplug.h"
#include "../../ioasid/x86_pgtable.h"
#include "../../iommufd/device.h"
#include "../../iommufd/fault_queue.h"
#include "control_test_util.h"
#include "iommufd_topology_fixture.h"

namespace ciommu::test {
namespace {

constexpr size_t kRecord = sizeof(iommu_hwpt_pgfault);

TEST_CASE("DEVICE_BIND: a topology device by name, its dev_id an object DESTROY cannot take; UNBIND") {
    TopologyFixture f;
    uint32_t nic = 0, other = 0;
    REQUIRE(f.bind("nic0", &nic) == 0);
    CHECK(nic > f.ioas);
    CHECK(f.bind("nic0", &other) == -EBUSY);       // bound already
    CHECK(f.bind("nosuch", &other) == -ENODEV);
    cuse_iommufd_device_bind b{};
    b.size = sizeof(b);
    std::memset(b.name, 'x', sizeof(b.name));
    CHECK(f.call(CUSE_IOMMUFD_DEVICE_BIND, b) == -EINVAL);  // not terminated
    b = {};
    b.size = sizeof(b);
    std::strcpy(b.name, "nic1");
    b.flags = 1;
    CHECK(f.call(CUSE_IOMMUFD_DEVICE_BIND, b) == -EOPNOTSUPP);
    CHECK(f.destroy(nic) == -EBUSY);

    // GET_HW_INFO: no vendor data; accel0's PASIDs.
    const uint32_t accel = f.bind("accel0");
    iommu_hw_info info{};
    info.size = sizeof(info);
    info.dev_id = accel;
    CHECK(f.call(IOMMU_GET_HW_INFO, info) == 0);
    CHECK(info.out_data_type == IOMMU_HW_INFO_TYPE_NONE);
    CHECK(info.out_max_pasid_log2 == 20);

    // Another context cannot take a bound device, nor nic2 (nic1's group).
    Context* other_ctx = f.dispatcher.open(getpid());
    cuse_iommufd_device_bind b2{};
    b2.size = sizeof(b2);
    std::strcpy(b2.name, "nic0");
    CHECK(f.call(CUSE_IOMMUFD_DEVICE_BIND, b2, other_ctx) == -EBUSY);
    CHECK(f.unbind(nic) == 0);
    CHECK(f.call(CUSE_IOMMUFD_DEVICE_BIND, b2, other_ctx) == 0);  // free again
    f.dispatcher.release(other_ctx);
    CHECK(f.unbind(nic) == -ENOENT);
    CHECK(f.destroy(nic) == -ENOENT);
}

TEST_CASE("A topology device on an IOAS: an automatic page table of its IOMMU, real DMA, reserved ranges") {
    TopologyFixture f;
    const uint32_t nic = f.bind("nic0");
    uint64_t iova = 0x100000;
    REQUIRE(f.map_fixed(f.buf(), 4 * kPage, iova) == 0);
    uint32_t hwpt = 0;
    REQUIRE(f.attach(nic, f.ioas, {}, &hwpt) == 0);
    CHECK(hwpt != f.ioas);
    CHECK(f.pins(f.buf()) == 1);  // the domain needs the pages
    CHECK(f.attach(nic, f.ioas) == -EBUSY);

    // The device writes, then reads back, the caller's memory.
    char msg[] = "dma through iommufd";
    auto d = f.dma(nic, iova + 8, msg, sizeof(msg), true);
    CHECK(d.out_status == CUSE_IOMMUFD_DMA_OK);
    CHECK(d.out_bytes_done == sizeof(msg));
    CHECK(std::memcmp(f.bytes(8), msg, sizeof(msg)) == 0);
    std::memcpy(f.bytes(kPage), "back", 4);
    char got[4] = {};
    d = f.dma(nic, iova + kPage, got, 4, false);
    CHECK(std::memcmp(got, "back", 4) == 0);

    // iommu0's MSI window is reserved in the IOAS now (a fixed IOVA there:
    // EINVAL, as iopt_check_iova says); 4 KiB pages.
    uint64_t msi = 0xfee00000;
    CHECK(f.map_fixed(f.buf(), kPage, msi) == -EINVAL);
    iova = 0x200800;
    CHECK(f.map_fixed(f.buf(), kPage, iova) == -EINVAL);
    // Unmapped: the device faults (the IOTLB was flushed).
    REQUIRE(f.unmap(0x100000, 4 * kPage) == 0);
    CHECK(f.pins(f.buf()) == 0);
    d = f.dma(nic, 0x100000 + kPage, got, 4, false);
    CHECK(d.out_status == CUSE_IOMMUFD_DMA_FAULT);
    CHECK(d.out_fault_reason == CUSE_IOMMUFD_FAULT_NOT_MAPPED);
    CHECK(d.out_fault_addr == 0x100000 + kPage);

    // A second device of the same IOMMU shares the automatic page table.
    const uint32_t nic1 = f.bind("nic1");
    uint32_t hwpt1 = 0;
    REQUIRE(f.attach(nic1, f.ioas, {}, &hwpt1) == 0);
    CHECK(hwpt1 == hwpt);
    // iommu1's legacy0 gets its own, once no area lies past its 39 bits.
    const uint32_t legacy = f.bind("legacy0");
    uint64_t high = uint64_t{1} << 40;
    REQUIRE(f.map_fixed(f.buf(), kPage, high) == 0);
    uint32_t hwpt2 = 0;
    CHECK(f.attach(legacy, f.ioas, {}, &hwpt2) == -EADDRINUSE);
    {  // the automatic page table it made is gone again
        std::lock_guard guard(f.model.lock());
        size_t tables = 0;
        f.ctx->iommufd.objects.for_each(ObjectKind::kHwptPaging, [&](const IommufdObject&) { ++tables; });
        CHECK(tables == 1);
    }
    REQUIRE(f.unmap(high, kPage) == 0);
    REQUIRE(f.attach(legacy, f.ioas, {}, &hwpt2) == 0);
    CHECK(hwpt2 != hwpt);
    CHECK(f.map_fixed(f.buf(), kPage, high) == -EINVAL);
    uint64_t bridge = 0xe0000000;  // iommu1's host-bridge window
    CHECK(f.map_fixed(f.buf(), kPage, bridge) == -EINVAL);
    uint64_t picked = 0;  // an IOVA the IOAS picks avoids them all
    REQUIRE(f.map(f.buf(), kPage, &picked) == 0);
    CHECK(picked + kPage <= (uint64_t{1} << 39));

    // Detached: blocked, and the automatic page table goes with its last device.
    REQUIRE(f.detach(nic) == 0);
    CHECK(f.detach(nic) == -ENOENT);
    d = f.dma(nic, 0x100000, got, 4, false);
    CHECK(d.out_fault_reason == CUSE_IOMMUFD_FAULT_BLOCKED);
    REQUIRE(f.detach(nic1) == 0);
    CHECK(f.destroy(hwpt) == -ENOENT);
    CHECK(f.destroy(f.ioas) == -EBUSY);  // legacy0's page table is on it
}

TEST_CASE("Removing a bound topology device (the control socket's device-remove) takes its device object") {
    TopologyFixture f;
    const uint32_t nic = f.bind("nic0");
    uint32_t hwpt = 0;
    REQUIRE(f.attach(nic, f.ioas, {}, &hwpt) == 0);
    {
        std::lock_guard guard(f.model.lock());
        const unsigned index = f.model.topology().index_of(*f.model.topology().find_device("nic0"));
        remove_devices(f.model, plan_device_removal(f.model, index));
        CHECK(f.ctx->faults.pending() == 0);  // the iommufd profile has no fault region to tell
    }
    CHECK(f.unbind(nic) == -ENOENT);
    CHECK(f.destroy(hwpt) == -ENOENT);  // the automatic page table went with its last device
    CHECK(f.destroy(f.ioas) == 0);
    uint32_t again = 0;
    CHECK(f.bind("nic0", &again) == -ENODEV);
}

TEST_CASE("Topology and mock devices do not share page tables; the mock's commands refuse a topology one") {
    TopologyFixture f;
    const uint32_t nic = f.bind("nic0");
    uint32_t ids[3] = {};
    REQUIRE(f.mock_domain(f.ioas, ids) == 0);
    CHECK(f.attach(nic, ids[1]) == -EINVAL);  // the mock's page table
    uint32_t hwpt = 0;
    REQUIRE(f.attach(nic, f.ioas, {}, &hwpt) == 0);
    CHECK(hwpt != ids[1]);
    iommu_test_cmd r{};
    r.size = sizeof(r);
    r.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
    r.id = ids[0];
    r.mock_domain_replace.pt_id = hwpt;
    CHECK(f.call(IOMMU_TEST_CMD, r) == -EINVAL);
    CHECK(f.check_map(hwpt, kAperture, kPage, f.buf()) == -EINVAL);
    uint32_t dirty = 0;
    CHECK(f.alloc_hwpt(nic, f.ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &dirty) == -EOPNOTSUPP);
    CHECK(f.alloc_hwpt(nic, f.ioas, 0, &dirty) == 0);
    CHECK(f.attach(ids[2], dirty) == -ENOENT);  // a mock's bound device is not a topology device
    cuse_iommufd_device_dma d{};
    d.size = sizeof(d);
    d.dev_id = ids[2];
    d.length = 1;
    CHECK(f.call(CUSE_IOMMUFD_DEVICE_DMA, d) == -ENOENT);
}

// A VT-d stage-1 table in the test's memory, mapped into the IOAS at
// kTablesGpa (L4, L3, L2, L1), data pages at kDataGpa; accel0 attached by
// PASID 5 to a nested page table over a NEST_PARENT one.
struct VtdNested : TopologyFixture {
    static constexpr uint64_t kTablesGpa = 0x10000000, kDataGpa = 0x20000000;
    static constexpr uint64_t kIova = 0x40000000;  // L4[0] L3[1] L2[0] L1[0]
    static constexpr uint64_t kRW = x86pt::kPresent | x86pt::kWritable;
    uint64_t* tables = static_cast<uint64_t*>(buffer);  // pages 0-3 of the buffer
    uint32_t accel = 0, parent = 0, nested = 0;

    uint64_t& entry(int table, int index) { return tables[table * 512 + index]; }
    iommu_hwpt_vtd_s1 s1{0, kTablesGpa, 48, 0};

    void build(uint32_t flags = 0, uint32_t fault_id = 0) {
        REQUIRE(map_fixed(buf(), 4 * kPage, kTablesGpa) == 0);
        REQUIRE(map_fixed(buf(4 * kPage), 4 * kPage, kDataGpa) == 0);
        entry(0, 0) = (kTablesGpa + 1 * kPage) | kRW;
        entry(1, 1) = (kTablesGpa + 2 * kPage) | kRW;
        entry(2, 0) = (kTablesGpa + 3 * kPage) | kRW;
        entry(3, 0) = kDataGpa | kRW;
        accel = bind("accel0");
        REQUIRE(alloc_hwpt(accel, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &parent) == 0);
        REQUIRE(alloc_hwpt(accel, parent, flags, &nested, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1), fault_id) == 0);
        REQUIRE(attach(accel, nested, 5u) == 0);
    }
    long invalidate(std::vector<iommu_hwpt_vtd_s1_invalidate> entries, uint32_t* done,
                    uint32_t entry_len = sizeof(iommu_hwpt_vtd_s1_invalidate), const void* raw = nullptr) {
        iommu_hwpt_invalidate inv{};
        inv.size = sizeof(inv);
        inv.hwpt_id = nested;
        inv.data_uptr = reinterpret_cast<uintptr_t>(raw ? raw : entries.data());
        inv.data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1;
        inv.entry_len = entry_len;
        inv.entry_num = static_cast<uint32_t>(entries.size());
        const long rc = call(IOMMU_HWPT_INVALIDATE, inv);
        *done = inv.entry_num;
        return rc;
    }
};

TEST_CASE("HWPT_ALLOC with IOMMU_HWPT_DATA_VTD_S1: the checks, then DMA through both stages") {
    VtdNested f;
    REQUIRE(f.map_fixed(f.buf(), 4 * kPage, VtdNested::kTablesGpa) == 0);
    const uint32_t accel = f.bind("accel0");
    uint32_t paging = 0, parent = 0, out = 0;
    REQUIRE(f.alloc_hwpt(accel, f.ioas, 0, &paging) == 0);
    REQUIRE(f.alloc_hwpt(accel, f.ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &parent) == 0);
    iommu_hwpt_vtd_s1 s1{0, VtdNested::kTablesGpa, 48, 0};
    CHECK(f.alloc_hwpt(accel, paging, 0, &out, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1)) == -EINVAL);  // no NEST_PARENT
    const iommu_hwpt_selftest mock{IOMMU_TEST_IOTLB_DEFAULT};
    CHECK(f.alloc_hwpt(accel, parent, 0, &out, IOMMU_HWPT_DATA_SELFTEST, &mock, sizeof(mock)) == -EOPNOTSUPP);
    CHECK(f.alloc_hwpt(accel, parent, 0, &out, IOMMU_HWPT_DATA_VTD_S1, &s1, 16) == -EINVAL);  // short
    s1.addr_width = 57;  // 5-level: not modelled
    CHECK(f.alloc_hwpt(accel, parent, 0, &out, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1)) == -EINVAL);
    s1.addr_width = 48;
    s1.flags = 1u << 3;
    CHECK(f.alloc_hwpt(accel, parent, 0, &out, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1)) == -EOPNOTSUPP);
    s1.flags = IOMMU_VTD_S1_WPE;
    unsigned char longer[sizeof(s1) + 8] = {};
    std::memcpy(longer, &s1, sizeof(s1));
    longer[sizeof(s1) + 3] = 1;
    CHECK(f.alloc_hwpt(accel, parent, 0, &out, IOMMU_HWPT_DATA_VTD_S1, longer, sizeof(longer)) == -E2BIG);
    longer[sizeof(s1) + 3] = 0;
    CHECK(f.alloc_hwpt(accel, parent, 0, &out, IOMMU_HWPT_DATA_VTD_S1, longer, sizeof(longer)) == 0);
    CHECK(f.destroy(parent) == -EBUSY);  // the nested one uses it
    iommu_test_cmd t{};
    t.size = sizeof(t);
    t.op = IOMMU_TEST_OP_MD_CHECK_IOTLB;  // the mock's ops refuse a topology device's tables
    t.id = out;
    CHECK(f.call(IOMMU_TEST_CMD, t) == -EINVAL);
    t = {};
    t.size = sizeof(t);
    t.op = IOMMU_TEST_OP_TRIGGER_IOPF;
    t.trigger_iopf.dev_id = accel;
    CHECK(f.call(IOMMU_TEST_CMD, t) == -EINVAL);
    CHECK(f.destroy(out) == 0);
    // iommu1 nests nothing; a mock device cannot nest over a topology page table.
    const uint32_t legacy = f.bind("legacy0");
    CHECK(f.alloc_hwpt(legacy, f.ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &out) == -EOPNOTSUPP);
    uint32_t ids[3] = {};
    REQUIRE(f.mock_domain(f.ioas, ids) == 0);
    CHECK(f.alloc_hwpt(ids[2], parent, 0, &out, IOMMU_HWPT_DATA_SELFTEST, &mock, sizeof(mock)) == -EINVAL);
}

TEST_CASE("A VT-d nested page table: stage-1 edits are stale until HWPT_INVALIDATE, whose entries are checked") {
    VtdNested f;
    f.build();
    std::memcpy(f.bytes(4 * kPage), "page0", 5);
    std::memcpy(f.bytes(5 * kPage), "page1", 5);
    char got[5] = {};
    auto d = f.dma(f.accel, VtdNested::kIova, got, 5, false, 5u);
    REQUIRE(d.out_status == CUSE_IOMMUFD_DMA_OK);
    CHECK(std::memcmp(got, "page0", 5) == 0);
    d = f.dma(f.accel, VtdNested::kIova, got, 5, false);  // without the PASID: nothing attached
    CHECK(d.out_fault_reason == CUSE_IOMMUFD_FAULT_BLOCKED);

    // The guest points L1[0] at page 1: the IOTLB still holds page 0.
    f.entry(3, 0) = (VtdNested::kDataGpa + kPage) | VtdNested::kRW;
    d = f.dma(f.accel, VtdNested::kIova, got, 5, false, 5u);
    CHECK(std::memcmp(got, "page0", 5) == 0);

    uint32_t done = 99;
    // Bad entries: unknown flags, a misaligned address, addr with "all".
    CHECK(f.invalidate({{VtdNested::kIova, 1, 2, 0}}, &done) == -EOPNOTSUPP);
    CHECK(done == 0);
    CHECK(f.invalidate({{VtdNested::kIova + 8, 1, 0, 0}}, &done) == -EINVAL);
    CHECK(f.invalidate({{VtdNested::kIova, UINT64_MAX, 0, 0}}, &done) == -EINVAL);
    CHECK(f.invalidate({{VtdNested::kIova, 1, 0, 0}}, &done, 16) == -EINVAL);  // entry_len too short
    d = f.dma(f.accel, VtdNested::kIova, got, 5, false, 5u);
    CHECK(std::memcmp(got, "page0", 5) == 0);  // none of it flushed anything

    // Another page's invalidation leaves it; a longer entry must be zero past the struct.
    CHECK(f.invalidate({{VtdNested::kIova + kPage, 1, IOMMU_VTD_INV_FLAGS_LEAF, 0}}, &done) == 0);
    CHECK(done == 1);
    d = f.dma(f.accel, VtdNested::kIova, got, 5, false, 5u);
    CHECK(std::memcmp(got, "page0", 5) == 0);
    struct Longer {
        iommu_hwpt_vtd_s1_invalidate inv;
        uint64_t tail;
    } longer[2] = {{{VtdNested::kIova + kPage, 1, 0, 0}, 0}, {{VtdNested::kIova, 1, 0, 0}, 7}};
    CHECK(f.invalidate({{}, {}}, &done, sizeof(Longer), longer) == -E2BIG);
    CHECK(done == 1);  // the first was done: partial completion is reported
    d = f.dma(f.accel, VtdNested::kIova, got, 5, false, 5u);
    CHECK(std::memcmp(got, "page0", 5) == 0);
    longer[1].tail = 0;
    CHECK(f.invalidate({{}, {}}, &done, sizeof(Longer), longer) == 0);
    CHECK(done == 2);
    d = f.dma(f.accel, VtdNested::kIova, got, 5, false, 5u);
    CHECK(std::memcmp(got, "page1", 5) == 0);

    // "All" flushes too; a read-only stage-1 entry refuses a write.
    f.entry(3, 0) = VtdNested::kDataGpa | x86pt::kPresent;
    REQUIRE(f.invalidate({{0, UINT64_MAX, 0, 0}}, &done) == 0);
    d = f.dma(f.accel, VtdNested::kIova, got, 5, true, 5u);
    CHECK(d.out_status == CUSE_IOMMUFD_DMA_FAULT);
    CHECK(d.out_fault_reason == CUSE_IOMMUFD_FAULT_PERMISSION);
    // Unmapping the parent's pages under the table: the walk faults at stage 2.
    REQUIRE(f.unmap(VtdNested::kDataGpa, 4 * kPage) == 0);
    d = f.dma(f.accel, VtdNested::kIova, got, 5, false, 5u);
    CHECK(d.out_fault_reason == CUSE_IOMMUFD_FAULT_NOT_MAPPED);
    CHECK(f.destroy(f.nested) == -EBUSY);
    REQUIRE(f.detach(f.accel, 5u) == 0);
    CHECK(f.destroy(f.nested) == 0);
}

// A fault queue on an object file, and the nested page table using it.
struct FaultingVtd : VtdNested {
    ObjectFileHandle file = open_object_file();
    uint32_t queue = 0;
    std::vector<uint64_t> woken;

    FaultingVtd() {
        dispatcher.set_object_file_listener([this](uint64_t id) { woken.push_back(id); });
        iommu_fault_alloc a{sizeof(a), 0, 0, 0};
        REQUIRE(fd_call(IOMMU_FAULT_QUEUE_ALLOC, a, file.token, 9) == 0);
        queue = a.out_fault_id;
        build(IOMMU_HWPT_FAULT_ID_VALID, queue);
        f_unmapped();
    }
    ~FaultingVtd() {
        dispatcher.set_object_file_listener(nullptr);
        dispatcher.release_object_file(file.id);
    }
    // L1[2] is not present: kIova + 2 pages faults at stage 1.
    void f_unmapped() { entry(3, 2) = 0; }
    iommu_hwpt_pgfault read_fault() {
        std::vector<std::byte> out;
        REQUIRE(dispatcher.read_object_file(file.id, 0, 4 * kRecord, out) == static_cast<long>(kRecord));
        iommu_hwpt_pgfault fault;
        std::memcpy(&fault, out.data(), kRecord);
        return fault;
    }
    long respond(uint32_t cookie, uint32_t code) {
        const iommu_hwpt_page_response r{cookie, code};
        return dispatcher.write_object_file(file.id, 0,
                                            std::span(reinterpret_cast<const std::byte*>(&r), sizeof(r)));
    }
};

TEST_CASE("A page request of accel0 goes to the nested page table's fault queue; SUCCESS resumes the DMA") {
    FaultingVtd f;
    std::memcpy(f.bytes(6 * kPage + 16), "third", 5);
    char got[5] = {};
    const uint64_t iova = VtdNested::kIova + 2 * kPage;
    auto d = f.dma(f.accel, iova + 16, got, 5, false, 5u);
    REQUIRE(d.out_status == CUSE_IOMMUFD_DMA_PENDING);
    CHECK(d.out_dma_id != 0);
    CHECK(f.woken == std::vector<uint64_t>{f.file.id});
    CHECK(f.dispatcher.poll_object_file(f.file.id) == (POLLOUT | POLLIN | POLLRDNORM));
    const iommu_hwpt_pgfault fault = f.read_fault();
    CHECK(fault.dev_id == f.accel);
    CHECK(fault.flags == (IOMMU_PGFAULT_FLAGS_LAST_PAGE | IOMMU_PGFAULT_FLAGS_PASID_VALID));
    CHECK(fault.pasid == 5);
    CHECK(fault.perm == IOMMU_PGFAULT_PERM_READ);
    CHECK(fault.addr == iova);
    CHECK(fault.grpid != 0);
    long rc;
    auto s = f.dma_status(d.out_dma_id, &rc);
    REQUIRE(rc == 0);
    CHECK(s.out_status == CUSE_IOMMUFD_DMA_PENDING);

    // The guest maps the page, invalidates, and answers SUCCESS: the DMA ends.
    f.entry(3, 2) = (VtdNested::kDataGpa + 2 * kPage) | VtdNested::kRW;
    uint32_t done;
    REQUIRE(f.invalidate({{iova, 1, 0, 0}}, &done) == 0);
    CHECK(f.respond(fault.cookie, IOMMUFD_PAGE_RESP_SUCCESS) == static_cast<long>(sizeof(iommu_hwpt_page_response)));
    s = f.dma_status(d.out_dma_id, &rc);
    REQUIRE(rc == 0);
    CHECK(s.out_status == CUSE_IOMMUFD_DMA_OK);
    CHECK(s.out_bytes_done == 5);
    CHECK(std::memcmp(got, "third", 5) == 0);  // the read's bytes reached the buffer
    f.dma_status(d.out_dma_id, &rc);
    CHECK(rc == -ENOENT);  // reaped
}

TEST_CASE("A page request answered INVALID, or left when the device detaches, aborts its DMA") {
    FaultingVtd f;
    char got[5] = {};
    const uint64_t iova = VtdNested::kIova + 2 * kPage;
    auto d = f.dma(f.accel, iova, got, 5, true, 5u);
    REQUIRE(d.out_status == CUSE_IOMMUFD_DMA_PENDING);
    iommu_hwpt_pgfault fault = f.read_fault();
    CHECK(fault.perm == IOMMU_PGFAULT_PERM_WRITE);
    REQUIRE(f.respond(fault.cookie, IOMMUFD_PAGE_RESP_INVALID) > 0);
    long rc;
    auto s = f.dma_status(d.out_dma_id, &rc);
    CHECK(s.out_status == CUSE_IOMMUFD_DMA_ABORTED);

    d = f.dma(f.accel, iova, got, 5, false, 5u);
    REQUIRE(d.out_status == CUSE_IOMMUFD_DMA_PENDING);
    fault = f.read_fault();
    REQUIRE(f.detach(f.accel, 5u) == 0);
    s = f.dma_status(d.out_dma_id, &rc);
    CHECK(s.out_status == CUSE_IOMMUFD_DMA_ABORTED);
    {
        std::lock_guard guard(f.model.lock());
        CHECK(f.ctx->iommufd.objects.get<FaultQueue>(f.queue)->awaiting_response() == 0);
    }
    CHECK(f.respond(fault.cookie, IOMMUFD_PAGE_RESP_SUCCESS) == -EINVAL);  // answered already

    // Without a fault queue the same fault is no page request: it aborts at once.
    uint32_t plain = 0;
    REQUIRE(f.alloc_hwpt(f.accel, f.parent, 0, &plain, IOMMU_HWPT_DATA_VTD_S1, &f.s1, sizeof(f.s1)) == 0);
    REQUIRE(f.attach(f.accel, plain, 5u) == 0);
    d = f.dma(f.accel, iova, got, 5, false, 5u);
    CHECK(d.out_status == CUSE_IOMMUFD_DMA_ABORTED);
}

TEST_CASE("A pending page request, its queue and the device all go with the context, leaving nothing behind") {
    auto f = std::make_unique<FaultingVtd>();
    char got[5] = {};
    auto d = f->dma(f->accel, VtdNested::kIova + 2 * kPage, got, 5, false, 5u);
    REQUIRE(d.out_status == CUSE_IOMMUFD_DMA_PENDING);
    // Unbinding aborts it and drops every page table the device used.
    REQUIRE(f->unbind(f->accel) == 0);
    long rc;
    CHECK(f->dma_status(d.out_dma_id, &rc).out_status == CUSE_IOMMUFD_DMA_ABORTED);
    CHECK(f->destroy(f->nested) == 0);
    CHECK(f->destroy(f->parent) == 0);
    // Bound again, pending again; then the fixture closes the context.
    f->accel = f->bind("accel0");
    REQUIRE(f->alloc_hwpt(f->accel, f->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &f->parent) == 0);
    REQUIRE(f->alloc_hwpt(f->accel, f->parent, IOMMU_HWPT_FAULT_ID_VALID, &f->nested, IOMMU_HWPT_DATA_VTD_S1, &f->s1,
                          sizeof(f->s1), f->queue) == 0);
    REQUIRE(f->attach(f->accel, f->nested, 5u) == 0);
    d = f->dma(f->accel, VtdNested::kIova + 2 * kPage, got, 5, false, 5u);
    REQUIRE(d.out_status == CUSE_IOMMUFD_DMA_PENDING);
    f.reset();  // checks the model, releases the context, checks it is empty
}

TEST_CASE("iommuctl's dma, dma-status and fault reach a topology device on the iommufd profile") {
    FaultingVtd f;
    std::memcpy(f.bytes(4 * kPage), "page0", 5);
    json r = control(f, {{"cmd", "dma"}, {"device", "accel0"}, {"iova", VtdNested::kIova}, {"length", 5},
                         {"write", false}, {"pasid", 5}});
    CHECK(r.at("status") == "ok");
    CHECK(r.at("data") == "7061676530");  // "page0"
    // A page fault: PENDING, the group in the fault queue.
    r = control(f, {{"cmd", "dma"}, {"device", "accel0"}, {"iova", VtdNested::kIova + 2 * kPage}, {"length", 4},
                    {"write", true}, {"data", "01020304"}, {"pasid", 5}});
    REQUIRE(r.at("status") == "pending");
    const uint64_t dma_id = r.at("dma_id");
    const iommu_hwpt_pgfault fault = f.read_fault();
    CHECK(fault.addr == VtdNested::kIova + 2 * kPage);
    CHECK(fault.perm == IOMMU_PGFAULT_PERM_WRITE);
    f.entry(3, 2) = (VtdNested::kDataGpa + 2 * kPage) | VtdNested::kRW;
    REQUIRE(f.respond(fault.cookie, IOMMUFD_PAGE_RESP_SUCCESS) > 0);
    CHECK(f.bytes(6 * kPage)[0] == 0);  // owed: the answer moved nothing yet
    r = control(f, {{"cmd", "dma-status"}, {"device", "accel0"}, {"dma_id", dma_id}});
    CHECK(r.at("status") == "ok");  // dma-status ran it on
    CHECK(f.bytes(6 * kPage)[3] == 4);
    // An injected page request reaches the queue the same way.
    r = control(f, {{"cmd", "fault"}, {"device", "accel0"}, {"pasid", 5}, {"addr", VtdNested::kIova + 3 * kPage},
                    {"perm", {"read"}}, {"recoverable", true}});
    REQUIRE(r.at("ok") == true);
    CHECK(r.at("grpid").is_number());
    const iommu_hwpt_pgfault injected = f.read_fault();
    CHECK(injected.addr == VtdNested::kIova + 3 * kPage);
    CHECK(injected.grpid == r.at("grpid"));
    CHECK(f.respond(injected.cookie, IOMMUFD_PAGE_RESP_INVALID) > 0);
}

TEST_CASE("The invariant checker holds a topology device to its RFC attachments and an owed DMA to its state") {
    FaultingVtd f;
    char got[5] = {};
    auto d = f.dma(f.accel, VtdNested::kIova + 2 * kPage, got, 5, false, 5u);
    REQUIRE(d.out_status == CUSE_IOMMUFD_DMA_PENDING);
    REQUIRE(f.respond(f.read_fault().cookie, IOMMUFD_PAGE_RESP_SUCCESS) > 0);  // owed now
    std::lock_guard guard(f.model.lock());
    auto complains = [&](const std::string& words) {
        const auto problems = check_model(f.model);
        return std::any_of(problems.begin(), problems.end(),
                           [&](const std::string& p) { return p.find(words) != std::string::npos; });
    };
    CHECK(check_model(f.model).empty());
    Device& idev = *f.ctx->iommufd.objects.get<Device>(f.accel);
    std::swap(idev.hwpt_id, idev.pasid_hwpts.at(5));
    CHECK(complains("has 2 page tables, 1 attachments"));
    CHECK(complains("is not attached through page table"));
    std::swap(idev.hwpt_id, idev.pasid_hwpts.at(5));
    DmaJob& job = f.ctx->dmas.at(d.out_dma_id);
    job.running = false;
    CHECK(complains("is owed a resume but is not"));
    job.running = true;
    CHECK(check_model(f.model).empty());
}

}  // namespace
}  // namespace ciommu::test
