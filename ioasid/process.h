// A client process, held by identity rather than by pid number.
//
// The model remembers processes in many places: the owner of a mapping
// (whose memory the device reaches), the owner of an identity IOASID, the
// process a page is charged to, the initiator of a stalled DMA.  A bare pid
// would be reused by an unrelated process once the owner exits; VFIO and
// iommufd hold a task/mm reference instead.  A Process holds
//   - a pidfd, which tells whether *this* process is still alive, and
//   - a /proc/<pid>/mem descriptor opened once, which refers to the address
//     space it was opened on and reads nothing once that address space is
//     gone (the process exited or called execve()).
// So after the owner exits its memory cannot be reached (-EFAULT), and its
// charges are kept under its own serial number, never another process's.
//
// What survives an owner's exit: the mappings, identity IOASIDs and charges
// it made stay in the model until unmapped, freed or released (like pinned
// pages of a dead VFIO user until its container goes), but every device
// access through them fails with -EFAULT and nobody else is charged for them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <sys/types.h>

#include "shared_mappings.h"

namespace ciommu {

class Process : public std::enable_shared_from_this<Process> {
public:
    // Opens the live process `tgid`.  Call it only for a process known to be
    // alive and to be the one meant (a caller blocked in its own call): the
    // pid cannot be reused while it waits.  nullptr if it cannot be opened.
    static std::shared_ptr<Process> open(pid_t tgid);
    // A process with no memory and no pidfd (tests of bookkeeping only):
    // every access fails with -EFAULT and it never counts as alive.
    static std::shared_ptr<Process> unbacked(pid_t pid);

    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    // The pid number, for display (dumps, traces) and nothing else.
    pid_t pid() const { return pid_; }
    // Unique for the daemon's life: the key charges are kept under.
    uint64_t serial() const { return serial_; }

    // Still the same live process with the same address space (no exit, no
    // execve since it was opened).  Two system calls.
    bool alive() const;
    // The process has exited (one system call).
    bool exited() const;

    // The process's memory through /proc/<pid>/mem, as a device sees pinned
    // pages: 0, or -EFAULT if any byte could not be moved (the address is
    // unmapped, or the process or its address space is gone).  These never
    // wait for a userfaultfd handler (the kernel fails such a fault).
    long read(uint64_t addr, void* buf, size_t len) const;
    long write(uint64_t addr, const void* buf, size_t len) const;

    // The shared mappings under pinned memory (SharedMappings): read() and
    // write() fall back to them once /proc/<pid>/mem fails.  retain opens
    // them (memory about to be pinned; reads the process's /proc files, so
    // call it without the model lock); each pin holds them while it lasts.
    void retain_shared(uint64_t addr, uint64_t len) const;
    void hold_shared(uint64_t addr, uint64_t len) const { shared_.hold(addr, len); }
    void release_shared(uint64_t addr, uint64_t len) const { shared_.release(addr, len); }
    void drop_unheld_shared(uint64_t addr, uint64_t len) const { shared_.drop_unheld(addr, len); }
    size_t shared_mappings() const { return shared_.size(); }

    // May this process have `pages` pages locked?  RLIMIT_MEMLOCK, and only
    // when that is exceeded CAP_IPC_LOCK, like VFIO.  False once it is gone
    // (unless `calling`: it makes the current call, so it lives).
    bool may_lock(uint64_t pages, bool calling = false) const;

private:
    Process(pid_t pid, int pidfd, int memfd);

    const pid_t pid_;
    const int pidfd_;  // -1: unbacked
    const int memfd_;  // -1: unbacked
    const uint64_t serial_;
    mutable SharedMappings shared_;
};

using ProcessRef = std::shared_ptr<Process>;

// Told when the current thread starts and stops waiting on a client's
// memory.  The transport sets one around each call it serves, so it can
// answer a caller interrupted while its call is stuck there (a
// userfaultfd page that is never resolved, say).  Every access to client
// memory -- the caller's (Caller) and any process's (Process) -- is in a
// ClientMemoryScope.
class ClientMemoryWatch {
public:
    virtual void entering() = 0;
    virtual void leaving() = 0;
    // The current thread's watch, or nullptr.
    static ClientMemoryWatch*& current();

protected:
    ~ClientMemoryWatch() = default;
};

class ClientMemoryScope {
public:
    ClientMemoryScope() : watch_(ClientMemoryWatch::current()) {
        if (watch_)
            watch_->entering();
    }
    ~ClientMemoryScope() {
        if (watch_)
            watch_->leaving();
    }
    ClientMemoryScope(const ClientMemoryScope&) = delete;
    ClientMemoryScope& operator=(const ClientMemoryScope&) = delete;

private:
    ClientMemoryWatch* watch_;
};

// The processes that called, by pid, so a caller's Process is opened once
// and not at every call.  A pid whose Process has exited or exec'd is
// opened afresh: a later process with the same number never inherits
// anything.  Entries of processes that have exited are dropped as the table
// grows, so it holds about as many as there are live callers.  Has its own
// mutex (taken without the model lock, never while waiting on a client).
class ProcessTable {
public:
    // The Process of a live caller (see Process::open), or nullptr.
    ProcessRef for_caller(pid_t tgid);
    size_t size();

private:
    std::mutex mutex_;
    std::map<pid_t, ProcessRef> by_pid_;
    size_t sweep_at_ = 64;  // drop the exited when the map reaches this
};

}  // namespace ciommu
