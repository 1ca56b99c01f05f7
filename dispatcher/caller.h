// Who issued a command.  The transport knows the calling thread's id (CUSE
// reports the thread, not the process); the process id is looked up only
// when a command needs it, because it costs a /proc read.
#pragma once

#include <sys/types.h>

namespace ciommu {

class Caller {
public:
    explicit Caller(pid_t tid) : tid_(tid) {}
    // The calling thread of this process (for tests and in-process use).
    static Caller self();

    pid_t tid() const { return tid_; }
    // Thread-group id of the caller (falls back to tid if /proc says nothing).
    pid_t tgid() const;

private:
    pid_t tid_;
    mutable pid_t tgid_ = 0;
};

}  // namespace ciommu
