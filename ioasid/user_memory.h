// Reaching a client's memory from the daemon (process_vm_readv/writev).
// The daemon runs as root; a client may unmap memory at any time, so every
// access can fail with -EFAULT and must never crash the daemon.
#pragma once

#include <cstdint>
#include <sys/types.h>

namespace ciommu {

// 0 if every page of [vaddr, vaddr+size) is readable in process pid,
// else -EFAULT (or -ESRCH if the process is gone).
long probe_user_range(pid_t pid, uint64_t vaddr, uint64_t size);

}  // namespace ciommu

namespace ciommu {

// Copies between the daemon and process pid.  0, or -EFAULT if any byte
// could not be moved (a partial transfer counts as a failure).
long read_user(pid_t pid, uint64_t addr, void* buf, size_t len);
long write_user(pid_t pid, uint64_t addr, const void* buf, size_t len);

}  // namespace ciommu
