// iommu_ctx of the RFC: the state of one open of /dev/iommu.
#pragma once

#include <cstdint>
#include <sys/types.h>

#include "../ioasid/ioasid_table.h"
#include "cuse-iommu.h"

namespace ciommu {

struct Context {
    Context(uint64_t context_id, pid_t opener_pid) : id(context_id), opener(opener_pid) {}

    const uint64_t id;  // daemon-wide, never reused while the daemon runs
    const pid_t opener;  // thread-group id of the process that opened the file
    IoasidTable ioasids{IOMMU_IOASID_MAX};
};

}  // namespace ciommu
