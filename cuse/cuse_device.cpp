#include "cuse_device.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>

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

// The same device as a FUSE mount's one file, <mount>/<name> (--mount): the
// kernel's FUSE ioctl path is CUSE's (fuse_do_ioctl, restricted), so the
// callbacks above serve it unchanged.  Only root and the file are known.
constexpr fuse_ino_t kDeviceFile = 2;

struct stat attributes_of(fuse_ino_t ino) {
    struct stat st{};
    st.st_ino = ino;
    st.st_nlink = ino == FUSE_ROOT_ID ? 2 : 1;
    // Mode as a fresh /dev node's; FUSE lets only the mounting user in anyway.
    st.st_mode = ino == FUSE_ROOT_ID ? (S_IFDIR | 0755) : (S_IFREG | 0600);
    return st;
}

void on_file_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    if (parent != FUSE_ROOT_ID || device_of(req).options().name != name) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    fuse_entry_param entry{};
    entry.ino = kDeviceFile;
    entry.attr = attributes_of(kDeviceFile);
    entry.attr_timeout = entry.entry_timeout = 3600;
    fuse_reply_entry(req, &entry);
}

void on_file_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    if (ino != FUSE_ROOT_ID && ino != kDeviceFile) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    const struct stat st = attributes_of(ino);
    fuse_reply_attr(req, &st, 3600);
}

// The root's listing: ".", ".." and the file, from the entry the kernel
// asks for on.  It fits a small buffer (a name is at most NAME_MAX).
void on_file_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info*) {
    if (ino != FUSE_ROOT_ID) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    const struct {
        const char* name;
        fuse_ino_t ino;
    } entries[] = {{".", FUSE_ROOT_ID}, {"..", FUSE_ROOT_ID}, {device_of(req).options().name.c_str(), kDeviceFile}};
    constexpr off_t kEntries = sizeof(entries) / sizeof(entries[0]);
    char buf[1024];
    const size_t room = std::min(size, sizeof(buf));
    size_t used = 0;
    for (off_t i = std::max<off_t>(offset, 0); i < kEntries; ++i) {
        const struct stat st = attributes_of(entries[i].ino);
        const size_t len = fuse_add_direntry(req, buf + used, room - used, entries[i].name, &st, i + 1);
        if (len > room - used)
            break;  // the rest in the next call
        used += len;
    }
    fuse_reply_buf(req, buf, used);
}

void on_file_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    if (ino != kDeviceFile) {
        fuse_reply_err(req, EISDIR);
        return;
    }
    fi->direct_io = 1;  // read() reaches the daemon as a CUSE read does, never the page cache
    on_open(req, fi);
}

const fuse_lowlevel_ops kFileOps = [] {
    fuse_lowlevel_ops ops{};
    ops.init = [](void* userdata, fuse_conn_info*) { on_init_done(userdata); };
    ops.lookup = on_file_lookup;
    ops.getattr = on_file_getattr;
    ops.readdir = on_file_readdir;
    ops.open = on_file_open;
    ops.release = [](fuse_req_t req, fuse_ino_t, fuse_file_info* fi) { on_release(req, fi); };
    ops.read = [](fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
        on_read(req, size, off, fi);
    };
    ops.poll = [](fuse_req_t req, fuse_ino_t, fuse_file_info* fi, fuse_pollhandle* handle) {
        on_poll(req, fi, handle);
    };
    ops.ioctl = [](fuse_req_t req, fuse_ino_t, unsigned int cmd, void* arg, fuse_file_info* fi, unsigned flags,
                   const void* in_buf, size_t in_bufsz, size_t out_bufsz) {
        on_ioctl(req, static_cast<int>(cmd), arg, fi, flags, in_buf, in_bufsz, out_bufsz);
    };
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
    session_ = options_.mounted ? std::make_unique<CuseSession>(kFileOps, this, options_.debug)
                                : std::make_unique<CuseSession>(options_.name, kOps, this, options_.debug);
}

CuseDevice::~CuseDevice() {
    dispatcher_.set_records_listener(nullptr);
    fault_readers_->shut_down();  // before the session that carries the replies goes
    calls_->shut_down();
    session_.reset();  // closes the fd: the kernel removes the node
}

}  // namespace ciommu
