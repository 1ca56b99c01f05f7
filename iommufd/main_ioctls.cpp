// IOMMU_DESTROY and IOMMU_OPTION (iommufd_destroy, iommufd_option and
// iommufd_option_rlimit_mode in drivers/iommu/iommufd/{main,ioas}.c).
#include <cerrno>
#include <linux/capability.h>

#include "../core/caller.h"
#include "../core/call_env.h"
#include "../core/context.h"
#include "../core/model.h"
#include "../toolkit/proc_status.h"
#include "iommufd_ioctls.h"

namespace ciommu {
namespace {

long rlimit_mode(CallEnv& env, iommu_option& cmd) {
    IommufdCtx& ictx = env.ctx.iommufd;
    if (cmd.object_id)
        return -EOPNOTSUPP;
    if (cmd.op == IOMMU_OPTION_OP_GET) {
        cmd.val64 = ictx.account_mm;
        return 0;
    }
    if (cmd.op != IOMMU_OPTION_OP_SET)
        return -EOPNOTSUPP;
    // capable(CAP_SYS_RESOURCE) of the calling thread, not the daemon's.
    if (!has_capability(env.caller.tid(), CAP_SYS_RESOURCE))
        return -EPERM;
    if (!ictx.objects.empty())
        return -EBUSY;
    if (cmd.val64 > 1)
        return -EINVAL;
    ictx.account_mm = cmd.val64 == 1;
    return 0;
}

}  // namespace

void created_object(CallEnv& env, uint32_t id) {
    env.created_id = id;
    env.abort_created = [](CallEnv& e, uint32_t made) { e.ctx.iommufd.destroy_object(e.model.ledger(), made); };
}

long ioctl_iommufd_destroy(CallEnv& env, const iommu_destroy& cmd) {
    return env.ctx.iommufd.destroy_object(env.model.ledger(), cmd.id);
}

long ioctl_iommufd_option(CallEnv& env, iommu_option& cmd) {
    switch (cmd.option_id) {
    case IOMMU_OPTION_RLIMIT_MODE:
        return rlimit_mode(env, cmd);
    case IOMMU_OPTION_HUGE_PAGES:
        return ioas_option(env.ctx.iommufd, cmd);
    default:
        return -EOPNOTSUPP;
    }
}

}  // namespace ciommu
