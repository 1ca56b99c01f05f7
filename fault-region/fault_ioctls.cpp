// The fault commands: a device's consumer, the eventfd, page responses, the
// region's settings and counters, and (simulation) injecting a raw fault.
#include <cerrno>
#include <climits>
#include <cstdio>
#include <sys/syscall.h>
#include <unistd.h>

#include "../devices/translation.h"
#include "../dispatcher/caller.h"
#include "../dispatcher/handlers.h"
#include "../dispatcher/model.h"
#include "cuse-iommu.h"
#include "fault_router.h"
#include "page_requests.h"

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

long ioctl_device_fault_register(CallEnv& env) {
    const auto& req = *static_cast<const iommu_device_fault*>(env.args);
    BoundDevice* dev = env.ctx.find_device(req.cookie);
    if (!dev)
        return -ENOENT;
    if (dev->fault_consumer)
        return -EBUSY;
    dev->fault_consumer = true;
    return 0;
}

long ioctl_device_fault_unregister(CallEnv& env) {
    const auto& req = *static_cast<const iommu_device_fault*>(env.args);
    BoundDevice* dev = env.ctx.find_device(req.cookie);
    if (!dev || !dev->fault_consumer)
        return -ENOENT;
    if (!dev->page_requests.empty())
        return -EBUSY;
    dev->fault_consumer = false;
    return 0;
}

long ioctl_fault_set_eventfd(CallEnv& env) {
    const auto& req = *static_cast<const iommu_fault_eventfd*>(env.args);
    if (req.fd == -1) {
        env.ctx.faults.set_eventfd(-1);
        return 0;
    }
    if (req.fd < 0)
        return -EBADF;
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

long ioctl_page_response(CallEnv& env) {
    const auto& req = *static_cast<const iommu_page_response*>(env.args);
    return respond_page_request(env.model, env.ctx, req.cookie, req.grpid, req.code);
}

long ioctl_fault_region_info(CallEnv& env) {
    auto& info = *static_cast<iommu_fault_region_info*>(env.args);
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

namespace {

constexpr uint32_t kAllPerms =
    IOMMU_FAULT_PERM_READ | IOMMU_FAULT_PERM_WRITE | IOMMU_FAULT_PERM_EXEC | IOMMU_FAULT_PERM_PRIV;

// The route an injected fault arrives on, as the IOMMU sees it.
long route_of_injection(CallEnv& env, const iommu_sim_inject_fault& req, RouteKey* route) {
    const Topology& topo = env.model.topology();
    const bool has_pasid = req.flags & IOMMU_SIM_FAULT_PASID;
    if (req.flags & IOMMU_SIM_FAULT_RAW) {
        for (const DeviceSpec& spec : topo.devices) {
            if (spec.kind == DeviceKind::kPci && spec.rid == req.rid) {
                *route = {spec.iommu, spec.rid, has_pasid ? req.pasid : kNoPasid};
                return 0;
            }
        }
        return -ENOENT;
    }
    const BoundDevice* dev = env.ctx.find_device(req.cookie);
    if (!dev)
        return -ENOENT;
    const DeviceSpec& spec = *dev->spec;
    if (spec.kind == DeviceKind::kSwMdev || (has_pasid && (spec.kind != DeviceKind::kPci || !spec.pasid)))
        return -EOPNOTSUPP;  // no IOMMU, or no PASID to carry
    const uint32_t bus_pasid = spec.kind == DeviceKind::kMdev ? dev->def_pasid : (has_pasid ? req.pasid : kNoPasid);
    *route = {spec.iommu, spec.rid, bus_pasid};
    return 0;
}

}  // namespace

long ioctl_sim_inject_fault(CallEnv& env) {
    const auto& req = *static_cast<const iommu_sim_inject_fault*>(env.args);
    if (req.perm == 0 || (req.perm & ~kAllPerms) || req.reason > IOMMU_FAULT_REASON_ADDR_SIZE)
        return -EINVAL;
    if ((req.flags & IOMMU_SIM_FAULT_PASID) && (req.pasid == 0 || req.pasid >= (1u << 20)))
        return -EINVAL;  // no IOMMU has more than 20 PASID bits
    RouteKey route;
    if (long err = route_of_injection(env, req, &route))
        return err;
    // Like a fault on the bus: only the routing table knows whose it is.  A
    // client may only raise faults of devices it has bound itself.
    const Attachment* attachment = env.model.routes().find(route);
    if (!attachment || attachment->dev->ctx != &env.ctx)
        return -ENOENT;
    BoundDevice& dev = *attachment->dev;
    const bool recoverable = req.flags & IOMMU_SIM_FAULT_RECOVERABLE;
    if (recoverable && !can_page_request(env.model, dev))
        return -EOPNOTSUPP;

    const bool nested = attachment->space->kind() == IoasKind::kUserPgtable;
    Fault fault;
    fault.addr = req.addr;
    fault.reason = recoverable || req.reason == 0 ? IOMMU_FAULT_REASON_NOT_MAPPED : req.reason;
    fault.flags = ((req.perm & IOMMU_FAULT_PERM_WRITE) ? IOMMU_FAULT_WRITE : 0u) |
                  (nested ? IOMMU_FAULT_STAGE1 : IOMMU_FAULT_STAGE2);
    fault.ioasid = attachment->ioasid;
    fault.perm = req.perm;
    raise_fault(env.model, dev, attachment->pasid, fault, recoverable, 0);
    return 0;
}

}  // namespace ciommu
