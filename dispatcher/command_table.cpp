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
    return {nr, name, ArgKind::kValue, 0, 0, 0, false, false, {}, handler, false};
}

// A struct command; min_size is offsetofend() of its last mandatory field.
template <typename Struct>
constexpr CommandSpec struct_command(unsigned nr, const char* name, size_t min_size, uint32_t valid_flags,
                                     bool copies_out, Handler handler, ReservedField reserved = {}) {
    return {nr, name, ArgKind::kStruct, sizeof(Struct), static_cast<uint32_t>(min_size), valid_flags,
            copies_out, false, {reserved, {}}, handler, false};
}

constexpr CommandSpec with_output_tail(CommandSpec spec) {
    spec.output_tail = true;
    return spec;
}

constexpr CommandSpec self_locked(CommandSpec spec) {
    spec.self_locked = true;
    return spec;
}

constexpr bool kCopiesOut = true, kInputOnly = false;

constexpr std::array kCommands = {
    value_command(IOMMU_NR_GET_API_VERSION, "GET_API_VERSION", ioctl_get_api_version),
    value_command(IOMMU_NR_CHECK_EXTENSION, "CHECK_EXTENSION", ioctl_check_extension),
    with_output_tail(struct_command<iommu_device_info>(
        IOMMU_NR_DEVICE_GET_INFO, "DEVICE_GET_INFO", sizeof(iommu_device_info), 0, kCopiesOut,
        ioctl_device_get_info, RESERVED(iommu_device_info, __reserved))),
    self_locked(struct_command<iommu_ioasid_alloc>(
        IOMMU_NR_IOASID_ALLOC, "IOASID_ALLOC", OFFSET_END(iommu_ioasid_alloc, flags),
        IOMMU_IOASID_USER_PGTABLE | IOMMU_IOASID_IDENTITY | IOMMU_IOASID_ENFORCE_SNOOP, kInputOnly,
        ioctl_ioasid_alloc)),
    struct_command<iommu_ioasid_free>(
        IOMMU_NR_IOASID_FREE, "IOASID_FREE", OFFSET_END(iommu_ioasid_free, ioasid), 0, kInputOnly,
        ioctl_ioasid_free, RESERVED(iommu_ioasid_free, __reserved)),
    self_locked(struct_command<iommu_map_dma>(
        IOMMU_NR_MAP_DMA, "MAP_DMA", OFFSET_END(iommu_map_dma, size),
        IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE | IOMMU_MAP_DMA_IOPF,
        kInputOnly, ioctl_map_dma, RESERVED(iommu_map_dma, __reserved))),
    struct_command<iommu_unmap_dma>(
        IOMMU_NR_UNMAP_DMA, "UNMAP_DMA", OFFSET_END(iommu_unmap_dma, size), IOMMU_UNMAP_DMA_ALL, kCopiesOut,
        ioctl_unmap_dma, RESERVED(iommu_unmap_dma, __reserved)),
    struct_command<iommu_invalidate_cache>(
        IOMMU_NR_INVALIDATE_CACHE, "INVALIDATE_CACHE", OFFSET_END(iommu_invalidate_cache, size), 0,
        kInputOnly, ioctl_invalidate_cache),
    struct_command<iommu_device_bind>(
        IOMMU_NR_DEVICE_BIND, "DEVICE_BIND", OFFSET_END(iommu_device_bind, cookie), 0, kInputOnly,
        ioctl_device_bind),
    struct_command<iommu_device_unbind>(
        IOMMU_NR_DEVICE_UNBIND, "DEVICE_UNBIND", OFFSET_END(iommu_device_unbind, cookie), 0, kInputOnly,
        ioctl_device_unbind),
    struct_command<iommu_device_attach>(
        IOMMU_NR_DEVICE_ATTACH, "DEVICE_ATTACH", OFFSET_END(iommu_device_attach, pasid), IOMMU_ATTACH_PASID,
        kInputOnly, ioctl_device_attach),
    struct_command<iommu_device_detach>(
        IOMMU_NR_DEVICE_DETACH, "DEVICE_DETACH", OFFSET_END(iommu_device_detach, pasid), IOMMU_ATTACH_PASID,
        kInputOnly, ioctl_device_detach, RESERVED(iommu_device_detach, __reserved)),
    self_locked(struct_command<iommu_stats>(
        IOMMU_NR_GET_STATS, "GET_STATS", OFFSET_END(iommu_stats, flags), 0, kCopiesOut, ioctl_get_stats)),
    struct_command<iommu_sim_daemon_stats>(
        IOMMU_NR_SIM_DAEMON_STATS, "SIM_DAEMON_STATS", OFFSET_END(iommu_sim_daemon_stats, flags), 0, kCopiesOut,
        ioctl_sim_daemon_stats),
    self_locked(struct_command<iommu_sim_dma>(
        IOMMU_NR_SIM_DMA, "SIM_DMA", OFFSET_END(iommu_sim_dma, data), IOMMU_SIM_DMA_WRITE | IOMMU_SIM_DMA_PASID,
        kCopiesOut, ioctl_sim_dma)),
    struct_command<iommu_device_fault>(
        IOMMU_NR_DEVICE_FAULT_REGISTER, "DEVICE_FAULT_REGISTER", OFFSET_END(iommu_device_fault, cookie), 0,
        kInputOnly, ioctl_device_fault_register),
    struct_command<iommu_device_fault>(
        IOMMU_NR_DEVICE_FAULT_UNREGISTER, "DEVICE_FAULT_UNREGISTER", OFFSET_END(iommu_device_fault, cookie), 0,
        kInputOnly, ioctl_device_fault_unregister),
    struct_command<iommu_fault_eventfd>(
        IOMMU_NR_FAULT_SET_EVENTFD, "FAULT_SET_EVENTFD", OFFSET_END(iommu_fault_eventfd, fd), 0, kInputOnly,
        ioctl_fault_set_eventfd, RESERVED(iommu_fault_eventfd, __reserved)),
    self_locked(struct_command<iommu_page_response>(
        IOMMU_NR_PAGE_RESPONSE, "PAGE_RESPONSE", OFFSET_END(iommu_page_response, code), 0, kInputOnly,
        ioctl_page_response)),
    struct_command<iommu_fault_region_info>(
        IOMMU_NR_FAULT_REGION_INFO, "FAULT_REGION_INFO", OFFSET_END(iommu_fault_region_info, flags),
        IOMMU_FAULT_REGION_SET_DEPTH | IOMMU_FAULT_REGION_SET_TIMEOUT, kCopiesOut, ioctl_fault_region_info),
    struct_command<iommu_sim_inject_fault>(
        IOMMU_NR_SIM_INJECT_FAULT, "SIM_INJECT_FAULT", OFFSET_END(iommu_sim_inject_fault, perm),
        IOMMU_SIM_FAULT_RAW | IOMMU_SIM_FAULT_PASID | IOMMU_SIM_FAULT_RECOVERABLE, kInputOnly,
        ioctl_sim_inject_fault),
    self_locked(struct_command<iommu_sim_dma_status>(
        IOMMU_NR_SIM_DMA_STATUS, "SIM_DMA_STATUS", OFFSET_END(iommu_sim_dma_status, dma_id), 0, kCopiesOut,
        ioctl_sim_dma_status, RESERVED(iommu_sim_dma_status, __reserved))),
    struct_command<iommu_sim_mdev_pin>(
        IOMMU_NR_SIM_MDEV_PIN, "SIM_MDEV_PIN", OFFSET_END(iommu_sim_mdev_pin, npages), IOMMU_SIM_PIN_WRITE,
        kInputOnly, ioctl_sim_mdev_pin, RESERVED(iommu_sim_mdev_pin, __reserved)),
    struct_command<iommu_sim_mdev_pin>(
        IOMMU_NR_SIM_MDEV_UNPIN, "SIM_MDEV_UNPIN", OFFSET_END(iommu_sim_mdev_pin, npages), 0, kInputOnly,
        ioctl_sim_mdev_unpin, RESERVED(iommu_sim_mdev_pin, __reserved)),
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
