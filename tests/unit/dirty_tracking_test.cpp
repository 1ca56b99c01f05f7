// IOMMU_DIRTY_TRACKING: device writes set dirty bits per 4 KiB IOMMU page,
// GET_BITMAP hands them over (and clears them), with iommufd's range rules
// and errnos; what cannot track dirty pages cannot join a tracking space.
#include <doctest/doctest.h>

#include <cerrno>
#include <vector>

#include "../../control/state_dump.h"
#include "fixture.h"
#include "nested_setup.h"

using namespace ciommu;
using namespace ciommu::test;

namespace {

constexpr uint64_t K4 = 4096;
constexpr uint64_t kIova = 0x100000;
constexpr uint32_t kStart = IOMMU_DIRTY_TRACKING_START, kStop = IOMMU_DIRTY_TRACKING_STOP,
                   kGet = IOMMU_DIRTY_TRACKING_GET_BITMAP, kNoClear = IOMMU_DIRTY_TRACKING_NO_CLEAR;

long dirty(Fixture& f, uint32_t flags, long ioasid, uint64_t iova = 0, uint64_t length = 0, uint64_t page_size = 0,
           uint64_t data = 0, Context* in_ctx = nullptr) {
    iommu_dirty_tracking d{sizeof(d), flags, static_cast<uint32_t>(ioasid), 0, iova, length, page_size, data};
    return f.call(IOMMU_DIRTY_TRACKING, d, in_ctx);
}

// The bitmap of [iova, iova + length) in page_size units, from a zeroed one;
// the indexes of its set bits.
std::vector<uint64_t> dirty_units(Fixture& f, long ioasid, uint64_t iova, uint64_t length, uint64_t page_size,
                                  uint32_t flags = 0, long* result = nullptr) {
    std::vector<uint64_t> words((length / page_size + 63) / 64 + 1, 0);
    const long r = dirty(f, kGet | flags, ioasid, iova, length, page_size, reinterpret_cast<uintptr_t>(words.data()));
    if (result)
        *result = r;
    else
        REQUIRE(r == 0);
    std::vector<uint64_t> bits;
    for (uint64_t i = 0; i < words.size() * 64; ++i)
        if (words[i / 64] >> (i % 64) & 1)
            bits.push_back(i);
    return bits;
}

// A kernel-managed IOASID with 8 pages mapped at kIova, nic0 (iommu0, which
// tracks dirty pages) attached, tracking on.
struct Tracked {
    Fixture& f;
    Buffer mem{8 * K4};
    long ioasid = 0;
    explicit Tracked(Fixture& fixture, bool start = true) : f(fixture) {
        ioasid = f.alloc();
        REQUIRE(f.map(ioasid, kIova, mem.ptr, 8 * K4) == 0);
        REQUIRE(f.bind("nic0", 1) == 0);
        REQUIRE(f.attach(1, ioasid) == 0);
        if (start)
            REQUIRE(dirty(f, kStart, ioasid) == 0);
    }
    void write(uint64_t iova, uint64_t length) {
        std::vector<char> bytes(length, 'x');
        iommu_sim_dma d;
        REQUIRE(f.dma(1, iova, bytes.data(), length, true, {}, &d) == 0);
        REQUIRE(d.status == IOMMU_SIM_DMA_OK);
    }
    void read(uint64_t iova, uint64_t length) {
        std::vector<char> bytes(length);
        iommu_sim_dma d;
        REQUIRE(f.dma(1, iova, bytes.data(), length, false, {}, &d) == 0);
        REQUIRE(d.status == IOMMU_SIM_DMA_OK);
    }
    std::vector<uint64_t> pages(uint32_t flags = 0) { return dirty_units(f, ioasid, kIova, 8 * K4, K4, flags); }
};

using Units = std::vector<uint64_t>;

}  // namespace

TEST_CASE("device writes set the dirty bit of each page they touch; reads do not") {
    Fixture f;
    Tracked t(f);
    CHECK(t.pages().empty());
    t.read(kIova, 8 * K4);
    CHECK(t.pages().empty());

    t.write(kIova + K4 - 8, 16);  // across pages 0 and 1
    t.write(kIova + 5 * K4, 1);
    CHECK(t.pages(kNoClear) == Units{0, 1, 5});
    CHECK(t.pages(kNoClear) == Units{0, 1, 5});  // NO_CLEAR leaves them
    CHECK(t.pages() == Units{0, 1, 5});          // read and cleared
    CHECK(t.pages().empty());

    SUBCASE("the state dump shows whether an IOASID tracks") {
        auto tracking = [&] {
            std::lock_guard guard(f.model.lock());
            return dump_state(f.model)["contexts"][0]["ioasids"][0]["dirty_tracking"];
        };
        CHECK(tracking() == true);
        REQUIRE(dirty(f, kStop, t.ioasid) == 0);
        CHECK(tracking() == false);
    }
    SUBCASE("a write that hits the IOTLB is seen too") {
        t.write(kIova + 5 * K4, 1);  // the translation is cached by now
        CHECK(t.pages() == Units{5});
    }
    SUBCASE("START again clears every bit") {
        t.write(kIova + 2 * K4, 1);
        REQUIRE(dirty(f, kStart, t.ioasid) == 0);
        CHECK(t.pages().empty());
    }
    SUBCASE("after STOP writes set nothing, and GET_BITMAP is refused") {
        t.write(kIova + 2 * K4, 1);
        REQUIRE(dirty(f, kStop, t.ioasid) == 0);
        REQUIRE(dirty(f, kStop, t.ioasid) == 0);  // stopping twice is fine
        long result = 0;
        dirty_units(f, t.ioasid, kIova, 8 * K4, K4, 0, &result);
        CHECK(result == -EINVAL);
        REQUIRE(dirty(f, kStart, t.ioasid) == 0);
        CHECK(t.pages().empty());  // the bit written before STOP went with START
    }
    SUBCASE("an unmapped page loses its bit with its entry") {
        t.write(kIova + 7 * K4, 1);
        REQUIRE(f.unmap(t.ioasid, kIova, 8 * K4) == static_cast<long long>(8 * K4));
        REQUIRE(f.map(t.ioasid, kIova, t.mem.ptr, 8 * K4) == 0);
        CHECK(t.pages().empty());
    }
}

TEST_CASE("GET_BITMAP's units: larger pages coalesce, smaller ones split, other bits are kept") {
    Fixture f;
    Tracked t(f);
    t.write(kIova + 1 * K4, 1);
    t.write(kIova + 6 * K4, 1);
    CHECK(dirty_units(f, t.ioasid, kIova, 8 * K4, 2 * K4, kNoClear) == Units{0, 3});
    CHECK(dirty_units(f, t.ioasid, kIova, 8 * K4, 8 * K4, kNoClear) == Units{0});
    CHECK(dirty_units(f, t.ioasid, kIova, 8 * K4, K4 / 2, kNoClear) == Units{2, 3, 12, 13});
    // A sub-range: bit 0 is its first page.
    CHECK(dirty_units(f, t.ioasid, kIova + 6 * K4, 2 * K4, K4, kNoClear) == Units{0});

    // Bits of clean units are left as the caller had them (iommufd's
    // bitmap is only ever OR-ed into).
    uint64_t word = 0xf0;
    REQUIRE(dirty(f, kGet, t.ioasid, kIova, 8 * K4, K4, reinterpret_cast<uintptr_t>(&word)) == 0);
    CHECK(word == (0xf0 | 1u << 1 | 1u << 6));
}

TEST_CASE("a bitmap the caller cannot take keeps the dirty bits: EFAULT") {
    Fixture f;
    Tracked t(f);
    t.write(kIova + 3 * K4, 1);
    void* unreadable = mmap(nullptr, K4, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(unreadable != MAP_FAILED);
    CHECK(dirty(f, kGet, t.ioasid, kIova, 8 * K4, K4, reinterpret_cast<uintptr_t>(unreadable)) == -EFAULT);
    CHECK(t.pages() == Units{3});
    // With nothing dirty the bitmap is still reached for (iommufd pins it first).
    REQUIRE(t.pages() == Units{});
    CHECK(dirty(f, kGet, t.ioasid, kIova, 8 * K4, K4, reinterpret_cast<uintptr_t>(unreadable)) == -EFAULT);
    void* read_only = mmap(nullptr, K4, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(read_only != MAP_FAILED);
    CHECK(dirty(f, kGet, t.ioasid, kIova, 8 * K4, K4, reinterpret_cast<uintptr_t>(read_only)) == -EFAULT);
    munmap(read_only, K4);
    munmap(unreadable, K4);
}

TEST_CASE("DIRTY_TRACKING's errnos, each changing nothing") {
    Fixture f;
    Tracked t(f);
    t.write(kIova, 1);
    uint64_t word = 0;
    const uint64_t data = reinterpret_cast<uintptr_t>(&word);

    SUBCASE("flags: exactly one operation; NO_CLEAR only with GET_BITMAP; no unknown bit") {
        CHECK(dirty(f, 0, t.ioasid) == -EINVAL);
        CHECK(dirty(f, kStart | kStop, t.ioasid) == -EINVAL);
        CHECK(dirty(f, kStart | kGet, t.ioasid, kIova, K4, K4, data) == -EINVAL);
        CHECK(dirty(f, kStart | kNoClear, t.ioasid) == -EINVAL);
        CHECK(dirty(f, kStop | kNoClear, t.ioasid) == -EINVAL);
        CHECK(dirty(f, kGet | (1u << 4), t.ioasid, kIova, K4, K4, data) == -EINVAL);
    }
    SUBCASE("START and STOP take no range") {
        CHECK(dirty(f, kStart, t.ioasid, kIova) == -EINVAL);
        CHECK(dirty(f, kStop, t.ioasid, 0, K4) == -EINVAL);
        CHECK(dirty(f, kStop, t.ioasid, 0, 0, K4) == -EINVAL);
        CHECK(dirty(f, kStart, t.ioasid, 0, 0, 0, data) == -EINVAL);
    }
    SUBCASE("the range: iommufd_check_iova_range()'s rules") {
        CHECK(dirty(f, kGet, t.ioasid, kIova, 0, K4, data) == -EINVAL);           // empty
        CHECK(dirty(f, kGet, t.ioasid, kIova, K4, 0, data) == -EINVAL);           // no page size
        CHECK(dirty(f, kGet, t.ioasid, kIova, 3 * K4, 3 * K4, data) == -EINVAL);  // not a power of two
        CHECK(dirty(f, kGet, t.ioasid, kIova + 512, K4, 512, data) == -EINVAL);   // not 4 KiB aligned
        CHECK(dirty(f, kGet, t.ioasid, kIova, K4 + 512, 512, data) == -EINVAL);
        CHECK(dirty(f, kGet, t.ioasid, kIova + K4, 2 * K4, 2 * K4, data) == -EINVAL);  // not page_size aligned
        CHECK(dirty(f, kGet, t.ioasid, ~0ull - K4 + 1, 2 * K4, K4, data) == -EOVERFLOW);
        CHECK(dirty(f, kGet, t.ioasid, kIova - K4, 2 * K4, K4, data) == -EINVAL);  // a page not mapped
        CHECK(dirty(f, kGet, t.ioasid, kIova, 9 * K4, K4, data) == -EINVAL);
    }
    SUBCASE("the IOASID") {
        CHECK(dirty(f, kStart, 99) == -ENOENT);
        CHECK(dirty(f, kGet, 99, kIova, K4, K4, data) == -ENOENT);
        const long identity = f.alloc(IOMMU_IOASID_IDENTITY);
        REQUIRE(identity > 0);
        CHECK(dirty(f, kStart, identity) == -EOPNOTSUPP);
        Context* other = f.dispatcher.open(getpid());  // another open of /dev/iommu
        CHECK(dirty(f, kStop, t.ioasid, 0, 0, 0, 0, other) == -ENOENT);
        f.dispatcher.release(other);
    }
    CHECK(word == 0);
    CHECK(t.pages() == Units{0});  // every refusal left the bit
}

TEST_CASE("an IOMMU without dirty tracking cannot join a tracking space") {
    Fixture f;
    Tracked t(f, false);
    REQUIRE(f.bind("legacy0", 2) == 0);  // behind iommu1: no dirty tracking

    SUBCASE("START with such a device attached: EOPNOTSUPP") {
        REQUIRE(f.attach(2, t.ioasid) == 0);
        CHECK(dirty(f, kStart, t.ioasid) == -EOPNOTSUPP);
        REQUIRE(f.detach(2) == 0);
        CHECK(dirty(f, kStart, t.ioasid) == 0);
    }
    SUBCASE("attaching such a device while tracking: EINVAL") {
        REQUIRE(dirty(f, kStart, t.ioasid) == 0);
        CHECK(f.attach(2, t.ioasid) == -EINVAL);
        REQUIRE(dirty(f, kStop, t.ioasid) == 0);
        CHECK(f.attach(2, t.ioasid) == 0);
    }
}

TEST_CASE("nested: a write through stage 1 dirties the stage-2 page it lands in") {
    Fixture f;
    NestedSetup n(f);
    CHECK(dirty(f, kStart, n.child) == -EOPNOTSUPP);  // the user's table has no dirty bits of ours
    REQUIRE(dirty(f, kStart, n.parent) == 0);
    char hello[] = "dirty";
    iommu_sim_dma d;
    REQUIRE(n.dma(NestedSetup::kIova + 0x20, hello, sizeof(hello), true, &d) == 0);
    REQUIRE(d.status == IOMMU_SIM_DMA_OK);
    // Data page 0 is stage-2 page kDataGpa; the tables were only read.
    CHECK(dirty_units(f, n.parent, NestedSetup::kDataGpa, 4 * K4, K4) == Units{0});
    CHECK(dirty_units(f, n.parent, NestedSetup::kTablesGpa, 4 * K4, K4).empty());
}
