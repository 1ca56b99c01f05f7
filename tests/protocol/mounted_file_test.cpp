// The device as the one file of a FUSE mount (cuse-iommu --mount): the
// FUSE side a mount adds (INIT, LOOKUP, GETATTR, OPEN with direct I/O), then
// the very callbacks of the CUSE device behind it -- the kernel sends a FUSE
// file's ioctl() as it does a CUSE device's (fuse_do_ioctl, restricted).
#include <doctest/doctest.h>

#include <cstring>
#include <fcntl.h>
#include <optional>
#include <string>
#include <vector>
#include <sys/stat.h>

#include "daemon.h"

using namespace protocol;

namespace {

constexpr uint64_t kRoot = FUSE_ROOT_ID;
constexpr uint64_t kFile = 2;  // the one file's node (cuse/cuse_device.cpp)

ciommu::CuseDeviceOptions mounted_options() {
    ciommu::CuseDeviceOptions options = device_options();
    options.mounted = true;
    return options;
}

// A mounted-file daemon whose loop runs; nothing sent yet.
struct MountedDaemon : Daemon {
    MountedDaemon() : Daemon(mounted_options()) {}
};

}  // namespace

TEST_CASE("a mounted file: FUSE_INIT answered, then the device reported ready") {
    MountedDaemon daemon;
    const int ready_before = g_ready_calls;
    fuse_init_out out{};
    REQUIRE(daemon.kernel.fuse_init(&out) == 0);
    CHECK(out.major == FUSE_KERNEL_VERSION);
    CHECK(wait_until([&] { return g_ready_calls == ready_before + 1; }));
    CHECK_FALSE(g_ready_name_wrong);
}

TEST_CASE("a mounted file: the root holds one file, named as the device, regular, mode 0600") {
    MountedDaemon daemon;
    REQUIRE(daemon.kernel.fuse_init() == 0);

    const FakeKernel::Lookup file = daemon.kernel.lookup(kRoot, kDeviceName);
    REQUIRE(file.error == 0);
    CHECK(file.entry.nodeid == kFile);
    CHECK(file.entry.attr.ino == kFile);
    CHECK(file.entry.attr.mode == (S_IFREG | 0600));

    CHECK(daemon.kernel.lookup(kRoot, "iommu-other").error == -ENOENT);
    CHECK(daemon.kernel.lookup(kFile, kDeviceName).error == -ENOENT);  // a file holds nothing

    const FakeKernel::Getattr root = daemon.kernel.getattr(kRoot);
    REQUIRE(root.error == 0);
    CHECK(S_ISDIR(root.attr.attr.mode));
    const FakeKernel::Getattr attr = daemon.kernel.getattr(kFile);
    REQUIRE(attr.error == 0);
    CHECK(attr.attr.attr.mode == (S_IFREG | 0600));
    CHECK(daemon.kernel.getattr(7).error == -ENOENT);
}

namespace {

// The names READDIR gives from `offset` on (one reply), or nullopt.
std::optional<std::vector<std::string>> list_root(FakeKernel& kernel, uint64_t offset) {
    kernel.set_node(kRoot);
    fuse_open_in open_in{};
    open_in.flags = O_RDONLY | O_DIRECTORY;
    const std::optional<Reply> opened = kernel.request(FUSE_OPENDIR, bytes_of(open_in));
    if (!opened || opened->error() || opened->payload.size() != sizeof(fuse_open_out))
        return std::nullopt;
    fuse_open_out out{};
    std::memcpy(&out, opened->payload.data(), sizeof(out));
    fuse_read_in read_in{};
    read_in.fh = out.fh;
    read_in.offset = offset;
    read_in.size = 4096;
    const std::optional<Reply> listed = kernel.request(FUSE_READDIR, bytes_of(read_in));
    if (!listed || listed->error())
        return std::nullopt;
    std::vector<std::string> names;
    const std::byte* at = listed->payload.data();
    const std::byte* end = at + listed->payload.size();
    while (end - at >= static_cast<ptrdiff_t>(FUSE_NAME_OFFSET)) {
        fuse_dirent entry{};
        std::memcpy(&entry, at, FUSE_NAME_OFFSET);
        names.emplace_back(reinterpret_cast<const char*>(at) + FUSE_NAME_OFFSET, entry.namelen);
        at += FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + entry.namelen);
    }
    return names;
}

}  // namespace

TEST_CASE("a mounted file: the root lists itself, its parent and the file, from any offset") {
    MountedDaemon daemon;
    REQUIRE(daemon.kernel.fuse_init() == 0);
    const auto all = list_root(daemon.kernel, 0);
    REQUIRE(all);
    CHECK(*all == std::vector<std::string>{".", "..", kDeviceName});
    const auto rest = list_root(daemon.kernel, 2);
    REQUIRE(rest);
    CHECK(*rest == std::vector<std::string>{kDeviceName});
    const auto none = list_root(daemon.kernel, 3);
    REQUIRE(none);
    CHECK(none->empty());
}

TEST_CASE("a mounted file: OPEN is the file's only, with direct I/O, and serves the device") {
    MountedDaemon daemon;
    REQUIRE(daemon.kernel.fuse_init() == 0);

    daemon.kernel.set_node(kRoot);
    const std::optional<Reply> dir = daemon.kernel.try_open();
    REQUIRE(dir);
    CHECK(dir->error() == -EISDIR);

    daemon.kernel.set_node(kFile);
    fuse_open_out opened{};
    const uint64_t fh = daemon.kernel.open(&opened);
    REQUIRE(fh != 0);
    // Reads must reach the daemon as a CUSE device's do, never a page cache.
    CHECK((opened.open_flags & FOPEN_DIRECT_IO) != 0);

    // ioctls: one round each, the argument read from the caller's memory.
    CHECK(daemon.kernel.ioctl(fh, IOMMU_GET_API_VERSION, uint64_t{0}).result == IOMMU_API_VERSION);
    const iommu_ioasid_alloc a = alloc_args();
    const IoctlResult alloc = daemon.kernel.ioctl(fh, IOMMU_IOASID_ALLOC, &a);
    CHECK(alloc.result >= 0);
    CHECK(alloc.rounds == 1);
    GuardedPages pages;
    CHECK(daemon.kernel.ioctl(fh, IOMMU_IOASID_ALLOC, pages.guard_address()).result == -EFAULT);

    // read(): no fault record, O_NONBLOCK -> EAGAIN.
    const std::optional<Reply> read = daemon.kernel.read(fh, 4096, FakeKernel::kOpenFlags | O_NONBLOCK);
    REQUIRE(read);
    CHECK(read->error() == -EAGAIN);

    // The file's context goes with its release: a second open starts empty.
    CHECK(daemon.kernel.release(fh) == 0);
    const uint64_t again = daemon.kernel.open();
    iommu_sim_daemon_stats stats{};
    stats.argsz = sizeof(stats);
    CHECK(wait_until([&] {
        return daemon.kernel.ioctl(again, IOMMU_SIM_DAEMON_STATS, &stats).result == 0 && stats.contexts == 1;
    }));
}
