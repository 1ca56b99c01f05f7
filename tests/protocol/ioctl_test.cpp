// Ioctls through the real CUSE session: one kernel<->daemon round each
// (the device is restricted: the kernel forwards the raw argument and no
// data), the daemon reading and writing the argument in the caller's memory
// exactly as copy_from_user/copy_to_user would, and the argsz conventions
// of uapi/cuse-iommu.h as a client sees them.
#include <doctest/doctest.h>

#include <linux/ioctl.h>
#include <sys/mman.h>

#include "../../dispatcher/command_table.h"
#include "daemon.h"

using namespace protocol;

namespace {

constexpr uint64_t kIova = 0x100000;

iommu_sim_daemon_stats stats_args(uint32_t argsz) {
    iommu_sim_daemon_stats s{};
    s.argsz = argsz;
    return s;
}

iommu_map_dma map_args(uint32_t ioasid, const void* vaddr, uint64_t size) {
    iommu_map_dma m{};
    m.argsz = sizeof(m);
    m.flags = IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE;
    m.ioasid = ioasid;
    m.vaddr = reinterpret_cast<uintptr_t>(vaddr);
    m.iova = kIova;
    m.size = size;
    return m;
}

iommu_unmap_dma unmap_args(uint32_t ioasid, uint64_t size) {
    iommu_unmap_dma u{};
    u.argsz = sizeof(u);
    u.ioasid = ioasid;
    u.iova = kIova;
    u.size = size;
    return u;
}

iommu_ioasid_free free_args(uint32_t ioasid) {
    iommu_ioasid_free f{};
    f.argsz = sizeof(f);
    f.ioasid = ioasid;
    return f;
}

}  // namespace

TEST_CASE("CUSE_INIT asks for restricted ioctls") {
    // Unrestricted ioctls would make every struct command a retry round
    // (or two) more; see cuse/cuse_device.cpp.
    Daemon daemon;
    const InitReply init = daemon.kernel.init();
    REQUIRE(init.error == 0);
    CHECK((init.out.flags & CUSE_UNRESTRICTED_IOCTL) == 0);
}

TEST_CASE("every command of the table takes one round, answered or refused") {
    Session s;
    GuardedPages args;
    for (const ciommu::CommandSpec& spec : ciommu::all_commands()) {
        CAPTURE(spec.name);
        const unsigned cmd = _IO(IOMMU_TYPE, spec.nr);
        std::memset(args.begin(), 0, kPageSize);
        const uint32_t argsz = spec.struct_size;
        std::memcpy(args.begin(), &argsz, sizeof(argsz));  // a struct of zeros, argsz set
        const IoctlResult r = s.kernel.ioctl(s.fh, cmd, args.begin());
        CHECK(r.rounds == 1);
        CHECK(r.highest_named == 0);  // the kernel was never asked to copy anything
    }
}

TEST_CASE("value commands take one round and never name caller memory") {
    Session s;
    IoctlResult r = s.kernel.ioctl(s.fh, IOMMU_GET_API_VERSION, uint64_t{0});
    CHECK(r.result == IOMMU_API_VERSION);
    CHECK(r.rounds == 1);

    r = s.kernel.ioctl(s.fh, IOMMU_CHECK_EXTENSION, uint64_t{IOMMU_EXT_MAP_TYPE1V2});
    CHECK(r.result == 1);
    CHECK(s.kernel.ioctl(s.fh, IOMMU_CHECK_EXTENSION, uint64_t{0xdeadbeef}).result == 0);
    // By value: a pointer to the number 1 is not the number 1.
    const uint64_t one = IOMMU_EXT_MAP_TYPE1V2;
    r = s.kernel.ioctl(s.fh, IOMMU_CHECK_EXTENSION, &one);
    CHECK(r.result == 0);
    CHECK(r.rounds == 1);
}

TEST_CASE("ALLOC, MAP_DMA, UNMAP_DMA, FREE: one round each, results in the caller's struct") {
    Session s;
    const iommu_sim_daemon_stats before = s.stats();
    GuardedPages args;
    GuardedPages buffer(4);
    const uint64_t bytes = 4 * kPageSize;

    IoctlResult r = s.call(args.place(0, alloc_args()), IOMMU_IOASID_ALLOC);
    CHECK(r.rounds == 1);
    REQUIRE(r.result >= 0);
    const auto ioasid = static_cast<uint32_t>(r.result);

    r = s.call(args.place(64, map_args(ioasid, buffer.begin(), bytes)), IOMMU_MAP_DMA);
    CHECK(r.rounds == 1);
    CHECK(r.result == 0);
    iommu_sim_daemon_stats now = s.stats();
    CHECK(now.ioasids == before.ioasids + 1);
    CHECK(now.mappings == before.mappings + 1);
    CHECK(now.mapped_bytes == before.mapped_bytes + bytes);

    // A range four times the mapping: the daemon writes back what it removed.
    iommu_unmap_dma* unmap = args.place(128, unmap_args(ioasid, 4 * bytes));
    r = s.call(unmap, IOMMU_UNMAP_DMA);
    CHECK(r.rounds == 1);
    CHECK(r.result == 0);
    CHECK(unmap->size == bytes);
    CHECK(unmap->iova == kIova);
    CHECK(s.stats().mappings == before.mappings);

    r = s.call(args.place(192, free_args(ioasid)), IOMMU_IOASID_FREE);
    CHECK(r.rounds == 1);
    CHECK(r.result == 0);
    CHECK(s.stats().ioasids == before.ioasids);
}

TEST_CASE("MAP_DMA checks the caller's memory through the pid CUSE reports") {
    Session s;
    GuardedPages buffer;
    const uint32_t ioasid = s.alloc();
    CHECK(s.map(ioasid, kIova, buffer.guard(), kPageSize).result == -EFAULT);
    CHECK(s.map(ioasid, kIova, buffer.begin(), 2 * kPageSize).result == -EFAULT);
    CHECK(s.map(ioasid, kIova, buffer.begin(), kPageSize).result == 0);
}

TEST_CASE("a struct that crosses into the next page, or sits at an odd address") {
    Session s;
    GuardedPages args(2);
    GuardedPages buffer;
    const uint32_t ioasid = s.alloc();
    IoctlResult r = s.call(args.place(kPageSize - 24, map_args(ioasid, buffer.begin(), kPageSize)), IOMMU_MAP_DMA);
    CHECK(r.rounds == 1);
    CHECK(r.result == 0);
    CHECK(s.stats().mappings == 1);
    // copy_from_user needs no alignment, and neither does the daemon.
    std::byte* odd = args.begin() + kPageSize - 13;
    const iommu_unmap_dma unmap = unmap_args(ioasid, 4 * kPageSize);
    std::memcpy(odd, &unmap, sizeof(unmap));
    r = s.kernel.ioctl(s.fh, IOMMU_UNMAP_DMA, odd);
    CHECK(r.result == 0);
    uint64_t unmapped = 0;
    std::memcpy(&unmapped, odd + offsetof(iommu_unmap_dma, size), sizeof(unmapped));
    CHECK(unmapped == kPageSize);
}

TEST_CASE("only 24 bytes before a PROT_NONE page: argsz first, never past the page") {
    Session s;
    GuardedPages args;
    const uint32_t ioasid = s.alloc();

    SUBCASE("a caller whose struct is 24 bytes: answered in place") {
        // SIM_DAEMON_STATS as an older caller knows it: up to `mappings`.
        // Reading the 32 bytes the daemon knows would fault: it must not.
        constexpr uint32_t argsz = offsetof(iommu_sim_daemon_stats, mappings) + sizeof(__u64);
        static_assert(argsz == 24 && argsz < sizeof(iommu_sim_daemon_stats));
        iommu_sim_daemon_stats* stats = args.place_before_guard(stats_args(argsz), argsz);
        const IoctlResult r = s.call(stats, IOMMU_SIM_DAEMON_STATS);
        CHECK(r.rounds == 1);
        CHECK(r.result == 0);
        CHECK(stats->contexts == 2);
        CHECK(stats->ioasids == 1);
        CHECK(stats->mappings == 0);
    }
    SUBCASE("a 40-byte MAP_DMA there really is unreadable: EFAULT, nothing mapped") {
        iommu_map_dma m = map_args(ioasid, args.begin(), kPageSize);
        const IoctlResult r = s.call(args.place_before_guard(m, 24), IOMMU_MAP_DMA);
        CHECK(r.result == -EFAULT);
        CHECK(r.rounds == 1);
        CHECK(s.stats().mappings == 0);
    }
    SUBCASE("argsz itself straddles the guard: EFAULT") {
        const uint32_t argsz = sizeof(iommu_ioasid_alloc);
        std::byte* at = args.guard() - 2;
        std::memcpy(at, &argsz, 2);
        CHECK(s.kernel.ioctl(s.fh, IOMMU_IOASID_ALLOC, at).result == -EFAULT);
        CHECK(s.stats().ioasids == 1);
    }
}

TEST_CASE("a struct ending exactly at a PROT_NONE page is never read past") {
    // Each call would fail with EFAULT if the daemon read one byte too many.
    Session s;
    GuardedPages args;
    GuardedPages buffer;

    IoctlResult r = s.call(args.place_before_guard(alloc_args()), IOMMU_IOASID_ALLOC);
    REQUIRE(r.result >= 0);
    const auto ioasid = static_cast<uint32_t>(r.result);

    r = s.call(args.place_before_guard(map_args(ioasid, buffer.begin(), kPageSize)), IOMMU_MAP_DMA);
    CHECK(r.result == 0);

    iommu_unmap_dma* unmap = args.place_before_guard(unmap_args(ioasid, 2 * kPageSize));
    r = s.call(unmap, IOMMU_UNMAP_DMA);
    CHECK(r.result == 0);
    CHECK(unmap->size == kPageSize);

    // The smallest stats a caller may pass: 8 bytes, where 32 are known.
    r = s.call(args.place_before_guard(stats_args(8), 8), IOMMU_SIM_DAEMON_STATS);
    CHECK(r.result == 0);

    r = s.call(args.place_before_guard(free_args(ioasid)), IOMMU_IOASID_FREE);
    CHECK(r.result == 0);
    CHECK(s.stats().ioasids == 0);
}

TEST_CASE("argsz larger than the daemon knows") {
    Session s;
    GuardedPages args;
    constexpr uint32_t known = sizeof(iommu_ioasid_alloc);
    constexpr uint32_t bigger = known + 32;

    SUBCASE("zero trailing bytes: accepted") {
        const IoctlResult r = s.call(args.place(0, alloc_args(bigger)), IOMMU_IOASID_ALLOC);
        CHECK(r.rounds == 1);
        CHECK(r.result >= 0);
    }
    SUBCASE("a non-zero trailing byte: E2BIG, nothing allocated") {
        args.begin()[bigger - 1] = std::byte{1};
        const IoctlResult r = s.call(args.place(0, alloc_args(bigger)), IOMMU_IOASID_ALLOC);
        CHECK(r.result == -E2BIG);
        CHECK(s.stats().ioasids == 0);
    }
    SUBCASE("the trailing bytes run into the guard: EFAULT") {
        const IoctlResult r = s.call(args.place(kPageSize - known - 8, alloc_args(bigger)), IOMMU_IOASID_ALLOC);
        CHECK(r.result == -EFAULT);
        CHECK(s.stats().ioasids == 0);
    }
    SUBCASE("beyond IOMMU_ARGSZ_MAX: E2BIG without reading it") {
        // The struct ends at the guard: reading what argsz claims would fault.
        const IoctlResult r =
            s.call(args.place_before_guard(alloc_args(IOMMU_ARGSZ_MAX + 1)), IOMMU_IOASID_ALLOC);
        CHECK(r.result == -E2BIG);
    }
}

TEST_CASE("argsz below the command's minimum: EINVAL") {
    Session s;
    GuardedPages args;
    const uint32_t ioasid = s.alloc();
    iommu_ioasid_free f = free_args(ioasid);
    f.argsz = offsetof(iommu_ioasid_free, ioasid);  // stops short of the id
    IoctlResult r = s.call(args.place(0, f), IOMMU_IOASID_FREE);
    CHECK(r.result == -EINVAL);
    f.argsz = 0;
    CHECK(s.call(args.place(0, f), IOMMU_IOASID_FREE).result == -EINVAL);
    iommu_map_dma m = map_args(ioasid, args.begin(), kPageSize);
    m.argsz = offsetof(iommu_map_dma, size);
    CHECK(s.call(args.place(0, m), IOMMU_MAP_DMA).result == -EINVAL);
    CHECK(s.stats().ioasids == 1);  // a failed command changed nothing
}

TEST_CASE("garbage after argsz is neither read nor written") {
    Session s;
    GuardedPages args;
    std::memset(args.begin(), 0xa5, kPageSize);

    SUBCASE("the bytes past argsz are not the command's") {
        // ALLOC as the oldest caller knows it, FREE without __reserved.
        const IoctlResult r = s.call(args.place(0, alloc_args(8), 8), IOMMU_IOASID_ALLOC);
        CHECK(r.result >= 0);
        iommu_ioasid_free f = free_args(static_cast<uint32_t>(r.result));
        f.argsz = offsetof(iommu_ioasid_free, __reserved);
        CHECK(s.call(args.place(256, f, f.argsz), IOMMU_IOASID_FREE).result == 0);
        CHECK(s.stats().ioasids == 0);
    }
    SUBCASE("copy-out stops at argsz") {
        const IoctlResult r = s.call(args.place(0, stats_args(8), 8), IOMMU_SIM_DAEMON_STATS);
        CHECK(r.result == 0);
        for (size_t i = 8; i < sizeof(iommu_sim_daemon_stats) + 8; ++i)
            CHECK(args.begin()[i] == std::byte{0xa5});
    }
}

TEST_CASE("an answer the caller's memory cannot take: EFAULT, and the work stays done") {
    // Like copy_to_user failing after the command ran (iommufd does the same).
    Session s;
    GuardedPages args;
    GuardedPages buffer;
    const uint32_t ioasid = s.alloc();
    REQUIRE(s.map(ioasid, kIova, buffer.begin(), kPageSize).result == 0);
    iommu_unmap_dma* unmap = args.place(0, unmap_args(ioasid, kPageSize));
    REQUIRE(mprotect(args.begin(), kPageSize, PROT_READ) == 0);  // readable, not writable
    const IoctlResult r = s.call(unmap, IOMMU_UNMAP_DMA);
    CHECK(r.result == -EFAULT);
    CHECK(r.rounds == 1);
    CHECK(s.stats().mappings == 0);
    REQUIRE(mprotect(args.begin(), kPageSize, PROT_READ | PROT_WRITE) == 0);
}

TEST_CASE("commands the daemon does not have: ENOTTY in one round") {
    Session s;
    GuardedPages args;
    const unsigned unknown[] = {
        _IO(IOMMU_TYPE, IOMMU_BASE + 0x1f),                  // a free number
        _IOWR(IOMMU_TYPE, IOMMU_NR_MAP_DMA, iommu_map_dma),  // size encoded: not ours
        _IO('T', IOMMU_NR_MAP_DMA),                          // another driver's type
        _IOR(IOMMU_TYPE, IOMMU_NR_GET_API_VERSION, int),
    };
    for (const unsigned cmd : unknown) {
        CAPTURE(cmd);
        const IoctlResult r = s.kernel.ioctl(s.fh, cmd, args.begin());
        CHECK(r.result == -ENOTTY);
        CHECK(r.rounds == 1);
    }
}

TEST_CASE("hostile pointers: NULL, unmapped, PROT_NONE, kernel addresses, non-canonical") {
    Session s;
    GuardedPages args;
    const uint64_t hostile[] = {
        0,
        args.guard_address(),
        0xffff888000000000ull,  // a kernel address
        0x0000800000000000ull,  // just past user space
        0xdead000000000000ull,  // non-canonical
        ~uint64_t{0} - 3,       // wraps
    };
    const unsigned struct_commands[] = {IOMMU_IOASID_ALLOC, IOMMU_IOASID_FREE, IOMMU_MAP_DMA, IOMMU_UNMAP_DMA,
                                        IOMMU_SIM_DAEMON_STATS, IOMMU_DEVICE_GET_INFO, IOMMU_SIM_DMA};
    for (const unsigned cmd : struct_commands) {
        for (const uint64_t arg : hostile) {
            CAPTURE(cmd);
            CAPTURE(arg);
            const IoctlResult r = s.kernel.ioctl(s.fh, cmd, arg);
            CHECK(r.result == -EFAULT);
            CHECK(r.rounds == 1);
        }
    }
    CHECK(s.stats().ioasids == 0);
    CHECK(s.kernel.ioctl(s.fh, IOMMU_GET_API_VERSION, uint64_t{0}).result == IOMMU_API_VERSION);
}

TEST_CASE("a request from a caller that cannot be reached: EFAULT, nothing done") {
    // A pid that names no live thread (its process is gone, say): the
    // daemon cannot read the argument, so nothing runs.
    Session s;
    GuardedPages args;
    const auto* alloc = args.place(0, alloc_args());
    s.kernel.set_caller_pid(0x3ffffffe);  // above any pid_max
    const IoctlResult r = s.call(alloc, IOMMU_IOASID_ALLOC);
    s.kernel.set_caller_pid(0);
    CHECK(r.result == -EFAULT);
    CHECK(s.stats().ioasids == 0);
}

TEST_CASE("two opens are isolated") {
    Session s;
    GuardedPages buffer;
    const uint64_t other = s.kernel.open();
    const uint32_t ioasid = s.alloc();
    CHECK(s.map(ioasid, kIova, buffer.begin(), kPageSize, other).result == -ENOENT);
    iommu_unmap_dma u = unmap_args(ioasid, kPageSize);
    CHECK(s.call(&u, IOMMU_UNMAP_DMA, other).result == -ENOENT);
    CHECK(s.free(ioasid, other).result == -ENOENT);
    CHECK(s.map(ioasid, kIova, buffer.begin(), kPageSize).result == 0);
    CHECK(s.free(ioasid).result == 0);
    CHECK(s.kernel.release(other) == 0);
}

TEST_CASE("RELEASE without cleanup reclaims IOASIDs and mappings") {
    Session s;
    GuardedPages buffer(2);
    const iommu_sim_daemon_stats before = s.stats();
    const uint64_t leaky = s.kernel.open();
    const uint32_t first = s.alloc(leaky);
    const uint32_t second = s.alloc(leaky);
    REQUIRE(s.map(first, kIova, buffer.begin(), kPageSize, leaky).result == 0);
    REQUIRE(s.map(second, kIova, buffer.begin(), 2 * kPageSize, leaky).result == 0);
    iommu_sim_daemon_stats during = s.stats();
    CHECK(during.contexts == before.contexts + 1);
    CHECK(during.ioasids == before.ioasids + 2);
    CHECK(during.mappings == before.mappings + 2);
    CHECK(during.mapped_bytes == before.mapped_bytes + 3 * kPageSize);

    CHECK(s.kernel.release(leaky) == 0);
    const iommu_sim_daemon_stats after = s.stats();
    CHECK(after.contexts == before.contexts);
    CHECK(after.ioasids == before.ioasids);
    CHECK(after.mappings == before.mappings);
    CHECK(after.mapped_bytes == before.mapped_bytes);
}
