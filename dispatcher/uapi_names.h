// Names of the uAPI's enumerations and flag sets that more than one place
// prints: the rows' fields (command_table.cpp) and the trace's fault
// records (control/trace_decoders.cpp).  A command's own input flags are
// named in its row instead.
#pragma once

#include "command_table.h"
#include "cuse-iommu.h"

namespace ciommu::names {

inline constexpr NamedValue kPerm[] = {{IOMMU_FAULT_PERM_READ, "READ"},
                                       {IOMMU_FAULT_PERM_WRITE, "WRITE"},
                                       {IOMMU_FAULT_PERM_EXEC, "EXEC"},
                                       {IOMMU_FAULT_PERM_PRIV, "PRIV"}};
inline constexpr NamedValue kFaultFlags[] = {
    {IOMMU_FAULT_WRITE, "WRITE"}, {IOMMU_FAULT_STAGE1, "STAGE1"}, {IOMMU_FAULT_STAGE2, "STAGE2"}};
inline constexpr NamedValue kRecordFlags[] = {{IOMMU_FAULT_RECORD_RECOVERABLE, "RECOVERABLE"},
                                              {IOMMU_FAULT_RECORD_LAST, "LAST"},
                                              {IOMMU_FAULT_RECORD_PASID_VALID, "PASID_VALID"},
                                              {IOMMU_FAULT_RECORD_STAGE1, "STAGE1"},
                                              {IOMMU_FAULT_RECORD_STAGE2, "STAGE2"},
                                              {IOMMU_FAULT_RECORD_LOST_BEFORE, "LOST_BEFORE"},
                                              {IOMMU_FAULT_RECORD_REVOKED, "REVOKED"}};
inline constexpr NamedValue kReasons[] = {{IOMMU_FAULT_REASON_BLOCKED, "BLOCKED"},
                                          {IOMMU_FAULT_REASON_NOT_MAPPED, "NOT_MAPPED"},
                                          {IOMMU_FAULT_REASON_PERMISSION, "PERMISSION"},
                                          {IOMMU_FAULT_REASON_RESERVED, "RESERVED"},
                                          {IOMMU_FAULT_REASON_ADDR_SIZE, "ADDR_SIZE"}};
inline constexpr NamedValue kDmaStatus[] = {{IOMMU_SIM_DMA_OK, "OK"},
                                            {IOMMU_SIM_DMA_FAULT, "FAULT"},
                                            {IOMMU_SIM_DMA_PENDING, "PENDING"},
                                            {IOMMU_SIM_DMA_ABORTED, "ABORTED"}};
inline constexpr NamedValue kFormats[] = {{IOMMU_PGTABLE_FORMAT_X86_64, "X86_64"}};
inline constexpr NamedValue kGranularity[] = {
    {IOMMU_INV_GRAN_ALL, "ALL"}, {IOMMU_INV_GRAN_PASID, "PASID"}, {IOMMU_INV_GRAN_RANGE, "RANGE"}};
inline constexpr NamedValue kCaches[] = {
    {IOMMU_INV_CACHE_IOTLB, "IOTLB"}, {IOMMU_INV_CACHE_DEVTLB, "DEVTLB"}, {IOMMU_INV_CACHE_PASID, "PASID"}};
inline constexpr NamedValue kInvPasid[] = {{IOMMU_INV_PASID_RID, "RID"}};
inline constexpr NamedValue kRespCodes[] = {{IOMMU_PAGE_RESP_SUCCESS, "SUCCESS"},
                                            {IOMMU_PAGE_RESP_INVALID, "INVALID"},
                                            {IOMMU_PAGE_RESP_FAILURE, "FAILURE"}};
inline constexpr NamedValue kInfoFlags[] = {{IOMMU_DEVICE_INFO_MDEV, "MDEV"},
                                            {IOMMU_DEVICE_INFO_SW_MDEV, "SW_MDEV"},
                                            {IOMMU_DEVICE_INFO_PASID, "PASID"},
                                            {IOMMU_DEVICE_INFO_PRI, "PRI"},
                                            {IOMMU_DEVICE_INFO_ENFORCE_SNOOP, "ENFORCE_SNOOP"},
                                            {IOMMU_DEVICE_INFO_CAPS, "CAPS"}};

}  // namespace ciommu::names
