// The device commands: bind, unbind, get-info, attach, detach.
#include "device_ioctls.h"

#include <cerrno>
#include <cstring>
#include <optional>
#include <span>

#include "../core/call_env.h"
#include "../core/context.h"
#include "../core/model.h"
#include "cuse-iommu.h"
#include "device_info.h"
#include "device_ops.h"

namespace ciommu {
namespace {

std::optional<uint32_t> pasid_if(uint32_t flags, uint32_t pasid) {
    return (flags & IOMMU_ATTACH_PASID) ? std::optional(pasid) : std::nullopt;
}

}  // namespace

long ioctl_device_bind(CallEnv& env, const iommu_device_bind& req) {
    const size_t len = strnlen(req.name, sizeof(req.name));
    if (len == sizeof(req.name))
        return -EINVAL;  // not NUL-terminated
    return bind_device(env.model, env.ctx, std::string_view(req.name, len), req.cookie);
}

long ioctl_device_unbind(CallEnv& env, const iommu_device_unbind& req) {
    return unbind_device(env.model, env.ctx, req.cookie);
}

long ioctl_device_get_info(CallEnv& env, iommu_device_info& req) {
    const BoundDevice* dev = env.ctx.find_device(req.cookie);
    if (!dev)
        return -ENOENT;
    auto buffer = std::span(static_cast<std::byte*>(env.args), env.argsz);
    const PriCredits credits{dev->max_page_requests, static_cast<uint32_t>(dev->page_requests.size()),
                             dev->held_dmas};
    const size_t needed = build_device_info(env.model.topology(), *dev->spec, req.cookie, credits, buffer);
    env.out_len = std::min<size_t>(needed, env.argsz);
    return 0;
}

long ioctl_device_attach(CallEnv& env, const iommu_device_attach& req) {
    return attach_device(env.model, env.ctx, req.cookie, req.ioasid, pasid_if(req.flags, req.pasid));
}

long ioctl_device_detach(CallEnv& env, const iommu_device_detach& req) {
    return detach_device(env.model, env.ctx, req.cookie, pasid_if(req.flags, req.pasid));
}

}  // namespace ciommu
