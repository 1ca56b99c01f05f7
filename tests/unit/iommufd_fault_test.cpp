// The iommufd profile's fault queue (drivers/iommu/iommufd/fault.c): its
// read() and write() rules, cookies, the answers a detach or a destroy
// gives, the bound; and TRIGGER_IOPF reaching it through a nested page
// table.  The tests add the queue object to the context directly; its
// file descriptor is iommufd_object_file_test.cpp's.
#include <cstring>
#include <vector>

#include "../../iommufd/fault_queue.h"
#include "../../iommufd/hw_pagetable.h"
#include "cuse-iommu-iommufd.h"
#include "fixture.h"

namespace ciommu::test {
namespace {

constexpr size_t kRecord = sizeof(iommu_hwpt_pgfault);

FaultGroup group(uint32_t hwpt, uint32_t dev, size_t faults, uint64_t addr = 0x1000) {
    FaultGroup g{hwpt, dev, {}};
    for (size_t i = 0; i < faults; ++i) {
        iommu_hwpt_pgfault f{};
        f.dev_id = dev;
        f.addr = addr + i * 4096;
        f.flags = i + 1 == faults ? uint32_t{IOMMU_PGFAULT_FLAGS_LAST_PAGE} : 0u;
        g.faults.push_back(f);
    }
    return g;
}

std::vector<std::byte> responses(std::initializer_list<iommu_hwpt_page_response> list) {
    std::vector<std::byte> bytes(list.size() * sizeof(iommu_hwpt_page_response));
    std::memcpy(bytes.data(), list.begin(), bytes.size());
    return bytes;
}

TEST_CASE("Fault queue read(): ESPIPE, whole groups only, EINVAL when the first does not fit, cookies from 1") {
    FaultQueue q;
    std::vector<iommu_hwpt_pgfault> out;
    CHECK(q.read(0, 2 * kRecord, out) == 0);  // nothing waits
    REQUIRE(q.report(group(7, 3, 2)) == 0);
    REQUIRE(q.report(group(7, 3, 1)) == 0);
    CHECK(q.readable());
    CHECK(q.read(8, kRecord, out) == -ESPIPE);
    CHECK(q.read(0, kRecord + 1, out) == -ESPIPE);
    CHECK(q.read(0, kRecord, out) == -EINVAL);  // the first group has two faults
    CHECK(q.read(0, 2 * kRecord, out) == static_cast<long>(2 * kRecord));
    REQUIRE(out.size() == 2);
    CHECK(out[0].cookie == 1);
    CHECK(out[1].cookie == 1);
    CHECK(out[1].flags == IOMMU_PGFAULT_FLAGS_LAST_PAGE);
    out.clear();
    CHECK(q.read(0, 8 * kRecord, out) == static_cast<long>(kRecord));
    CHECK(out[0].cookie == 2);
    CHECK_FALSE(q.readable());
    CHECK(q.awaiting_response() == 2);
}

TEST_CASE("Fault queue write(): each response answers its cookie; the first bad one stops the rest") {
    FaultQueue q;
    std::vector<iommu_hwpt_pgfault> out;
    for (int i = 0; i < 3; ++i)
        REQUIRE(q.report(group(7, 3, 1)) == 0);
    REQUIRE(q.read(0, 3 * kRecord, out) == static_cast<long>(3 * kRecord));
    std::vector<std::pair<uint32_t, uint32_t>> answered;  // {cookie, code}
    auto respond = [&](const FaultGroup& g, uint32_t code) { answered.push_back({g.faults[0].cookie, code}); };
    CHECK(q.write(0, responses({{1, 7}}), respond) == -EINVAL);  // an unknown code
    CHECK(q.write(0, responses({{9, 0}}), respond) == -EINVAL);  // an unknown cookie
    const auto two = responses({{1, IOMMUFD_PAGE_RESP_SUCCESS}, {1, IOMMUFD_PAGE_RESP_SUCCESS}});
    CHECK(q.write(0, two, respond) == static_cast<long>(sizeof(iommu_hwpt_page_response)));  // the 2nd: cookie gone
    CHECK(q.write(0, std::span(two).first(5), respond) == -ESPIPE);
    CHECK(answered.size() == 1);
    // Cookie 1 is free again: the next group read takes it.
    REQUIRE(q.report(group(7, 3, 1)) == 0);
    out.clear();
    REQUIRE(q.read(0, kRecord, out) == static_cast<long>(kRecord));
    CHECK(out[0].cookie == 1);
    // Detaching device 3 from page table 7 answers the rest INVALID.
    q.respond_all(7, 3, respond);
    CHECK(q.awaiting_response() == 0);
    CHECK(answered.size() == 4);
    CHECK(answered.back().second == IOMMUFD_PAGE_RESP_INVALID);
}

TEST_CASE("Fault queue: bounded; an empty group is refused") {
    FaultQueue q;
    CHECK(q.report(FaultGroup{1, 1, {}}) == -EINVAL);
    for (size_t i = 0; i < FaultQueue::kMaxGroups; ++i)
        REQUIRE(q.report(group(1, 1, 1)) == 0);
    CHECK(q.report(group(1, 1, 1)) == -EBUSY);
}

TEST_CASE("TRIGGER_IOPF reaches the fault queue of the nested page table the device is on") {
    Fixture f(Abi::kIommufd);
    iommu_ioas_alloc a{sizeof(a), 0, 0};
    REQUIRE(f.call(IOMMU_IOAS_ALLOC, a) == 0);
    iommu_test_cmd m{};
    m.size = sizeof(m);
    m.op = IOMMU_TEST_OP_MOCK_DOMAIN;
    m.id = a.out_ioas_id;
    REQUIRE(f.call(IOMMU_TEST_CMD, m) == 0);
    const uint32_t stdev = m.mock_domain.out_stdev_id, idev = m.mock_domain.out_idev_id;
    long queue_id;
    {
        std::lock_guard guard(f.model.lock());
        queue_id = f.ctx->iommufd.objects.add(std::make_unique<FaultQueue>());
    }
    REQUIRE(queue_id > 0);
    iommu_hwpt_alloc parent{};
    parent.size = sizeof(parent);
    parent.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
    parent.dev_id = idev;
    parent.pt_id = a.out_ioas_id;
    REQUIRE(f.call(IOMMU_HWPT_ALLOC, parent) == 0);
    const iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
    iommu_hwpt_alloc nested{};
    nested.size = sizeof(nested);
    nested.flags = IOMMU_HWPT_FAULT_ID_VALID;
    nested.dev_id = idev;
    nested.pt_id = parent.out_hwpt_id;
    nested.data_type = IOMMU_HWPT_DATA_SELFTEST;
    nested.data_len = sizeof(data);
    nested.data_uptr = reinterpret_cast<uintptr_t>(&data);
    nested.fault_id = UINT32_MAX;
    CHECK(f.call(IOMMU_HWPT_ALLOC, nested) == -ENOENT);
    nested.fault_id = static_cast<uint32_t>(queue_id);
    REQUIRE(f.call(IOMMU_HWPT_ALLOC, nested) == 0);
    iommu_destroy d{sizeof(d), static_cast<uint32_t>(queue_id)};
    CHECK(f.call(IOMMU_DESTROY, d) == -EBUSY);  // the page table uses it

    iommu_test_cmd t{};
    t.size = sizeof(t);
    t.op = IOMMU_TEST_OP_TRIGGER_IOPF;
    t.trigger_iopf = {idev, 0x1, 0x2, IOMMU_PGFAULT_PERM_READ, 0xdead000};
    REQUIRE(f.call(IOMMU_TEST_CMD, t) == 0);  // not on the nested table yet: dropped
    iommu_test_cmd r{};
    r.size = sizeof(r);
    r.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
    r.id = stdev;
    r.mock_domain_replace.pt_id = nested.out_hwpt_id;
    REQUIRE(f.call(IOMMU_TEST_CMD, r) == 0);
    REQUIRE(f.call(IOMMU_TEST_CMD, t) == 0);
    t.trigger_iopf.dev_id = 999;
    CHECK(f.call(IOMMU_TEST_CMD, t) == -ENOENT);
    std::lock_guard guard(f.model.lock());
    auto* queue = f.ctx->iommufd.objects.get<FaultQueue>(static_cast<uint32_t>(queue_id));
    REQUIRE(queue->delivering() == 1);
    std::vector<iommu_hwpt_pgfault> out;
    REQUIRE(queue->read(0, kRecord, out) == static_cast<long>(kRecord));
    CHECK(out[0].dev_id == idev);
    CHECK(out[0].pasid == 0x1);
    CHECK(out[0].grpid == 0x2);
    CHECK(out[0].addr == 0xdead000);
    CHECK(out[0].flags == (IOMMU_PGFAULT_FLAGS_LAST_PAGE | IOMMU_PGFAULT_FLAGS_PASID_VALID));
}

}  // namespace
}  // namespace ciommu::test
