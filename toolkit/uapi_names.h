// The names of the uapi's enumerations and flag sets, kept once: each value
// with its uapi spelling (the trace: "NOT_MAPPED") and, where the control
// protocol, the state dump or iommuctl spell it as text, its text spelling
// ("not-mapped"), in uapi order.  Message lists ("one of ...") come from here
// too, so the edges cannot disagree on a name or its order.  A command's own
// input flags are named in its row (dispatcher/command_table.cpp) instead.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cuse-iommu.h"

namespace ciommu {

struct UapiName {
    uint32_t value;
    std::string_view uapi;  // as in the header, after the prefix: "NOT_MAPPED"
    std::string_view text = {};  // as the control protocol and iommuctl write it:
                                 // "not-mapped" (empty: only the trace names it)
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

// --- named only by the trace (uapi spelling) ---

// IOMMU_FAULT_WRITE, _STAGE1, _STAGE2: a DMA's fault_flags (bits; the
// control protocol lists them as text too)
inline constexpr UapiName kDmaFaultFlags[] = {{IOMMU_FAULT_WRITE, "WRITE", "write"},
                                              {IOMMU_FAULT_STAGE1, "STAGE1", "stage1"},
                                              {IOMMU_FAULT_STAGE2, "STAGE2", "stage2"}};
// IOMMU_FAULT_RECORD_*: a fault record's flags
inline constexpr UapiName kFaultRecordFlags[] = {{IOMMU_FAULT_RECORD_RECOVERABLE, "RECOVERABLE"},
                                                 {IOMMU_FAULT_RECORD_LAST, "LAST"},
                                                 {IOMMU_FAULT_RECORD_PASID_VALID, "PASID_VALID"},
                                                 {IOMMU_FAULT_RECORD_STAGE1, "STAGE1"},
                                                 {IOMMU_FAULT_RECORD_STAGE2, "STAGE2"},
                                                 {IOMMU_FAULT_RECORD_LOST_BEFORE, "LOST_BEFORE"},
                                                 {IOMMU_FAULT_RECORD_REVOKED, "REVOKED"}};
// IOMMU_PGTABLE_FORMAT_* (the topology and the state dump: "x86_64")
inline constexpr UapiName kPgtableFormats[] = {{IOMMU_PGTABLE_FORMAT_X86_64, "X86_64", "x86_64"}};
// IOMMU_INV_GRAN_*, IOMMU_INV_CACHE_* (bits), IOMMU_INV_PASID_RID
inline constexpr UapiName kInvGranularities[] = {
    {IOMMU_INV_GRAN_ALL, "ALL"}, {IOMMU_INV_GRAN_PASID, "PASID"}, {IOMMU_INV_GRAN_RANGE, "RANGE"}};
inline constexpr UapiName kInvCaches[] = {
    {IOMMU_INV_CACHE_IOTLB, "IOTLB"}, {IOMMU_INV_CACHE_DEVTLB, "DEVTLB"}, {IOMMU_INV_CACHE_PASID, "PASID"}};
inline constexpr UapiName kInvPasids[] = {{IOMMU_INV_PASID_RID, "RID"}};
// IOMMU_PAGE_RESP_*
inline constexpr UapiName kPageResponseCodes[] = {{IOMMU_PAGE_RESP_SUCCESS, "SUCCESS"},
                                                  {IOMMU_PAGE_RESP_INVALID, "INVALID"},
                                                  {IOMMU_PAGE_RESP_FAILURE, "FAILURE"}};
// IOMMU_DEVICE_INFO_* (DEVICE_GET_INFO's flags, bits)
inline constexpr UapiName kDeviceInfoFlags[] = {{IOMMU_DEVICE_INFO_MDEV, "MDEV"},
                                                {IOMMU_DEVICE_INFO_SW_MDEV, "SW_MDEV"},
                                                {IOMMU_DEVICE_INFO_PASID, "PASID"},
                                                {IOMMU_DEVICE_INFO_PRI, "PRI"},
                                                {IOMMU_DEVICE_INFO_ENFORCE_SNOOP, "ENFORCE_SNOOP"},
                                                {IOMMU_DEVICE_INFO_CAPS, "CAPS"},
                                                {IOMMU_DEVICE_INFO_DIRTY_TRACKING, "DIRTY_TRACKING"}};
// DEVICE_GET_INFO's capability chain: IOMMU_DEVICE_INFO_CAP_*, IOMMU_RESV_*,
// IOMMU_NESTING_* (bits), IOMMU_PASID_* (bits)
inline constexpr UapiName kDeviceInfoCapIds[] = {{IOMMU_DEVICE_INFO_CAP_PAGE_SIZES, "PAGE_SIZES"},
                                                 {IOMMU_DEVICE_INFO_CAP_IOVA_RANGES, "IOVA_RANGES"},
                                                 {IOMMU_DEVICE_INFO_CAP_RESV_REGIONS, "RESV_REGIONS"},
                                                 {IOMMU_DEVICE_INFO_CAP_NESTING, "NESTING"},
                                                 {IOMMU_DEVICE_INFO_CAP_PASID, "PASID"},
                                                 {IOMMU_DEVICE_INFO_CAP_PRI, "PRI"}};
// (IOMMU_RESV_*: the topology and the state dump spell them as text too)
inline constexpr UapiName kResvRegionTypes[] = {{IOMMU_RESV_RESERVED, "RESERVED", "reserved"},
                                                {IOMMU_RESV_MSI, "MSI", "msi"},
                                                {IOMMU_RESV_DIRECT, "DIRECT", "direct"}};
inline constexpr UapiName kNestingFlags[] = {{IOMMU_NESTING_SUPPORTED, "SUPPORTED"},
                                             {IOMMU_NESTING_HARDWARE, "HARDWARE"}};
inline constexpr UapiName kPasidCapFlags[] = {{IOMMU_PASID_IOPF, "IOPF"}};

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
// The text spellings of the bits set in `bits`, in table order (bits the
// table does not name are left out).
std::vector<std::string_view> text_names_of_bits(std::span<const UapiName> names, uint32_t bits);
// "blocked, not-mapped, permission, reserved, addr-size": the text
// spellings in order, for "expected one of ..." messages.
std::string text_names_listed(std::span<const UapiName> names);

}  // namespace ciommu
