#include "ioctl_fetch.h"

#include <algorithm>
#include <cstring>

#include "../dispatcher/command_table.h"
#include "cuse-iommu.h"

namespace ciommu {

FetchPlan plan_ioctl_fetch(const CommandSpec& spec, uint64_t arg, const void* fetched,
                           size_t fetched_bytes, size_t page_size) {
    const size_t known = spec.struct_size;
    // An output tail's size is argsz, unknown before round 2; the kernel
    // writes back only what the reply holds, so the whole limit may be named.
    const size_t out_for_known = !spec.copies_out ? 0 : spec.output_tail ? IOMMU_ARGSZ_MAX : known;
    if (fetched_bytes < sizeof(uint32_t)) {
        const size_t room_in_page = page_size - (arg & (page_size - 1));
        if (known <= room_in_page)
            return {false, known, out_for_known};
        return {false, sizeof(uint32_t), 0};
    }

    uint32_t argsz;
    std::memcpy(&argsz, fetched, sizeof(argsz));
    // The dispatcher rejects these sizes by themselves; no need to fetch more.
    if (argsz < spec.min_size || argsz > IOMMU_ARGSZ_MAX)
        return {true, 0, 0};
    const size_t in_needed = spec.output_tail ? std::min<size_t>(argsz, known) : argsz;
    if (in_needed <= fetched_bytes)
        return {true, 0, 0};
    const size_t out_needed = !spec.copies_out ? 0 : spec.output_tail ? argsz : std::min<size_t>(argsz, known);
    return {false, in_needed, out_needed};
}

}  // namespace ciommu
