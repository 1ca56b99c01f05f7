#include "control_names.h"

#include <utility>

#include "safe_json.h"
#include "../ioasid/io_address_space.h"
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

std::string_view dma_status_name(uint32_t status) {
    switch (status) {
    case IOMMU_SIM_DMA_OK:
        return "ok";
    case IOMMU_SIM_DMA_FAULT:
        return "fault";
    case IOMMU_SIM_DMA_PENDING:
        return "pending";
    case IOMMU_SIM_DMA_ABORTED:
        return "aborted";
    }
    return "?";
}

std::string_view fault_reason_name(uint32_t reason) {
    if (reason >= IOMMU_FAULT_REASON_BLOCKED && reason <= IOMMU_FAULT_REASON_ADDR_SIZE)
        return kFaultReasonNames[reason - IOMMU_FAULT_REASON_BLOCKED];
    return "?";
}

std::optional<uint32_t> fault_reason_from(std::string_view name) {
    uint32_t reason = IOMMU_FAULT_REASON_BLOCKED;
    for (std::string_view known : kFaultReasonNames) {
        if (known == name)
            return reason;
        ++reason;
    }
    return std::nullopt;
}

uint32_t perm_bit(std::string_view name) {
    uint32_t bit = IOMMU_FAULT_PERM_READ;
    for (std::string_view known : kPermNames) {
        if (known == name)
            return bit;
        bit <<= 1;
    }
    return 0;
}

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
