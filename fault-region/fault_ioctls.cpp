// The fault commands: a device's consumer, the eventfd, page responses, the
// region's settings and counters, and (simulation) injecting a raw fault.
#include "fault_ioctls.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <sys/syscall.h>
#include <unistd.h>

#include "../devices/translation.h"
#include "../core/call_env.h"
#include "../core/caller.h"
#include "../core/model.h"
#include "cuse-iommu.h"
#include "eventfd_signal.h"
#include "fault_injection.h"
#include "fault_router.h"
#include "page_requests.h"
#include "../devices/stalled_dma.h"

namespace ciommu {
namespace {

bool is_eventfd(int fd) {
    char path[64], target[64] = {};
    std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    const ssize_t n = readlink(path, target, sizeof(target) - 1);
    return n > 0 && std::string_view(target, static_cast<size_t>(n)) == "anon_inode:[eventfd]";
}

// The daemon's own duplicate of the caller's fd, or -errno.
int duplicate_callers_fd(pid_t pid, int fd) {
    // Raw system calls: glibc 2.36's <sys/pidfd.h> has no C++ linkage.
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0)
        return -ESRCH;
    const int dup = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
    const int err = errno;
    close(pidfd);
    return dup < 0 ? -(err == EBADF ? EBADF : EPERM) : dup;
}

}  // namespace

long ioctl_device_fault_register(CallEnv& env, const iommu_device_fault& req) {
    BoundDevice* dev = env.ctx.find_device(req.cookie);
    if (!dev)
        return -ENOENT;
    if (dev->fault_consumer)
        return -EBUSY;
    dev->fault_consumer = true;
    return 0;
}

long ioctl_device_fault_unregister(CallEnv& env, const iommu_device_fault& req) {
    BoundDevice* dev = env.ctx.find_device(req.cookie);
    if (!dev || !dev->fault_consumer)
        return -ENOENT;
    if (!dev->page_requests.empty())
        return -EBUSY;
    dev->fault_consumer = false;
    return 0;
}

long ioctl_fault_set_eventfd(CallEnv& env, const iommu_fault_eventfd& req) {
    if (req.fd == -1) {
        env.ctx.faults.set_eventfd(-1);
        return 0;
    }
    if (req.fd < 0)
        return -EBADF;
    if (!EventfdSignaller::instance().available())
        return -EOPNOTSUPP;  // no way to signal it without risking a block
    const int dup = duplicate_callers_fd(env.caller.tgid(), req.fd);
    if (dup < 0)
        return dup;
    if (!is_eventfd(dup)) {
        close(dup);
        return -EINVAL;
    }
    env.ctx.faults.set_eventfd(dup);
    return 0;
}

// A SUCCESS that resumes a stalled DMA runs it on in this call: the
// responder's, with the lock dropped around memory (stalled_dma.h).
long ioctl_page_response(CallEnv& env, const iommu_page_response& req) {
    std::unique_lock lock(env.model.lock());
    uint64_t resume = 0;
    if (long err = respond_page_request(env.model, env.ctx, req.cookie, req.grpid, req.code, &resume))
        return err;
    if (resume)
        resume_dma(env.model, lock, env.ctx.id, resume);
    return 0;
}

long ioctl_fault_region_info(CallEnv& env, iommu_fault_region_info& info) {
    FaultRegion& region = env.ctx.faults;
    if (info.flags & IOMMU_FAULT_REGION_SET_DEPTH) {
        if (long err = region.set_depth(info.depth))
            return err;
    }
    if (info.flags & IOMMU_FAULT_REGION_SET_TIMEOUT)
        region.timeout_ms = info.timeout_ms;
    info.depth = region.depth();
    info.timeout_ms = region.timeout_ms;
    info.pending = region.pending();
    info.lost = region.lost;
    info.delivered = region.delivered;
    info.unreported = region.unreported;
    info.iopf_resolved = region.iopf_resolved;
    info.timeouts = region.timeouts;
    return 0;
}

long ioctl_sim_inject_fault(CallEnv& env, const iommu_sim_inject_fault& req) {
    if (req.perm == 0 || (req.perm & ~kAllFaultPerms) || req.reason > IOMMU_FAULT_REASON_ADDR_SIZE)
        return -EINVAL;
    const bool has_pasid = req.flags & IOMMU_SIM_FAULT_PASID;
    if (has_pasid && (req.pasid == 0 || req.pasid >= (1u << 20)))
        return -EINVAL;  // no IOMMU has more than 20 PASID bits
    const auto pasid = has_pasid ? std::optional(req.pasid) : std::nullopt;
    InjectedFault fault{{}, req.addr, req.perm, req.reason, (req.flags & IOMMU_SIM_FAULT_RECOVERABLE) != 0};
    if (req.flags & IOMMU_SIM_FAULT_RAW) {
        auto route = route_of_rid(env.model.topology(), req.rid, pasid);
        if (!route)
            return -ENOENT;
        fault.route = *route;
    } else {
        const BoundDevice* dev = env.ctx.find_device(req.cookie);
        if (!dev)
            return -ENOENT;
        if (long err = route_of_bound(*dev, pasid, &fault.route))
            return err;
    }
    // A client may only raise faults of devices it has bound itself.
    return inject_fault(env.model, fault, &env.ctx);
}

}  // namespace ciommu
