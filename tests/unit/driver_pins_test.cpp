// DriverPins (ioasid/driver_pins.h): the pinned ranges of a driver, the
// one type behind the RFC profile's mdev pins and the iommufd accesses.
#include <doctest/doctest.h>

#include <vector>

#include "../../ioasid/driver_pins.h"
#include "../../ioasid/pin_ledger.h"

namespace ciommu::test {
namespace {

constexpr uint64_t kPage = 4096;

std::vector<uint32_t> drop(DriverPins& pins, uint64_t first, uint64_t last) {
    std::vector<uint32_t> gone;
    const size_t n = pins.drop_meeting(first, last, [&](const PinnedRange& r) { gone.push_back(r.id); });
    CHECK(n == gone.size());
    return gone;
}

TEST_CASE("DriverPins: ids, exact ranges, and an unmap drops every range it meets, however far back it starts") {
    DriverPins pins;
    const uint32_t big = pins.add(0x100000, 64 * kPage);  // [0x100000, 0x140000)
    const uint32_t one = pins.add(0x200000, kPage);
    const uint32_t twin = pins.add(0x200000, kPage);
    const uint32_t odd = pins.add(0x300003, 5);  // byte ranges: the selftest's access pins
    CHECK(big != one);
    CHECK(one != twin);
    CHECK(pins.size() == 4);
    CHECK(pins.count_exact(0x200000, kPage) == 2);
    CHECK(pins.count_exact(0x200000, 2 * kPage) == 0);

    CHECK(drop(pins, 0x13ffff, 0x13ffff) == std::vector<uint32_t>{big});  // its last byte, 63 pages in
    CHECK(drop(pins, 0x300000, 0x300002).empty());                         // just before a byte range
    CHECK(drop(pins, 0x300007, 0x400000) == std::vector<uint32_t>{odd});   // its last byte
    CHECK(pins.size() == 2);

    CHECK(!pins.take_exact(0x200000, 2 * kPage));
    auto taken = pins.take_exact(0x200000, kPage);
    REQUIRE(taken);
    CHECK(pins.count_exact(0x200000, kPage) == 1);
    CHECK(!pins.take(taken->id));
    REQUIRE(pins.take(taken->id == one ? twin : one));
    CHECK(pins.empty());
}

TEST_CASE("DriverPins: a range's ledger charges are released with it") {
    PinLedger ledger(PinLedger::unlimited());
    const ProcessRef self = Process::unbacked(4242);  // bookkeeping only
    const uint64_t va = 0x7f0000000000;
    REQUIRE(ledger.pin(*self, va, 1) == 0);
    REQUIRE(ledger.pin(*self, va, 1) == 0);
    DriverPins pins;
    pins.add(0x1000, kPage, {PagePin{self, va}});
    pins.add(0x2000, kPage, {PagePin{self, va}});
    CHECK(ledger.pins(*self, va) == 2);
    pins.drop_meeting(0x1000, 0x1fff, [&](const PinnedRange& r) { release_charges(ledger, r); });
    CHECK(ledger.pins(*self, va) == 1);
    pins.drop_all([&](const PinnedRange& r) { release_charges(ledger, r); });
    CHECK(ledger.pins(*self, va) == 0);
    CHECK(pins.empty());
}

}  // namespace
}  // namespace ciommu::test
