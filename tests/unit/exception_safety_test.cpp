// What the model's exception safety is built on (docs/design.md, "Exception
// safety by design"), checked directly.  The allocation-failure sweep
// (tests/sweep) fails every allocation of a session and looks at the
// outcome; these tests pin down the promises that make the outcome right:
//   - PageRadix::reserve() makes every table a range needs, so the set()s
//     that commit a mapping or a charge cannot need memory, and
//     release_unused() gives back what a reservation made and nothing else;
//   - detach loosens a space's constraints in place, without memory, to
//     exactly what attach would compute from scratch for the IOMMUs still
//     attached.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <string>
#include <variant>

#include "../../devices/device_ops.h"
#include "../../devices/topology.h"
#include "../../ioasid/page_radix.h"
#include "fixture.h"

using namespace ciommu;
using namespace ciommu::test;

namespace {

using Radix = PageRadix<uint64_t>;
constexpr uint64_t kSlots = Radix::kSlots;

struct PageRange {
    const char* what;
    uint64_t first;
    uint64_t count;
};

// Ranges that start and end in different tables at each level.
constexpr PageRange kRanges[] = {
    {"one page", 0, 1},
    {"across two leaves", kSlots - 1, 2},
    {"across two level-2 tables", kSlots * kSlots - 1, 2},
    {"across two level-3 tables", kSlots * kSlots * kSlots - 1, 2},
    {"many leaves", 5, 3 * kSlots},
    {"the last pages", Radix::kPageLimit - 2 * kSlots, 2 * kSlots},
};

}  // namespace

TEST_CASE("PageRadix: reserve() then release_unused() leaves nothing allocated") {
    for (const PageRange& range : kRanges) {
        const std::string what = range.what;
        CAPTURE(what);
        Radix radix;
        REQUIRE(radix.reserve(range.first, range.count));
        CHECK(radix.table_bytes() > 0);
        radix.release_unused(range.first, range.count);
        CHECK(radix.empty());
        CHECK(radix.table_bytes() == 0);
    }
}

// IoAddressSpace::insert, fault_in and PinLedger::pin commit with set() on
// a reserved range: that must allocate nothing (and the reservation must
// not have made more than the range needs).
TEST_CASE("PageRadix: after reserve(), set() on every page of the range allocates no table") {
    for (const PageRange& range : kRanges) {
        const std::string what = range.what;
        CAPTURE(what);
        Radix reserved, built;
        REQUIRE(reserved.reserve(range.first, range.count));
        const size_t bytes = reserved.table_bytes();
        for (uint64_t i = 0; i < range.count; ++i) {
            reserved.set(range.first + i, i + 1);
            built.set(range.first + i, i + 1);
        }
        CHECK(reserved.table_bytes() == bytes);       // set() made nothing new
        CHECK(built.table_bytes() == bytes);          // reserve() made only what was needed
        reserved.release_unused(range.first, range.count);  // nothing unused: nothing goes
        CHECK(reserved.table_bytes() == bytes);
        CHECK(reserved.get(range.first + range.count - 1) == range.count);
    }
}

// A failed map gives its reservation back; a table that holds entries --
// older ones, or ones set since the reservation -- must stay.
TEST_CASE("PageRadix: release_unused() frees only the tables that hold nothing") {
    const uint64_t older = 7, newer = 2 * kSlots + 3, outside = 9 * kSlots;
    Radix radix;
    radix.set(older, 0x1000);
    radix.set(outside, 0x3000);
    REQUIRE(radix.reserve(0, 4 * kSlots));  // older's leaf, and three more
    radix.set(newer, 0x2000);
    radix.release_unused(0, 4 * kSlots);
    CHECK(radix.get(older) == 0x1000);
    CHECK(radix.get(newer) == 0x2000);
    CHECK(radix.get(outside) == 0x3000);

    Radix same;
    same.set(older, 0x1000);
    same.set(newer, 0x2000);
    same.set(outside, 0x3000);
    CHECK(radix.table_bytes() == same.table_bytes());

    // The tables' counts stayed right: clearing every entry frees them all.
    radix.set(older, 0);
    radix.set(newer, 0);
    radix.set(outside, 0);
    CHECK(radix.empty());
    CHECK(radix.table_bytes() == 0);
}

namespace {

// Three IOMMUs with different apertures; u1 and u2 share a reserved range
// and u0 and u1 an MSI window (a range stays while any unit still attached
// reserves it); u2's DIRECT region never constrains.  u0 can nest.
constexpr char kThreeIommus[] = R"json({
  "iommus": [
    { "name": "u0", "page_sizes": ["4K"], "address_width": 48,
      "reserved_regions": [ { "start": "0xfee00000", "size": "1M", "type": "msi" } ],
      "nesting": "hardware", "pasid_width": 20, "pgtable_formats": ["x86_64"] },
    { "name": "u1", "page_sizes": ["4K"], "address_width": 39,
      "reserved_regions": [ { "start": "0xe0000000", "size": "256M", "type": "reserved" },
                            { "start": "0xfee00000", "size": "1M", "type": "msi" } ] },
    { "name": "u2", "page_sizes": ["4K"], "address_width": 42,
      "reserved_regions": [ { "start": "0xe0000000", "size": "256M", "type": "reserved" },
                            { "start": "0x100000000", "size": "4K", "type": "reserved" },
                            { "start": "0x200000000", "size": "4K", "type": "direct" } ] }
  ],
  "devices": [
    { "name": "dev0", "type": "pci", "bdf": "00:01.0", "iommu": "u0", "group": 1 },
    { "name": "dev1", "type": "pci", "bdf": "00:02.0", "iommu": "u1", "group": 2 },
    { "name": "dev2", "type": "pci", "bdf": "00:03.0", "iommu": "u2", "group": 3 }
  ]
})json";

const Topology& three_iommus() {
    static const Topology topo = [] {
        auto parsed = parse_topology(kThreeIommus);
        if (const auto* err = std::get_if<TopologyError>(&parsed))
            FAIL(describe(*err));
        return std::get<Topology>(std::move(parsed));
    }();
    return topo;
}

// The space's constraints are what attach computes from scratch for the
// IOMMUs attached now.
void check_from_scratch(Fixture& f, const IoAddressSpace& space) {
    const Constraints scratch = constraints_of(f.model, space.attached_units);
    CHECK(space.aperture_end() == scratch.aperture_end);
    CHECK(space.reserved() == scratch.reserved);
}

}  // namespace

TEST_CASE("detach loosens constraints to those of the IOMMUs still attached, in every order") {
    const IovaRange msi{0xfee00000, 0xfeefffff}, window{0xe0000000, 0xefffffff}, u2_page{0x100000000, 0x100000fff};
    std::array<int, 3> order = {0, 1, 2};
    do {
        const std::string detached = "dev" + std::to_string(order[0]) + ", dev" + std::to_string(order[1]) +
                                     ", dev" + std::to_string(order[2]);
        CAPTURE(detached);
        Fixture f(three_iommus());
        const long parent = f.alloc();
        const long child = f.alloc(IOMMU_IOASID_USER_PGTABLE, static_cast<uint32_t>(parent), 0);
        REQUIRE(parent > 0);
        REQUIRE(child > 0);
        const IoAddressSpace& space = *f.ctx->ioasids.find(static_cast<uint32_t>(parent));
        for (uint64_t dev = 0; dev < 3; ++dev) {
            REQUIRE(f.bind("dev" + std::to_string(dev), dev + 1) == 0);
            // dev0 through the nested child: its IOMMU constrains the parent.
            REQUIRE(f.attach(dev + 1, static_cast<uint32_t>(dev == 0 ? child : parent)) == 0);
        }
        // All three, written out (this anchors constraints_of() itself).
        CHECK(space.aperture_end() == uint64_t{1} << 39);
        CHECK(space.reserved() == std::vector<IovaRange>{window, msi, u2_page});
        for (int dev : order) {
            REQUIRE(f.detach(static_cast<uint64_t>(dev) + 1) == 0);
            check_from_scratch(f, space);
        }
        CHECK(space.aperture_end() == kApertureEnd);
        CHECK(space.reserved().empty());
    } while (std::next_permutation(order.begin(), order.end()));
}
