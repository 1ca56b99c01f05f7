// Wire messages a real kernel can send that a happy-path client never
// causes: abandoned retries, stale interrupts, 32-bit callers, callers
// whose memory changes between rounds, opcodes the device lacks, and many
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

// The iovecs of a FUSE_IOCTL_RETRY reply (in first, then out).
std::vector<fuse_ioctl_iovec> retry_iovecs(const std::optional<Reply>& reply, uint32_t* in_iovs = nullptr) {
    REQUIRE(reply);
    REQUIRE(reply->error() == 0);
    const std::optional<IoctlReplyParts> parts = split_ioctl_reply(*reply);
    REQUIRE(parts);
    REQUIRE((parts->out.flags & FUSE_IOCTL_RETRY) != 0);
    const size_t count = parts->out.in_iovs + parts->out.out_iovs;
    REQUIRE(parts->tail.size() == count * sizeof(fuse_ioctl_iovec));
    std::vector<fuse_ioctl_iovec> iovs(count);
    std::memcpy(iovs.data(), parts->tail.data(), parts->tail.size());
    if (in_iovs)
        *in_iovs = parts->out.in_iovs;
    return iovs;
}

void check_serving(Session& s) {
    CHECK(s.kernel.ioctl(s.fh, IOMMU_GET_API_VERSION, uint64_t{0}).result == IOMMU_API_VERSION);
}

}  // namespace

TEST_CASE("an abandoned retry leaves nothing behind") {
    // The kernel gives up on an ioctl between rounds when the caller's copy
    // faults or it is killed; the next ioctl starts afresh.
    Session s;
    GuardedPages args;
    const auto* alloc = args.place(0, alloc_args());
    const uint64_t arg = args.begin_address();
    uint32_t in_iovs = 0;
    std::vector<fuse_ioctl_iovec> iovs =
        retry_iovecs(s.kernel.ioctl_round(s.fh, IOMMU_IOASID_ALLOC, arg, {}, 0), &in_iovs);
    REQUIRE(in_iovs == 1);
    CHECK(iovs[0].base == arg);

    // Abandoned at the last round of a three-round fetch, too.
    const uint64_t stats_arg = args.guard_address() - 24;
    iommu_sim_daemon_stats partial{};
    partial.argsz = 24;
    args.place_before_guard(partial, 24);
    iovs = retry_iovecs(s.kernel.ioctl_round(s.fh, IOMMU_SIM_DAEMON_STATS, stats_arg, {}, 0));
    REQUIRE(!iovs.empty());
    REQUIRE(iovs[0].len == sizeof(uint32_t));
    iovs = retry_iovecs(s.kernel.ioctl_round(s.fh, IOMMU_SIM_DAEMON_STATS, stats_arg,
                                             bytes_of(partial.argsz), 0));
    REQUIRE(!iovs.empty());
    CHECK(iovs[0].len == 24);

    CHECK(s.stats().ioasids == 0);
    const IoctlResult r = s.call(alloc, IOMMU_IOASID_ALLOC);
    CHECK(r.rounds == 2);
    CHECK(r.result >= 0);
    CHECK(s.stats().ioasids == 1);
}

TEST_CASE("argsz that changes between rounds (another caller thread writes it)") {
    Session s;
    GuardedPages args;
    GuardedPages buffer;
    const uint32_t ioasid = s.alloc();
    iommu_map_dma m{};
    m.argsz = sizeof(m);
    m.flags = IOMMU_MAP_DMA_READ;
    m.ioasid = ioasid;
    m.vaddr = buffer.begin_address();
    m.size = kPageSize;
    const uint64_t arg = args.begin_address();

    // Only 8 bytes came in but they now claim 40: ask again, do not run.
    std::vector<fuse_ioctl_iovec> iovs =
        retry_iovecs(s.kernel.ioctl_round(s.fh, IOMMU_MAP_DMA, arg, bytes_of(m).first(8), 0));
    REQUIRE(iovs.size() == 1);
    CHECK(iovs[0].base == arg);
    CHECK(iovs[0].len == sizeof(m));

    // The full struct came in, but argsz now says less than the minimum.
    iommu_map_dma shrunk = m;
    shrunk.argsz = 8;
    std::optional<Reply> reply = s.kernel.ioctl_round(s.fh, IOMMU_MAP_DMA, arg, bytes_of(shrunk), 0);
    REQUIRE(reply);
    CHECK(reply->error() == -EINVAL);

    // ... or more than any command takes.
    iommu_map_dma huge = m;
    huge.argsz = IOMMU_ARGSZ_MAX + 8;
    reply = s.kernel.ioctl_round(s.fh, IOMMU_MAP_DMA, arg, bytes_of(huge), 0);
    REQUIRE(reply);
    CHECK(reply->error() == -E2BIG);
    CHECK(s.stats().mappings == 0);
}

TEST_CASE("an INTERRUPT for a request already answered") {
    // The kernel interrupts a request whose reply is already on its way.
    // libfuse queues the interrupt and answers it EAGAIN ("retry later")
    // once a later request arrives; nothing else changes.
    Session s;
    fuse_ioctl_in in{};
    in.fh = s.fh;
    in.flags = FUSE_IOCTL_UNRESTRICTED;
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
    // The same layouts (__aligned_u64), so the daemon needs nothing special;
    // the kernel insists that every retry iovec fits in 32 bits.
    Session s;
    IoctlResult r = s.kernel.ioctl(s.fh, IOMMU_GET_API_VERSION, uint64_t{0},
                                   FUSE_IOCTL_UNRESTRICTED | FUSE_IOCTL_COMPAT);
    CHECK(r.result == IOMMU_API_VERSION);
    CHECK(r.rounds == 1);

    GuardedPages low(1, MAP_32BIT);  // memory a 32-bit process could point at
    REQUIRE(low.guard_address() <= UINT32_MAX);
    const auto* alloc = low.place(0, alloc_args());
    r = s.kernel.ioctl(s.fh, IOMMU_IOASID_ALLOC, alloc, FUSE_IOCTL_UNRESTRICTED | FUSE_IOCTL_COMPAT);
    CHECK(r.rounds == 2);
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
    in.flags = FUSE_IOCTL_UNRESTRICTED;
    in.cmd = IOMMU_IOASID_ALLOC;
    in.arg = reinterpret_cast<uintptr_t>(&alloc);
    in.in_size = sizeof(alloc);  // the last round: the struct is already here
    std::vector<uint64_t> uniques;
    for (int i = 0; i < kInFlight; ++i) {
        uniques.push_back(s.kernel.next_unique());
        s.kernel.send(FUSE_IOCTL, uniques.back(), {bytes_of(in), bytes_of(alloc)});
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

TEST_CASE("the kernel end goes away in the middle of an ioctl") {
    Session s;
    GuardedPages args;
    args.place(0, alloc_args());
    retry_iovecs(s.kernel.ioctl_round(s.fh, IOMMU_IOASID_ALLOC, args.begin_address(), {}, 0));
    const std::optional<int> result = s.kernel.hangup();
    REQUIRE(result);
    CHECK(*result == 0);
}
