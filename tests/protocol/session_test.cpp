// The session's life: CUSE_INIT, OPEN/RELEASE as contexts, and the two
// ways the loop stops (the kernel end goes away, or exit()).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <fcntl.h>
#include <thread>

#include "daemon.h"

using namespace protocol;

namespace {

uint32_t contexts(FakeKernel& kernel, uint64_t fh) {
    iommu_sim_daemon_stats s{};
    s.argsz = sizeof(s);
    REQUIRE(kernel.ioctl(fh, IOMMU_SIM_DAEMON_STATS, &s).result == 0);
    return s.contexts;
}

}  // namespace

TEST_CASE("CUSE_INIT: protocol 7.x, restricted ioctls, DEVNAME, then init_done") {
    Daemon daemon;
    const int ready_before = g_ready_calls;
    const InitReply init = daemon.kernel.init();
    REQUIRE(init.error == 0);
    // cuse_process_init_reply() rejects anything but major 7, minor >= 11.
    CHECK(init.out.major == 7);
    CHECK(init.out.minor >= 11);
    // Restricted: every _IO command reaches the daemon in one round with the
    // raw argument, which the daemon reads from the caller's memory itself.
    CHECK((init.out.flags & CUSE_UNRESTRICTED_IOCTL) == 0);
    CHECK(init.dev_info_bytes <= 4096);  // CUSE_INIT_INFO_MAX
    CHECK(std::count(init.dev_info.begin(), init.dev_info.end(),
                     std::string("DEVNAME=") + kDeviceName) == 1);
    // init_done runs on a worker after the reply has gone out.
    CHECK(wait_until([&] { return g_ready_calls == ready_before + 1; }));
    CHECK_FALSE(g_ready_name_wrong);
}

TEST_CASE("only one CUSE_INIT, and it must come first") {
    Daemon daemon;
    fuse_open_in open_in{};
    open_in.flags = O_RDWR;
    const std::optional<Reply> early = daemon.kernel.request(FUSE_OPEN, bytes_of(open_in));
    REQUIRE(early);
    CHECK(early->error() == -EIO);

    // A kernel older than FUSE 7 is refused; the session still waits for a
    // usable CUSE_INIT.
    CHECK(daemon.kernel.init(6, 0).error == -EPROTO);
    REQUIRE(daemon.kernel.init().error == 0);
    CHECK(daemon.kernel.init().error == -EIO);
    CHECK(daemon.kernel.open() != 0);
}

TEST_CASE("OPEN creates a context, RELEASE destroys it") {
    Daemon daemon;
    REQUIRE(daemon.kernel.init().error == 0);
    fuse_open_out opened{};
    const uint64_t watcher = daemon.kernel.open(&opened);
    REQUIRE(watcher != 0);
    CHECK((opened.open_flags & FOPEN_NONSEEKABLE) != 0);
    CHECK(contexts(daemon.kernel, watcher) == 1);

    const uint64_t a = daemon.kernel.open();
    const uint64_t b = daemon.kernel.open();
    CHECK(a != b);
    CHECK(contexts(daemon.kernel, watcher) == 3);
    CHECK(daemon.kernel.release(a) == 0);
    CHECK(contexts(daemon.kernel, watcher) == 2);
    CHECK(daemon.kernel.release(b) == 0);
    CHECK(contexts(daemon.kernel, watcher) == 1);
    CHECK(daemon.kernel.release(watcher) == 0);
    CHECK(daemon.model.context_count() == 0);
}

TEST_CASE("closing the kernel end stops run(), even with files open") {
    Session session;  // two open files, never released
    session.alloc();
    const std::optional<int> result = session.kernel.hangup();
    REQUIRE(result);
    CHECK(*result == 0);
}

TEST_CASE("CuseDevice::exit() from another thread stops run()") {
    SUBCASE("while it waits for requests") {
        Session session;
        // Let the worker that sent the last reply get back into read():
        // then only exit()'s wake-up of the loop thread can end run().
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        const std::optional<int> result = session.kernel.stop_with_exit();
        REQUIRE(result);
        CHECK(*result == 0);
    }
    SUBCASE("right after starting, before CUSE_INIT") {
        Daemon daemon;
        const std::optional<int> result = daemon.kernel.stop_with_exit();
        REQUIRE(result);
        CHECK(*result == 0);
    }
}
