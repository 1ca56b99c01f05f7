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
