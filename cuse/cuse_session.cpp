#include "cuse_session.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <sys/uio.h>
#include <unistd.h>
#include <vector>

#include <cuse_lowlevel.h>
#include <fuse_lowlevel.h>

namespace ciommu {
namespace {

// Plain read()/writev() on the CUSE fd.  A peer that hangs up ends the loop
// cleanly: libfuse treats ENODEV as "unmounted".  (A socket peer that goes
// with our replies unread makes the read fail with ECONNRESET instead.)
ssize_t transport_read(int fd, void* buf, size_t len, void*) {
    const ssize_t got = read(fd, buf, len);
    if (got == 0 || (got < 0 && errno == ECONNRESET)) {
        errno = ENODEV;
        return -1;
    }
    return got;
}

ssize_t transport_writev(int fd, iovec* iov, int count, void*) {
    return writev(fd, iov, count);
}

// libfuse's command line: its request trace on stderr if debug.
std::vector<char*> session_argv(bool debug) {
    std::vector<char*> argv{const_cast<char*>("cuse-iommu")};
    if (debug)
        argv.push_back(const_cast<char*>("-d"));
    return argv;
}

// exit() interrupts the loop thread's wait with this signal.
void on_wake_signal(int) {}

}  // namespace

CuseSession::CuseSession(const std::string& devname, const cuse_lowlevel_ops& ops, void* userdata, bool debug) {
    const std::string dev_info_name = "DEVNAME=" + devname;
    const char* dev_info[] = {dev_info_name.c_str()};
    cuse_info info{};
    info.dev_info_argc = 1;
    info.dev_info_argv = dev_info;
    info.flags = 0;  // restricted ioctls: one round trip each (CuseDevice's on_ioctl)

    std::vector<char*> argv = session_argv(debug);
    fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
    session_ = cuse_lowlevel_new(&args, &info, &ops, userdata);
    fuse_opt_free_args(&args);
}

CuseSession::CuseSession(const fuse_lowlevel_ops& ops, void* userdata, bool debug) {
    std::vector<char*> argv = session_argv(debug);
    fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
    session_ = fuse_session_new(&args, &ops, sizeof(ops), userdata);
    fuse_opt_free_args(&args);
}

CuseSession::~CuseSession() {
    if (!session_)
        return;
    if (mounted_)
        fuse_session_unmount(session_);
    fuse_session_destroy(session_);  // closes the fd: the kernel removes the node
}

int CuseSession::mount(const std::string& dir) {
    if (!session_ || mounted_)
        return -EINVAL;
    // libfuse prints why a mount fails; errno is not always set.
    if (fuse_session_mount(session_, dir.c_str()) != 0)
        return -EIO;
    mounted_ = true;
    return 0;
}

int CuseSession::attach(int fd) {
    static const fuse_custom_io io = {transport_writev, transport_read, nullptr, nullptr};
    if (!session_) {
        close(fd);
        return -EINVAL;
    }
    return fuse_session_custom_io(session_, &io, fd);
}

int CuseSession::run() {
    struct sigaction wake{};
    wake.sa_handler = on_wake_signal;  // no SA_RESTART: the wait must return
    sigaction(SIGUSR1, &wake, nullptr);
    {
        std::lock_guard guard(loop_mutex_);
        loop_thread_ = pthread_self();
    }
    fuse_loop_config* config = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(config, kMaxWorkers);
    fuse_loop_cfg_set_idle_threads(config, 8);
    const int result = fuse_session_loop_mt(session_, config);
    fuse_loop_cfg_destroy(config);
    {
        std::lock_guard guard(loop_mutex_);
        loop_thread_ = 0;
    }
    loop_done_.notify_all();
    return result;
}

void CuseSession::exit() {
    fuse_session_exit(session_);
    // The loop thread checks the exit flag and then sleeps in sem_wait(): a
    // signal landing between the two is lost, so signal again until run()
    // has returned.  The mutex keeps the thread id valid while signalled.
    std::unique_lock guard(loop_mutex_);
    while (loop_thread_) {
        pthread_kill(loop_thread_, SIGUSR1);
        loop_done_.wait_for(guard, std::chrono::milliseconds(20));
    }
}

}  // namespace ciommu
