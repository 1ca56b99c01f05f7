// Destroying objects (iommufd_destroy and the objects' destroy functions
// in drivers/iommu/iommufd/): each undoes what it holds on others first.
#include "iommufd_ctx.h"

#include <cerrno>

#include "access.h"
#include "device.h"
#include "device_attach.h"
#include "fault_queue.h"
#include "hw_pagetable.h"
#include "ioas.h"
#include "mock_device.h"
#include "topology_device.h"

namespace ciommu {
namespace {

// Undoes what the object holds; it is then removed by the caller.
void release(IommufdCtx& ictx, PinLedger& ledger, IommufdObject& object) noexcept {
    const AreaPinner pinner(ledger);
    switch (object.kind) {
    case ObjectKind::kIoas:
        static_cast<Ioas&>(object).iopt.clear(pinner);
        break;
    case ObjectKind::kHwptPaging: {
        auto& hwpt = static_cast<HwptPaging&>(object);
        if (Ioas* ioas = ictx.objects.get<Ioas>(hwpt.ioas_id)) {
            ioas->iopt.remove_domain(*hwpt.domain, pinner);
            --ioas->users;
        }
        break;
    }
    case ObjectKind::kHwptNested: {
        const auto& nested = static_cast<HwptNested&>(object);
        if (IommufdObject* parent = ictx.objects.find_any(nested.parent_id))
            --parent->users;
        if (IommufdObject* fault = ictx.objects.find_any(nested.fault_id))
            --fault->users;
        break;
    }
    case ObjectKind::kFault:
        // iommufd_fault_destroy: whatever waits is answered INVALID (the
        // mock device takes no answers).
        static_cast<FaultQueue&>(object).respond_everything([](const FaultGroup&, uint32_t) {});
        break;
    case ObjectKind::kSelftest: {
        // Unbinding the mock device detaches and removes its bound device.
        const uint32_t idev_id = static_cast<MockDevice&>(object).idev_id;
        if (Device* idev = ictx.objects.get<Device>(idev_id)) {
            detach_device(ictx, ledger, *idev);
            idev->users = 0;
            ictx.objects.destroy(idev_id);
        }
        break;
    }
    case ObjectKind::kAccess: {
        auto& access = static_cast<Access&>(object);
        change_access_ioas(ictx, access, 0);
        ictx.accesses.erase(access.id);
        if (auto it = ictx.access_by_fd.find(access.fd); it != ictx.access_by_fd.end() && it->second == access.id)
            ictx.access_by_fd.erase(it);
        break;
    }
    case ObjectKind::kDevice:
        // A topology device's (the RFC side unbound first); a mock
        // device's bound device is detached by the mock device.
        put_topology_hwpts(ictx, ledger, static_cast<Device&>(object));
        break;
    }
}

}  // namespace

long IommufdCtx::destroy_object(PinLedger& ledger, uint32_t id) {
    IommufdObject* object = objects.find_any(id);
    if (!object)
        return -ENOENT;
    if (object->users)
        return -EBUSY;
    release(*this, ledger, *object);
    objects.destroy(id);
    if (vfio_ioas == id)
        vfio_ioas = 0;  // the compatibility IOAS went with it
    return 0;
}

void IommufdCtx::destroy_all(PinLedger& ledger) noexcept {
    // The fds' hold on their objects ends with the context (upstream's fds
    // would keep it alive: docs/iommufd.md, "File descriptors").
    for (const ObjectKind kind : {ObjectKind::kFault, ObjectKind::kAccess}) {
        objects.for_each(kind, [](IommufdObject& object) {
            uint64_t& file = object.kind == ObjectKind::kFault ? static_cast<FaultQueue&>(object).file
                                                               : static_cast<Access&>(object).file;
            if (file) {
                file = 0;
                --object.users;
            }
        });
    }
    // Topology and emulated devices' hold ends with the context (the model unbound
    // them first: Model::remove_context).
    objects.for_each(ObjectKind::kDevice, [](IommufdObject& object) {
        if (static_cast<Device&>(object).is_topology())
            object.users = 0;
    });
    objects.for_each(ObjectKind::kAccess, [](IommufdObject& object) {
        if (static_cast<Access&>(object).is_emulated_device())
            object.users = 0;
    });
    // Accesses first (users of their IOAS); mock devices take their bound
    // devices and automatic page tables with them; topology devices let
    // go of theirs; then nested page tables, their parents, the IOASes
    // under those, and the fault queues the page tables used.
    for (const ObjectKind kind : {ObjectKind::kAccess, ObjectKind::kSelftest, ObjectKind::kDevice, ObjectKind::kHwptNested,
                                  ObjectKind::kHwptPaging, ObjectKind::kIoas, ObjectKind::kFault}) {
        for (uint32_t id = objects.first_unused(kind); id; id = objects.first_unused(kind, id + 1))
            destroy_object(ledger, id);
    }
    vfio_ioas = 0;
}

}  // namespace ciommu
