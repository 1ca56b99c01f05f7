// IOMMU_GET_HW_INFO (iommufd_get_hw_info in drivers/iommu/iommufd/
// device.c, with the mock driver's hw_info from selftest.c).
#include <algorithm>
#include <cerrno>
#include <mutex>
#include <optional>
#include <vector>

#include "../core/call_env.h"
#include "../core/caller.h"
#include "../core/context.h"
#include "../core/model.h"
#include "device.h"
#include "iommufd_ioctls.h"

namespace ciommu {
namespace {

// The PASID width a MOCK_FLAGS_DEVICE_PASID device reports (upstream's
// MOCK_PASID_WIDTH; 6.12's selftest expects it).
constexpr uint8_t kMockPasidWidth = 20;

// Zeroes [addr, addr + len) of the caller's memory (clear_user).
long clear_user(const Caller& caller, uint64_t addr, uint64_t len) {
    static const std::vector<char> zeros(4096);
    for (uint64_t done = 0; done < len;) {
        const uint64_t n = std::min<uint64_t>(zeros.size(), len - done);
        if (caller.write_memory(addr + done, zeros.data(), n))
            return -EFAULT;
        done += n;
    }
    return 0;
}

// A topology device's IOMMU reports no driver data (IOMMU_HW_INFO_TYPE_NONE):
// the model's units are not a vendor's registers.
long topology_hw_info(CallEnv& env, iommu_hw_info& cmd, unsigned pasid_width) {
    if ((cmd.flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE) && cmd.out_data_type != IOMMU_HW_INFO_TYPE_NONE)
        return -EOPNOTSUPP;
    if (clear_user(env.caller, cmd.data_uptr, cmd.data_len))
        return -EFAULT;
    cmd.out_data_type = IOMMU_HW_INFO_TYPE_NONE;
    cmd.data_len = 0;
    cmd.out_capabilities = 0;
    cmd.out_max_pasid_log2 = pasid_width;
    return 0;
}

}  // namespace

// Self-locked: the data goes to the caller's buffer without the lock.
// With IOMMU_HW_INFO_FLAG_INPUT_TYPE (newer than 6.12; its selftest uses
// it) out_data_type names the type wanted: 0 (the IOMMU's) or the mock's.
long ioctl_get_hw_info(CallEnv& env, iommu_hw_info& cmd) {
    uint32_t mock_flags;
    std::optional<unsigned> topology_pasid_width;  // a topology device's
    {
        std::lock_guard guard(env.model.lock());
        const Device* idev = env.ctx.iommufd.objects.get<Device>(cmd.dev_id);
        if (!idev)
            return -ENOENT;
        mock_flags = idev->mock_flags;
        if (idev->is_topology()) {
            const DeviceSpec& spec = env.model.topology().devices[idev->topology];
            const IommuUnit& unit = env.model.topology().iommus[spec.iommu];
            topology_pasid_width = spec.kind == DeviceKind::kPci && spec.pasid ? unit.pasid_width : 0;
        }
    }
    if (topology_pasid_width)
        return topology_hw_info(env, cmd, *topology_pasid_width);
    if ((cmd.flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE) && cmd.out_data_type != IOMMU_HW_INFO_TYPE_NONE &&
        cmd.out_data_type != IOMMU_HW_INFO_TYPE_SELFTEST)
        return -EOPNOTSUPP;
    const iommu_test_hw_info data{0, IOMMU_HW_INFO_SELFTEST_REGVAL};
    const uint64_t copy_len = std::min<uint64_t>(cmd.data_len, sizeof(data));
    if (copy_len && env.caller.write_memory(cmd.data_uptr, &data, copy_len))
        return -EFAULT;
    if (clear_user(env.caller, cmd.data_uptr + copy_len, cmd.data_len - copy_len))
        return -EFAULT;
    cmd.out_data_type = IOMMU_HW_INFO_TYPE_SELFTEST;
    cmd.data_len = sizeof(data);
    cmd.out_capabilities = (mock_flags & MOCK_FLAGS_DEVICE_NO_DIRTY) ? 0 : IOMMU_HW_CAP_DIRTY_TRACKING;
    cmd.out_max_pasid_log2 = (mock_flags & MOCK_FLAGS_DEVICE_PASID) ? kMockPasidWidth : 0;
    return 0;
}

}  // namespace ciommu
