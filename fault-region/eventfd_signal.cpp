#include "eventfd_signal.h"

#include <cstdint>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <mutex>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ciommu {
namespace {

constexpr unsigned kAioEvents = 128;
constexpr unsigned kReapEvery = 32;

// Forks this process has made (counted in the child): a signaller belongs
// to the fork generation that made it.
std::atomic<unsigned> forks{0};

}  // namespace

EventfdSignaller& EventfdSignaller::instance() {
    // An AIO context belongs to the process that set it up: a child after
    // fork() (fuse_daemonize, a test) needs its own.  A fork handler tells,
    // rather than a getpid() per signal (a system call on the fault path).
    static std::once_flag registered;
    std::call_once(registered, [] { pthread_atfork(nullptr, nullptr, [] { forks.fetch_add(1); }); });
    static std::mutex mutex;
    static EventfdSignaller* signaller = nullptr;
    static unsigned made_in = 0;
    std::lock_guard guard(mutex);
    if (!signaller || made_in != forks.load()) {
        signaller = new EventfdSignaller();  // one per process, for its life
        made_in = forks.load();
    }
    return *signaller;
}

EventfdSignaller::EventfdSignaller() {
    aio_context_t context = 0;
    if (syscall(SYS_io_setup, kAioEvents, &context) == 0)
        aio_ = static_cast<long>(context);
    zero_ = open("/dev/zero", O_RDONLY | O_CLOEXEC);
}

EventfdSignaller::~EventfdSignaller() {
    if (aio_ >= 0)
        syscall(SYS_io_destroy, static_cast<aio_context_t>(aio_));
    if (zero_ >= 0)
        close(zero_);
}

void EventfdSignaller::signal(int eventfd) const {
    if (!available() || eventfd < 0)
        return;
    static char sink;
    iocb cb;
    std::memset(&cb, 0, sizeof(cb));
    cb.aio_lio_opcode = IOCB_CMD_PREAD;
    cb.aio_fildes = static_cast<uint32_t>(zero_);
    cb.aio_buf = reinterpret_cast<uintptr_t>(&sink);
    cb.aio_nbytes = 0;
    cb.aio_flags = IOCB_FLAG_RESFD;
    cb.aio_resfd = static_cast<uint32_t>(eventfd);
    iocb* list[] = {&cb};
    const auto context = static_cast<aio_context_t>(aio_);
    // Each completion waits in the context's ring until reaped; reaping
    // every kReapEvery signals (or when the ring is full) keeps it from
    // filling at one system call per signal.  The results are of no interest.
    auto reap = [&] {
        io_event events[kAioEvents];
        timespec now{0, 0};
        syscall(SYS_io_getevents, context, 0, kAioEvents, events, &now);
    };
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (syscall(SYS_io_submit, context, 1, list) == 1) {
            if (unreaped_.fetch_add(1) + 1 >= kReapEvery) {
                unreaped_ = 0;
                reap();
            }
            return;
        }
        reap();  // EAGAIN: the ring is full
        unreaped_ = 0;
    }
}

}  // namespace ciommu
