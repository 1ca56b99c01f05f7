// Bind, get-info, IOASID kinds, attach and detach: every rule and errno of
// the device-centric flow, against the default topology.
#include <doctest/doctest.h>

#include <cerrno>

#include "../../devices/bound_device.h"
#include "fixture.h"

using namespace ciommu;
using namespace ciommu::test;

TEST_CASE("bind: names, cookies, ownership") {
    Fixture f;
    Context* other = f.dispatcher.open(getpid());
    CHECK(f.bind("nic0", 100) == 0);
    CHECK(f.bind("nosuch", 101) == -ENODEV);
    CHECK(f.bind("accel0", 100) == -EEXIST);             // cookie taken in this context
    CHECK(f.bind("nic0", 102) == -EBUSY);                // bound already, here
    CHECK(f.bind("nic0", 100, other) == -EBUSY);          // ... and elsewhere
    CHECK(f.bind("accel0", 100, other) == 0);             // cookies are per context
    CHECK(f.stats().devices == 1);

    iommu_device_bind unterminated{};
    unterminated.argsz = sizeof(unterminated);
    std::memset(unterminated.name, 'a', sizeof(unterminated.name));
    CHECK(f.call(IOMMU_DEVICE_BIND, unterminated) == -EINVAL);

    CHECK(f.unbind(100) == 0);
    CHECK(f.unbind(100) == -ENOENT);
    CHECK(f.bind("nic0", 200, other) == 0);  // free again
    f.dispatcher.release(other);
    CHECK(f.bind("nic0", 7) == 0);  // release unbinds
}

TEST_CASE("bind: the first device claims its whole group for the context") {
    Fixture f;
    Context* other = f.dispatcher.open(getpid());
    REQUIRE(f.bind("nic1", 1) == 0);
    CHECK(f.bind("nic2", 2, other) == -EBUSY);  // same group, another context
    CHECK(f.bind("nic2", 2) == 0);              // same context is fine
    CHECK(f.unbind(1) == 0);
    CHECK(f.bind("nic1", 1, other) == -EBUSY);  // the group is still claimed through nic2
    CHECK(f.unbind(2) == 0);
    CHECK(f.bind("nic1", 1, other) == 0);       // claim released with the last device
    f.dispatcher.release(other);
}

TEST_CASE("bind: an mdev and its parent exclude each other; mdevs share a parent") {
    Fixture f;
    Context* other = f.dispatcher.open(getpid());
    REQUIRE(f.bind("mdev0", 1) == 0);
    CHECK(f.bind("mdev1", 2, other) == 0);   // another context may take a sibling
    CHECK(f.bind("gpu0", 3) == -EBUSY);      // the parent is in use by its mdevs
    CHECK(f.bind("vmdev0", 4) == 0);
    // defPASIDs are distinct on the parent and invisible to userspace.
    const BoundDevice* a = f.ctx->find_device(1);
    const BoundDevice* b = other->find_device(2);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->def_pasid != b->def_pasid);
    CHECK(a->physical == b->physical);  // iommu_dev.device: the parent
    f.dispatcher.release(other);
    CHECK(f.unbind(1) == 0);
    CHECK(f.unbind(4) == 0);
    CHECK(f.bind("gpu0", 3) == 0);
    CHECK(f.bind("mdev0", 1) == -EBUSY);     // the parent is assigned whole
}

TEST_CASE("get-info: too small a buffer gets the needed size back") {
    Fixture f;
    REQUIRE(f.bind("accel0", 9) == 0);
    iommu_device_info info{};
    info.argsz = sizeof(info);
    info.cookie = 9;
    REQUIRE(f.call(IOMMU_DEVICE_GET_INFO, info) == 0);
    CHECK(info.argsz > sizeof(info));
    CHECK(info.cap_offset == 0);
    CHECK((info.flags & IOMMU_DEVICE_INFO_PASID) != 0);
    CHECK((info.flags & IOMMU_DEVICE_INFO_PRI) != 0);

    std::vector<std::byte> buf(info.argsz);
    const uint32_t needed = info.argsz;
    info.argsz = needed;
    info.flags = 0;
    std::memcpy(buf.data(), &info, sizeof(info));
    std::vector<std::byte> out;
    REQUIRE(f.raw(IOMMU_DEVICE_GET_INFO, buf, &out).result == 0);
    REQUIRE(out.size() == needed);
    iommu_device_info full;
    std::memcpy(&full, out.data(), sizeof(full));
    CHECK(full.argsz == needed);
    CHECK((full.flags & IOMMU_DEVICE_INFO_CAPS) != 0);
    CHECK(full.cap_offset >= sizeof(full));

    info.cookie = 10;
    CHECK(f.call(IOMMU_DEVICE_GET_INFO, info) == -ENOENT);
}

// What reaches the caller is min(argsz, needed) bytes (docs/uapi.md, "Buffer
// sizes"): a short buffer is zeroed after the struct, a long one's bytes past
// the answer are not written at all.
TEST_CASE("get-info writes back min(argsz, needed) bytes") {
    Fixture f;
    REQUIRE(f.bind("nic0", 9) == 0);
    const auto request = [](size_t argsz) {
        std::vector<std::byte> bytes(argsz, std::byte{0x5a});  // the tail is output space: any bytes
        iommu_device_info info{};
        info.argsz = static_cast<uint32_t>(argsz);
        info.cookie = 9;
        std::memcpy(bytes.data(), &info, sizeof(info));
        return bytes;
    };
    constexpr size_t kNeeded = 160;  // nic0's whole answer
    std::vector<std::byte> out;

    REQUIRE(f.raw(IOMMU_DEVICE_GET_INFO, request(sizeof(iommu_device_info) + 16), &out).result == 0);
    REQUIRE(out.size() == sizeof(iommu_device_info) + 16);
    for (size_t i = sizeof(iommu_device_info); i < out.size(); ++i)
        CHECK(out[i] == std::byte{0});

    REQUIRE(f.raw(IOMMU_DEVICE_GET_INFO, request(kNeeded + 64), &out).result == 0);
    CHECK(out.size() == kNeeded);
}

TEST_CASE("IOASID kinds are chosen at alloc, with every attribute") {
    Fixture f;
    const long parent = f.alloc();
    REQUIRE(parent > 0);
    const long identity = f.alloc(IOMMU_IOASID_IDENTITY);
    REQUIRE(identity > 0);
    CHECK(f.alloc(IOMMU_IOASID_USER_PGTABLE, parent, 0x10000) > 0);
    CHECK(f.alloc(IOMMU_IOASID_USER_PGTABLE | IOMMU_IOASID_ENFORCE_SNOOP, parent, 0) > 0);
    CHECK(f.alloc(IOMMU_IOASID_USER_PGTABLE, 999, 0) == -ENOENT);
    CHECK(f.alloc(IOMMU_IOASID_USER_PGTABLE, identity, 0) == -EINVAL);   // parent must be kernel-managed
    CHECK(f.alloc(IOMMU_IOASID_USER_PGTABLE, parent, 0x10010) == -EINVAL);  // misaligned root
    CHECK(f.alloc(IOMMU_IOASID_USER_PGTABLE | IOMMU_IOASID_IDENTITY, parent, 0) == -EINVAL);
    CHECK(f.alloc(0, parent, 0) == -EINVAL);  // nesting attributes without USER_PGTABLE
    iommu_ioasid_alloc bad_format{sizeof(bad_format), IOMMU_IOASID_USER_PGTABLE,
                                  static_cast<uint32_t>(parent), 77, 0};
    CHECK(f.call(IOMMU_IOASID_ALLOC, bad_format) == -EOPNOTSUPP);

    Buffer buf(4096);
    CHECK(f.map(identity, 0x1000, buf.ptr, 4096) == -EOPNOTSUPP);  // only kernel-managed maps
    CHECK(f.free_ioasid(parent) == -EBUSY);                        // children use it
    CHECK(f.stats().ioasids == 4);
}

TEST_CASE("attach: whole device, per PASID, mdev; what the IOMMU lacks is EOPNOTSUPP") {
    Fixture f;
    const long gpa = f.alloc();
    const long nested = f.alloc(IOMMU_IOASID_USER_PGTABLE, gpa, 0);
    const long snoop = f.alloc(IOMMU_IOASID_ENFORCE_SNOOP);
    REQUIRE(f.bind("nic0", 1) == 0);
    REQUIRE(f.bind("accel0", 2) == 0);
    REQUIRE(f.bind("legacy0", 3) == 0);
    REQUIRE(f.bind("mdev0", 4) == 0);
    REQUIRE(f.bind("vmdev0", 5) == 0);

    struct Case {
        const char* what;
        uint64_t cookie;
        long ioasid;
        std::optional<uint32_t> pasid;
        long expected;
    };
    const Case cases[] = {
        {"unknown cookie", 99, gpa, {}, -ENOENT},
        {"unknown ioasid", 1, 999, {}, -ENOENT},
        {"PASID on a device without PASID", 1, gpa, 5u, -EOPNOTSUPP},
        {"PASID on an IOMMU without PASID", 3, gpa, 5u, -EOPNOTSUPP},
        {"PASID of an mdev", 4, gpa, 5u, -EOPNOTSUPP},
        {"PASID 0", 2, gpa, 0u, -EINVAL},
        {"PASID past the width", 2, gpa, 1u << 20, -EINVAL},
        {"nesting on an IOMMU without it", 3, nested, {}, -EOPNOTSUPP},
        {"snoop control missing", 3, snoop, {}, -EOPNOTSUPP},
        {"software mdev on a nested IOASID", 5, nested, {}, -EOPNOTSUPP},
        {"whole device", 1, gpa, {}, 0},
        {"whole device again", 1, gpa, {}, -EBUSY},
        {"PASID 5", 2, nested, 5u, 0},
        {"PASID 5 again", 2, gpa, 5u, -EBUSY},
        {"PASID 6 elsewhere", 2, gpa, 6u, 0},
        {"the RID of a PASID device", 2, gpa, {}, 0},
        {"an mdev", 4, gpa, {}, 0},
        {"legacy with snoop-free space", 3, gpa, {}, 0},
        {"software mdev", 5, gpa, {}, 0},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        CHECK(f.attach(c.cookie, static_cast<uint32_t>(c.ioasid), c.pasid) == c.expected);
    }
    CHECK(f.free_ioasid(gpa) == -EBUSY);
    CHECK(f.detach(2, 7u) == -ENOENT);
    CHECK(f.detach(2, 5u) == 0);
    CHECK(f.detach(2, 5u) == -ENOENT);
    CHECK(f.free_ioasid(nested) == 0);
    CHECK(f.unbind(1) == 0);  // unbind detaches
    CHECK(f.detach(2) == 0);
    CHECK(f.detach(2, 6u) == 0);
    CHECK(f.detach(3) == 0);
    CHECK(f.detach(4) == 0);
    CHECK(f.detach(5) == 0);
    CHECK(f.free_ioasid(gpa) == 0);
}

TEST_CASE("attach narrows the aperture and reserved regions; existing mappings must fit") {
    Fixture f;
    Buffer buf(2 * 4096);
    const long high = f.alloc();
    const long msi = f.alloc();
    REQUIRE(f.map(high, uint64_t{1} << 40, buf.ptr, 4096) == 0);  // beyond legacy0's 39 bits
    REQUIRE(f.map(msi, 0xfee00000, buf.ptr, 4096) == 0);          // in iommu0's MSI window
    REQUIRE(f.bind("legacy0", 1) == 0);
    REQUIRE(f.bind("nic0", 2) == 0);
    CHECK(f.attach(1, high) == -ERANGE);
    CHECK(f.attach(2, msi) == -EADDRINUSE);
    CHECK(f.attach(2, high) == 0);
    CHECK(f.map(high, 0xfee01000, buf.ptr, 4096) == -EADDRINUSE);  // now carved out
    CHECK(f.detach(2) == 0);
    CHECK(f.map(high, 0xfee01000, buf.ptr, 4096) == 0);            // and back
}

TEST_CASE("snoop enforcement on a parent binds devices attached through its children") {
    Fixture f;
    const long parent = f.alloc(IOMMU_IOASID_ENFORCE_SNOOP);
    const long child = f.alloc(IOMMU_IOASID_USER_PGTABLE, parent, 0);
    REQUIRE(f.bind("legacy0", 1) == 0);  // iommu1: no snoop control (and no nesting)
    REQUIRE(f.bind("accel0", 2) == 0);   // iommu0: both
    CHECK(f.attach(1, parent) == -EOPNOTSUPP);
    CHECK(f.attach(2, child, 3u) == 0);
}

TEST_CASE("get-info needs room for the whole struct") {
    Fixture f;
    REQUIRE(f.bind("nic0", 1) == 0);
    auto bytes = struct_bytes(sizeof(iommu_device_info) - 1, 0, sizeof(iommu_device_info));
    CHECK(f.raw(IOMMU_DEVICE_GET_INFO, bytes).result == -EINVAL);
}
