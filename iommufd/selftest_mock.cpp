// IOMMU_TEST_CMD: the operations of the selftest's mock driver
// (drivers/iommu/iommufd/selftest.c), answered from the model.
#include <cerrno>
#include <mutex>

#include "../core/call_env.h"
#include "../core/caller.h"
#include "../core/context.h"
#include "../core/model.h"
#include "../ioasid/process.h"
#include "iommufd_ioctls.h"

namespace ciommu {
namespace {

constexpr uint64_t kPage = 4096;

// MD_CHECK_REFS: every page of [uptr, uptr + length) is pinned `refs`
// times (EIO otherwise).  The kernel reads struct page's pin count; the
// daemon cannot see that, so it answers from its own pin records -- the
// pins this profile took for the caller (docs/iommufd.md).  Pages are
// faulted in first, as get_user_pages_fast() does: EFAULT if unmapped.
long check_refs(CallEnv& env, const iommu_test_cmd& cmd) {
    const uint64_t uptr = cmd.check_refs.uptr, length = cmd.check_refs.length;
    if (length % kPage || uptr % kPage || uptr + length < uptr)
        return -EINVAL;
    if (length && env.caller.probe_memory(uptr, length))
        return -EFAULT;
    const ProcessRef process = env.caller_process();
    if (!process)
        return -EFAULT;
    std::lock_guard guard(env.model.lock());
    for (uint64_t page = uptr; page < uptr + length; page += kPage) {
        if (env.model.ledger().pins(*process, page) != cmd.check_refs.refs)
            return -EIO;
    }
    return 0;
}

// SET_TEMP_MEMORY_LIMIT: at least one batch element (an unsigned long and
// a u32), as the kernel's _batch_init() needs; else EINVAL.
long set_temp_memory_limit(CallEnv& env, const iommu_test_cmd& cmd) {
    if (cmd.memory_limit.limit < sizeof(unsigned long) + sizeof(uint32_t))
        return -EINVAL;
    std::lock_guard guard(env.model.lock());
    env.ctx.iommufd.test_memory_limit = cmd.memory_limit.limit;
    return 0;
}

}  // namespace

// Self-locked: some operations touch the caller's memory, which must never
// be waited on with the model lock held.
long ioctl_iommufd_test(CallEnv& env, iommu_test_cmd& cmd) {
    switch (cmd.op) {
    case IOMMU_TEST_OP_MD_CHECK_REFS:
        return check_refs(env, cmd);
    case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
        return set_temp_memory_limit(env, cmd);
    default:  // the other operations are not served yet (docs/iommufd.md)
        return -EOPNOTSUPP;
    }
}

}  // namespace ciommu
