// Locked-memory accounting ("[PATCH 3/3] VFIO Type1 IOMMU: Add support for
// mediated devices", Alex Williamson and Kirti Wankhede, June 2016): one
// ledger for MAP_DMA and software mdev pins, each page charged once, ENOMEM
// with nothing changed.
#include <doctest/doctest.h>

#include <cerrno>

#include "../../ioasid/pin_ledger.h"
#include "fixture.h"

using namespace ciommu;
using namespace ciommu::test;

namespace {

constexpr uint64_t K4 = 4096;

// A fixture whose processes may lock `pages` pages.
Fixture with_limit(uint64_t pages) {
    return Fixture(PinLedger::fixed_limit(pages));
}

long pin(Fixture& f, uint64_t cookie, uint64_t iova, uint32_t npages, uint32_t flags = 0,
         unsigned cmd = IOMMU_SIM_MDEV_PIN) {
    iommu_sim_mdev_pin p{sizeof(p), flags, cookie, iova, npages, 0};
    return f.call(cmd, p);
}

}  // namespace

TEST_CASE("a page mapped in several IOASIDs is charged once; over the limit is ENOMEM") {
    Fixture f = with_limit(4);
    Buffer mem(5 * K4);
    const long a = f.alloc(), b = f.alloc();
    REQUIRE(f.map(a, 0x100000, mem.ptr, 4 * K4) == 0);
    CHECK(f.stats().locked_pages == 4);
    REQUIRE(f.map(b, 0x900000, mem.ptr, 4 * K4) == 0);  // the same pages again
    CHECK(f.stats().locked_pages == 4);

    CHECK(f.map(b, 0x200000, mem.bytes() + K4, 4 * K4) == -ENOMEM);  // one new page too many
    CHECK(f.stats().locked_pages == 4);
    CHECK(f.stats().mappings == 2);  // nothing changed

    REQUIRE(f.unmap(b, 0x900000, 4 * K4) == 4 * K4);
    CHECK(f.stats().locked_pages == 4);  // still used by a
    REQUIRE(f.unmap(a, 0x100000, 4 * K4) == 4 * K4);
    CHECK(f.stats().locked_pages == 0);
    REQUIRE(f.map(b, 0x200000, mem.bytes() + K4, 4 * K4) == 0);  // now it fits
    CHECK(f.stats().locked_pages == 4);
    CHECK(f.free_ioasid(b) == 0);  // freeing unmaps
    CHECK(f.stats().locked_pages == 0);
}

TEST_CASE("closing the file gives every page back") {
    Fixture f = with_limit(100);
    Buffer mem(3 * K4);
    Context* other = f.dispatcher.open(getpid());
    const long id = f.alloc(0, 0, 0, other);
    REQUIRE(f.map(id, 0, mem.ptr, 3 * K4, kRW, other) == 0);
    CHECK(f.stats().locked_pages == 3);  // per process, seen from any context
    f.dispatcher.release(other);
    CHECK(f.stats().locked_pages == 0);
    CHECK(f.model.ledger().total_locked_pages() == 0);
}

TEST_CASE("software mdev pins go through the same ledger") {
    Fixture f = with_limit(3);
    Buffer mem(4 * K4);
    const long id = f.alloc();
    REQUIRE(f.map(id, 0x100000, mem.ptr, 2 * K4) == 0);
    REQUIRE(f.map(id, 0x200000, mem.bytes() + 2 * K4, K4, IOMMU_MAP_DMA_READ) == 0);
    REQUIRE(f.bind("vmdev0", 1) == 0);
    REQUIRE(f.bind("nic0", 2) == 0);
    CHECK(pin(f, 1, 0x100000, 1) == -ENXIO);  // not attached
    REQUIRE(f.attach(1, id) == 0);
    REQUIRE(f.attach(2, id) == 0);

    CHECK(pin(f, 1, 0x100000, 2) == 0);
    CHECK(f.stats().locked_pages == 3);      // already charged by MAP_DMA
    CHECK(pin(f, 1, 0x100000, 2) == 0);      // pinned twice: still once
    CHECK(f.stats().locked_pages == 3);
    CHECK(pin(f, 1, 0x100000, 2, 0, IOMMU_SIM_MDEV_UNPIN) == 0);  // one pin of each goes
    // Pinning a page again and again costs no memory: one record a page.
    for (int i = 0; i < 100; ++i)
        REQUIRE(pin(f, 1, 0x100000, 1) == 0);
    CHECK(f.ctx->find_device(1)->pins.size() == 2);
    f.check();  // the ledger's 101 pins of that page are the range's
    for (int i = 0; i < 100; ++i)
        REQUIRE(pin(f, 1, 0x100000, 1, 0, IOMMU_SIM_MDEV_UNPIN) == 0);
    CHECK(pin(f, 2, 0x100000, 1) == -EINVAL);                       // not a software mdev
    CHECK(pin(f, 1, 0x300000, 1) == -EFAULT);                       // not mapped
    CHECK(pin(f, 1, 0x200000, 1, IOMMU_SIM_PIN_WRITE) == -EFAULT);  // read-only
    CHECK(pin(f, 1, 0x100800, 1) == -EINVAL);                       // misaligned
    CHECK(pin(f, 1, 0x100000, 0) == -EINVAL);
    CHECK(pin(f, 1, 0x100000, IOMMU_SIM_PIN_MAX + 1) == -EINVAL);
    CHECK(pin(f, 1, 0x200000, 1, 0, IOMMU_SIM_MDEV_UNPIN) == -EINVAL);  // never pinned

    // Unmapping pinned pages drops the pins (the vendor driver's notifier)
    // and the charge goes with the last user.
    REQUIRE(f.unmap(id, 0x100000, 2 * K4) == 2 * K4);
    CHECK(f.stats().locked_pages == 1);
    CHECK(pin(f, 1, 0x100000, 1, 0, IOMMU_SIM_MDEV_UNPIN) == -EINVAL);
    CHECK(pin(f, 1, 0x200000, 1) == 0);
    CHECK(f.unbind(1) == 0);  // unbind releases pins
    CHECK(f.stats().locked_pages == 1);
    CHECK(f.model.ledger().total_locked_pages() == 1);
}

TEST_CASE("the ledger itself: refcounts, limit checked only for fresh pages") {
    int limit_calls = 0;
    PinLedger ledger([&](const Process&, uint64_t pages, bool) {
        ++limit_calls;
        return pages <= 3;
    });
    const ProcessRef one = Process::unbacked(1), two = Process::unbacked(2);
    CHECK(ledger.pin(*one, 0x10000, 2) == 0);
    CHECK(ledger.pin(*one, 0x10000, 2) == 0);  // nothing fresh: the limit is not asked
    CHECK(limit_calls == 1);
    CHECK(ledger.pin(*one, 0x11000, 3) == -ENOMEM);
    CHECK(ledger.locked_pages(*one) == 2);
    CHECK(ledger.pin(*two, 0x11000, 3) == 0);  // limits are per process
    ledger.unpin(*one, 0x10000, 2);
    CHECK(ledger.locked_pages(*one) == 2);
    ledger.unpin(*one, 0x10000, 2);
    CHECK(ledger.locked_pages(*one) == 0);
    CHECK(ledger.total_locked_pages() == 3);
}

TEST_CASE("charges belong to a process, not to its pid number") {
    PinLedger ledger(PinLedger::unlimited());
    const ProcessRef dead_owner = Process::unbacked(4242);
    const ProcessRef same_pid_later = Process::unbacked(4242);
    REQUIRE(ledger.pin(*dead_owner, 0x10000, 1) == 0);
    CHECK(ledger.locked_pages(*dead_owner) == 1);
    CHECK(ledger.locked_pages(*same_pid_later) == 0);  // a reused pid inherits nothing
    ledger.unpin(*same_pid_later, 0x10000, 1);          // and cannot release the other's pins
    CHECK(ledger.locked_pages(*dead_owner) == 1);
}
