// The object node, /dev/<name>-object: each open file is an object's fd
// (a fault queue's, the selftest's access) once a CUSE_IOMMUFD_OBJECT_FD_CALL
// on /dev/<name> binds it (iommufd/object_file.h, docs/iommufd.md).
// Transport only: open, release, read, write, poll and the token ioctl go
// to the Dispatcher; this keeps the poll handles and wakes them.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cuse_session.h"

struct fuse_pollhandle;

namespace ciommu {

class Dispatcher;

class ObjectNode {
public:
    // Serves /dev/<name>; on_ready is called once the node exists.
    ObjectNode(Dispatcher& dispatcher, const std::string& name, bool debug, void (*on_ready)() = nullptr);
    ~ObjectNode();
    ObjectNode(const ObjectNode&) = delete;
    ObjectNode& operator=(const ObjectNode&) = delete;

    CuseSession& session() { return *session_; }
    Dispatcher& dispatcher() { return dispatcher_; }

    // A poller waits on file (replacing any earlier handle of it).
    void keep_poller(uint64_t file, fuse_pollhandle* handle);
    // file became readable (Dispatcher::kEveryObjectFile: any may have).
    void wake(uint64_t file);
    void forget(uint64_t file);
    void ready() {
        if (on_ready_)
            on_ready_();
    }

private:
    Dispatcher& dispatcher_;
    void (*on_ready_)();
    std::mutex mutex_;  // guards pollers_ only; never held into the model
    std::map<uint64_t, fuse_pollhandle*> pollers_;
    std::unique_ptr<CuseSession> session_;
};

}  // namespace ciommu
