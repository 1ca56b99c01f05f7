#include "user_memory.h"

#include <cerrno>
#include <sys/uio.h>
#include <algorithm>

#include "io_address_space.h"

namespace ciommu {

long probe_user_range(pid_t pid, uint64_t vaddr, uint64_t size) {
    // Read one byte of every page, a batch of pages per system call (the
    // batch lives on the stack: MAP_DMA of one page must stay cheap).
    constexpr size_t kBatch = 256;
    const uint64_t pages = (size + kPageSize - 1) / kPageSize;
    char sink[kBatch];
    iovec local[kBatch], remote[kBatch];
    for (uint64_t done = 0; done < pages;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(kBatch, pages - done));
        for (size_t i = 0; i < n; ++i) {
            local[i] = {&sink[i], 1};
            remote[i] = {reinterpret_cast<void*>(vaddr + (done + i) * kPageSize), 1};
        }
        const ssize_t got = process_vm_readv(pid, local, n, remote, n, 0);
        if (got < 0)
            return errno == ESRCH ? -ESRCH : -EFAULT;
        if (static_cast<size_t>(got) != n)  // partial: a page in the batch is missing
            return -EFAULT;
        done += n;
    }
    return 0;
}

}  // namespace ciommu

namespace ciommu {

long read_user(pid_t pid, uint64_t addr, void* buf, size_t len) {
    const iovec local{buf, len};
    const iovec remote{reinterpret_cast<void*>(addr), len};
    const ssize_t done = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    return done == static_cast<ssize_t>(len) ? 0 : -EFAULT;
}

long write_user(pid_t pid, uint64_t addr, const void* buf, size_t len) {
    const iovec local{const_cast<void*>(buf), len};
    const iovec remote{reinterpret_cast<void*>(addr), len};
    const ssize_t done = process_vm_writev(pid, &local, 1, &remote, 1, 0);
    return done == static_cast<ssize_t>(len) ? 0 : -EFAULT;
}

}  // namespace ciommu
