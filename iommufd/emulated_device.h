// A software mdev of the topology bound on the iommufd profile: VFIO's
// emulated device (vfio_iommufd_emulated_bind, drivers/vfio/iommufd.c).
// It has no IOMMU.  Its dev_id is an access (access.h) -- the caller
// cannot destroy it, its driver holds it -- whose IOAS the vendor driver
// pins pages of (vfio_pin_pages -> iommufd_access_pin_pages) and copies
// through (vfio_dma_rw -> iommufd_access_rw).  It is also bound in the RFC
// model's device table under that id, as a topology device is, so no
// other context can bind it and hot removal takes it.
//
// All with the model lock held.
#pragma once

#include <cstdint>
#include <vector>

#include "access.h"  // RwPiece

namespace ciommu {

class Model;
struct Context;
struct DeviceSpec;
struct IommufdCtx;

// The emulated device dev_id names, else nullptr.
Access* emulated_device(IommufdCtx& ictx, uint32_t dev_id);
// out_dev_id: the access.  Errors: bind_device's (EBUSY...), ENOSPC.
long bind_emulated_device(Model& model, Context& ctx, const DeviceSpec& spec, uint32_t& out_dev_id);
// Its pins, its IOAS, its RFC binding and the access go.
void unbind_emulated_device(Model& model, Context& ctx, Access& access) noexcept;
// iommufd_access_attach: EBUSY if attached, ENOENT if pt_id is no IOAS.
long attach_emulated_device(Context& ctx, Access& access, uint32_t pt_id);
// iommufd_access_detach: ENOENT if not attached.
long detach_emulated_device(Context& ctx, Access& access) noexcept;
// CUSE_IOMMUFD_DEVICE_PIN / _UNPIN past their argument checks.
long pin_emulated_pages(Context& ctx, Access& access, uint64_t iova, uint32_t npages, bool write);
long unpin_emulated_pages(Model& model, Context& ctx, Access& access, uint64_t iova, uint32_t npages);
// Its DMA (vfio_dma_rw -> iommufd_access_rw): what [iova, iova + length)
// moves, planned under the lock and copied without it (an unmap racing
// the copy lands before or after, as it may race the kernel's).
struct EmulatedDmaPlan {
    std::vector<RwPiece> pieces;
    uint64_t bytes = 0;         // the pieces' total: what moves before the end or the fault
    uint32_t fault_reason = 0;  // 0: all of it; else an IOMMU_FAULT_REASON_* at iova + bytes
};
void plan_emulated_dma(const IommufdCtx& ictx, const Access& access, uint64_t iova, uint64_t length, bool write,
                       EmulatedDmaPlan& plan);
// Hot removal revoked the RFC binding of `cookie`: if it was an emulated
// device's, its access goes too; whether it was.
bool forget_revoked_emulated_device(Model& model, Context& ctx, uint64_t cookie) noexcept;

}  // namespace ciommu
