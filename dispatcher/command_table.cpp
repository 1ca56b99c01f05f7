// The rows: one declaration per command (command_row.h says how to read
// one).  Each row's struct is named S inside its lambda so the field
// macros can name its members.
#include "command_table.h"

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <linux/ioctl.h>

#include "arg_checks.h"
#include "command_row.h"
#include "cuse-iommu.h"
#include "extensions.h"
#include "handlers.h"

namespace ciommu {

namespace {

using namespace rows;
constexpr const Convention& kRfc = kRfcConvention;

constexpr CommandSpec kCommands[] = {
    value_row(IOMMU_NR_GET_API_VERSION, "GET_API_VERSION", ioctl_get_api_version),
    value_row(IOMMU_NR_CHECK_EXTENSION, "CHECK_EXTENSION", ioctl_check_extension)
        .value_name("extension", extension_name),
    [] {
        using S = iommu_device_info;
        return struct_row<ioctl_device_get_info>(kRfc, IOMMU_NR_DEVICE_GET_INFO, "DEVICE_GET_INFO")
            .fields({IN(cookie, kNumber), OUT(cap_offset, kNumber)})
            .reserved(RESERVED(__reserved))
            .out_header(kDeviceInfoFlags)
            .output_tail(Tail::kDeviceInfoCaps);
    }(),
    [] {
        using S = iommu_ioasid_alloc;
        return struct_row<ioctl_ioasid_alloc>(kRfc, IOMMU_NR_IOASID_ALLOC, "IOASID_ALLOC")
            .min_end(OFFSET_END(S, flags))
            .flags({{IOMMU_IOASID_USER_PGTABLE, "USER_PGTABLE"},
                    {IOMMU_IOASID_IDENTITY, "IDENTITY"},
                    {IOMMU_IOASID_ENFORCE_SNOOP, "ENFORCE_SNOOP"}})
            .fields({IN(parent_ioasid, kNumber), IN(pgtable_format, kEnum, kPgtableFormats), IN(user_pgd, kHex)})
            .self_locked();
    }(),
    [] {
        using S = iommu_ioasid_free;
        return struct_row<ioctl_ioasid_free>(kRfc, IOMMU_NR_IOASID_FREE, "IOASID_FREE")
            .min_end(OFFSET_END(S, ioasid))
            .fields({IN(ioasid, kNumber)})
            .reserved(RESERVED(__reserved));
    }(),
    [] {
        using S = iommu_map_dma;
        return struct_row<ioctl_map_dma>(kRfc, IOMMU_NR_MAP_DMA, "MAP_DMA")
            .flags({{IOMMU_MAP_DMA_READ, "READ"}, {IOMMU_MAP_DMA_WRITE, "WRITE"}, {IOMMU_MAP_DMA_IOPF, "IOPF"}})
            .fields({IN(ioasid, kNumber), IN(vaddr, kHex), IN(iova, kHex), IN(size, kNumber)})
            .reserved(RESERVED(__reserved))
            .self_locked();
    }(),
    [] {
        using S = iommu_unmap_dma;
        return struct_row<ioctl_unmap_dma>(kRfc, IOMMU_NR_UNMAP_DMA, "UNMAP_DMA")
            .flags({{IOMMU_UNMAP_DMA_ALL, "ALL"}})
            .fields({IN(ioasid, kNumber), IN(iova, kHex), INOUT(size, kNumber)})
            .reserved(RESERVED(__reserved));
    }(),
    [] {
        using S = iommu_dirty_tracking;
        return struct_row<ioctl_dirty_tracking>(kRfc, IOMMU_NR_DIRTY_TRACKING, "DIRTY_TRACKING")
            .flags({{IOMMU_DIRTY_TRACKING_START, "START"},
                    {IOMMU_DIRTY_TRACKING_STOP, "STOP"},
                    {IOMMU_DIRTY_TRACKING_GET_BITMAP, "GET_BITMAP"},
                    {IOMMU_DIRTY_TRACKING_NO_CLEAR, "NO_CLEAR"}})
            .fields({IN(ioasid, kNumber), IN(iova, kHex), IN(length, kNumber), IN(page_size, kNumber),
                     IN(data, kHex)})
            .reserved(RESERVED(__reserved))
            .self_locked();
    }(),
    [] {
        using S = iommu_invalidate_cache;
        return struct_row<ioctl_invalidate_cache>(kRfc, IOMMU_NR_INVALIDATE_CACHE, "INVALIDATE_CACHE")
            .fields({IN(ioasid, kNumber), IN(granularity, kEnum, kInvGranularities), IN(cache, kFlags, kInvCaches),
                     IN(pasid, kEnum, kInvPasids), IN(addr, kHex), IN(size, kNumber)});
    }(),
    [] {
        using S = iommu_device_bind;
        return struct_row<ioctl_device_bind>(kRfc, IOMMU_NR_DEVICE_BIND, "DEVICE_BIND")
            .fields({IN(name, kText), IN(cookie, kNumber)});
    }(),
    [] {
        using S = iommu_device_unbind;
        return struct_row<ioctl_device_unbind>(kRfc, IOMMU_NR_DEVICE_UNBIND, "DEVICE_UNBIND")
            .fields({IN(cookie, kNumber)});
    }(),
    [] {
        using S = iommu_device_attach;
        return struct_row<ioctl_device_attach>(kRfc, IOMMU_NR_DEVICE_ATTACH, "DEVICE_ATTACH")
            .flags({{IOMMU_ATTACH_PASID, "PASID"}})
            .fields({IN(cookie, kNumber), IN(ioasid, kNumber), IN(pasid, kNumber)});
    }(),
    [] {
        using S = iommu_device_detach;
        return struct_row<ioctl_device_detach>(kRfc, IOMMU_NR_DEVICE_DETACH, "DEVICE_DETACH")
            .min_end(OFFSET_END(S, pasid))
            .flags({{IOMMU_ATTACH_PASID, "PASID"}})
            .fields({IN(cookie, kNumber), IN(pasid, kNumber)})
            .reserved(RESERVED(__reserved));
    }(),
    [] {
        using S = iommu_stats;
        return struct_row<ioctl_get_stats>(kRfc, IOMMU_NR_GET_STATS, "GET_STATS")
            .min_end(OFFSET_END(S, flags))
            .fields({OUT(locked_pages, kNumber), OUT(ioasids, kNumber), OUT(devices, kNumber),
                     OUT(mappings, kNumber), OUT(iotlb_hits, kNumber), OUT(iotlb_misses, kNumber)})
            .self_locked();
    }(),
    [] {
        using S = iommu_sim_daemon_stats;
        return struct_row<ioctl_sim_daemon_stats>(kRfc, IOMMU_NR_SIM_DAEMON_STATS, "SIM_DAEMON_STATS")
            .min_end(OFFSET_END(S, flags))
            .fields({OUT(contexts, kNumber), OUT(ioasids, kNumber), OUT(mappings, kNumber),
                     OUT(mapped_bytes, kNumber)});
    }(),
    [] {
        using S = iommu_sim_dma;
        return struct_row<ioctl_sim_dma>(kRfc, IOMMU_NR_SIM_DMA, "SIM_DMA")
            .min_end(OFFSET_END(S, data))
            .flags({{IOMMU_SIM_DMA_WRITE, "WRITE"}, {IOMMU_SIM_DMA_PASID, "PASID"}})
            .fields({IN(cookie, kNumber), IN(pasid, kNumber), OUT(status, kEnum, kDmaStatuses), IN(iova, kHex),
                     IN(length, kNumber), IN(data, kHex), OUT(bytes_done, kNumber), OUT(fault_addr, kHex),
                     OUT(fault_reason, kEnum, kFaultReasons), OUT(fault_flags, kFlags, kDmaFaultFlags),
                     OUT(dma_id, kNumber)})
            .self_locked();
    }(),
    [] {
        using S = iommu_device_fault;
        return struct_row<ioctl_device_fault_register>(kRfc, IOMMU_NR_DEVICE_FAULT_REGISTER,
                                                       "DEVICE_FAULT_REGISTER")
            .fields({IN(cookie, kNumber)});
    }(),
    [] {
        using S = iommu_device_fault;
        return struct_row<ioctl_device_fault_unregister>(kRfc, IOMMU_NR_DEVICE_FAULT_UNREGISTER,
                                                         "DEVICE_FAULT_UNREGISTER")
            .fields({IN(cookie, kNumber)});
    }(),
    [] {
        using S = iommu_fault_eventfd;
        return struct_row<ioctl_fault_set_eventfd>(kRfc, IOMMU_NR_FAULT_SET_EVENTFD, "FAULT_SET_EVENTFD")
            .min_end(OFFSET_END(S, fd))
            .fields({IN(fd, kSigned)})
            .reserved(RESERVED(__reserved));
    }(),
    [] {
        using S = iommu_page_response;
        return struct_row<ioctl_page_response>(kRfc, IOMMU_NR_PAGE_RESPONSE, "PAGE_RESPONSE")
            .fields({IN(cookie, kNumber), IN(grpid, kNumber), IN(code, kEnum, kPageResponseCodes)})
            .self_locked();
    }(),
    [] {
        using S = iommu_fault_region_info;
        return struct_row<ioctl_fault_region_info>(kRfc, IOMMU_NR_FAULT_REGION_INFO, "FAULT_REGION_INFO")
            .min_end(OFFSET_END(S, flags))
            .flags({{IOMMU_FAULT_REGION_SET_DEPTH, "SET_DEPTH"}, {IOMMU_FAULT_REGION_SET_TIMEOUT, "SET_TIMEOUT"}})
            .fields({INOUT(depth, kNumber), INOUT(timeout_ms, kNumber), OUT(pending, kNumber), OUT(lost, kNumber),
                     OUT(delivered, kNumber), OUT(unreported, kNumber), OUT(iopf_resolved, kNumber),
                     OUT(timeouts, kNumber)});
    }(),
    [] {
        using S = iommu_sim_inject_fault;
        return struct_row<ioctl_sim_inject_fault>(kRfc, IOMMU_NR_SIM_INJECT_FAULT, "SIM_INJECT_FAULT")
            .min_end(OFFSET_END(S, perm))
            .flags({{IOMMU_SIM_FAULT_RAW, "RAW"},
                    {IOMMU_SIM_FAULT_PASID, "PASID"},
                    {IOMMU_SIM_FAULT_RECOVERABLE, "RECOVERABLE"}})
            .fields({IN(cookie, kNumber), IN(rid, kNumber), IN(pasid, kNumber), IN(addr, kHex),
                     IN(perm, kFlags, kFaultPerms), IN(reason, kEnum, kFaultReasons)});
    }(),
    [] {
        using S = iommu_sim_dma_status;
        return struct_row<ioctl_sim_dma_status>(kRfc, IOMMU_NR_SIM_DMA_STATUS, "SIM_DMA_STATUS")
            .min_end(OFFSET_END(S, dma_id))
            // Out fields in SIM_DMA's order, not the struct's (docs/trace.md).
            .fields({IN(dma_id, kNumber), OUT(status, kEnum, kDmaStatuses), OUT(bytes_done, kNumber),
                     OUT(fault_addr, kHex), OUT(fault_reason, kEnum, kFaultReasons), OUT(fault_flags, kFlags, kDmaFaultFlags)})
            .reserved(RESERVED(__reserved))
            .self_locked();
    }(),
    [] {
        using S = iommu_sim_mdev_pin;
        return struct_row<ioctl_sim_mdev_pin>(kRfc, IOMMU_NR_SIM_MDEV_PIN, "SIM_MDEV_PIN")
            .min_end(OFFSET_END(S, npages))
            .flags({{IOMMU_SIM_PIN_WRITE, "WRITE"}})
            .fields({IN(cookie, kNumber), IN(iova, kHex), IN(npages, kNumber)})
            .reserved(RESERVED(__reserved));
    }(),
    [] {
        using S = iommu_sim_mdev_pin;
        return struct_row<ioctl_sim_mdev_unpin>(kRfc, IOMMU_NR_SIM_MDEV_UNPIN, "SIM_MDEV_UNPIN")
            .min_end(OFFSET_END(S, npages))
            .fields({IN(cookie, kNumber), IN(iova, kHex), IN(npages, kNumber)})
            .reserved(RESERVED(__reserved));
    }(),
};

static_assert(std::all_of(std::begin(kCommands), std::end(kCommands),
                          [](const CommandSpec& c) { return c.struct_size <= kMaxStructSize; }));

}  // namespace

const char* abi_name(Abi abi) { return abi == Abi::kIommufd ? "iommufd" : "rfc"; }

const CommandSpec* find_command(unsigned cmd, Abi abi) {
    // Only the exact _IO(IOMMU_TYPE, nr) form names a command: a number with
    // a size or direction encoded is somebody else's ioctl.  (iommufd's type,
    // IOMMUFD_TYPE, is the same ';'; so is VFIO's.)
    if (_IOC_TYPE(cmd) != IOMMU_TYPE || _IOC_DIR(cmd) != _IOC_NONE || _IOC_SIZE(cmd) != 0)
        return nullptr;
    for (const CommandSpec& spec : all_commands(abi)) {
        if (spec.nr == _IOC_NR(cmd))
            return &spec;
    }
    return nullptr;
}

std::span<const CommandSpec> all_commands(Abi abi) {
    if (abi == Abi::kIommufd)
        return iommufd_commands();
    return kCommands;
}

}  // namespace ciommu
