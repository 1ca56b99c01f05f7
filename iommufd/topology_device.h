// Topology devices on the iommufd profile (CUSE_IOMMUFD_DEVICE_*, standing
// in for VFIO cdev's BIND_IOMMUFD and [AT|DE]TACH_IOMMUFD_PT): a device of
// the daemon's topology bound to the context is an iommufd device object
// and, under that id as cookie, an RFC-model bound device; attaching it
// to a page table attaches the RFC device to the page table's space
// (topology_domain.h), so its DMA, IOTLB and faults are the RFC model's.
// All require the model lock; each leaves nothing changed on failure.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace ciommu {

class Model;
struct Context;
struct Device;
class IoDomain;
class PinLedger;
struct IommufdCtx;

// A device object for topology device `name`, bound: its id to out_dev_id.
// 0, -ENODEV (no such device), -EOPNOTSUPP (a software mdev: no IOMMU; an
// access object is iommufd's way), -EBUSY (bound elsewhere, or its group
// or its parent/mdevs are), -ENOSPC, -ENOMEM.
long bind_topology_device(Model& model, Context& ctx, std::string_view name, uint32_t& out_dev_id);
// Detaches everything, unbinds and destroys the device object.
void unbind_topology_device(Model& model, Context& ctx, Device& idev) noexcept;

// Attaches the device (pasid: one PASID of it) to pt_id: an IOAS (an
// automatic page table of its IOMMU unit there, made if none), a paging
// page table of its unit, or a VT-d nested one over such.  The page
// table's id goes to out_hwpt.  0 or -errno: ENOENT, EINVAL (another kind,
// or another unit's page table), EBUSY (attached there already), and the
// RFC model's attach errors (EOPNOTSUPP, EINVAL for the PASID, ...).
// The memory a first domain would pin has been probed.
long attach_topology_device(Model& model, Context& ctx, Device& idev, uint32_t pt_id, std::optional<uint32_t> pasid,
                            uint32_t& out_hwpt);
// 0, or -ENOENT if not attached there.
long detach_topology_device(Model& model, Context& ctx, Device& idev, std::optional<uint32_t> pasid) noexcept;

// A paging domain for the device's IOMMU unit (HWPT_ALLOC).
long make_topology_domain(Model& model, Context& ctx, const Device& idev, std::unique_ptr<IoDomain>& out);

// The iommufd side of a device object going: its page tables' users.
// (The RFC side has been unbound first.)
void put_topology_hwpts(IommufdCtx& ictx, PinLedger& ledger, Device& idev) noexcept;

// The RFC model revoked the bind of `cookie` in ctx (its device was
// removed: devices/hotplug.h).  If that was a topology device of the
// iommufd profile, its device object goes too (as VFIO's device goes with
// the hardware) and this returns true; the profile has no fault region
// for the revocation record.
bool forget_revoked_topology_device(Model& model, Context& ctx, uint64_t cookie) noexcept;

}  // namespace ciommu
