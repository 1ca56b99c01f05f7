// Calls stuck in the caller's own memory (cuse/call_gate.h): a userfaultfd
// page nobody resolves stands for it.  The kernel leaves such a caller
// waiting until the daemon answers, so the daemon must answer an
// interrupted one, keep one process from holding every worker, and keep a
// released context until its stuck call ends.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../../cuse/call_gate.h"
#include "daemon.h"

using namespace protocol;
using namespace std::chrono_literals;

namespace {

// One anonymous page whose first touch waits on a userfaultfd that only
// resolve() answers.  The daemon's reads of it block in the kernel.
class StuckPage {
public:
    StuckPage() {
        uffd_ = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
        if (uffd_ < 0)
            return;
        uffdio_api api{};
        api.api = UFFD_API;
        void* p = mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        REQUIRE(p != MAP_FAILED);
        page_ = static_cast<std::byte*>(p);
        uffdio_register reg{};
        reg.range = {reinterpret_cast<uintptr_t>(page_), kPageSize};
        reg.mode = UFFDIO_REGISTER_MODE_MISSING;
        REQUIRE(ioctl(uffd_, UFFDIO_API, &api) == 0);
        REQUIRE(ioctl(uffd_, UFFDIO_REGISTER, &reg) == 0);
    }
    ~StuckPage() {
        resolve();
        if (page_)
            munmap(page_, kPageSize);
        if (uffd_ >= 0)
            close(uffd_);
    }
    // userfaultfd needs privilege (vm.unprivileged_userfaultfd is 0).
    bool usable() const { return uffd_ >= 0; }
    uint64_t address() const { return reinterpret_cast<uintptr_t>(page_); }
    // Maps a zero page there: whoever waits goes on.
    void resolve() {
        if (resolved_ || uffd_ < 0)
            return;
        uffdio_zeropage zero{};
        zero.range = {address(), kPageSize};
        ioctl(uffd_, UFFDIO_ZEROPAGE, &zero);
        resolved_ = true;
    }

private:
    int uffd_ = -1;
    std::byte* page_ = nullptr;
    bool resolved_ = false;
};

bool need_userfaultfd(const StuckPage& page) {
    if (page.usable())
        return true;
    // CI runs as root and must run these; a developer's non-root run cannot.
    REQUIRE_MESSAGE(geteuid() != 0, "userfaultfd failed as root");
    MESSAGE("skipped: userfaultfd needs root (or vm.unprivileged_userfaultfd=1)");
    return false;
}

// Sends an ioctl whose argument is at `arg`; returns its unique.
uint64_t send_ioctl(Session& s, uint64_t fh, unsigned cmd, uint64_t arg) {
    fuse_ioctl_in in{};
    in.fh = fh;
    in.cmd = cmd;
    in.arg = arg;
    const uint64_t unique = s.kernel.next_unique();
    s.kernel.send(FUSE_IOCTL, unique, {bytes_of(in)});
    return unique;
}

}  // namespace

TEST_CASE("an interrupted call stuck in the caller's memory is answered EFAULT, and nothing else waits") {
    Session s;
    StuckPage page;
    if (!need_userfaultfd(page))
        return;
    const uint64_t stuck = send_ioctl(s, s.fh, IOMMU_IOASID_ALLOC, page.address());
    CHECK(s.kernel.quiet_for(100ms));  // it waits: its argument cannot be read
    CHECK(s.kernel.ioctl(s.observer, IOMMU_GET_API_VERSION, uint64_t{0}).result == IOMMU_API_VERSION);
    CHECK(s.stats().ioasids == 0);

    const auto start = std::chrono::steady_clock::now();
    s.kernel.interrupt(stuck);  // a signal to the caller (SIGKILL, or one it handles)
    const std::optional<Reply> reply = s.kernel.receive(stuck);
    REQUIRE(reply);
    CHECK(reply->error() == -EFAULT);
    CHECK(std::chrono::steady_clock::now() - start < 1s);

    page.resolve();  // the stuck worker goes on; its own answer must not reach the kernel
    CHECK(s.kernel.quiet_for(200ms));
    CHECK(s.stats().ioasids == 0);  // it read zeros (argsz 0): refused, nothing allocated
}

TEST_CASE("one process's calls hold at most kCallsPerProcess workers; its others wait and are interruptible") {
    Session s;
    StuckPage page;
    if (!need_userfaultfd(page))
        return;
    std::vector<uint64_t> stuck;
    for (int i = 0; i < ciommu::CallGate::kCallsPerProcess; ++i)
        stuck.push_back(send_ioctl(s, s.fh, IOMMU_IOASID_ALLOC, page.address()));
    const uint64_t parked = send_ioctl(s, s.fh, IOMMU_GET_API_VERSION, 0);
    CHECK(s.kernel.quiet_for(100ms));  // even a value command of this process waits for a slot

    // Another process is served at once (the observer's calls come from a
    // child here, so they are another process's).
    const pid_t other = fork();
    REQUIRE(other >= 0);
    if (other == 0) {
        pause();
        _exit(0);
    }
    s.kernel.set_caller_pid(static_cast<uint32_t>(other));
    const IoctlResult served = s.kernel.ioctl(s.observer, IOMMU_GET_API_VERSION, uint64_t{0});
    s.kernel.set_caller_pid(0);
    kill(other, SIGKILL);
    waitpid(other, nullptr, 0);
    CHECK(served.result == IOMMU_API_VERSION);

    s.kernel.interrupt(parked);  // it never started: EINTR
    const std::optional<Reply> eintr = s.kernel.receive(parked);
    REQUIRE(eintr);
    CHECK(eintr->error() == -EINTR);

    page.resolve();  // the stuck ones end as they would have (argsz 0: EINVAL)
    for (const uint64_t unique : stuck) {
        const std::optional<Reply> reply = s.kernel.receive(unique);
        REQUIRE(reply);
        CHECK(reply->error() == -EINVAL);
    }
    CHECK(s.kernel.ioctl(s.fh, IOMMU_GET_API_VERSION, uint64_t{0}).result == IOMMU_API_VERSION);
}

TEST_CASE("a context released while one of its calls is stuck goes when that call ends") {
    Session s;
    StuckPage page;
    if (!need_userfaultfd(page))
        return;
    const uint64_t fh = s.kernel.open();
    REQUIRE(s.stats().contexts == 3);
    const uint64_t stuck = send_ioctl(s, fh, IOMMU_IOASID_ALLOC, page.address());
    CHECK(s.kernel.quiet_for(100ms));
    s.kernel.interrupt(stuck);
    REQUIRE(s.kernel.receive(stuck));  // EFAULT: the caller is free to close
    CHECK(s.kernel.release(fh) == 0);
    CHECK(s.stats().contexts == 3);  // the stuck handler still runs in it

    page.resolve();
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
        gone = s.stats().contexts == 2;
        if (!gone)
            std::this_thread::sleep_for(10ms);
    }
    CHECK(gone);
}
