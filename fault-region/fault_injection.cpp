#include "fault_injection.h"

#include <cerrno>

#include "../devices/page_request_capability.h"
#include "../devices/translation.h"
#include "../core/model.h"
#include "cuse-iommu.h"

namespace ciommu {

const uint32_t kAllFaultPerms =
    IOMMU_FAULT_PERM_READ | IOMMU_FAULT_PERM_WRITE | IOMMU_FAULT_PERM_EXEC | IOMMU_FAULT_PERM_PRIV;

std::optional<RouteKey> route_of_rid(const Topology& topo, uint32_t rid, std::optional<uint32_t> pasid) {
    for (const DeviceSpec& spec : topo.devices) {
        if (spec.present && spec.kind == DeviceKind::kPci && spec.rid == rid)
            return RouteKey{spec.iommu, spec.rid, pasid.value_or(kNoPasid)};
    }
    return std::nullopt;
}

long route_of_bound(const BoundDevice& dev, std::optional<uint32_t> pasid, RouteKey* route) {
    const DeviceSpec& spec = *dev.spec;
    if (spec.kind == DeviceKind::kSwMdev || (pasid && (spec.kind != DeviceKind::kPci || !spec.pasid)))
        return -EOPNOTSUPP;  // no IOMMU, or no PASID to carry
    const uint32_t bus_pasid = spec.kind == DeviceKind::kMdev ? dev.def_pasid : pasid.value_or(kNoPasid);
    *route = {spec.iommu, spec.rid, bus_pasid};
    return 0;
}

long inject_fault(Model& model, const InjectedFault& injected, const Context* only_in, Injection* out) {
    // Like a fault on the bus: only the routing table knows whose it is.
    const Attachment* attachment = model.routes().find(injected.route);
    if (!attachment || (only_in && attachment->dev->ctx != only_in))
        return -ENOENT;
    BoundDevice& dev = *attachment->dev;
    Injection result;
    result.dev = &dev;
    if (injected.recoverable && !can_page_request(model, dev)) {
        if (out)
            *out = result;
        return -EOPNOTSUPP;
    }
    if (injected.recoverable && dev.page_requests.size() >= dev.max_page_requests) {
        if (out)
            *out = result;
        return -EBUSY;  // no page-request credit left
    }

    const bool nested = attachment->space->kind() == IoasKind::kUserPgtable;
    Fault fault;
    fault.addr = injected.addr;
    fault.reason = injected.recoverable || injected.reason == 0 ? IOMMU_FAULT_REASON_NOT_MAPPED : injected.reason;
    fault.flags = ((injected.perm & IOMMU_FAULT_PERM_WRITE) ? IOMMU_FAULT_WRITE : 0u) |
                  (nested ? IOMMU_FAULT_STAGE1 : IOMMU_FAULT_STAGE2);
    fault.ioasid = attachment->ioasid;
    fault.perm = injected.perm;
    // Through the port, as a device's DMA reports: an iommufd topology device's
    // page request goes to its fault queue (core/model.cpp).
    result.fate = model.fault_port().raise_fault(model, dev, attachment->pasid, fault, injected.recoverable, 0,
                                                 &result.grpid);
    if (out)
        *out = result;
    return 0;
}

}  // namespace ciommu
