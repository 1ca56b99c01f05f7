// IOMMU_IOAS_* (drivers/iommu/iommufd/ioas.c).
#include <cerrno>
#include <memory>

#include "../core/call_env.h"
#include "../core/context.h"
#include "ioas.h"
#include "iommufd_ioctls.h"

namespace ciommu {

long ioctl_ioas_alloc(CallEnv& env, iommu_ioas_alloc& cmd) {
    const long id = env.ctx.iommufd.objects.add(std::make_unique<Ioas>());
    if (id < 0)
        return id;
    cmd.out_ioas_id = static_cast<uint32_t>(id);
    return 0;
}

// IOMMU_OPTION_HUGE_PAGES of the IOAS `object_id` (iommufd_ioas_option).
long ioas_option(IommufdCtx& ictx, iommu_option& cmd) {
    Ioas* ioas = ictx.objects.get<Ioas>(cmd.object_id);
    if (!ioas)
        return -ENOENT;
    if (cmd.op == IOMMU_OPTION_OP_GET) {
        cmd.val64 = ioas->large_pages;
        return 0;
    }
    if (cmd.op != IOMMU_OPTION_OP_SET)
        return -EOPNOTSUPP;
    if (cmd.val64 > 1)
        return -EINVAL;
    ioas->large_pages = cmd.val64 == 1;
    return 0;
}

}  // namespace ciommu
