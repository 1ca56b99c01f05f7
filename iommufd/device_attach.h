// Attaching bound devices to page tables (iommufd_device_attach, _replace
// and _detach in drivers/iommu/iommufd/device.c).
#pragma once

#include <cstdint>

namespace ciommu {

struct IommufdCtx;
struct Device;
class PinLedger;

// Attaches an unattached device to pt_id: a paging or nested page table, or an IOAS
// (then to one of its automatic page tables that accepts the device, or a
// new one).  The page table's id goes to out_hwpt.  0 or -errno (nothing
// changed): ENOENT (no such object), EINVAL (another kind, or a page table
// the device cannot use), and what attaching the domain to the IOAS gives.
long attach_device(IommufdCtx& ictx, PinLedger& ledger, Device& idev, uint32_t pt_id, uint32_t& out_hwpt);
// Moves an attached device to pt_id as attach_device() picks it, then
// lets go of the old page table (an automatic one with no device left is
// destroyed).
long replace_device(IommufdCtx& ictx, PinLedger& ledger, Device& idev, uint32_t pt_id, uint32_t& out_hwpt);
void detach_device(IommufdCtx& ictx, PinLedger& ledger, Device& idev) noexcept;
// Drops dev_id's use of page table hwpt_id: the faults it left in the
// page table's queue are answered INVALID (iommufd_auto_response_faults),
// and an automatic page table it was the last user of goes
// (iommufd_hw_pagetable_put).
void put_hwpt(IommufdCtx& ictx, PinLedger& ledger, uint32_t hwpt_id, uint32_t dev_id) noexcept;

}  // namespace ciommu
