#include "cuse_device.h"

#include <cerrno>
#include <fcntl.h>

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
    session_ = std::make_unique<CuseSession>(options_.name, kOps, this, options_.debug);
}

CuseDevice::~CuseDevice() {
    dispatcher_.set_records_listener(nullptr);
    fault_readers_->shut_down();  // before the session that carries the replies goes
    calls_->shut_down();
    session_.reset();  // closes the fd: the kernel removes the node
}

}  // namespace ciommu
