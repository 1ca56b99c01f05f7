// The answer to IOMMU_DEVICE_GET_INFO: struct iommu_device_info followed by a
// VFIO-style capability chain describing the IOMMU the device sits behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "topology.h"

namespace ciommu {

// A software mdev has no IOMMU; its vendor driver pins pages by IOVA of the
// kernel-managed IOASID it is attached to, whose aperture is [0, 2^48).
inline constexpr uint64_t kSwMdevIovaLast = (uint64_t{1} << 48) - 1;

// The IOMMU_DEVICE_INFO_* facts of `dev`, without IOMMU_DEVICE_INFO_CAPS:
//   MDEV           any mdev; SW_MDEV a software-only one (and nothing else)
//   PASID          a PCI device that is PASID-capable behind an IOMMU with
//                  pasid_width > 0 (never an mdev: its PASID is the hidden defPASID)
//   PRI            the device issues page requests and its IOMMU has iopf
//   ENFORCE_SNOOP  its IOMMU has snoop control
uint32_t device_info_flags(const Topology& topo, const DeviceSpec& dev);

// A bound device's page-request credits and their use now
// (IOMMU_DEVICE_INFO_CAP_PRI).
struct PriCredits {
    uint32_t max_requests;
    uint32_t outstanding;
    uint32_t held_dmas;
};

// Builds the bytes of IOMMU_DEVICE_GET_INFO's answer for `dev` in `buffer`
// (the caller's argsz bytes).  Returns the size the whole answer needs.
//
// The chain describes the device's IOMMU (an mdev: its parent's); the flags
// say what this device can use of it.  In order, each 8-byte aligned, `next`
// counted from the start of the struct, the last `next` 0:
//   PAGE_SIZES, IOVA_RANGES (aperture minus reserved regions), RESV_REGIONS,
//   NESTING, PASID (the IOMMU's pasid_width and IOPF), and PRI (`credits`)
//   for a device with IOMMU_DEVICE_INFO_PRI.
// A software mdev gets only PAGE_SIZES (4K) and IOVA_RANGES [0, kSwMdevIovaLast].
//
// Always: argsz = the size needed; flags; cookie = `cookie`.
// If the buffer holds the whole answer: IOMMU_DEVICE_INFO_CAPS is set and
// cap_offset = sizeof(struct iommu_device_info).  Otherwise only the struct
// is written, with cap_offset 0 and no CAPS flag: the caller retries with argsz.
// The rest of the buffer is zeroed (no stale bytes go back to the caller).
// A buffer smaller than the struct is left untouched.
size_t build_device_info(const Topology& topo, const DeviceSpec& dev, uint64_t cookie, const PriCredits& credits,
                         std::span<std::byte> buffer);

}  // namespace ciommu
