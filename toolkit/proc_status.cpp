#include "proc_status.h"

#include <cstdio>

namespace ciommu {

pid_t read_tgid(pid_t tid) {
    char path[48];
    std::snprintf(path, sizeof(path), "/proc/%d/status", static_cast<int>(tid));
    FILE* f = std::fopen(path, "re");
    if (!f)
        return -1;
    pid_t tgid = -1;
    char line[256];
    while (std::fgets(line, sizeof(line), f)) {
        int value = 0;
        if (std::sscanf(line, "Tgid: %d", &value) == 1) {
            tgid = value;
            break;
        }
    }
    std::fclose(f);
    return tgid;
}

}  // namespace ciommu
