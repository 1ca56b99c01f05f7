// What /proc/<tid>/status says of a thread.
#pragma once

#include <sys/types.h>

namespace ciommu {

// The thread group (process) id of thread `tid`, or -1 when /proc cannot
// tell (the thread is gone, or /proc is not mounted).
pid_t read_tgid(pid_t tid);

// Whether capability `cap` (CAP_*) is in the thread's effective set, as the
// kernel's capable() asks of the calling thread; false when /proc cannot tell.
bool has_capability(pid_t tid, int cap);

}  // namespace ciommu
