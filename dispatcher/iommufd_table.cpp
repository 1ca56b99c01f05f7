// The iommufd profile's rows (cuse-iommu --abi iommufd): Linux 6.12's
// iommufd commands, the selftest mock's IOMMU_TEST_CMD and the VFIO type1
// compatibility commands, read the way iommufd's dispatcher reads them
// (drivers/iommu/iommufd/main.c: size first; min_size is offsetofend of the
// last mandatory field; E2BIG for non-zero bytes past the struct;
// EOPNOTSUPP for unknown flags).  The handlers live in iommufd/.
#include <algorithm>
#include <cstddef>
#include <iterator>
#include <linux/vfio.h>

#include "../iommufd/iommufd_ioctls.h"
#include "arg_checks.h"
#include "command_row.h"
#include "command_table.h"
#include "cuse-iommu-iommufd.h"

namespace ciommu {
namespace {

using namespace rows;
constexpr const Convention& kFd = kIommufdConvention;
constexpr const Convention& kVfio = kVfioConvention;

// VFIO's numbers are _IO(VFIO_TYPE, VFIO_BASE + n): the same type as
// iommufd's, so its rows are named by _IOC_NR like the others.
static_assert(VFIO_TYPE == IOMMUFD_TYPE);

constexpr CommandSpec kIommufdCommands[] = {
    [] {
        using S = iommu_destroy;
        return struct_row<ioctl_iommufd_destroy>(kFd, IOMMUFD_CMD_DESTROY, "DESTROY")
            .no_flags()
            .fields({IN(id, kNumber)});
    }(),
    [] {
        using S = iommu_ioas_alloc;
        return struct_row<ioctl_ioas_alloc>(kFd, IOMMUFD_CMD_IOAS_ALLOC, "IOAS_ALLOC")
            .flags({})
            .fields({OUT(out_ioas_id, kNumber)});
    }(),
    [] {
        using S = iommu_ioas_allow_iovas;
        return struct_row<ioctl_ioas_allow_iovas>(kFd, IOMMUFD_CMD_IOAS_ALLOW_IOVAS, "IOAS_ALLOW_IOVAS")
            .no_flags()
            .fields({IN(ioas_id, kNumber), IN(num_iovas, kNumber), IN(allowed_iovas, kHex)})
            .reserved(RESERVED(__reserved))
            .self_locked();
    }(),
    [] {
        using S = iommu_ioas_copy;
        return struct_row<ioctl_ioas_copy>(kFd, IOMMUFD_CMD_IOAS_COPY, "IOAS_COPY")
            .flags({{IOMMU_IOAS_MAP_FIXED_IOVA, "FIXED_IOVA"},
                    {IOMMU_IOAS_MAP_WRITEABLE, "WRITEABLE"},
                    {IOMMU_IOAS_MAP_READABLE, "READABLE"}})
            .fields({IN(dst_ioas_id, kNumber), IN(src_ioas_id, kNumber), IN(length, kHex), INOUT(dst_iova, kHex),
                     IN(src_iova, kHex)})
            .self_locked();
    }(),
    [] {
        using S = iommu_ioas_iova_ranges;
        return struct_row<ioctl_ioas_iova_ranges>(kFd, IOMMUFD_CMD_IOAS_IOVA_RANGES, "IOAS_IOVA_RANGES")
            .no_flags()
            .fields({IN(ioas_id, kNumber), INOUT(num_iovas, kNumber), IN(allowed_iovas, kHex),
                     OUT(out_iova_alignment, kHex)})
            .reserved(RESERVED(__reserved))
            .self_locked();
    }(),
    [] {
        using S = iommu_ioas_map;
        return struct_row<ioctl_ioas_map>(kFd, IOMMUFD_CMD_IOAS_MAP, "IOAS_MAP")
            .flags({{IOMMU_IOAS_MAP_FIXED_IOVA, "FIXED_IOVA"},
                    {IOMMU_IOAS_MAP_WRITEABLE, "WRITEABLE"},
                    {IOMMU_IOAS_MAP_READABLE, "READABLE"}})
            .fields({IN(ioas_id, kNumber), IN(user_va, kHex), IN(length, kHex), INOUT(iova, kHex)})
            .reserved(RESERVED(__reserved))
            .self_locked();
    }(),
    [] {
        using S = iommu_ioas_unmap;
        return struct_row<ioctl_ioas_unmap>(kFd, IOMMUFD_CMD_IOAS_UNMAP, "IOAS_UNMAP")
            .no_flags()
            .fields({IN(ioas_id, kNumber), IN(iova, kHex), INOUT(length, kHex)});
    }(),
    [] {
        using S = iommu_option;
        return struct_row<ioctl_iommufd_option>(kFd, IOMMUFD_CMD_OPTION, "OPTION")
            .no_flags()
            .fields({IN(option_id, kNumber), IN(op, kNumber), IN(object_id, kNumber), INOUT(val64, kNumber)})
            .reserved(RESERVED(__reserved));
    }(),
    [] {
        using S = iommu_vfio_ioas;
        return struct_row<ioctl_vfio_ioas>(kFd, IOMMUFD_CMD_VFIO_IOAS, "VFIO_IOAS")
            .no_flags()
            .fields({INOUT(ioas_id, kNumber), IN(op, kNumber)})
            .reserved(RESERVED(__reserved));
    }(),
    [] {
        using S = iommu_hwpt_alloc;
        return struct_row<ioctl_hwpt_alloc>(kFd, IOMMUFD_CMD_HWPT_ALLOC, "HWPT_ALLOC")
            .min_end(OFFSET_END(S, __reserved))
            .flags({{IOMMU_HWPT_ALLOC_NEST_PARENT, "NEST_PARENT"},
                    {IOMMU_HWPT_ALLOC_DIRTY_TRACKING, "DIRTY_TRACKING"},
                    {IOMMU_HWPT_FAULT_ID_VALID, "FAULT_ID_VALID"}})
            .fields({IN(dev_id, kNumber), IN(pt_id, kNumber), OUT(out_hwpt_id, kNumber), IN(data_type, kHex),
                     IN(data_len, kNumber), IN(data_uptr, kHex), IN(fault_id, kNumber), IN(__reserved2, kNumber)})
            .reserved(RESERVED(__reserved))
            .self_locked();
    }(),
    [] {
        using S = iommu_hw_info;
        return struct_row<ioctl_get_hw_info>(kFd, IOMMUFD_CMD_GET_HW_INFO, "GET_HW_INFO")
            .min_end(OFFSET_END(S, __reserved))
            .flags({{IOMMU_HW_INFO_FLAG_INPUT_TYPE, "INPUT_TYPE"}})
            .fields({IN(dev_id, kNumber), INOUT(data_len, kNumber), IN(data_uptr, kHex),
                     INOUT(out_data_type, kHex), OUT(out_max_pasid_log2, kNumber), OUT(out_capabilities, kHex)})
            .reserved(RESERVED(__reserved))
            .self_locked();
    }(),
    [] {
        using S = iommu_hwpt_set_dirty_tracking;
        // The kernel does not check __reserved here: neither does the row.
        return struct_row<ioctl_hwpt_set_dirty_tracking>(kFd, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING,
                                                         "HWPT_SET_DIRTY_TRACKING")
            .flags({{IOMMU_HWPT_DIRTY_TRACKING_ENABLE, "ENABLE"}})
            .fields({IN(hwpt_id, kNumber), IN(__reserved, kNumber)});
    }(),
    [] {
        using S = iommu_hwpt_get_dirty_bitmap;
        // Its flags are the third field: checked by the handler.
        return struct_row<ioctl_hwpt_get_dirty_bitmap>(kFd, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP,
                                                       "HWPT_GET_DIRTY_BITMAP")
            .no_flags()
            .fields({IN(hwpt_id, kNumber), IN(flags, kHex), IN(iova, kHex), IN(length, kHex), IN(page_size, kHex),
                     IN(data, kHex)})
            .reserved(RESERVED(__reserved))
            .self_locked();
    }(),
    [] {
        using S = iommu_hwpt_invalidate;
        // __reserved is the handler's: the kernel answers it after writing
        // entry_num back.
        return struct_row<ioctl_hwpt_invalidate>(kFd, IOMMUFD_CMD_HWPT_INVALIDATE, "HWPT_INVALIDATE")
            .no_flags()
            .fields({IN(hwpt_id, kNumber), IN(data_uptr, kHex), IN(data_type, kHex), IN(entry_len, kNumber),
                     INOUT(entry_num, kNumber), IN(__reserved, kNumber)})
            .self_locked();
    }(),
    [] {
        using S = iommu_fault_alloc;
        return struct_row<ioctl_fault_queue_alloc>(kFd, IOMMUFD_CMD_FAULT_QUEUE_ALLOC, "FAULT_QUEUE_ALLOC")
            .flags({})
            .fields({OUT(out_fault_id, kNumber), OUT(out_fault_fd, kNumber)});
    }(),
    [] {
        using S = cuse_iommufd_object_fd_call;
        // cuse-iommu's own (uapi: "The object node"): the command it
        // carries is run and traced after it.
        return struct_row<ioctl_object_fd_call>(kFd, _IOC_NR(CUSE_IOMMUFD_OBJECT_FD_CALL), "CUSE_IOMMUFD_OBJECT_FD_CALL")
            .flags({})
            .fields({IN(cmd, kHex), IN(object_fd, kNumber), IN(object_token, kHex), IN(arg, kHex)});
    }(),
    [] {
        using S = cuse_iommufd_device_bind;
        // cuse-iommu's own, as the rest of the topology-device rows
        // (uapi: "Topology devices").
        return struct_row<ioctl_topology_device_bind>(kFd, _IOC_NR(CUSE_IOMMUFD_DEVICE_BIND), "CUSE_IOMMUFD_DEVICE_BIND")
            .flags({})
            .fields({IN(name, kText), OUT(out_dev_id, kNumber)})
            .reserved(RESERVED(__reserved));
    }(),
    [] {
        using S = cuse_iommufd_device_unbind;
        return struct_row<ioctl_topology_device_unbind>(kFd, _IOC_NR(CUSE_IOMMUFD_DEVICE_UNBIND),
                                                        "CUSE_IOMMUFD_DEVICE_UNBIND")
            .flags({})
            .fields({IN(dev_id, kNumber)})
            .reserved(RESERVED(__reserved));
    }(),
    [] {
        using S = cuse_iommufd_device_attach;
        return struct_row<ioctl_topology_device_attach>(kFd, _IOC_NR(CUSE_IOMMUFD_DEVICE_ATTACH),
                                                        "CUSE_IOMMUFD_DEVICE_ATTACH")
            .flags({{CUSE_IOMMUFD_ATTACH_PASID, "PASID"}})
            .fields({IN(dev_id, kNumber), IN(pasid, kNumber), INOUT(pt_id, kNumber)})
            .reserved(RESERVED(__reserved))
            .self_locked();
    }(),
    [] {
        using S = cuse_iommufd_device_attach;
        return struct_row<ioctl_topology_device_detach>(kFd, _IOC_NR(CUSE_IOMMUFD_DEVICE_DETACH),
                                                        "CUSE_IOMMUFD_DEVICE_DETACH")
            .flags({{CUSE_IOMMUFD_ATTACH_PASID, "PASID"}})
            .fields({IN(dev_id, kNumber), IN(pasid, kNumber), IN(pt_id, kNumber)})
            .reserved(RESERVED(__reserved));
    }(),
    [] {
        using S = cuse_iommufd_device_dma;
        return struct_row<ioctl_topology_device_dma>(kFd, _IOC_NR(CUSE_IOMMUFD_DEVICE_DMA), "CUSE_IOMMUFD_DEVICE_DMA")
            .flags({{CUSE_IOMMUFD_DMA_WRITE, "WRITE"}, {CUSE_IOMMUFD_DMA_PASID, "PASID"}})
            .fields({IN(dev_id, kNumber), IN(pasid, kNumber), IN(iova, kHex), IN(length, kNumber), IN(data, kHex),
                     OUT(out_status, kNumber), OUT(out_fault_reason, kNumber), OUT(out_bytes_done, kNumber),
                     OUT(out_fault_addr, kHex), OUT(out_dma_id, kNumber)})
            .self_locked();
    }(),
    [] {
        using S = cuse_iommufd_dma_status;
        return struct_row<ioctl_topology_device_dma_status>(kFd, _IOC_NR(CUSE_IOMMUFD_DEVICE_DMA_STATUS),
                                                            "CUSE_IOMMUFD_DEVICE_DMA_STATUS")
            .flags({})
            .fields({IN(dma_id, kNumber), OUT(out_status, kNumber), OUT(out_fault_reason, kNumber),
                     OUT(out_bytes_done, kNumber), OUT(out_fault_addr, kHex)})
            .self_locked();
    }(),
    [] {
        using S = cuse_iommufd_device_pin;
        return struct_row<ioctl_emulated_device_pin>(kFd, _IOC_NR(CUSE_IOMMUFD_DEVICE_PIN), "CUSE_IOMMUFD_DEVICE_PIN")
            .flags({{CUSE_IOMMUFD_PIN_WRITE, "WRITE"}})
            .fields({IN(dev_id, kNumber), IN(npages, kNumber), IN(iova, kHex)});
    }(),
    [] {
        using S = cuse_iommufd_device_pin;
        return struct_row<ioctl_emulated_device_unpin>(kFd, _IOC_NR(CUSE_IOMMUFD_DEVICE_UNPIN),
                                                       "CUSE_IOMMUFD_DEVICE_UNPIN")
            .flags({})
            .fields({IN(dev_id, kNumber), IN(npages, kNumber), IN(iova, kHex)});
    }(),
    [] {
        using S = iommu_test_cmd;
        return struct_row<ioctl_iommufd_test>(kFd, _IOC_NR(IOMMU_TEST_CMD), "TEST_CMD")
            .min_end(OFFSET_END(S, last))
            .no_flags()
            .fields({IN(op, kNumber), IN(id, kNumber), IN(__reserved, kNumber), INOUT(raw, kHex),
                     IN(last, kNumber)})
            .self_locked();
    }(),
    [] {
        using S = vfio_iommu_type1_info;
        return struct_row<ioctl_vfio_iommu_get_info>(kVfio, _IOC_NR(VFIO_IOMMU_GET_INFO), "VFIO_IOMMU_GET_INFO")
            .min_end(OFFSET_END(S, iova_pgsizes))
            .no_flags()
            .fields({OUT(flags, kHex), OUT(iova_pgsizes, kHex), OUT(cap_offset, kNumber)})
            .self_locked();
    }(),
    [] {
        using S = vfio_iommu_type1_dma_map;
        return struct_row<ioctl_vfio_map_dma>(kVfio, _IOC_NR(VFIO_IOMMU_MAP_DMA), "VFIO_IOMMU_MAP_DMA")
            .flags({{VFIO_DMA_MAP_FLAG_READ, "READ"}, {VFIO_DMA_MAP_FLAG_WRITE, "WRITE"}})
            .fields({IN(vaddr, kHex), IN(iova, kHex), IN(size, kHex)})
            .self_locked();
    }(),
    [] {
        using S = vfio_iommu_type1_dma_unmap;
        return struct_row<ioctl_vfio_unmap_dma>(kVfio, _IOC_NR(VFIO_IOMMU_UNMAP_DMA), "VFIO_IOMMU_UNMAP_DMA")
            .flags({{VFIO_DMA_UNMAP_FLAG_ALL, "ALL"}})
            .fields({IN(iova, kHex), INOUT(size, kHex)});
    }(),
    value_row(_IOC_NR(VFIO_GET_API_VERSION), "VFIO_GET_API_VERSION", ioctl_vfio_get_api_version),
    value_row(_IOC_NR(VFIO_CHECK_EXTENSION), "VFIO_CHECK_EXTENSION", ioctl_vfio_check_extension),
    value_row(_IOC_NR(VFIO_SET_IOMMU), "VFIO_SET_IOMMU", ioctl_vfio_set_iommu),
};

static_assert(std::all_of(std::begin(kIommufdCommands), std::end(kIommufdCommands),
                          [](const CommandSpec& c) { return c.struct_size <= kMaxStructSize; }));

}  // namespace

std::span<const CommandSpec> iommufd_commands() { return kIommufdCommands; }

}  // namespace ciommu
