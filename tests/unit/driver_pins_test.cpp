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
    PinLedger ledger(PinLedger::unlimited());
    const uint32_t big = pins.add(0x100000, 64 * kPage);  // [0x100000, 0x140000)
    const uint32_t one = pins.add(0x200000, kPage);
    const uint32_t twin = pins.add(0x200000, kPage);  // add() records a second range (the selftest's items)
    const uint32_t odd = pins.add(0x300003, 5);       // byte ranges: the selftest's access pins
    CHECK(big != one);
    CHECK(one != twin);
    CHECK(pins.size() == 4);
    CHECK(pins.count_exact(0x200000, kPage) == 2);
    CHECK(pins.count_exact(0x200000, 2 * kPage) == 0);

    CHECK(drop(pins, 0x13ffff, 0x13ffff) == std::vector<uint32_t>{big});  // its last byte, 63 pages in
    CHECK(drop(pins, 0x300000, 0x300002).empty());                         // just before a byte range
    CHECK(drop(pins, 0x300007, 0x400000) == std::vector<uint32_t>{odd});   // its last byte
    CHECK(pins.size() == 2);

    using U = DriverPins::Unpinned;
    CHECK(pins.unpin_exact(0x200000, 2 * kPage, ledger) == U::kNone);
    CHECK(pins.unpin_exact(0x200000, kPage, ledger) == U::kRange);
    CHECK(pins.count_exact(0x200000, kPage) == 1);
    const bool one_left = pins.take(one).has_value();
    CHECK(pins.take(twin).has_value() != one_left);  // exactly one of them was left
    CHECK(pins.empty());
}

TEST_CASE("DriverPins: pin_again counts a range's pins without memory; each unpin_exact drops one") {
    DriverPins pins;
    PinLedger ledger(PinLedger::unlimited());
    CHECK(!pins.pin_again(0x1000, kPage));  // nothing to pin again
    const uint32_t id = pins.add(0x1000, kPage);
    for (int i = 0; i < 1000; ++i)
        REQUIRE(pins.pin_again(0x1000, kPage));
    CHECK(pins.size() == 1);
    CHECK(pins.count_exact(0x1000, kPage) == 1001);
    CHECK(!pins.pin_again(0x1000, 2 * kPage));
    using U = DriverPins::Unpinned;
    for (int i = 0; i < 1000; ++i)
        REQUIRE(pins.unpin_exact(0x1000, kPage, ledger) == U::kOnePin);
    CHECK(pins.unpin_exact(0x1000, kPage, ledger) == U::kRange);
    CHECK(!pins.take(id));
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
    REQUIRE(ledger.pin(*self, va, 1) == 0);  // the second range's second pin
    REQUIRE(pins.pin_again(0x2000, kPage));
    CHECK(pins.unpin_exact(0x2000, kPage, ledger) == DriverPins::Unpinned::kOnePin);
    CHECK(ledger.pins(*self, va) == 2);  // released once
    REQUIRE(ledger.pin(*self, va, 1) == 0);
    REQUIRE(pins.pin_again(0x2000, kPage));
    CHECK(ledger.pins(*self, va) == 3);
    pins.drop_meeting(0x1000, 0x1fff, [&](const PinnedRange& r) { release_charges(ledger, r); });
    CHECK(ledger.pins(*self, va) == 2);
    pins.drop_all([&](const PinnedRange& r) { release_charges(ledger, r); });  // both its pins
    CHECK(ledger.pins(*self, va) == 0);
    CHECK(pins.empty());
}

}  // namespace
}  // namespace ciommu::test
