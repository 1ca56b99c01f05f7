#include "object_node.h"

#include <cerrno>
#include <new>
#include <span>
#include <vector>

#include <cuse_lowlevel.h>
#include <fuse_lowlevel.h>

#include "../core/caller.h"
#include "../dispatcher/dispatcher.h"
#include "cuse-iommu-iommufd.h"

namespace ciommu {
namespace {

ObjectNode& node_of(fuse_req_t req) {
    return *static_cast<ObjectNode*>(fuse_req_userdata(req));
}

Caller caller_of(fuse_req_t req) {
    return Caller(fuse_req_ctx(req)->pid);
}

void on_init_done(void* userdata) {
    static_cast<ObjectNode*>(userdata)->ready();
}

void on_open(fuse_req_t req, fuse_file_info* fi) {
    const long file = node_of(req).dispatcher().open_object_file(caller_of(req).tgid());
    if (file < 0) {
        fuse_reply_err(req, static_cast<int>(-file));
        return;
    }
    fi->fh = static_cast<uint64_t>(file);
    // CUSE passes every read and write at offset 0 (cuse_read_iter) and
    // ignores this flag; it says what the file is.
    fi->nonseekable = 1;
    fuse_reply_open(req, fi);
}

// CUSE's release is synchronous (cuse_release -> fuse_sync_release): once
// close() returns, the object knows its fd is gone -- IOMMU_DESTROY of a
// fault queue right after closing its fd succeeds, as upstream.
void on_release(fuse_req_t req, fuse_file_info* fi) {
    node_of(req).forget(fi->fh);
    node_of(req).dispatcher().release_object_file(fi->fh);
    fuse_reply_err(req, 0);
}

// Never blocks: upstream's fault fd read() answers 0 when nothing waits.
void on_read(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi) {
    std::vector<std::byte> out;
    const long got = node_of(req).dispatcher().read_object_file(fi->fh, static_cast<uint64_t>(off), size, out);
    if (got < 0)
        fuse_reply_err(req, static_cast<int>(-got));
    else
        fuse_reply_buf(req, reinterpret_cast<const char*>(out.data()), out.size());
}

void on_write(fuse_req_t req, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
    const long done = node_of(req).dispatcher().write_object_file(
        fi->fh, static_cast<uint64_t>(off), std::span(reinterpret_cast<const std::byte*>(buf), size));
    if (done < 0)
        fuse_reply_err(req, static_cast<int>(-done));
    else
        fuse_reply_write(req, static_cast<size_t>(done));
}

// The handle is kept before the mask is taken: a fault arriving in between
// wakes it, so none is missed.
void on_poll(fuse_req_t req, fuse_file_info* fi, fuse_pollhandle* handle) {
    if (handle)
        node_of(req).keep_poller(fi->fh, handle);
    fuse_reply_poll(req, node_of(req).dispatcher().poll_object_file(fi->fh));
}

// Restricted ioctl: the token's is _IOR, so the kernel sends room for
// it and copies the reply out itself -- no client memory is touched here,
// and no worker of this node can be held by a caller's memory.  Upstream's
// fds have no ioctls: anything else is ENOTTY.
void on_ioctl(fuse_req_t req, int cmd, void*, fuse_file_info* fi, unsigned, const void*, size_t, size_t out_bufsz) {
    uint64_t token = 0;
    if (static_cast<unsigned>(cmd) != CUSE_IOMMUFD_OBJECT_TOKEN || out_bufsz < sizeof(token)) {
        fuse_reply_err(req, ENOTTY);
        return;
    }
    const long err = node_of(req).dispatcher().object_file_token(fi->fh, &token);
    if (err)
        fuse_reply_err(req, static_cast<int>(-err));
    else
        fuse_reply_ioctl(req, 0, &token, sizeof(token));
}

const cuse_lowlevel_ops kOps = [] {
    cuse_lowlevel_ops ops{};
    ops.init_done = on_init_done;
    ops.open = on_open;
    ops.release = on_release;
    ops.read = on_read;
    ops.write = on_write;
    ops.poll = on_poll;
    ops.ioctl = on_ioctl;
    return ops;
}();

}  // namespace

ObjectNode::ObjectNode(Dispatcher& dispatcher, const std::string& name, bool debug, void (*on_ready)())
    : dispatcher_(dispatcher), on_ready_(on_ready) {
    dispatcher_.set_object_file_listener([this](uint64_t file) { wake(file); });
    session_ = std::make_unique<CuseSession>(name, kOps, this, debug);
}

ObjectNode::~ObjectNode() {
    dispatcher_.set_object_file_listener(nullptr);
    session_.reset();
    for (auto& [file, handle] : pollers_)
        fuse_pollhandle_destroy(handle);
}

void ObjectNode::keep_poller(uint64_t file, fuse_pollhandle* handle) {
    std::lock_guard guard(mutex_);
    try {
        fuse_pollhandle*& kept = pollers_[file];
        if (kept)
            fuse_pollhandle_destroy(kept);
        kept = handle;
    } catch (const std::bad_alloc&) {
        fuse_pollhandle_destroy(handle);  // out of memory: this poll gets no wakeup
    }
}

void ObjectNode::wake(uint64_t file) {
    std::lock_guard guard(mutex_);
    auto notify = [](fuse_pollhandle* handle) {
        fuse_lowlevel_notify_poll(handle);
        fuse_pollhandle_destroy(handle);
    };
    if (file == Dispatcher::kEveryObjectFile) {
        for (auto& [id, handle] : pollers_)
            notify(handle);
        pollers_.clear();
    } else if (auto it = pollers_.find(file); it != pollers_.end()) {
        notify(it->second);
        pollers_.erase(it);
    }
}

void ObjectNode::forget(uint64_t file) {
    std::lock_guard guard(mutex_);
    if (auto it = pollers_.find(file); it != pollers_.end()) {
        fuse_pollhandle_destroy(it->second);
        pollers_.erase(it);
    }
}

}  // namespace ciommu
