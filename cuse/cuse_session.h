// One libfuse session whose requests libfuse's multithreaded loop hands to a
// table of callbacks: a CUSE /dev node, or a FUSE mount holding the device
// as one file (for kernels without cuse.ko: the kernel's ioctl path,
// fuse_do_ioctl, is the same for both).  The daemon runs two CUSE sessions:
// /dev/<name> (CuseDevice) and /dev/<name>-object (ObjectNode).
#pragma once

#include <condition_variable>
#include <mutex>
#include <pthread.h>
#include <string>

struct fuse_session;
struct cuse_lowlevel_ops;
struct fuse_lowlevel_ops;

namespace ciommu {

class CuseSession {
public:
    // devname: the node is /dev/<devname>.  userdata reaches the callbacks
    // (fuse_req_userdata).  debug: libfuse's request trace on stderr.
    CuseSession(const std::string& devname, const cuse_lowlevel_ops& ops, void* userdata, bool debug);
    // A FUSE session instead (mount() gives it its directory): ops serve
    // the mount's root and its one file.
    CuseSession(const fuse_lowlevel_ops& ops, void* userdata, bool debug);
    ~CuseSession();
    CuseSession(const CuseSession&) = delete;
    CuseSession& operator=(const CuseSession&) = delete;

    // The session, built without touching /dev/cuse; nullptr on failure.
    fuse_session* session() const { return session_; }
    // Serves the kernel (or a test's fake kernel) over fd with plain
    // read()/writev().  Takes ownership of fd.  Returns 0 or -errno.
    int attach(int fd);
    // A FUSE session only: mounts it on dir (an existing directory; the
    // mount goes with the session).  Returns 0 or -errno.
    int mount(const std::string& dir);
    // Runs libfuse's multithreaded loop until exit() or the peer goes away.
    int run();
    // Stops the loop and returns once run() has (call it from a thread that
    // is neither run()'s nor a libfuse worker: the signal-handling thread).
    void exit();

    // libfuse starts a worker whenever all are busy, up to this many.
    static constexpr int kMaxWorkers = 1024;

private:
    fuse_session* session_ = nullptr;
    bool mounted_ = false;
    std::mutex loop_mutex_;
    std::condition_variable loop_done_;
    pthread_t loop_thread_ = 0;  // run()'s thread while it runs, to wake it on exit()
};

}  // namespace ciommu
