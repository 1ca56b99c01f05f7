// A software mdev on the iommufd profile: VFIO's emulated device, whose
// dev_id is an iommufd access.  Its vendor driver's pins are the model's
// DriverPins, as the RFC profile's mdev pins and the selftest's access
// pins are; an unmap, a detach and an unbind drop them.
#include <cstring>
#include <mutex>

#include "../../devices/hotplug.h"
#include "../../iommufd/access.h"
#include "../../core/model_check.h"
#include "../../iommufd/emulated_device.h"
#include "control_test_util.h"
#include "iommufd_topology_fixture.h"

namespace ciommu::test {
namespace {

struct EmulatedFixture : TopologyFixture {
    // Maps uptr read-only (the fixture's map() always adds WRITEABLE).
    long map_read_only(uint64_t uptr, uint64_t length, uint64_t iova) {
        iommu_ioas_map m{};
        m.size = sizeof(m);
        m.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA;
        m.ioas_id = ioas;
        m.user_va = uptr;
        m.length = length;
        m.iova = iova;
        return call(IOMMU_IOAS_MAP, m);
    }
    long pin(uint32_t dev_id, uint64_t iova, uint32_t npages, bool write = false,
             unsigned cmd = CUSE_IOMMUFD_DEVICE_PIN) {
        cuse_iommufd_device_pin p{sizeof(p), write ? uint32_t{CUSE_IOMMUFD_PIN_WRITE} : 0u, dev_id, npages, iova};
        return call(cmd, p);
    }
    long unpin(uint32_t dev_id, uint64_t iova, uint32_t npages) {
        return pin(dev_id, iova, npages, false, CUSE_IOMMUFD_DEVICE_UNPIN);
    }
    // The device's pinned ranges, as the model holds them.
    size_t pinned(uint32_t dev_id) {
        std::lock_guard guard(model.lock());
        Access* access = emulated_device(ctx->iommufd, dev_id);
        return access ? access->pins.size() : 0;
    }
    // vmdev0 bound, attached to the IOAS over one mapped page, pinning it.
    uint32_t pinning_mdev() {
        const uint32_t mdev = bind("vmdev0");
        REQUIRE(map_fixed(buf(), kPage, 0x100000) == 0);
        REQUIRE(attach(mdev, ioas) == 0);
        REQUIRE(pin(mdev, 0x100000, 1) == 0);
        return mdev;
    }
    uint64_t records() {
        std::lock_guard guard(model.lock());
        return ctx->iommufd.records.used;
    }
};

TEST_CASE("A software mdev binds as an emulated device: an access for a dev_id, attached to an IOAS only") {
    EmulatedFixture f;
    uint32_t mdev = 0, other = 0;
    REQUIRE(f.bind("vmdev0", &mdev) == 0);
    CHECK(f.bind("vmdev0", &other) == -EBUSY);
    CHECK(f.destroy(mdev) == -EBUSY);  // its driver holds it
    Context* other_ctx = f.dispatcher.open(getpid());
    cuse_iommufd_device_bind b{};
    b.size = sizeof(b);
    std::strcpy(b.name, "vmdev0");
    CHECK(f.call(CUSE_IOMMUFD_DEVICE_BIND, b, other_ctx) == -EBUSY);  // claimed in the one device table
    f.dispatcher.release(other_ctx);

    // No IOMMU: no hardware info, no page table made for it.
    iommu_hw_info info{};
    info.size = sizeof(info);
    info.dev_id = mdev;
    CHECK(f.call(IOMMU_GET_HW_INFO, info) == -ENOENT);
    uint32_t hwpt = 0;
    CHECK(f.alloc_hwpt(mdev, f.ioas, 0, &hwpt) == -ENOENT);

    // Attach: an IOAS (pt_id stays its id), not a page table, no PASID.
    const uint32_t nic = f.bind("nic0");
    REQUIRE(f.alloc_hwpt(nic, f.ioas, 0, &hwpt) == 0);
    CHECK(f.attach(mdev, hwpt) == -ENOENT);
    CHECK(f.attach(mdev, f.ioas, 1u) == -EOPNOTSUPP);
    CHECK(f.detach(mdev) == -ENOENT);
    uint32_t pt = 0;
    REQUIRE(f.attach(mdev, f.ioas, {}, &pt) == 0);
    CHECK(pt == f.ioas);
    CHECK(f.attach(mdev, f.ioas) == -EBUSY);
    CHECK(f.destroy(hwpt) == 0);
    CHECK(f.destroy(f.ioas) == -EBUSY);  // the access uses it
    CHECK(f.detach(mdev, 1u) == -ENOENT);
    CHECK(f.detach(mdev) == 0);
    CHECK(f.detach(mdev) == -ENOENT);

    // Unbound, it is free again; the id names nothing.
    REQUIRE(f.attach(mdev, f.ioas) == 0);
    CHECK(f.unbind(mdev) == 0);
    CHECK(f.unbind(mdev) == -ENOENT);
    CHECK(f.attach(mdev, f.ioas) == -ENOENT);
    CHECK(f.destroy(f.ioas) == 0);  // the unbind let go of it
    REQUIRE(f.bind("vmdev0", &other) == 0);
}

TEST_CASE("An emulated device's DMA copies through its IOAS; BLOCKED, NOT_MAPPED and PERMISSION are faults") {
    EmulatedFixture f;
    const uint32_t mdev = f.bind("vmdev0");
    constexpr uint64_t kIova = 0x100000;
    REQUIRE(f.map_fixed(f.buf(), 2 * kPage, kIova) == 0);
    const uint64_t ro_iova = 0x400000;
    REQUIRE(f.map_read_only(f.buf(4 * kPage), kPage, ro_iova) == 0);
    std::memcpy(f.bytes(4 * kPage), "read-only", 9);

    char data[16] = "hello, device";
    auto d = f.dma(mdev, kIova + 10, data, 13, true);
    CHECK(d.out_status == CUSE_IOMMUFD_DMA_FAULT);  // not attached
    CHECK(d.out_fault_reason == CUSE_IOMMUFD_FAULT_BLOCKED);
    CHECK(d.out_bytes_done == 0);
    REQUIRE(f.attach(mdev, f.ioas) == 0);

    d = f.dma(mdev, kIova + 10, data, 13, true);
    CHECK(d.out_status == CUSE_IOMMUFD_DMA_OK);
    CHECK(d.out_bytes_done == 13);
    CHECK(d.out_dma_id == 0);
    CHECK(std::memcmp(f.bytes(10), "hello, device", 13) == 0);
    char got[16] = {};
    d = f.dma(mdev, ro_iova, got, 9, false);
    CHECK(d.out_status == CUSE_IOMMUFD_DMA_OK);
    CHECK(std::memcmp(got, "read-only", 9) == 0);

    // Across the end of the mapping: what is mapped moves, then the fault.
    std::memcpy(f.bytes(2 * kPage - 4), "tail", 4);
    std::memset(got, 0, sizeof(got));
    d = f.dma(mdev, kIova + 2 * kPage - 4, got, 8, false);
    CHECK(d.out_status == CUSE_IOMMUFD_DMA_FAULT);
    CHECK(d.out_fault_reason == CUSE_IOMMUFD_FAULT_NOT_MAPPED);
    CHECK(d.out_bytes_done == 4);
    CHECK(d.out_fault_addr == kIova + 2 * kPage);
    CHECK(std::memcmp(got, "tail", 4) == 0);
    d = f.dma(mdev, ro_iova, data, 4, true);
    CHECK(d.out_status == CUSE_IOMMUFD_DMA_FAULT);
    CHECK(d.out_fault_reason == CUSE_IOMMUFD_FAULT_PERMISSION);
    CHECK(std::memcmp(f.bytes(4 * kPage), "read-only", 9) == 0);  // nothing written

    long rc = 0;
    f.dma(mdev, kIova, data, 4, false, 1u, &rc);
    CHECK(rc == -EOPNOTSUPP);  // no PASID without an IOMMU
    f.dma(mdev, kIova, data, 0, false, {}, &rc);
    CHECK(rc == -EINVAL);
    f.dma(mdev, UINT64_MAX - 1, data, 4, false, {}, &rc);
    CHECK(rc == -EINVAL);  // wraps
    f.dma(mdev, kIova, data, CUSE_IOMMUFD_DMA_MAX + 1, false, {}, &rc);
    CHECK(rc == -EINVAL);
    f.dma(mdev, kIova, nullptr, 4, false, {}, &rc);
    CHECK(rc == -EFAULT);  // the caller's buffer
    // The unmap is seen at once: the DMA plans under the lock.
    REQUIRE(f.unmap(kIova, 2 * kPage) == 0);
    d = f.dma(mdev, kIova, got, 4, false);
    CHECK(d.out_fault_reason == CUSE_IOMMUFD_FAULT_NOT_MAPPED);
}

TEST_CASE("An emulated device's pins: exact ranges, dropped by unmap, detach and unbind; no ledger charge") {
    EmulatedFixture f;
    const uint32_t mdev = f.bind("vmdev0");
    const uint32_t nic = f.bind("nic0");
    constexpr uint64_t kIova = 0x200000;
    REQUIRE(f.map_fixed(f.buf(), 4 * kPage, kIova) == 0);
    REQUIRE(f.map_fixed(f.buf(4 * kPage), 4 * kPage, kIova + 4 * kPage) == 0);
    const uint64_t ro_iova = 0x400000;
    REQUIRE(f.map_read_only(f.buf(8 * kPage), kPage, ro_iova) == 0);
    const uint64_t base_records = f.records();

    CHECK(f.pin(mdev, kIova, 1) == -ENOENT);  // not attached
    REQUIRE(f.attach(mdev, f.ioas) == 0);
    CHECK(f.pin(mdev, kIova, 0) == -EINVAL);
    CHECK(f.pin(mdev, kIova, CUSE_IOMMUFD_PIN_MAX + 1) == -EINVAL);
    CHECK(f.pin(mdev, kIova + 1, 1) == -EINVAL);
    CHECK(f.pin(mdev, UINT64_MAX & ~(kPage - 1), 2) == -EINVAL);  // wraps
    CHECK(f.pin(nic, kIova, 1) == -ENOENT);                       // not a software mdev
    CHECK(f.pin(mdev, kIova + 8 * kPage + 0x100000, 1) == -ENOENT);  // a hole
    CHECK(f.pin(mdev, ro_iova, 1, true) == -EPERM);
    CHECK(f.pinned(mdev) == 0);
    CHECK(f.records() == base_records);

    REQUIRE(f.pin(mdev, kIova, 2, true) == 0);
    REQUIRE(f.pin(mdev, kIova, 2, true) == 0);  // the same range again: counted, not recorded twice
    REQUIRE(f.pin(mdev, kIova + 4 * kPage, 1) == 0);
    REQUIRE(f.pin(mdev, ro_iova, 1) == 0);
    CHECK(f.pinned(mdev) == 3);
    CHECK(f.records() == base_records + 3);
    CHECK(f.pins(f.buf()) == 0);  // the pages stay the IOAS's (no domain: nothing pinned)

    CHECK(f.unpin(mdev, kIova, 1) == -EINVAL);  // not a range pinned
    CHECK(f.unpin(mdev, kIova + kPage, 1) == -EINVAL);
    CHECK(f.unpin(mdev, kIova, 2) == 0);  // one of its two pins
    CHECK(f.pinned(mdev) == 3);
    CHECK(f.unpin(mdev, kIova, 2) == 0);
    CHECK(f.pinned(mdev) == 2);
    CHECK(f.records() == base_records + 2);
    CHECK(f.unpin(mdev, kIova, 2) == -EINVAL);
    REQUIRE(f.pin(mdev, kIova, 2) == 0);
    CHECK(f.pinned(mdev) == 3);
    // The IOAS unmaps under a range: it goes (the driver's dma_unmap).
    uint64_t unmapped = 0;
    REQUIRE(f.unmap(kIova + 4 * kPage, 4 * kPage, &unmapped) == 0);
    CHECK(unmapped == 4 * kPage);
    CHECK(f.pinned(mdev) == 2);
    CHECK(f.unpin(mdev, kIova + 4 * kPage, 1) == -EINVAL);
    CHECK(f.detach(mdev) == 0);  // everything else goes
    CHECK(f.pinned(mdev) == 0);
    CHECK(f.records() == base_records - 1);  // the pins', and the area unmapped
    CHECK(f.unpin(mdev, kIova, 2) == -ENOENT);

    REQUIRE(f.attach(mdev, f.ioas) == 0);
    REQUIRE(f.pin(mdev, kIova, 3) == 0);
    CHECK(f.unbind(mdev) == 0);
    CHECK(f.records() == base_records - 1);
    // A context closed with one attached and pinning leaves nothing (the
    // fixture checks the model then).
    const uint32_t again = f.bind("vmdev0");
    REQUIRE(f.attach(again, f.ioas) == 0);
    REQUIRE(f.pin(again, kIova, 1) == 0);
}

TEST_CASE("iommuctl dma reaches an emulated device: its driver's copy through the IOAS") {
    EmulatedFixture f;
    const uint32_t mdev = f.bind("vmdev0");
    REQUIRE(f.map_fixed(f.buf(), kPage, 0x100000) == 0);
    std::memcpy(f.bytes(), "abc", 3);
    json r = control(f, {{"cmd", "dma"}, {"device", "vmdev0"}, {"iova", 0x100000}, {"length", 3}, {"write", false}});
    CHECK(r.at("status") == "fault");
    CHECK(r.at("fault").at("reason") == "blocked");  // not attached yet
    REQUIRE(f.attach(mdev, f.ioas) == 0);
    r = control(f, {{"cmd", "dma"}, {"device", "vmdev0"}, {"iova", 0x100000}, {"length", 3}, {"write", false}});
    CHECK(r.at("status") == "ok");
    CHECK(r.at("data") == "616263");
    r = control(f, {{"cmd", "dma"}, {"device", "vmdev0"}, {"iova", 0x100000 + kPage - 2}, {"length", 4},
                    {"write", true}, {"data", "01020304"}});
    CHECK(r.at("status") == "fault");
    CHECK(r.at("bytes_done") == 2);
    CHECK(r.at("fault").at("reason") == "not-mapped");
    CHECK(r.at("fault").at("addr") == 0x100000 + kPage);
    CHECK(f.bytes(kPage - 2)[0] == 1);
    CHECK(f.bytes(kPage - 1)[0] == 2);
    r = control(f, {{"cmd", "dma"}, {"device", "vmdev0"}, {"iova", 0x100000}, {"length", 3}, {"write", false},
                    {"pasid", 1}});
    CHECK(r.at("ok") == false);
}

TEST_CASE("Removing a bound software mdev takes its access; the IOAS is free again") {
    EmulatedFixture f;
    const uint32_t mdev = f.pinning_mdev();
    {
        std::lock_guard guard(f.model.lock());
        const unsigned index = f.model.topology().index_of(*f.model.topology().find_device("vmdev0"));
        remove_devices(f.model, plan_device_removal(f.model, index));
    }
    CHECK(f.unbind(mdev) == -ENOENT);
    CHECK(f.pinned(mdev) == 0);
    CHECK(f.destroy(f.ioas) == 0);
}

TEST_CASE("The invariant checker holds an emulated device to its RFC binding, its IOAS and the unmap notice") {
    EmulatedFixture f;
    const uint32_t mdev = f.pinning_mdev();
    std::lock_guard guard(f.model.lock());
    auto complains = [&](const std::string& words) {
        for (const std::string& problem : check_model(f.model))
            if (problem.find(words) != std::string::npos)
                return true;
        return false;
    };
    CHECK(check_model(f.model).empty());
    Access& access = *emulated_device(f.ctx->iommufd, mdev);
    access.ioas_id = 0;  // pins with no IOAS
    CHECK(complains("pins with no IOAS"));
    access.ioas_id = f.ioas;
    BoundDevice& dev = *f.ctx->find_device(mdev);
    dev.pins.add(0x100000, kPage);
    CHECK(complains("attached or pinning in the RFC model"));
    dev.pins.drop_all([](const PinnedRange&) {});
    f.ctx->iommufd.accesses.erase(mdev);  // an access an unmap would not tell
    CHECK(complains("an unmap would not tell it"));
    f.ctx->iommufd.accesses.insert(mdev);
    CHECK(check_model(f.model).empty());
}

}  // namespace
}  // namespace ciommu::test
