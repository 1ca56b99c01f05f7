// The VFIO type1 container ioctls on an iommufd, with iommufd's
// compatibility semantics (drivers/iommu/iommufd/vfio_compat.c), and
// IOMMU_VFIO_IOAS, which names the IOAS they act on.
#include <cerrno>
#include <linux/vfio.h>

#include "../core/call_env.h"
#include "../core/context.h"
#include "ioas.h"
#include "iommufd_ioctls.h"

namespace ciommu {
namespace {

// get_compat_ioas(): ENODEV until IOMMU_VFIO_IOAS sets one.
Ioas* compat_ioas(IommufdCtx& ictx) { return ictx.objects.get<Ioas>(ictx.vfio_ioas); }

}  // namespace

long ioctl_vfio_ioas(CallEnv& env, iommu_vfio_ioas& cmd) {
    IommufdCtx& ictx = env.ctx.iommufd;
    switch (cmd.op) {
    case IOMMU_VFIO_IOAS_GET: {
        const Ioas* ioas = compat_ioas(ictx);
        if (!ioas)
            return -ENODEV;
        cmd.ioas_id = ioas->id;
        return 0;
    }
    case IOMMU_VFIO_IOAS_SET:
        if (!ictx.objects.get<Ioas>(cmd.ioas_id))
            return -ENOENT;
        ictx.vfio_ioas = cmd.ioas_id;
        return 0;
    case IOMMU_VFIO_IOAS_CLEAR:
        ictx.vfio_ioas = 0;
        return 0;
    default:
        return -EOPNOTSUPP;
    }
}

long ioctl_vfio_get_api_version(CallEnv&) { return VFIO_API_VERSION; }

long ioctl_vfio_check_extension(CallEnv& env) {
    switch (env.arg) {
    case VFIO_TYPE1_IOMMU:
    case VFIO_TYPE1v2_IOMMU:
    case VFIO_UNMAP_ALL:
        return 1;
    case VFIO_DMA_CC_IOMMU:
        // Every simulated domain enforces cache coherency; without a
        // compatibility IOAS the kernel answers get_compat_ioas()'s ENODEV.
        return compat_ioas(env.ctx.iommufd) ? 1 : -ENODEV;
    default:  // NOIOMMU (not configured), the nesting and UPDATE_VADDR types
        return 0;
    }
}

long ioctl_vfio_set_iommu(CallEnv& env) {
    if (env.arg != VFIO_TYPE1_IOMMU && env.arg != VFIO_TYPE1v2_IOMMU)
        return -EINVAL;
    Ioas* ioas = compat_ioas(env.ctx.iommufd);
    if (!ioas)
        return -ENODEV;  // VFIO fails SET_IOMMU without a group
    // Type1 (not v2) may unmap inside a mapping: no large IOPTEs to split.
    if (env.arg == VFIO_TYPE1_IOMMU)
        return ioas->iopt.set_large_pages(false);
    return 0;
}

}  // namespace ciommu
