#include "cuse_device.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <pthread.h>
#include <sys/uio.h>
#include <unistd.h>
#include <vector>

#include <cuse_lowlevel.h>
#include <fuse_lowlevel.h>

#include "../core/caller.h"
#include "../core/context.h"
#include "../dispatcher/dispatcher.h"
#include "cuse-iommu.h"
#include "call_gate.h"
#include "fault_readers.h"

namespace ciommu {
namespace {

CuseDevice& device_of(fuse_req_t req) {
    return *static_cast<CuseDevice*>(fuse_req_userdata(req));
}

Context& context_of(fuse_file_info* fi) {
    return *reinterpret_cast<Context*>(static_cast<uintptr_t>(fi->fh));
}

Caller caller_of(fuse_req_t req) {
    return Caller(fuse_req_ctx(req)->pid);
}

void on_init_done(void* userdata) {
    auto& device = *static_cast<CuseDevice*>(userdata);
    if (device.options().on_ready)
        device.options().on_ready(device.options().name);
}

void on_open(fuse_req_t req, fuse_file_info* fi) {
    Context* ctx = device_of(req).dispatcher().open(caller_of(req).tgid());
    if (!ctx) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    fi->fh = reinterpret_cast<uintptr_t>(ctx);
    fi->nonseekable = 1;
    fuse_reply_open(req, fi);
}

// The kernel does not wait for RELEASE; the context goes now, or when a
// call still running in it ends (CallGate).
void on_release(fuse_req_t req, fuse_file_info* fi) {
    device_of(req).calls().release(&context_of(fi));
    fuse_reply_err(req, 0);
}

// read(): whole fault records; blocks unless O_NONBLOCK.
void on_read(fuse_req_t req, size_t size, off_t, fuse_file_info* fi) {
    device_of(req).fault_readers().read(req, context_of(fi).id, size, (fi->flags & O_NONBLOCK) != 0);
}

void on_poll(fuse_req_t req, fuse_file_info* fi, fuse_pollhandle* handle) {
    device_of(req).fault_readers().poll(req, context_of(fi).id, handle);
}

// A restricted CUSE ioctl: every command is _IO (no size or direction in
// the number), so the kernel forwards the raw argument and no data, in one
// request; the dispatcher reads and writes the argument in the caller's
// memory itself.  One kernel round trip per ioctl.
// CallGate admits it, runs it through the dispatcher and answers it.
void on_ioctl(fuse_req_t req, int cmd, void* arg, fuse_file_info* fi, unsigned /*flags*/,
              const void* /*in_buf*/, size_t /*in_bufsz*/, size_t /*out_bufsz*/) {
    device_of(req).calls().ioctl(req, &context_of(fi), static_cast<unsigned>(cmd), reinterpret_cast<uintptr_t>(arg));
}

const cuse_lowlevel_ops kOps = [] {
    cuse_lowlevel_ops ops{};
    ops.init_done = on_init_done;
    ops.open = on_open;
    ops.release = on_release;
    ops.read = on_read;
    ops.poll = on_poll;
    ops.ioctl = on_ioctl;
    return ops;
}();

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

// exit() interrupts the loop thread's wait with this signal.
void on_wake_signal(int) {}

}  // namespace

CuseDevice::CuseDevice(Dispatcher& dispatcher, CuseDeviceOptions options)
    : dispatcher_(dispatcher),
      fault_readers_(std::make_unique<FaultReaders>(dispatcher)),
      calls_(std::make_unique<CallGate>(dispatcher,
                                        [this](Context* ctx) {
                                            fault_readers_->forget(ctx->id);
                                            dispatcher_.release(ctx);
                                        })),
      options_(std::move(options)) {
    dispatcher_.set_records_listener(
        [readers = fault_readers_.get()](uint64_t context_id) { readers->records_arrived(context_id); });
    const std::string devname = "DEVNAME=" + options_.name;
    const char* dev_info[] = {devname.c_str()};
    cuse_info info{};
    info.dev_info_argc = 1;
    info.dev_info_argv = dev_info;
    info.flags = 0;  // restricted ioctls: one round trip each (see on_ioctl)

    std::vector<char*> argv{const_cast<char*>("cuse-iommu")};
    if (options_.debug)
        argv.push_back(const_cast<char*>("-d"));
    fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
    session_ = cuse_lowlevel_new(&args, &info, &kOps, this);
    fuse_opt_free_args(&args);
}

CuseDevice::~CuseDevice() {
    dispatcher_.set_records_listener(nullptr);
    fault_readers_->shut_down();  // before the session that carries the replies goes
    calls_->shut_down();
    if (session_)
        fuse_session_destroy(session_);  // closes the fd: the kernel removes the node
}

int CuseDevice::attach(int fd) {
    static const fuse_custom_io io = {transport_writev, transport_read, nullptr, nullptr};
    if (!session_) {
        close(fd);
        return -EINVAL;
    }
    return fuse_session_custom_io(session_, &io, fd);
}

int CuseDevice::run() {
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

void CuseDevice::exit() {
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
