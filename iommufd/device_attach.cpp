#include "device_attach.h"

#include <cerrno>

#include "cuse-iommu-iommufd.h"
#include "device.h"
#include "fault_queue.h"
#include "hw_pagetable.h"
#include "iommufd_ctx.h"
#include "ioas.h"

namespace ciommu {
namespace {

// mock_domain_nop_attach: a device that cannot track dirty pages refuses
// a domain made for dirty tracking; and the mock driver's devices take
// only its own domains.
bool accepts(const Device& idev, const HwptPaging& hwpt) {
    return hwpt.mock() && !(hwpt.domain->dirty_ops() && (idev.mock_flags & MOCK_FLAGS_DEVICE_NO_DIRTY));
}

// iommufd_device_auto_get_domain: any automatic page table of the IOAS
// that accepts the device, else a new one.
long auto_domain(IommufdCtx& ictx, PinLedger& ledger, const Device& idev, Ioas& ioas, HwptPaging*& out) {
    out = nullptr;
    ictx.objects.for_each(ObjectKind::kHwptPaging, [&](IommufdObject& object) {
        auto& hwpt = static_cast<HwptPaging&>(object);
        if (!out && hwpt.auto_domain && hwpt.ioas_id == ioas.id && accepts(idev, hwpt))
            out = &hwpt;
    });
    if (out)
        return 0;
    PagingOptions options{.huge_iova = (idev.mock_flags & MOCK_FLAGS_DEVICE_HUGE_IOVA) != 0, .auto_domain = true};
    return alloc_hwpt_paging(ictx, ledger, ioas, std::move(options), out);
}

// The page table pt_id names for this device: a paging or nested one, or
// an automatic one of an IOAS.
long resolve(IommufdCtx& ictx, PinLedger& ledger, const Device& idev, uint32_t pt_id, IommufdObject*& out) {
    IommufdObject* object = ictx.objects.find_any(pt_id);
    if (!object)
        return -ENOENT;
    switch (object->kind) {
    case ObjectKind::kHwptPaging:
        out = object;
        return accepts(idev, static_cast<HwptPaging&>(*object)) ? 0 : -EINVAL;
    case ObjectKind::kHwptNested:
        out = object;
        return static_cast<HwptNested&>(*object).stage1 ? -EINVAL : 0;  // a topology device's
    case ObjectKind::kIoas: {
        HwptPaging* hwpt = nullptr;
        const long err = auto_domain(ictx, ledger, idev, static_cast<Ioas&>(*object), hwpt);
        out = hwpt;
        return err;
    }
    default:
        return -EINVAL;
    }
}

}  // namespace

void put_hwpt(IommufdCtx& ictx, PinLedger& ledger, uint32_t hwpt_id, uint32_t dev_id) noexcept {
    IommufdObject* hwpt = ictx.objects.find_any(hwpt_id);
    if (!hwpt)
        return;
    if (hwpt->kind == ObjectKind::kHwptNested) {
        if (auto* queue = ictx.objects.get<FaultQueue>(static_cast<HwptNested*>(hwpt)->fault_id))
            queue->respond_all(hwpt_id, dev_id, [](const FaultGroup&, uint32_t) {});
    }
    --hwpt->users;
    if (hwpt->kind == ObjectKind::kHwptPaging && static_cast<HwptPaging*>(hwpt)->auto_domain && hwpt->users == 0)
        ictx.destroy_object(ledger, hwpt_id);
}

long attach_device(IommufdCtx& ictx, PinLedger& ledger, Device& idev, uint32_t pt_id, uint32_t& out_hwpt) {
    if (idev.hwpt_id)
        return -EINVAL;
    IommufdObject* hwpt = nullptr;
    if (long err = resolve(ictx, ledger, idev, pt_id, hwpt))
        return err;
    ++hwpt->users;
    idev.hwpt_id = out_hwpt = hwpt->id;
    return 0;
}

long replace_device(IommufdCtx& ictx, PinLedger& ledger, Device& idev, uint32_t pt_id, uint32_t& out_hwpt) {
    if (!idev.hwpt_id)
        return -EINVAL;
    IommufdObject* hwpt = nullptr;
    if (long err = resolve(ictx, ledger, idev, pt_id, hwpt))
        return err;
    out_hwpt = hwpt->id;
    if (hwpt->id == idev.hwpt_id)
        return 0;
    const uint32_t old = idev.hwpt_id;
    ++hwpt->users;
    idev.hwpt_id = hwpt->id;
    put_hwpt(ictx, ledger, old, idev.id);
    return 0;
}

void detach_device(IommufdCtx& ictx, PinLedger& ledger, Device& idev) noexcept {
    const uint32_t old = idev.hwpt_id;
    idev.hwpt_id = 0;
    put_hwpt(ictx, ledger, old, idev.id);
}

}  // namespace ciommu
