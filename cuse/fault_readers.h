// read() and poll() on /dev/iommu: the fault region as a file.  Reads that
// find no record wait here (unless O_NONBLOCK) until the dispatcher says a
// context has records, or the caller is interrupted (FUSE_INTERRUPT ->
// EINTR).  poll() handles are kept and notified the same way.
//
// Locking: mutex_ guards the waiters and poll handles and is taken before
// the model lock (read_faults), never after.  libfuse calls the interrupt
// hook with the request's own lock held, so that hook is never registered
// while mutex_ is held (lock order req->lock -> mutex_ only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <unordered_map>

#include <fuse_lowlevel.h>

namespace ciommu {

class Dispatcher;

class FaultReaders {
public:
    explicit FaultReaders(Dispatcher& dispatcher) : dispatcher_(dispatcher) {}
    ~FaultReaders();

    void read(fuse_req_t req, uint64_t context_id, size_t size, bool nonblock);
    void poll(fuse_req_t req, uint64_t context_id, fuse_pollhandle* handle);
    // The dispatcher's records listener (never throws; kEveryContext: all).
    void records_arrived(uint64_t context_id);
    // The file was released: forget its poll handle.
    void forget(uint64_t context_id);
    // The session is going away: answer every waiting read (ENODEV, as the
    // kernel would for a vanished device) and drop every poll handle, while
    // the session can still carry the replies.
    void shut_down();

private:
    struct Waiter {
        fuse_req_t req;
        size_t max_records;
        bool armed;               // the interrupt hook is registered: others may answer it
        bool interrupted = false; // interrupted while unarmed: read() answers EINTR once armed
    };
    struct PerContext {
        std::list<Waiter> waiters;
        fuse_pollhandle* poll = nullptr;
    };

    // Replies with up to max_records records if there are any.
    bool try_serve(fuse_req_t req, uint64_t context_id, size_t max_records);
    // Serves a context's armed waiters while it has records; wakes its poller.
    void serve_waiting(uint64_t context_id, PerContext& state);
    static void interrupted(fuse_req_t req, void* self);

    Dispatcher& dispatcher_;
    std::mutex mutex_;
    std::unordered_map<uint64_t, PerContext> contexts_;
};

}  // namespace ciommu
