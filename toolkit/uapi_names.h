// The names of the uapi's enumerations, kept once: each value with its
// uapi spelling (the trace: "NOT_MAPPED") and its text spelling (the
// control protocol, the state dump and iommuctl: "not-mapped"), in uapi
// order.  Message lists ("one of ...") come from here too, so the edges
// cannot disagree on a name or its order.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cuse-iommu.h"

namespace ciommu {

struct UapiName {
    uint32_t value;
    std::string_view uapi;  // as in the header, after the prefix: "NOT_MAPPED"
    std::string_view text;  // as the control protocol and iommuctl write it: "not-mapped"
};

// IOMMU_FAULT_REASON_*
inline constexpr UapiName kFaultReasons[] = {
    {IOMMU_FAULT_REASON_BLOCKED, "BLOCKED", "blocked"},
    {IOMMU_FAULT_REASON_NOT_MAPPED, "NOT_MAPPED", "not-mapped"},
    {IOMMU_FAULT_REASON_PERMISSION, "PERMISSION", "permission"},
    {IOMMU_FAULT_REASON_RESERVED, "RESERVED", "reserved"},
    {IOMMU_FAULT_REASON_ADDR_SIZE, "ADDR_SIZE", "addr-size"},
};

// IOMMU_SIM_DMA_* (a DMA's status)
inline constexpr UapiName kDmaStatuses[] = {
    {IOMMU_SIM_DMA_OK, "OK", "ok"},
    {IOMMU_SIM_DMA_FAULT, "FAULT", "fault"},
    {IOMMU_SIM_DMA_PENDING, "PENDING", "pending"},
    {IOMMU_SIM_DMA_ABORTED, "ABORTED", "aborted"},
};

// IOMMU_FAULT_PERM_* (bits)
inline constexpr UapiName kFaultPerms[] = {
    {IOMMU_FAULT_PERM_READ, "READ", "read"},
    {IOMMU_FAULT_PERM_WRITE, "WRITE", "write"},
    {IOMMU_FAULT_PERM_EXEC, "EXEC", "exec"},
    {IOMMU_FAULT_PERM_PRIV, "PRIV", "priv"},
};

// The text spellings of a table, for readers that take a list of names.
template <size_t N>
constexpr std::array<std::string_view, N> text_names(const UapiName (&names)[N]) {
    std::array<std::string_view, N> out{};
    for (size_t i = 0; i < N; ++i)
        out[i] = names[i].text;
    return out;
}

// The uapi spelling of value, or "?" for one the table does not name.
std::string_view uapi_name(std::span<const UapiName> names, uint32_t value);
// The text spelling of value, or "?".
std::string_view text_name(std::span<const UapiName> names, uint32_t value);
// The value whose text spelling is `text`.
std::optional<uint32_t> value_of_text(std::span<const UapiName> names, std::string_view text);
// "blocked, not-mapped, permission, reserved, addr-size": the text
// spellings in order, for "expected one of ..." messages.
std::string text_names_listed(std::span<const UapiName> names);

}  // namespace ciommu
