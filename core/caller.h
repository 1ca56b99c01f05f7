// Who issued a command, and the memory its argument lives in.  The
// transport knows the calling thread's id (CUSE reports the thread, not the
// process); the process id is looked up only when a command needs it.
//
// The caller is blocked in its own call while the daemon serves it, so its
// pid cannot be reused meanwhile: its memory is reached by pid
// (process_vm_readv/writev), which honours page protections exactly as
// copy_from_user/copy_to_user do.  Anything the model keeps beyond the call
// holds the caller's Process instead (ioasid/process.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <sys/types.h>

namespace ciommu {

class Caller {
public:
    // tgid: the caller's thread-group id if the transport knows it for sure
    // (0: looked up when needed, which costs a system call).
    explicit Caller(pid_t tid, pid_t tgid = 0) : tid_(tid), tgid_(tgid) {}
    // The calling thread of this process (for tests and in-process use).
    static Caller self();

    pid_t tid() const { return tid_; }
    // Thread-group id of the caller (falls back to tid if /proc says nothing).
    pid_t tgid() const;

    // The caller's memory as the kernel's uaccess sees it (reached through
    // the calling thread, which needs no thread-group lookup): 0, or -EFAULT
    // when any byte of [addr, addr+len) cannot be read (written).  A
    // failed write may have written a prefix, as copy_to_user may.
    long read_memory(uint64_t addr, void* buf, size_t len) const;
    long write_memory(uint64_t addr, const void* buf, size_t len) const;
    // 0 if one byte of every page of [addr, addr+size) can be read (what
    // VFIO's pinning asks of a MAP_DMA range), else -EFAULT.
    long probe_memory(uint64_t addr, uint64_t size) const;

private:
    pid_t tid_;
    mutable pid_t tgid_;
};

}  // namespace ciommu
