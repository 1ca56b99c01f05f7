#include "control_names.h"

#include <utility>

#include "safe_json.h"
#include "../ioasid/io_address_space.h"
#include "../toolkit/uapi_names.h"
#include "cuse-iommu.h"

namespace ciommu {

std::string_view device_kind_name(DeviceKind kind) {
    switch (kind) {
    case DeviceKind::kPci:
        return "pci";
    case DeviceKind::kMdev:
        return "mdev";
    case DeviceKind::kSwMdev:
        return "sw-mdev";
    }
    return "?";
}

std::string_view dma_status_name(uint32_t status) { return text_name(kDmaStatuses, status); }

std::string_view fault_reason_name(uint32_t reason) { return text_name(kFaultReasons, reason); }

nlohmann::json fault_flags_json(uint32_t flags) {
    auto out = nlohmann::json::array();
    JsonScope scope(out);
    if (flags & IOMMU_FAULT_WRITE)
        out.push_back("write");
    if (flags & IOMMU_FAULT_STAGE1)
        out.push_back("stage1");
    if (flags & IOMMU_FAULT_STAGE2)
        out.push_back("stage2");
    return std::exchange(out, nullptr);
}

nlohmann::json prot_json(uint32_t prot) {
    auto out = nlohmann::json::array();
    JsonScope scope(out);
    if (prot & kProtRead)
        out.push_back("read");
    if (prot & kProtWrite)
        out.push_back("write");
    return std::exchange(out, nullptr);
}

}  // namespace ciommu
