#include "caller.h"

#include "../ioasid/process.h"
#include "../toolkit/proc_status.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

namespace ciommu {

Caller Caller::self() {
    Caller caller(gettid());
    caller.tgid_ = getpid();
    return caller;
}

pid_t Caller::tgid() const {
    if (tgid_ != 0)
        return tgid_;
    tgid_ = tid_;
    // Most callers are a process's main thread, whose tid is the tgid:
    // tgkill(tid, tid, 0) proves it with one system call and no /proc read.
    if (syscall(SYS_tgkill, tid_, tid_, 0) == 0)
        return tgid_;
    if (pid_t from_proc = read_tgid(tid_); from_proc > 0)
        tgid_ = from_proc;
    return tgid_;
}

long Caller::read_memory(uint64_t addr, void* buf, size_t len) const {
    if (len == 0)
        return 0;
    const iovec local{buf, len};
    const iovec remote{reinterpret_cast<void*>(addr), len};
    const ClientMemoryScope waiting;
    return process_vm_readv(tid_, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len) ? 0 : -EFAULT;
}

long Caller::write_memory(uint64_t addr, const void* buf, size_t len) const {
    if (len == 0)
        return 0;
    const iovec local{const_cast<void*>(buf), len};
    const iovec remote{reinterpret_cast<void*>(addr), len};
    const ClientMemoryScope waiting;
    return process_vm_writev(tid_, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len) ? 0 : -EFAULT;
}

long Caller::probe_memory(uint64_t addr, uint64_t size) const {
    // One byte of every page, a batch of pages per system call (the batch
    // lives on the stack: MAP_DMA of one page must stay cheap).
    constexpr uint64_t kPage = 4096;
    constexpr size_t kBatch = 256;
    if (size == 0 || addr + (size - 1) < addr)
        return -EFAULT;
    const uint64_t first = addr & ~(kPage - 1);
    const uint64_t pages = ((addr + (size - 1)) / kPage) - first / kPage + 1;
    char sink[kBatch];
    iovec local[kBatch], remote[kBatch];
    const ClientMemoryScope waiting;
    for (uint64_t done = 0; done < pages;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(kBatch, pages - done));
        for (size_t i = 0; i < n; ++i) {
            local[i] = {&sink[i], 1};
            remote[i] = {reinterpret_cast<void*>(first + (done + i) * kPage), 1};
        }
        if (process_vm_readv(tid_, local, n, remote, n, 0) != static_cast<ssize_t>(n))
            return -EFAULT;  // a page in the batch is missing (or the process is gone)
        done += n;
    }
    return 0;
}

}  // namespace ciommu
