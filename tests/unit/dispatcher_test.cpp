// The dispatcher as any transport sees it: argument conventions written
// once, then each command's rules, errnos and isolation between contexts.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <sys/mman.h>
#include <vector>

#include "fixture.h"

using namespace ciommu;

using namespace ciommu::test;

TEST_CASE("value commands: version and extensions") {
    Fixture f;
    CHECK(f.value(IOMMU_GET_API_VERSION, 0) == IOMMU_API_VERSION);
    CHECK(f.value(IOMMU_CHECK_EXTENSION, IOMMU_EXT_MAP_TYPE1V2) == 1);
    CHECK(f.value(IOMMU_CHECK_EXTENSION, 0xdeadbeef) == 0);
}

// Every number of our type without a row: rows_test.cpp.
TEST_CASE("numbers that are not ours are ENOTTY") {
    Fixture f;
    const unsigned unknown[] = {
        _IO(IOMMU_TYPE, 0xcf),                              // free range
        _IO(IOMMU_TYPE, 0x64),                              // VFIO's number
        _IO('x', IOMMU_NR_MAP_DMA),                         // another type
        _IOW(IOMMU_TYPE, IOMMU_NR_MAP_DMA, iommu_map_dma),  // size encoded: not ours
    };
    for (unsigned cmd : unknown) {
        CAPTURE(cmd);
        CHECK(f.raw(cmd, struct_bytes(16, 0, 16)).result == -ENOTTY);
    }
}

TEST_CASE("argsz, flags, reserved and trailing bytes are checked once for every command") {
    Fixture f;
    for (const CommandSpec& spec : all_commands()) {
        if (spec.kind != ArgKind::kStruct)
            continue;
        const std::string name = spec.name;
        CAPTURE(name);
        const unsigned cmd = _IO(IOMMU_TYPE, spec.nr);
        const Convention& c = *spec.convention;  // which errno each refusal gets
        // Every case below must be refused before the handler runs.
        CHECK(f.raw(cmd, struct_bytes(spec.min_size - 1, 0, spec.struct_size)).result == -c.too_small);
        CHECK(f.raw(cmd, struct_bytes(0, 0, spec.struct_size)).result == -c.too_small);
        CHECK(f.raw(cmd, struct_bytes(IOMMU_ARGSZ_MAX + 1, 0, IOMMU_ARGSZ_MAX + 1)).result == -c.too_big);
        CHECK(f.raw(cmd, {}).result == -EFAULT);
        // Fewer bytes than argsz declares: the transport could not read them.
        CHECK(f.raw(cmd, struct_bytes(spec.struct_size, 0, spec.struct_size - 1)).result == -EFAULT);

        auto trailing = struct_bytes(spec.struct_size + 8, 0, spec.struct_size + 8);
        trailing.back() = std::byte{1};
        if (!spec.output_tail)  // an output tail is the reply's room, not input
            CHECK(f.raw(cmd, trailing).result == -c.too_big);

        uint32_t bad_flag = 1;  // the lowest bit the command does not define
        while (bad_flag & spec.valid_flags)
            bad_flag <<= 1;
        CHECK(f.raw(cmd, struct_bytes(spec.struct_size, bad_flag, spec.struct_size)).result == -c.unknown_flags);
        CHECK(f.raw(cmd, struct_bytes(spec.struct_size, 0x80000000u, spec.struct_size)).result ==
              -c.unknown_flags);

        for (const ReservedField& field : spec.reserved) {
            if (!field.size)
                continue;
            auto bytes = struct_bytes(spec.struct_size, 0, spec.struct_size);
            bytes[field.offset] = std::byte{1};
            CHECK(f.raw(cmd, bytes).result == -c.reserved_not_zero);
        }
    }
    CHECK(f.daemon_stats().ioasids == 0);  // nothing above reached a handler
}

TEST_CASE("a larger struct with zero trailing bytes, and a smaller one, are accepted") {
    Fixture f;
    CHECK(f.raw(IOMMU_IOASID_ALLOC, struct_bytes(64, 0, 64)).result == 1);
    // SIM_DAEMON_STATS: argsz of just {argsz, flags} copies nothing back but works.
    std::vector<std::byte> out;
    CHECK(f.raw(IOMMU_SIM_DAEMON_STATS, struct_bytes(8, 0, 8), &out).result == 0);
    CHECK(out.size() == 8);
    // A caller knowing a larger struct gets only the bytes the daemon knows.
    CHECK(f.raw(IOMMU_SIM_DAEMON_STATS, struct_bytes(48, 0, 48), &out).result == 0);
    CHECK(out.size() == sizeof(iommu_sim_daemon_stats));
}

TEST_CASE("alloc, map, unmap and free a real buffer") {
    Fixture f;
    Buffer buf(4 * 4096);
    const long ioasid = f.alloc();
    REQUIRE(ioasid > 0);
    CHECK(f.map(ioasid, 0x100000, buf.ptr, 4 * 4096) == 0);
    CHECK(f.daemon_stats().mappings == 1);
    CHECK(f.daemon_stats().mapped_bytes == 4 * 4096);

    iommu_unmap_dma u{sizeof(u), 0, static_cast<uint32_t>(ioasid), 0, 0x100000, 8 * 4096};
    CHECK(f.call(IOMMU_UNMAP_DMA, u) == 0);
    CHECK(u.size == 4 * 4096);  // the size actually unmapped comes back

    iommu_ioasid_free fr{sizeof(fr), 0, static_cast<uint32_t>(ioasid), 0};
    CHECK(f.call(IOMMU_IOASID_FREE, fr) == 0);
    CHECK(f.call(IOMMU_IOASID_FREE, fr) == -ENOENT);
    CHECK(f.daemon_stats().ioasids == 0);
}

TEST_CASE("map and unmap errors change nothing") {
    Fixture f;
    Buffer buf(4 * 4096);
    const long ioasid = f.alloc();
    REQUIRE(f.map(ioasid, 0x100000, buf.ptr, 2 * 4096) == 0);

    CHECK(f.map(ioasid + 1, 0x200000, buf.ptr, 4096) == -ENOENT);
    CHECK(f.map(ioasid, 0x101000, buf.ptr, 4096) == -EEXIST);
    CHECK(f.map(ioasid, 0x200000, buf.ptr, 4096, 0) == -EINVAL);
    CHECK(f.map(ioasid, 0x200000, static_cast<char*>(buf.ptr) + 1, 4096) == -EINVAL);

    // Memory the caller does not have: a hole punched into the buffer.
    Buffer holed(3 * 4096);
    REQUIRE(munmap(static_cast<char*>(holed.ptr) + 4096, 4096) == 0);
    CHECK(f.map(ioasid, 0x300000, holed.ptr, 3 * 4096) == -EFAULT);
    CHECK(f.map(ioasid, 0x300000, nullptr, 4096) == -EFAULT);

    iommu_unmap_dma split{sizeof(split), 0, static_cast<uint32_t>(ioasid), 0, 0x101000, 4096};
    CHECK(f.call(IOMMU_UNMAP_DMA, split) == -EINVAL);
    iommu_unmap_dma all_with_range{sizeof(all_with_range), IOMMU_UNMAP_DMA_ALL,
                                   static_cast<uint32_t>(ioasid), 0, 0x100000, 0};
    CHECK(f.call(IOMMU_UNMAP_DMA, all_with_range) == -EINVAL);
    CHECK(f.daemon_stats().mappings == 1);

    iommu_unmap_dma all{sizeof(all), IOMMU_UNMAP_DMA_ALL, static_cast<uint32_t>(ioasid), 0, 0, 0};
    CHECK(f.call(IOMMU_UNMAP_DMA, all) == 0);
    CHECK(all.size == 2 * 4096);
    CHECK(f.daemon_stats().mappings == 0);
}

TEST_CASE("contexts are isolated and release reclaims everything") {
    Fixture f;
    Context* other = f.dispatcher.open(getpid());
    Buffer buf(4096);
    const long mine = f.alloc();
    REQUIRE(mine == 1);
    REQUIRE(f.map(mine, 0, buf.ptr, 4096) == 0);

    // The other context has its own id space: the same number is not mine.
    CHECK(f.map(mine, 0x1000, buf.ptr, 4096, IOMMU_MAP_DMA_READ, other) == -ENOENT);
    CHECK(f.free_ioasid(mine, other) == -ENOENT);
    iommu_unmap_dma all{sizeof(all), IOMMU_UNMAP_DMA_ALL, static_cast<uint32_t>(mine), 0, 0, 0};
    CHECK(f.call(IOMMU_UNMAP_DMA, all, other) == -ENOENT);
    CHECK(f.alloc(0, 0, 0, other) == 1);  // ids are per context

    auto before = f.daemon_stats();
    CHECK(before.contexts == 2);
    CHECK(before.ioasids == 2);
    CHECK(before.mappings == 1);

    f.dispatcher.release(other);
    auto after = f.daemon_stats();
    CHECK(after.contexts == 1);
    CHECK(after.ioasids == 1);

    Context* leaky = f.dispatcher.open(getpid());
    const long id = f.alloc(0, 0, 0, leaky);
    REQUIRE(f.map(id, 0, buf.ptr, 4096, IOMMU_MAP_DMA_READ, leaky) == 0);
    f.dispatcher.release(leaky);  // no unmap, no free: release cleans up
    CHECK(f.daemon_stats().mappings == 1);
    CHECK(f.daemon_stats().contexts == 1);
}

TEST_CASE("the caller's process is found from any of its threads") {
    CHECK(Caller(gettid()).tgid() == getpid());  // the main thread: tgkill proves it
    pid_t from_thread = 0, thread_tid = 0;
    std::thread([&] {
        thread_tid = gettid();
        from_thread = Caller(thread_tid).tgid();  // another thread: /proc tells
    }).join();
    CHECK(thread_tid != getpid());
    CHECK(from_thread == getpid());
}
