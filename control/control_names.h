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
// (The uapi enumerations' text spellings -- DMA statuses, fault reasons --
// are toolkit/uapi_names.h's: text_name(kDmaStatuses, status).)

// IOMMU_FAULT_WRITE | _STAGE1 | _STAGE2 -> ["write", "stage1", "stage2"].
nlohmann::json fault_flags_json(uint32_t flags);
// Prot bits -> ["read", "write"].
nlohmann::json prot_json(uint32_t prot);

}  // namespace ciommu
