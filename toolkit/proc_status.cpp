#include "proc_status.h"

#include <cstdio>

namespace ciommu {

namespace {

// The first line of /proc/<tid>/status that `format` (one conversion) reads.
template <typename T> bool read_status_line(pid_t tid, const char* format, T* value) {
    char path[48];
    std::snprintf(path, sizeof(path), "/proc/%d/status", static_cast<int>(tid));
    FILE* f = std::fopen(path, "re");
    if (!f)
        return false;
    bool found = false;
    char line[256];
    while (!found && std::fgets(line, sizeof(line), f))
        found = std::sscanf(line, format, value) == 1;
    std::fclose(f);
    return found;
}

}  // namespace

pid_t read_tgid(pid_t tid) {
    int tgid = -1;
    return read_status_line(tid, "Tgid: %d", &tgid) ? tgid : -1;
}

bool has_capability(pid_t tid, int cap) {
    unsigned long long caps = 0;
    return cap >= 0 && cap < 64 && read_status_line(tid, "CapEff: %llx", &caps) && ((caps >> cap) & 1);
}

}  // namespace ciommu
