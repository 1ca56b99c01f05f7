#include "page_request_capability.h"

#include "../core/model.h"
#include "cuse-iommu.h"
#include "translation.h"

namespace ciommu {

bool can_page_request(const Model& model, const BoundDevice& dev) {
    const DeviceSpec& spec = *dev.spec;
    return spec.kind != DeviceKind::kSwMdev && spec.pri && model.topology().iommus[spec.iommu].iopf;
}

bool is_page_request(const Model& model, const BoundDevice& dev, uint32_t attachment_key, const Fault& fault) {
    if (fault.reason != IOMMU_FAULT_REASON_NOT_MAPPED || fault.host_owned || !can_page_request(model, dev))
        return false;
    if (fault.flags & IOMMU_FAULT_STAGE1)
        return true;
    // Stage 2 of a nested IOASID is the host's business (nested IOPF:
    // "[RFC PATCH v3 8/8] vfio: Add nested IOPF support", Shenming Lu, May 2021).
    auto it = dev.attachments.find(attachment_key);
    return it != dev.attachments.end() && it->second.space->kind() == IoasKind::kKernelManaged;
}

}  // namespace ciommu
