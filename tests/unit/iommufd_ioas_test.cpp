// The iommufd profile's address spaces and mock domains, through the
// dispatcher as a program sees them: IOAS_MAP/UNMAP/COPY/IOVA_RANGES/
// ALLOW_IOVAS, the selftest mock's devices, domains and checks, dirty
// tracking and the VFIO type1 compatibility commands -- each with the
// errno drivers/iommu/iommufd/ gives.  The fixture's checker holds the
// pin ledger to the pinned areas after every test.
#include <algorithm>
#include <bit>
#include <linux/vfio.h>
#include <sys/mman.h>
#include <vector>

#include "cuse-iommu-iommufd.h"
#include "iommufd_fixture.h"

namespace ciommu::test {
namespace {

TEST_CASE("IOAS_MAP with no domain: byte-granular, lazy, IOVAs picked aligned and never 0") {
    IoasFixture f;
    uint64_t iova = 0;
    // Unmapped memory maps fine: nothing is touched until a domain needs it.
    CHECK(f.map(uint64_t{1} << 31, 3, &iova) == 0);
    CHECK(iova != 0);
    CHECK(f.unmap(iova, 3) == 0);
    CHECK(f.pins(f.buf()) == 0);
    // The IOVA keeps the user address's alignment, up to the length's.
    CHECK(f.map(f.buf(kPage), 4 * kPage, &iova) == 0);
    const uint64_t align = std::min<uint64_t>(4 * kPage, uint64_t{1} << std::countr_zero(f.buf(kPage)));
    CHECK(iova % align == 0);
    // Errors change nothing.
    CHECK(f.map_fixed(f.buf(), kPage, iova + kPage) == -EEXIST);
    CHECK(f.map(f.buf(), 0, &iova) == -EINVAL);
    iommu_ioas_map bad{sizeof(bad), 0, f.ioas, 0, f.buf(), kPage, 0};  // neither readable nor writeable
    CHECK(f.call(IOMMU_IOAS_MAP, bad) == -EINVAL);
    bad.flags = 1u << 3;
    CHECK(f.call(IOMMU_IOAS_MAP, bad) == -EOPNOTSUPP);
    uint64_t unmapped = 0;
    CHECK(f.unmap(iova, kPage) == -ENOENT);  // would split the area
    CHECK(f.unmap(0, UINT64_MAX, &unmapped) == 0);
    CHECK(unmapped == 4 * kPage);
    CHECK(f.unmap(iova, 4 * kPage) == -ENOENT);  // nothing there
}

TEST_CASE("Reserved and allowed ranges: EINVAL, EADDRINUSE, and IOVAs chosen around them") {
    IoasFixture f;
    CHECK(f.add_reserved(kPage, 0) == -EINVAL);
    CHECK(f.add_reserved(UINT64_MAX, 2) == -EOVERFLOW);
    REQUIRE(f.add_reserved(kPage, 100 * kPage) == 0);
    CHECK(f.map_fixed(f.buf(), kPage, 2 * kPage) == -EINVAL);
    uint64_t iova = 0;
    REQUIRE(f.map(f.buf(), kPage, &iova) == 0);
    CHECK(iova >= 101 * kPage);
    CHECK(f.add_reserved(iova, 1) == -EADDRINUSE);  // meets the area

    iommu_iova_range ranges[2] = {{200 * kPage, 300 * kPage - 1}, {0, 0}};
    iommu_ioas_allow_iovas allow{sizeof(allow), f.ioas, 1, 0, reinterpret_cast<uintptr_t>(ranges)};
    REQUIRE(f.call(IOMMU_IOAS_ALLOW_IOVAS, allow) == 0);
    uint64_t picked = 0;
    REQUIRE(f.map(f.buf(), 8 * kPage, &picked) == 0);
    CHECK(picked >= 200 * kPage);
    CHECK(picked + 8 * kPage <= 300 * kPage);
    ranges[1] = {250 * kPage, 260 * kPage};  // overlaps the first
    allow.num_iovas = 2;
    CHECK(f.call(IOMMU_IOAS_ALLOW_IOVAS, allow) == -EINVAL);
    ranges[0] = {kPage, 600 * kPage};  // meets the reserved range
    allow.num_iovas = 1;
    CHECK(f.call(IOMMU_IOAS_ALLOW_IOVAS, allow) == -EADDRINUSE);

    // IOVA_RANGES: the holes between reserved ranges; too small a buffer is
    // EMSGSIZE with the count written back.
    iommu_iova_range out[4] = {};
    iommu_ioas_iova_ranges r{sizeof(r), f.ioas, 1, 0, reinterpret_cast<uintptr_t>(out), 0};
    CHECK(f.call(IOMMU_IOAS_IOVA_RANGES, r) == -EMSGSIZE);
    CHECK(r.num_iovas == 2);
    CHECK(out[0].start == 0);
    CHECK(out[0].last == kPage - 1);
    CHECK(out[1].start == 0);  // not written: it did not fit
    r.num_iovas = 4;
    CHECK(f.call(IOMMU_IOAS_IOVA_RANGES, r) == 0);
    CHECK(out[1].start == 101 * kPage);
    CHECK(out[1].last == UINT64_MAX);
    CHECK(r.out_iova_alignment == 1);
}

TEST_CASE("A mock domain: aperture, 2 KiB alignment, one pin per page per area, MD_CHECK_MAP") {
    IoasFixture f;
    REQUIRE(f.map_fixed(f.buf(), kPage, 0x1000) == 0);
    uint32_t ids[3] = {};
    CHECK(f.mock_domain(f.ioas, ids) == -EADDRINUSE);  // an area outside the aperture
    CHECK(f.unmap(0x1000, kPage) == 0);
    REQUIRE(f.map_fixed(f.buf(), 2 * kPage, kAperture) == 0);
    CHECK(f.pins(f.buf()) == 0);  // no domain yet: lazy
    REQUIRE(f.mock_domain(f.ioas, ids) == 0);
    CHECK(f.pins(f.buf()) == 1);
    CHECK(f.check_map(ids[1], kAperture, 2 * kPage, f.buf()) == 0);
    CHECK(f.check_map(ids[1], kAperture, kPage, f.buf(kPage)) == -EINVAL);  // another page
    // A second device shares the automatic domain: still one pin.
    uint32_t ids2[3] = {};
    REQUIRE(f.mock_domain(f.ioas, ids2) == 0);
    CHECK(ids2[1] == ids[1]);
    CHECK(f.pins(f.buf()) == 1);
    // Lengths are now 2 KiB multiples; a half page maps.
    uint64_t iova = 0;
    CHECK(f.map(f.buf(), 1000, &iova) == -EINVAL);
    REQUIRE(f.map(f.buf(2048), 2048, &iova) == 0);
    CHECK(f.check_map(ids[1], iova, 2048, f.buf(2048)) == 0);
    CHECK(f.pins(f.buf()) == 2);  // a second area over the same page
    // Mapped memory must exist once a domain needs it.
    void* gone = mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(gone != MAP_FAILED);
    munmap(static_cast<char*>(gone) + kPage, kPage);
    CHECK(f.map(reinterpret_cast<uintptr_t>(gone), 2 * kPage, &iova) == -EFAULT);
    munmap(gone, kPage);
    CHECK(f.destroy(f.ioas) == -EBUSY);  // a page table is on it
    CHECK(f.destroy(ids[2]) == -EBUSY);  // a bound device goes with its mock device
    CHECK(f.destroy(ids[0]) == 0);
    CHECK(f.destroy(ids2[0]) == 0);     // the last device: the automatic domain goes
    CHECK(f.check_map(ids[1], kAperture, kPage, f.buf()) == -ENOENT);
    CHECK(f.pins(f.buf()) == 0);
}

TEST_CASE("Closing the fd releases every object and every pin") {
    IoasFixture f;
    uint32_t ids[3] = {};
    REQUIRE(f.mock_domain(f.ioas, ids) == 0);
    REQUIRE(f.map_fixed(f.buf(), 4 * kPage, kAperture) == 0);
    CHECK(f.pins(f.buf()) == 1);
    f.dispatcher.release(f.ctx);
    f.ctx = f.dispatcher.open(getpid());
    CHECK(f.pins(f.buf()) == 0);
}

TEST_CASE("IOAS_COPY maps the same memory into a second IOAS; partial source ranges are ENOENT") {
    IoasFixture f;
    REQUIRE(f.map_fixed(f.buf(), 4 * kPage, kAperture) == 0);
    iommu_ioas_alloc a{sizeof(a), 0, 0};
    REQUIRE(f.call(IOMMU_IOAS_ALLOC, a) == 0);
    uint32_t ids[3] = {};
    REQUIRE(f.mock_domain(a.out_ioas_id, ids) == 0);
    iommu_ioas_copy c{sizeof(c), IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE, a.out_ioas_id, f.ioas,
                      2 * kPage, kAperture + kPage, kAperture + kPage};
    REQUIRE(f.call(IOMMU_IOAS_COPY, c) == 0);
    CHECK(f.check_map(ids[1], kAperture + kPage, 2 * kPage, f.buf(kPage)) == 0);
    CHECK(f.pins(f.buf(kPage)) == 1);
    c.src_iova = kAperture + 3 * kPage;  // runs past the source's area
    c.dst_iova = kAperture + 8 * kPage;
    CHECK(f.call(IOMMU_IOAS_COPY, c) == -ENOENT);
}

TEST_CASE("Dirty tracking: DIRTY marks IOPTEs, GET_DIRTY_BITMAP reports and clears them") {
    IoasFixture f;
    uint32_t ids[3] = {};
    REQUIRE(f.mock_domain(f.ioas, ids) == 0);
    REQUIRE(f.map_fixed(f.buf(), 8 * kPage, kAperture) == 0);
    iommu_hwpt_alloc h{};
    h.size = sizeof(h);
    h.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
    h.dev_id = ids[2];
    h.pt_id = f.ioas;
    REQUIRE(f.call(IOMMU_HWPT_ALLOC, h) == 0);
    uint64_t bits = 0b1001;  // IO pages 0 and 3
    iommu_test_cmd d{};
    d.size = sizeof(d);
    d.op = IOMMU_TEST_OP_DIRTY;
    d.id = h.out_hwpt_id;
    d.dirty.iova = kAperture;
    d.dirty.length = 8 * kPage;
    d.dirty.page_size = 2048;
    d.dirty.uptr = reinterpret_cast<uintptr_t>(&bits);
    CHECK(f.call(IOMMU_TEST_CMD, d) == -EINVAL);  // tracking is off
    iommu_hwpt_set_dirty_tracking on{sizeof(on), IOMMU_HWPT_DIRTY_TRACKING_ENABLE, h.out_hwpt_id, 0};
    REQUIRE(f.call(IOMMU_HWPT_SET_DIRTY_TRACKING, on) == 0);
    REQUIRE(f.call(IOMMU_TEST_CMD, d) == 0);
    CHECK(d.dirty.out_nr_dirty == 2);
    uint64_t out = 0;
    iommu_hwpt_get_dirty_bitmap g{sizeof(g), h.out_hwpt_id, 0, 0, kAperture, 8 * kPage, 2048,
                                  reinterpret_cast<uintptr_t>(&out)};
    REQUIRE(f.call(IOMMU_HWPT_GET_DIRTY_BITMAP, g) == 0);
    CHECK(out == 0b1001);
    out = 0;
    REQUIRE(f.call(IOMMU_HWPT_GET_DIRTY_BITMAP, g) == 0);
    CHECK(out == 0);  // read and cleared
    g.length = 16 * kPage;  // past the area
    CHECK(f.call(IOMMU_HWPT_GET_DIRTY_BITMAP, g) == -EINVAL);
    g.page_size = 0x5000;  // passes the alignment masks, but is no power of two
    g.iova = kAperture;
    g.length = kPage;
    CHECK(f.call(IOMMU_HWPT_GET_DIRTY_BITMAP, g) == -EINVAL);
    // The auto domain was made without dirty tracking.
    iommu_hwpt_set_dirty_tracking auto_on{sizeof(auto_on), IOMMU_HWPT_DIRTY_TRACKING_ENABLE, ids[1], 0};
    CHECK(f.call(IOMMU_HWPT_SET_DIRTY_TRACKING, auto_on) == -EOPNOTSUPP);
    CHECK(f.destroy(h.out_hwpt_id) == 0);
}

TEST_CASE("VFIO type1 compatibility: MAP/UNMAP on the compat IOAS; type1 cuts, type1v2 does not") {
    IoasFixture f;
    vfio_iommu_type1_dma_map m{sizeof(m), VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, f.buf(), kAperture,
                               4 * kPage};
    CHECK(f.call(VFIO_IOMMU_MAP_DMA, m) == -ENODEV);  // no compat IOAS yet
    uint32_t ids[3] = {};
    REQUIRE(f.mock_domain(f.ioas, ids) == 0);
    iommu_vfio_ioas v{sizeof(v), f.ioas, IOMMU_VFIO_IOAS_SET, 0};
    REQUIRE(f.call(IOMMU_VFIO_IOAS, v) == 0);
    REQUIRE(f.value(VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0);
    REQUIRE(f.call(VFIO_IOMMU_MAP_DMA, m) == 0);
    vfio_iommu_type1_dma_unmap u{sizeof(u), 0, kAperture, kPage};
    CHECK(f.call(VFIO_IOMMU_UNMAP_DMA, u) == -ENOENT);  // type1v2: no split
    REQUIRE(f.value(VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) == -EINVAL);  // domains hold mappings
    u.size = 4 * kPage;
    REQUIRE(f.call(VFIO_IOMMU_UNMAP_DMA, u) == 0);
    CHECK(u.size == 4 * kPage);
    REQUIRE(f.value(VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) == 0);  // now empty: HUGE_PAGES goes off
    REQUIRE(f.call(VFIO_IOMMU_MAP_DMA, m) == 0);
    u = {sizeof(u), 0, kAperture + kPage, kPage};
    REQUIRE(f.call(VFIO_IOMMU_UNMAP_DMA, u) == 0);  // type1 cuts the mapping
    CHECK(u.size == kPage);
    CHECK(f.pins(f.buf()) == 1);
    CHECK(f.pins(f.buf(kPage)) == 0);
    CHECK(f.check_map(ids[1], kAperture + 2 * kPage, 2 * kPage, f.buf(2 * kPage)) == 0);
}

TEST_CASE("VFIO_IOMMU_GET_INFO never writes past argsz, and links its caps only where they fit") {
    IoasFixture f;
    uint32_t ids[3] = {};
    REQUIRE(f.mock_domain(f.ioas, ids) == 0);
    iommu_vfio_ioas v{sizeof(v), f.ioas, IOMMU_VFIO_IOAS_SET, 0};
    REQUIRE(f.call(IOMMU_VFIO_IOAS, v) == 0);
    struct {
        vfio_iommu_type1_info info;
        std::byte caps[128];
    } whole{};
    whole.info.argsz = sizeof(vfio_iommu_type1_info);
    REQUIRE(f.call(VFIO_IOMMU_GET_INFO, whole) == 0);
    const uint32_t full = whole.info.argsz;
    CHECK(full > sizeof(vfio_iommu_type1_info));
    CHECK(whole.info.cap_offset == 0);
    CHECK(whole.info.iova_pgsizes == kPage);
    for (uint32_t argsz = sizeof(vfio_iommu_type1_info); argsz <= full; ++argsz) {
        INFO(argsz);
        std::vector<std::byte> bytes(full + 16, std::byte{0xee});
        std::memcpy(bytes.data(), &argsz, sizeof(argsz));
        std::memset(bytes.data() + 4, 0, sizeof(vfio_iommu_type1_info) - 4);
        size_t written = 0;
        REQUIRE(f.dispatcher.ioctl(*f.ctx, Caller::self(), VFIO_IOMMU_GET_INFO,
                                   reinterpret_cast<uintptr_t>(bytes.data()), &written) == 0);
        for (size_t i = argsz; i < bytes.size(); ++i)
            REQUIRE(bytes[i] == std::byte{0xee});
        vfio_iommu_type1_info info;
        std::memcpy(&info, bytes.data(), sizeof(info));
        CHECK(info.argsz == full);
        CHECK(info.cap_offset == (argsz == full ? sizeof(info) : 0));
        if (argsz == full) {  // the chain: DMA_AVAIL, then IOVA_RANGE, the last
            vfio_info_cap_header first, second;
            std::memcpy(&first, bytes.data() + sizeof(info), sizeof(first));
            CHECK(first.id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
            REQUIRE(first.next < full);
            std::memcpy(&second, bytes.data() + first.next, sizeof(second));
            CHECK(second.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
            CHECK(second.next == 0);
        }
    }
}

}  // namespace
}  // namespace ciommu::test

namespace ciommu::test {
namespace {

long invalidate(IoasFixture& f, uint32_t hwpt, const iommu_hwpt_invalidate_selftest* reqs, uint32_t type,
                uint32_t entry_len, uint32_t* num) {
    iommu_hwpt_invalidate inv{sizeof(inv), hwpt, reinterpret_cast<uintptr_t>(reqs), type, entry_len, *num, 0};
    const long rc = f.call(IOMMU_HWPT_INVALIDATE, inv);
    *num = inv.entry_num;
    return rc;
}

long check_iotlb(IoasFixture& f, uint32_t hwpt, uint32_t id, uint32_t value) {
    iommu_test_cmd t{};
    t.size = sizeof(t);
    t.op = IOMMU_TEST_OP_MD_CHECK_IOTLB;
    t.id = hwpt;
    t.check_iotlb.id = id;
    t.check_iotlb.iotlb = value;
    return f.call(IOMMU_TEST_CMD, t);
}

TEST_CASE("Nested page tables: HWPT_ALLOC over a NEST_PARENT one, HWPT_INVALIDATE, MD_CHECK_IOTLB, attach") {
    IoasFixture f;
    uint32_t ids[3] = {};
    REQUIRE(f.mock_domain(f.ioas, ids) == 0);
    auto alloc = [&](uint32_t pt, uint32_t flags, uint32_t type, const void* data, uint32_t len, uint32_t* out) {
        iommu_hwpt_alloc h{};
        h.size = sizeof(h);
        h.flags = flags;
        h.dev_id = ids[2];
        h.pt_id = pt;
        h.data_type = type;
        h.data_len = len;
        h.data_uptr = reinterpret_cast<uintptr_t>(data);
        const long rc = f.call(IOMMU_HWPT_ALLOC, h);
        *out = h.out_hwpt_id;
        return rc;
    };
    const iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
    uint32_t parent = 0, plain = 0, nested = 0, unused = 0;
    REQUIRE(alloc(f.ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0, nullptr, 0, &parent) == 0);
    REQUIRE(alloc(f.ioas, 0, 0, nullptr, 0, &plain) == 0);
    CHECK(alloc(parent, 0, IOMMU_HWPT_DATA_NONE, &data, sizeof(data), &unused) == -EINVAL);
    CHECK(alloc(parent, 0, IOMMU_HWPT_DATA_SELFTEST + 1, &data, sizeof(data), &unused) == -EOPNOTSUPP);
    CHECK(alloc(parent, 0, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data) - 1, &unused) == -EINVAL);
    CHECK(alloc(parent, 0, IOMMU_HWPT_DATA_SELFTEST, nullptr, sizeof(data), &unused) == -EFAULT);
    CHECK(alloc(plain, 0, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data), &unused) == -EINVAL);
    CHECK(alloc(ids[1], 0, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data), &unused) == -EINVAL);  // automatic
    CHECK(alloc(parent, IOMMU_HWPT_FAULT_ID_VALID, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data), &unused) ==
          -ENOENT);
    REQUIRE(alloc(parent, 0, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data), &nested) == 0);
    CHECK(alloc(nested, 0, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data), &unused) == -EINVAL);
    CHECK(f.destroy(parent) == -EBUSY);
    for (uint32_t i = 0; i < 4; ++i)
        CHECK(check_iotlb(f, nested, i, IOMMU_TEST_IOTLB_DEFAULT) == 0);
    CHECK(check_iotlb(f, parent, 0, IOMMU_TEST_IOTLB_DEFAULT) == -ENOENT);

    iommu_hwpt_invalidate_selftest reqs[2] = {{0, 0}, {0xffffffff, 1}};
    uint32_t num = 1;
    CHECK(invalidate(f, parent, reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(reqs[0]), &num) == -ENOENT);
    CHECK(num == 0);
    num = 1;
    CHECK(invalidate(f, nested, reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID, sizeof(reqs[0]), &num) ==
          -EINVAL);
    num = 1;
    CHECK(invalidate(f, nested, reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(reqs[0]) + 1, &num) == -EINVAL);
    num = 2;  // the first is done, the second's flags stop the call
    CHECK(invalidate(f, nested, reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(reqs[0]), &num) == -EOPNOTSUPP);
    CHECK(num == 1);
    CHECK(check_iotlb(f, nested, 0, 0) == 0);
    CHECK(check_iotlb(f, nested, 1, IOMMU_TEST_IOTLB_DEFAULT) == 0);
    reqs[0] = {IOMMU_TEST_INVALIDATE_FLAG_ALL, 0};
    num = 1;
    CHECK(invalidate(f, nested, reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(reqs[0]), &num) == 0);
    CHECK(num == 1);
    CHECK(check_iotlb(f, nested, 3, 0) == 0);

    // A device moves onto the nested page table: it is busy while used.
    iommu_test_cmd r{};
    r.size = sizeof(r);
    r.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
    r.id = ids[0];
    r.mock_domain_replace.pt_id = nested;
    REQUIRE(f.call(IOMMU_TEST_CMD, r) == 0);
    CHECK(f.destroy(nested) == -EBUSY);
    r.mock_domain_replace.pt_id = parent;
    REQUIRE(f.call(IOMMU_TEST_CMD, r) == 0);
    CHECK(f.destroy(nested) == 0);
    CHECK(f.destroy(parent) == -EBUSY);  // the device is on it now
}

}  // namespace
}  // namespace ciommu::test

namespace ciommu::test {
namespace {

TEST_CASE("A first domain, or a copy into a domain, checks the memory it pins (EFAULT, nothing changed)") {
    IoasFixture f;
    void* gone = mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(gone != MAP_FAILED);
    REQUIRE(munmap(static_cast<char*>(gone) + kPage, kPage) == 0);
    // Lazily mapped: no domain, nothing is touched.
    REQUIRE(f.map_fixed(reinterpret_cast<uintptr_t>(gone), 2 * kPage, kAperture) == 0);
    uint32_t ids[3] = {};
    CHECK(f.mock_domain(f.ioas, ids) == -EFAULT);
    {
        std::lock_guard guard(f.model.lock());
        CHECK(f.ctx->iommufd.objects.size() == 1);  // the IOAS alone: the mock device went again
    }
    REQUIRE(f.unmap(kAperture, 2 * kPage) == 0);
    REQUIRE(f.mock_domain(f.ioas, ids) == 0);
    // A copy from a domain-less IOAS of the missing memory into this one.
    iommu_ioas_alloc a{sizeof(a), 0, 0};
    REQUIRE(f.call(IOMMU_IOAS_ALLOC, a) == 0);
    uint64_t src = 0;
    REQUIRE(f.map(reinterpret_cast<uintptr_t>(gone), 2 * kPage, &src, 0, a.out_ioas_id) == 0);
    iommu_ioas_copy c{sizeof(c), IOMMU_IOAS_MAP_READABLE, f.ioas, a.out_ioas_id, 2 * kPage, 0, src};
    CHECK(f.call(IOMMU_IOAS_COPY, c) == -EFAULT);
    c.length = kPage;  // the page that is there
    CHECK(f.call(IOMMU_IOAS_COPY, c) == 0);
    CHECK(f.check_map(ids[1], c.dst_iova, kPage, reinterpret_cast<uintptr_t>(gone)) == 0);
    munmap(gone, kPage);
}

}  // namespace
}  // namespace ciommu::test

namespace ciommu::test {
namespace {

TEST_CASE("A context's areas and ranges are bounded (VFIO's 65535 entries): ENOSPC, nothing changed") {
    IoasFixture f;
    std::vector<iommu_iova_range> ranges(RecordBudget::kLimit + 1);
    for (size_t i = 0; i < ranges.size(); ++i)
        ranges[i] = {(i + 1) * 2 * kPage, (i + 1) * 2 * kPage + kPage - 1};
    iommu_ioas_allow_iovas allow{sizeof(allow), f.ioas, static_cast<uint32_t>(ranges.size()), 0,
                                 reinterpret_cast<uintptr_t>(ranges.data())};
    CHECK(f.call(IOMMU_IOAS_ALLOW_IOVAS, allow) == -ENOSPC);
    allow.num_iovas = RecordBudget::kLimit;
    REQUIRE(f.call(IOMMU_IOAS_ALLOW_IOVAS, allow) == 0);
    uint64_t iova = 0;
    CHECK(f.map(f.buf(), kPage, &iova) == -ENOSPC);
    CHECK(f.add_reserved(0, 1) == -ENOSPC);
    allow.num_iovas = RecordBudget::kLimit - 1;  // one record free again
    REQUIRE(f.call(IOMMU_IOAS_ALLOW_IOVAS, allow) == 0);
    REQUIRE(f.map(f.buf(), kPage, &iova) == 0);
    CHECK(f.add_reserved(0, 1) == -ENOSPC);
    CHECK(f.destroy(f.ioas) == 0);  // everything goes back to the budget
    std::lock_guard guard(f.model.lock());
    CHECK(f.ctx->iommufd.records.used == 0);
}

}  // namespace
}  // namespace ciommu::test

namespace ciommu::test {
namespace {

// The argument, readable but not writable: the answer cannot be written.
template <typename T> long call_read_only(Fixture& f, unsigned cmd, const T& args) {
    void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(page != MAP_FAILED);
    std::memcpy(page, &args, sizeof(T));
    REQUIRE(mprotect(page, 4096, PROT_READ) == 0);
    const long r = f.dispatcher.ioctl(*f.ctx, Caller::self(), cmd, reinterpret_cast<uintptr_t>(page));
    munmap(page, 4096);
    return r;
}

TEST_CASE("An object made by a call whose answer cannot be written goes again (iommufd_object_abort)") {
    IoasFixture f;  // holds one IOAS
    auto objects = [&] {
        std::lock_guard guard(f.model.lock());
        return f.ctx->iommufd.objects.size();
    };
    iommu_ioas_alloc a{sizeof(a), 0, 0};
    CHECK(call_read_only(f, IOMMU_IOAS_ALLOC, a) == -EFAULT);
    CHECK(objects() == 1);
    iommu_test_cmd m{};
    m.size = sizeof(m);
    m.op = IOMMU_TEST_OP_MOCK_DOMAIN;
    m.id = f.ioas;
    CHECK(call_read_only(f, IOMMU_TEST_CMD, m) == -EFAULT);
    CHECK(objects() == 1);  // no mock device, bound device or automatic page table left
    CHECK(f.destroy(f.ioas) == 0);  // nothing uses the IOAS
}

}  // namespace
}  // namespace ciommu::test
