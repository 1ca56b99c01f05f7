// Wire messages a real kernel can send that a happy-path client never
// causes: stale interrupts, 32-bit callers, retry-protocol messages a
// restricted device never asked for, opcodes the device lacks, and many
// requests in flight at once.  The daemon must answer correctly and go on.
#include <doctest/doctest.h>

#include <chrono>
#include <fcntl.h>
#include <poll.h>
#include <set>
#include <sys/mman.h>

#include "daemon.h"

using namespace protocol;

namespace {

void check_serving(Session& s) {
    CHECK(s.kernel.ioctl(s.fh, IOMMU_GET_API_VERSION, uint64_t{0}).result == IOMMU_API_VERSION);
}

}  // namespace

TEST_CASE("data the daemon never asked for is not trusted") {
    // A restricted device gets no data with an _IO command; a kernel (or a
    // fake one) that sends some anyway, or sends the unrestricted flag,
    // must not make the daemon use it instead of the caller's memory.
    Session s;
    GuardedPages args;
    iommu_ioasid_free lie{};
    lie.argsz = sizeof(lie);
    lie.ioasid = 1;  // would free IOASID 1 if the daemon believed it
    const uint32_t ioasid = s.alloc();
    REQUIRE(ioasid == 1);
    const auto* truth = args.place(0, alloc_args());  // what arg really points at
    std::optional<Reply> reply =
        s.kernel.ioctl_round(s.fh, IOMMU_IOASID_FREE, args.begin_address(), bytes_of(lie), 0, 0);
    REQUIRE(reply);
    CHECK(reply->error() == -ENOENT);  // the caller's memory holds an ALLOC struct: no IOASID 0
    CHECK(s.stats().ioasids == 1);
    (void)truth;
    reply = s.kernel.ioctl_round(s.fh, IOMMU_IOASID_ALLOC, args.begin_address(), {}, 0, FUSE_IOCTL_UNRESTRICTED);
    REQUIRE(reply);
    const std::optional<IoctlReplyParts> parts = split_ioctl_reply(*reply);
    REQUIRE(parts);
    CHECK((parts->out.flags & FUSE_IOCTL_RETRY) == 0);  // never a retry: answered from memory
    CHECK(parts->out.result == 2);
    check_serving(s);
}

TEST_CASE("an INTERRUPT for a request already answered") {
    // The kernel interrupts a request whose reply is already on its way.
    // libfuse queues the interrupt and answers it EAGAIN ("retry later")
    // once a later request arrives; nothing else changes.
    Session s;
    fuse_ioctl_in in{};
    in.fh = s.fh;
    in.cmd = IOMMU_GET_API_VERSION;
    const uint64_t target = s.kernel.next_unique();
    s.kernel.send(FUSE_IOCTL, target, {bytes_of(in)});
    REQUIRE(s.kernel.receive(target));

    fuse_interrupt_in interrupt{};
    interrupt.unique = target;
    s.kernel.send(FUSE_INTERRUPT, target | kInterruptBit, {bytes_of(interrupt)});
    CHECK(s.kernel.quiet_for(std::chrono::milliseconds(100)));
    std::optional<Reply> eagain;
    for (int i = 0; i < 20 && !eagain; ++i) {  // another worker may still be queueing it
        check_serving(s);
        eagain = s.kernel.take_stashed(target | kInterruptBit);
    }
    REQUIRE(eagain);
    CHECK(eagain->error() == -EAGAIN);
    CHECK(s.stats().contexts == 2);
}

TEST_CASE("a 32-bit caller (FUSE_IOCTL_COMPAT)") {
    // The same layouts (__aligned_u64), so the daemon needs nothing special.
    Session s;
    IoctlResult r = s.kernel.ioctl(s.fh, IOMMU_GET_API_VERSION, uint64_t{0}, FUSE_IOCTL_COMPAT);
    CHECK(r.result == IOMMU_API_VERSION);
    CHECK(r.rounds == 1);

    GuardedPages low(1, MAP_32BIT);  // memory a 32-bit process could point at
    REQUIRE(low.guard_address() <= UINT32_MAX);
    const auto* alloc = low.place(0, alloc_args());
    r = s.kernel.ioctl(s.fh, IOMMU_IOASID_ALLOC, alloc, FUSE_IOCTL_COMPAT);
    CHECK(r.rounds == 1);
    CHECK(r.result >= 0);
    CHECK(s.stats().ioasids == 1);
}

TEST_CASE("opcodes the device does not implement get an error reply") {
    // READ and POLL are the fault region's (see fault_region_test.cpp).
    Session s;
    fuse_write_in write{};
    write.fh = s.fh;
    write.size = 8;
    const uint64_t data = 0x1122334455667788;
    const uint64_t unique = s.kernel.next_unique();
    s.kernel.send(FUSE_WRITE, unique, {bytes_of(write), bytes_of(data)});
    std::optional<Reply> reply = s.kernel.receive(unique);
    REQUIRE(reply);
    CHECK(reply->error() == -ENOSYS);

    // An opcode newer than this libfuse.
    const uint64_t nothing = 0;
    reply = s.kernel.request(4095, bytes_of(nothing));
    REQUIRE(reply);
    CHECK(reply->error() == -ENOSYS);
    check_serving(s);
}

TEST_CASE("many requests in flight at once are all answered") {
    // A multithreaded caller has one ioctl per thread in flight; libfuse's
    // workers then run the handlers concurrently.
    Session s;
    constexpr int kInFlight = 64;
    const iommu_ioasid_alloc alloc = alloc_args();
    fuse_ioctl_in in{};
    in.fh = s.fh;
    in.cmd = IOMMU_IOASID_ALLOC;
    in.arg = reinterpret_cast<uintptr_t>(&alloc);
    std::vector<uint64_t> uniques;
    for (int i = 0; i < kInFlight; ++i) {
        uniques.push_back(s.kernel.next_unique());
        s.kernel.send(FUSE_IOCTL, uniques.back(), {bytes_of(in)});
    }
    std::set<int32_t> ids;
    for (const uint64_t unique : uniques) {
        const std::optional<Reply> reply = s.kernel.receive(unique);
        REQUIRE(reply);
        REQUIRE(reply->error() == 0);
        const std::optional<IoctlReplyParts> parts = split_ioctl_reply(*reply);
        REQUIRE(parts);
        CHECK(parts->out.flags == 0);
        ids.insert(parts->out.result);
    }
    CHECK(ids.size() == kInFlight);
    CHECK(*ids.begin() >= 0);
    CHECK(s.stats().ioasids == kInFlight);
}

TEST_CASE("the kernel end goes away while an ioctl is being served") {
    Session s;
    GuardedPages args;
    args.place(0, alloc_args());
    fuse_ioctl_in in{};
    in.fh = s.fh;
    in.cmd = IOMMU_IOASID_ALLOC;
    in.arg = args.begin_address();
    s.kernel.send(FUSE_IOCTL, s.kernel.next_unique(), {bytes_of(in)});
    const std::optional<int> result = s.kernel.hangup();
    REQUIRE(result);
    CHECK(*result == 0);
}
