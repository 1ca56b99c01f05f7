#include "command_table.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <linux/ioctl.h>

#include "cuse-iommu.h"
#include "handlers.h"

namespace ciommu {
namespace {

#define OFFSET_END(type, field) (offsetof(type, field) + sizeof(type::field))
#define RESERVED(type, field) ReservedField{offsetof(type, field), sizeof(type::field)}

constexpr CommandSpec value_command(unsigned nr, const char* name, Handler handler) {
    return {nr, name, ArgKind::kValue, 0, 0, 0, false, {}, handler};
}

constexpr std::array kCommands = {
    value_command(IOMMU_NR_GET_API_VERSION, "GET_API_VERSION", ioctl_get_api_version),
    value_command(IOMMU_NR_CHECK_EXTENSION, "CHECK_EXTENSION", ioctl_check_extension),
    CommandSpec{IOMMU_NR_IOASID_ALLOC, "IOASID_ALLOC", ArgKind::kStruct,
                sizeof(iommu_ioasid_alloc), OFFSET_END(iommu_ioasid_alloc, flags),
                0, false, {}, ioctl_ioasid_alloc},
    CommandSpec{IOMMU_NR_IOASID_FREE, "IOASID_FREE", ArgKind::kStruct,
                sizeof(iommu_ioasid_free), OFFSET_END(iommu_ioasid_free, ioasid),
                0, false, {RESERVED(iommu_ioasid_free, __reserved)}, ioctl_ioasid_free},
    CommandSpec{IOMMU_NR_MAP_DMA, "MAP_DMA", ArgKind::kStruct,
                sizeof(iommu_map_dma), OFFSET_END(iommu_map_dma, size),
                IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE, false,
                {RESERVED(iommu_map_dma, __reserved)}, ioctl_map_dma},
    CommandSpec{IOMMU_NR_UNMAP_DMA, "UNMAP_DMA", ArgKind::kStruct,
                sizeof(iommu_unmap_dma), OFFSET_END(iommu_unmap_dma, size),
                IOMMU_UNMAP_DMA_ALL, true,
                {RESERVED(iommu_unmap_dma, __reserved)}, ioctl_unmap_dma},
    CommandSpec{IOMMU_NR_SIM_DAEMON_STATS, "SIM_DAEMON_STATS", ArgKind::kStruct,
                sizeof(iommu_sim_daemon_stats), OFFSET_END(iommu_sim_daemon_stats, flags),
                0, true, {}, ioctl_sim_daemon_stats},
};

static_assert(std::all_of(kCommands.begin(), kCommands.end(),
                          [](const CommandSpec& c) { return c.struct_size <= kMaxStructSize; }));

}  // namespace

const CommandSpec* find_command(unsigned cmd) {
    // Only the exact _IO(IOMMU_TYPE, nr) form names a command: a number with
    // a size or direction encoded is somebody else's ioctl.
    if (_IOC_TYPE(cmd) != IOMMU_TYPE || _IOC_DIR(cmd) != _IOC_NONE || _IOC_SIZE(cmd) != 0)
        return nullptr;
    for (const CommandSpec& spec : kCommands) {
        if (spec.nr == _IOC_NR(cmd))
            return &spec;
    }
    return nullptr;
}

std::span<const CommandSpec> all_commands() { return kCommands; }

}  // namespace ciommu
