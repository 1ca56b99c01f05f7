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
        using S = iommu_test_cmd;
        return struct_row<ioctl_iommufd_test>(kFd, _IOC_NR(IOMMU_TEST_CMD), "TEST_CMD")
            .min_end(OFFSET_END(S, last))
            .no_flags()
            .fields({IN(op, kNumber), IN(id, kNumber), IN(__reserved, kNumber), INOUT(raw, kHex),
                     IN(last, kNumber)})
            .self_locked();
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
