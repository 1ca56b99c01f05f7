#include "model.h"

#include "../devices/device_ops.h"
#include "../devices/mdev_pins.h"
#include "../fault-region/fault_router.h"
#include "../ioasid/ioasid_ops.h"
#include "../iommufd/emulated_device.h"
#include "../iommufd/topology_device.h"
#include "../iommufd/topology_faults.h"

namespace ciommu {
namespace {

// The fault port the devices report through: a page request of a topology
// device bound on the iommufd profile goes to its page table's fault queue
// (iommufd/topology_faults.h); every other fault to the RFC router.
FaultFate raise_any_fault(Model& model, BoundDevice& dev, uint32_t attachment_key, const Fault& fault,
                          bool recoverable, uint64_t dma_id, uint32_t* grpid) {
    if (auto fate = raise_topology_fault(model, dev, attachment_key, fault, recoverable, dma_id, grpid))
        return *fate;
    return fault_router_port().raise_fault(model, dev, attachment_key, fault, recoverable, dma_id, grpid);
}

// A revoked bind of such a device, or of an emulated one, takes its device
// object (or its access) with it; any other record goes to the context's
// fault region.
bool deliver_any_record(Model& model, Context& ctx, iommu_fault_record record) noexcept {
    if ((record.flags & IOMMU_FAULT_RECORD_REVOKED) && (forget_revoked_topology_device(model, ctx, record.cookie) ||
                                                        forget_revoked_emulated_device(model, ctx, record.cookie)))
        return true;
    return fault_router_port().deliver_record(model, ctx, record);
}

const FaultPort& model_fault_port() {
    static const FaultPort port{raise_any_fault, deliver_any_record, fault_router_port().abort_page_requests};
    return port;
}

}  // namespace

Model::Model(const Topology& topology, PinLedger::LimitFn memlock_limit)
    : topology_(topology),
      device_limit_(topology.devices.size() + kDeviceHeadroom),
      devices_(topology.devices.size()),
      ledger_(std::move(memlock_limit)),
      fault_port_(model_fault_port()),
      unmap_listeners_{drop_mdev_pins_in} {
    topology_.devices.reserve(device_limit_);
}

std::optional<unsigned> Model::add_device(DeviceSpec spec) {
    if (topology_.devices.size() >= device_limit_)
        return std::nullopt;  // growing would move every DeviceSpec a BoundDevice points to
    topology_.devices.push_back(std::move(spec));
    return static_cast<unsigned>(topology_.devices.size() - 1);
}

Context* Model::add_context(pid_t opener) {
    const uint64_t id = next_context_id_++;
    auto [it, inserted] = contexts_.emplace(id, std::make_unique<Context>(id, opener));
    return it->second.get();
}

void Model::remove_context(Context* ctx) noexcept {
    // Devices first (detach drops routes, IOTLB entries and pins), then the
    // address spaces they were attached to (unpinning every mapping).
    unbind_all_devices(*this, *ctx);
    free_all_ioasids(*this, *ctx);
    ctx->iommufd.destroy_all(ledger_);
    contexts_.erase(ctx->id);
}

}  // namespace ciommu
