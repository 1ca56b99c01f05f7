#include "fault_readers.h"

#include <algorithm>
#include <cerrno>
#include <memory>
#include <new>
#include <span>
#include <poll.h>
#include <vector>

#include "../dispatcher/dispatcher.h"
#include "cuse-iommu.h"

namespace ciommu {

FaultReaders::~FaultReaders() {
    // Waiting reads were answered by shut_down() while the session lived;
    // here only poll handles (plain memory) can be left.
    for (auto& [id, state] : contexts_) {
        if (state.poll)
            fuse_pollhandle_destroy(state.poll);
    }
}

void FaultReaders::shut_down() {
    std::lock_guard guard(mutex_);
    for (auto& [id, state] : contexts_) {
        for (const Waiter& waiter : state.waiters)
            fuse_reply_err(waiter.req, ENODEV);
        if (state.poll)
            fuse_pollhandle_destroy(state.poll);
    }
    contexts_.clear();
}

bool FaultReaders::try_serve(fuse_req_t req, uint64_t context_id, size_t max_records) {
    // Never throws (the records listener calls it): out of memory, a read
    // gets what a small buffer on the stack holds -- a short read.
    constexpr size_t kFallback = 16;
    iommu_fault_record fallback[kFallback];
    std::unique_ptr<iommu_fault_record[]> heap(new (std::nothrow) iommu_fault_record[max_records]);
    const std::span<iommu_fault_record> records =
        heap ? std::span(heap.get(), max_records) : std::span(fallback, std::min(max_records, kFallback));
    const size_t got = dispatcher_.read_faults(context_id, records);
    if (got == 0)
        return false;
    fuse_reply_buf(req, reinterpret_cast<const char*>(records.data()), got * sizeof(iommu_fault_record));
    return true;
}

void FaultReaders::read(fuse_req_t req, uint64_t context_id, size_t size, bool nonblock) {
    // The kernel carries a large read() in requests of at most 32 pages of
    // the caller's buffer (CUSE's 128 KiB, less the buffer's offset in its
    // first page), and sends the next one only when this one came back full.
    // A request that large may be the first piece of a bigger read: it need
    // not be whole records, and it is never filled completely, so the read
    // ends there instead of blocking on a continuation.
    constexpr size_t kKernelReadMax = 131072, kPage = 4096;
    const bool may_be_piece = size > kKernelReadMax - kPage;
    if (size % sizeof(iommu_fault_record) != 0 && !may_be_piece) {
        fuse_reply_err(req, EINVAL);  // only whole records
        return;
    }
    size_t max_records = size / sizeof(iommu_fault_record);
    if (may_be_piece && size % sizeof(iommu_fault_record) == 0)
        --max_records;
    if (max_records == 0) {
        fuse_reply_buf(req, nullptr, 0);
        return;
    }
    try {
        std::lock_guard guard(mutex_);
        if (try_serve(req, context_id, max_records))
            return;
        if (nonblock) {
            fuse_reply_err(req, EAGAIN);
            return;
        }
        contexts_[context_id].waiters.push_back({req, max_records, false});
    } catch (const std::bad_alloc&) {  // no room to wait in: nothing was kept
        fuse_reply_err(req, ENOMEM);
        return;
    }
    // Outside mutex_ (see the header).  If the caller was interrupted
    // already, interrupted() runs right here, inside libfuse's call and
    // holding req's lock: it only marks the waiter, since a reply would
    // free req under that lock.  We answer it below, once out.
    fuse_req_interrupt_func(req, interrupted, this);

    std::lock_guard guard(mutex_);
    auto& waiters = contexts_[context_id].waiters;
    auto it = std::find_if(waiters.begin(), waiters.end(), [req](const Waiter& w) { return w.req == req; });
    if (it == waiters.end())
        return;  // answered meanwhile (shut_down)
    if (it->interrupted) {  // before its hook was in place, or while it went in
        waiters.erase(it);
        fuse_reply_err(req, EINTR);
        return;
    }
    it->armed = true;
    if (try_serve(req, context_id, max_records))  // records came while it was unarmed
        waiters.erase(it);
}

void FaultReaders::interrupted(fuse_req_t req, void* self_ptr) {
    auto& self = *static_cast<FaultReaders*>(self_ptr);
    std::lock_guard guard(self.mutex_);
    for (auto& [id, state] : self.contexts_) {
        auto it = std::find_if(state.waiters.begin(), state.waiters.end(),
                               [req](const Waiter& w) { return w.req == req; });
        if (it != state.waiters.end()) {
            // Unarmed: we may be inside fuse_req_interrupt_func() (no
            // reference held on req), and the waiter is read()'s to answer.
            // Armed: libfuse called us from its INTERRUPT handling, which
            // holds a reference on req while the hook runs.
            if (!it->armed) {
                it->interrupted = true;
                return;
            }
            state.waiters.erase(it);
            fuse_reply_err(req, EINTR);
            return;
        }
    }
    // Not waiting any more: it has been answered with records.
}

void FaultReaders::poll(fuse_req_t req, uint64_t context_id, fuse_pollhandle* handle) {
    unsigned revents;
    try {
        std::lock_guard guard(mutex_);
        PerContext& state = contexts_[context_id];
        if (handle) {  // the kernel wants to hear about changes: keep the newest handle
            if (state.poll)
                fuse_pollhandle_destroy(state.poll);
            state.poll = handle;
        }
        revents = dispatcher_.faults_pending(context_id) ? (POLLIN | POLLRDNORM) : 0;
    } catch (const std::bad_alloc&) {
        if (handle)
            fuse_pollhandle_destroy(handle);
        fuse_reply_err(req, ENOMEM);
        return;
    }
    fuse_reply_poll(req, revents);
}

void FaultReaders::records_arrived(uint64_t context_id) {
    std::lock_guard guard(mutex_);
    if (context_id == Dispatcher::kEveryContext) {
        for (auto& [id, state] : contexts_)
            serve_waiting(id, state);
        return;
    }
    auto found = contexts_.find(context_id);
    if (found != contexts_.end())
        serve_waiting(context_id, found->second);
}

void FaultReaders::serve_waiting(uint64_t context_id, PerContext& state) {
    // Oldest first; an unarmed waiter serves itself once armed.
    for (auto it = state.waiters.begin(); it != state.waiters.end();) {
        if (!it->armed) {
            ++it;
            continue;
        }
        if (!try_serve(it->req, context_id, it->max_records))
            break;  // no records left
        it = state.waiters.erase(it);
    }
    if (state.poll && dispatcher_.faults_pending(context_id)) {
        fuse_lowlevel_notify_poll(state.poll);
        fuse_pollhandle_destroy(state.poll);
        state.poll = nullptr;
    }
}

void FaultReaders::forget(uint64_t context_id) {
    std::lock_guard guard(mutex_);
    auto found = contexts_.find(context_id);
    if (found == contexts_.end())
        return;
    if (found->second.poll)
        fuse_pollhandle_destroy(found->second.poll);
    contexts_.erase(found);
}

}  // namespace ciommu
