#include "call_gate.h"

#include <algorithm>
#include <cerrno>
#include <functional>

#include "../core/caller.h"
#include "../core/context.h"
#include "../dispatcher/dispatcher.h"
#include "../ioasid/process.h"

namespace ciommu {
namespace {

// Set while this thread registers an interrupt hook: libfuse then calls the
// hook at once if the request was interrupted already, still holding the
// request's lock, and a reply from there would free the request under it.
thread_local bool t_registering = false;

void reply(fuse_req_t req, long result) {
    if (result < 0)
        fuse_reply_err(req, static_cast<int>(-result));
    else
        fuse_reply_ioctl(req, static_cast<int>(result), nullptr, 0);
}

// The caller's thread-group id costs a system call, unless the caller is
// the thread that opened the context: a tid equal to a live process's id is
// that process's main thread, whatever process it is.
Caller identify(fuse_req_t req, const Context& ctx) {
    const pid_t tid = fuse_req_ctx(req)->pid;
    Caller who(tid, tid == ctx.opener ? tid : 0);
    who.tgid();
    return who;
}

}  // namespace

// One ioctl from arrival to answer.  The fields after `arg` are guarded by
// the gate's mutex.  As the thread's ClientMemoryWatch it learns when the
// call waits on client memory.
struct CallGate::Call final : ClientMemoryWatch {
    // who has its tgid looked up already (the dispatcher needs it too).
    Call(CallGate& g, fuse_req_t r, Context* c, Caller who, unsigned command, uint64_t argument)
        : gate(g), req(r), ctx(c), caller(who), tgid(who.tgid()), cmd(command), arg(argument) {}

    void entering() override {
        std::lock_guard guard(gate.mutex_);
        if (in_memory++ == 0)
            ++access;
        if (interrupted && !answered)
            gate.schedule_locked(self.lock());  // out of memory: no early answer
    }
    void leaving() override {
        std::lock_guard guard(gate.mutex_);
        --in_memory;
    }

    CallGate& gate;
    const fuse_req_t req;
    Context* const ctx;
    const Caller caller;
    const pid_t tgid;
    const unsigned cmd;
    const uint64_t arg;
    std::weak_ptr<Call> self;

    bool parked = false;       // waiting for a slot of its process
    bool answered = false;     // req has been (or is being) replied to
    bool interrupted = false;  // FUSE_INTERRUPT came for it
    int in_memory = 0;         // inside an access to client memory
    uint64_t access = 0;       // accesses begun, to tell one wait from the next
};

CallGate::CallGate(Dispatcher& dispatcher, std::function<void(Context*)> teardown)
    : dispatcher_(dispatcher), teardown_(std::move(teardown)), watchdog_([this] { watch_deadlines(); }) {}

CallGate::~CallGate() {
    {
        std::lock_guard guard(mutex_);
        stopping_ = true;
    }
    deadlines_changed_.notify_all();
    watchdog_.join();
}

void CallGate::ioctl(fuse_req_t req, Context* ctx, unsigned cmd, uint64_t arg) {
    std::shared_ptr<Call> call;
    try {  // out of memory before the call is anywhere: it never started
        call = std::make_shared<Call>(*this, req, ctx, identify(req, *ctx), cmd, arg);
        call->self = call;
        std::lock_guard guard(mutex_);
        auto [entry, added] = calls_.try_emplace(req, call);
        try {
            ++contexts_[ctx].in_flight;
        } catch (const std::bad_alloc&) {
            calls_.erase(entry);
            throw;
        }
    } catch (const std::bad_alloc&) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    // The hook goes in before any other thread can see the call (and answer
    // it, freeing req): then an interrupt is never missed.
    t_registering = true;
    fuse_req_interrupt_func(req, on_interrupt, this);
    t_registering = false;
    long refused = 0;  // an answer instead of running: EINTR or ENOMEM
    bool teardown = false;
    {
        std::lock_guard guard(mutex_);
        if (call->interrupted) {
            refused = -EINTR;  // interrupted before it could even start
        } else if (take_slot_locked(call)) {
            refused = 0;
        } else {
            refused = -ENOMEM;  // no room to park it
        }
        if (refused || call->parked) {
            if (!refused)
                return;  // parked: it runs when its process has a slot
            claim_locked(*call);
            teardown = context_done_locked(ctx);
        }
    }
    if (!refused) {
        run_from(call);
        return;
    }
    fuse_reply_err(req, static_cast<int>(-refused));
    if (teardown)
        teardown_(ctx);
}

void CallGate::run_from(std::shared_ptr<Call> call) {
    while (call) {
        run(*call);
        std::lock_guard guard(mutex_);
        call = next_parked_locked(call->tgid);
    }
}

void CallGate::run(Call& call) {
    ClientMemoryWatch::current() = &call;
    const long result = dispatcher_.ioctl(*call.ctx, call.caller, call.cmd, call.arg);
    ClientMemoryWatch::current() = nullptr;
    bool mine, teardown;
    {
        std::lock_guard guard(mutex_);
        mine = claim_locked(call);
        teardown = context_done_locked(call.ctx);
    }
    if (mine)
        reply(call.req, result);
    if (teardown)
        teardown_(call.ctx);
}

bool CallGate::take_slot_locked(const std::shared_ptr<Call>& call) {
    try {
        ProcessSlots& slots = processes_[call->tgid];
        if (slots.running < kCallsPerProcess) {
            ++slots.running;
            return true;
        }
        slots.parked.push_back(call);
        call->parked = true;
        return true;
    } catch (const std::bad_alloc&) {
        auto it = processes_.find(call->tgid);
        if (it != processes_.end() && it->second.running == 0 && it->second.parked.empty())
            processes_.erase(it);
        return false;
    }
}

bool CallGate::claim_locked(Call& call) {
    if (call.answered)
        return false;
    call.answered = true;
    calls_.erase(call.req);
    return true;
}

bool CallGate::context_done_locked(Context* ctx) {
    auto it = contexts_.find(ctx);
    if (--it->second.in_flight > 0)
        return false;
    const bool released = it->second.released;
    contexts_.erase(it);
    return released;
}

std::shared_ptr<CallGate::Call> CallGate::next_parked_locked(pid_t tgid) {
    auto it = processes_.find(tgid);
    ProcessSlots& slots = it->second;
    while (!slots.parked.empty()) {
        std::shared_ptr<Call> next = std::move(slots.parked.front());
        slots.parked.pop_front();
        if (next->answered)
            continue;
        next->parked = false;
        return next;  // runs in the slot the last call leaves
    }
    if (--slots.running == 0)
        processes_.erase(it);
    return nullptr;
}

void CallGate::release(Context* ctx) {
    {
        std::lock_guard guard(mutex_);
        auto it = contexts_.find(ctx);
        if (it != contexts_.end()) {
            it->second.released = true;  // its last call tears it down
            return;
        }
    }
    teardown_(ctx);
}

void CallGate::on_interrupt(fuse_req_t req, void* gate) { static_cast<CallGate*>(gate)->interrupted(req); }

void CallGate::interrupted(fuse_req_t req) {
    std::shared_ptr<Call> call;
    int answer = 0;
    bool teardown = false;
    {
        std::lock_guard guard(mutex_);
        auto it = calls_.find(req);
        if (it == calls_.end())
            return;  // answered already
        call = it->second;
        call->interrupted = true;
        if (t_registering)
            return;  // ioctl() looks at it once the hook is in place
        if (call->parked) {
            std::erase(processes_.find(call->tgid)->second.parked, call);
            claim_locked(*call);
            answer = EINTR;
            teardown = context_done_locked(call->ctx);
        } else if (call->in_memory && !schedule_locked(call)) {
            claim_locked(*call);  // no room to wait for the grace: answer at once
            answer = EFAULT;
        }
    }
    // libfuse holds a reference to req while its hook runs: a reply here is safe.
    if (answer)
        fuse_reply_err(req, answer);
    if (teardown)
        teardown_(call->ctx);
}

bool CallGate::schedule_locked(const std::shared_ptr<Call>& call) noexcept {
    try {
        deadlines_.push_back({std::chrono::steady_clock::now() + kInterruptGrace, call, call->access});
    } catch (const std::bad_alloc&) {
        return false;
    }
    std::push_heap(deadlines_.begin(), deadlines_.end(), std::greater<>());
    deadlines_changed_.notify_all();
    return true;
}

// An interrupted call still in the same wait on client memory when its
// grace is over is answered EFAULT; its worker goes on waiting, unanswerable.
void CallGate::watch_deadlines() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (deadlines_.empty()) {
            deadlines_changed_.wait(lock);
            continue;
        }
        const auto when = deadlines_.front().when;
        if (std::chrono::steady_clock::now() < when) {
            deadlines_changed_.wait_until(lock, when);
            continue;
        }
        std::pop_heap(deadlines_.begin(), deadlines_.end(), std::greater<>());
        const Deadline due = std::move(deadlines_.back());
        deadlines_.pop_back();
        const std::shared_ptr<Call> call = due.call.lock();
        if (!call || !call->in_memory || call->access != due.access || !claim_locked(*call))
            continue;
        lock.unlock();
        fuse_reply_err(call->req, EFAULT);
        lock.lock();
    }
}

void CallGate::shut_down() {
    std::vector<fuse_req_t> parked;
    {
        std::lock_guard guard(mutex_);
        for (auto& [tgid, slots] : processes_) {
            for (const auto& call : slots.parked) {
                if (claim_locked(*call))
                    parked.push_back(call->req);
            }
            slots.parked.clear();
        }
    }
    for (fuse_req_t req : parked)
        fuse_reply_err(req, ENODEV);
}

}  // namespace ciommu
