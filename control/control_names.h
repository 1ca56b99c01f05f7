// How the control protocol spells the model's enumerations and bit sets
// (docs/control.md): strings, not the uapi's numbers.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "../devices/topology.h"

namespace ciommu {

std::string_view device_kind_name(DeviceKind kind);  // "pci", "mdev", "sw-mdev"
std::string_view dma_status_name(uint32_t status);   // IOMMU_SIM_DMA_*: "ok", "fault", "pending", "aborted"
std::string_view fault_reason_name(uint32_t reason); // IOMMU_FAULT_REASON_*: "not-mapped", ...
std::optional<uint32_t> fault_reason_from(std::string_view name);
// The names `fault` accepts in "reason", in uapi order.
inline constexpr std::string_view kFaultReasonNames[] = {"blocked", "not-mapped", "permission", "reserved",
                                                        "addr-size"};
inline constexpr std::string_view kPermNames[] = {"read", "write", "exec", "priv"};
uint32_t perm_bit(std::string_view name);  // IOMMU_FAULT_PERM_*; 0 if unknown

// IOMMU_FAULT_WRITE | _STAGE1 | _STAGE2 -> ["write", "stage1", "stage2"].
nlohmann::json fault_flags_json(uint32_t flags);
// Prot bits -> ["read", "write"].
nlohmann::json prot_json(uint32_t prot);

}  // namespace ciommu
