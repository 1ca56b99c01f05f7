// Between libfuse's workers and the dispatcher, for ioctls.  The kernel
// leaves a caller waiting in its ioctl until the daemon answers -- even a
// caller that was SIGKILLed -- so the daemon must always be able to answer,
// even when the call is stuck in client memory (a userfaultfd page nobody
// resolves, say).  The gate does three things:
//
//   Admission.  A caller process has at most kCallsPerProcess calls
//     running; more wait here, holding no thread.  So however many of one
//     process's calls are stuck in its memory, they hold at most that many
//     workers, and libfuse starts others for everyone else (docs/design.md:
//     the worker-thread bound).
//   Interrupts.  A signal to the caller makes the kernel send
//     FUSE_INTERRUPT.  A call that then waits on client memory for longer
//     than kInterruptGrace is answered EFAULT (what copy_from_user gives
//     when a signal interrupts a fault on a userfaultfd page); a call still
//     waiting for admission is answered EINTR.  A SIGKILLed caller is thus
//     always answered, and reaped.  The worker that was stuck finishes when
//     the memory answers (a dead caller's userfaultfd goes with it) and its
//     answer is dropped.
//   Release.  A file released while a call still runs in its context (one
//     answered early, still stuck) is torn down when that call finishes, so
//     no handler ever runs on a context that is gone.
//
// Locking: mutex_ guards everything here.  libfuse calls the interrupt hook
// holding the request's own lock, which then takes mutex_; so mutex_ is
// never held while registering or unregistering a hook, and replies are
// sent after it is released.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fuse_lowlevel.h>

namespace ciommu {

class Dispatcher;
struct Context;

class CallGate {
public:
    static constexpr int kCallsPerProcess = 4;
    static constexpr std::chrono::milliseconds kInterruptGrace{20};

    // teardown(ctx): releases a context (the fault readers, the dispatcher).
    CallGate(Dispatcher& dispatcher, std::function<void(Context*)> teardown);
    ~CallGate();
    CallGate(const CallGate&) = delete;
    CallGate& operator=(const CallGate&) = delete;

    // Serves an ioctl on a libfuse worker: runs it, or parks it until the
    // caller's process has a free slot.  Always answers req, once.
    void ioctl(fuse_req_t req, Context* ctx, unsigned cmd, uint64_t arg);
    // RELEASE of ctx's file: tears it down now, or after its last call.
    void release(Context* ctx);
    // The session is going away: answer every parked call (ENODEV).
    void shut_down();

private:
    struct Call;
    struct ProcessSlots {
        int running = 0;
        std::deque<std::shared_ptr<Call>> parked;
    };
    struct ContextCalls {
        int in_flight = 0;
        bool released = false;  // its file is closed: tear down after the last call
    };
    struct Deadline {
        std::chrono::steady_clock::time_point when;
        std::weak_ptr<Call> call;
        uint64_t access;  // the access that must still be going on
        bool operator>(const Deadline& other) const { return when > other.when; }
    };

    // A running slot of the call's process, or a place in its queue
    // (call->parked); false when out of memory.  mutex_ held.
    bool take_slot_locked(const std::shared_ptr<Call>& call);
    void run_from(std::shared_ptr<Call> call);
    void run(Call& call);
    // Takes the answer of a call that is still unanswered; false if someone
    // else answered it.  mutex_ held.
    bool claim_locked(Call& call);
    // One call of ctx ended (ran, or answered while parked); true if ctx
    // must now be torn down.  mutex_ held.
    bool context_done_locked(Context* ctx);
    std::shared_ptr<Call> next_parked_locked(pid_t tgid);
    // Arms the grace watchdog for the call's current wait; false when out
    // of memory.  mutex_ held.
    bool schedule_locked(const std::shared_ptr<Call>& call) noexcept;
    void watch_deadlines();
    static void on_interrupt(fuse_req_t req, void* gate);
    void interrupted(fuse_req_t req);

    Dispatcher& dispatcher_;
    std::function<void(Context*)> teardown_;
    std::mutex mutex_;
    std::unordered_map<fuse_req_t, std::shared_ptr<Call>> calls_;  // not yet answered
    std::unordered_map<pid_t, ProcessSlots> processes_;
    std::unordered_map<Context*, ContextCalls> contexts_;
    std::vector<Deadline> deadlines_;  // a min-heap
    std::condition_variable deadlines_changed_;
    bool stopping_ = false;
    std::thread watchdog_;
};

}  // namespace ciommu
