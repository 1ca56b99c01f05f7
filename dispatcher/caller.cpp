#include "caller.h"

#include <cstdio>
#include <cstring>
#include <sys/syscall.h>
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
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/%d/status", static_cast<int>(tid_));
    if (FILE* f = std::fopen(path, "re")) {
        char line[256];
        while (std::fgets(line, sizeof(line), f)) {
            int value = 0;
            if (std::sscanf(line, "Tgid: %d", &value) == 1) {
                tgid_ = value;
                break;
            }
        }
        std::fclose(f);
    }
    return tgid_;
}

}  // namespace ciommu
