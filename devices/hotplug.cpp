#include "hotplug.h"

#include "../core/model.h"
#include "cuse-iommu.h"
#include "device_ops.h"

namespace ciommu {
namespace {

RemovedDevice planned(const Model& model, unsigned index) {
    const BoundDevice* dev = model.devices().bound(index);
    return {index, model.topology().devices[index].name, dev ? std::optional(dev->ctx->id) : std::nullopt};
}

}  // namespace

std::variant<unsigned, TopologyError> hot_add_device(Model& model, const nlohmann::json& device,
                                                     const std::string& path) {
    auto parsed = parse_device(model.topology(), device, path);
    if (auto* error = std::get_if<TopologyError>(&parsed))
        return *error;
    if (auto index = model.add_device(std::move(std::get<DeviceSpec>(parsed))))
        return *index;
    return TopologyError{path, "no room for another device: the daemon adds at most " +
                                   std::to_string(Model::kDeviceHeadroom) + " devices while it runs"};
}

std::vector<RemovedDevice> plan_device_removal(const Model& model, unsigned index) {
    std::vector<RemovedDevice> plan;
    const auto& devices = model.topology().devices;
    for (unsigned i = 0; i < devices.size(); ++i) {
        if (devices[i].present && devices[i].kind != DeviceKind::kPci && devices[i].parent == index)
            plan.push_back(planned(model, i));
    }
    plan.push_back(planned(model, index));
    return plan;
}

void remove_devices(Model& model, const std::vector<RemovedDevice>& plan) noexcept {
    for (const RemovedDevice& removed : plan) {
        if (BoundDevice* dev = model.devices().bound(removed.index))
            revoke_bind(model, *dev);
        model.mark_removed(removed.index);
    }
}

void revoke_bind(Model& model, BoundDevice& dev) noexcept {
    Context& owner = *dev.ctx;
    const uint64_t cookie = dev.cookie;
    unbind_device(model, owner, cookie);  // dev is gone after this
    // Consumer or not: the owner must learn that its cookie is dead.
    iommu_fault_record record{};
    record.flags = IOMMU_FAULT_RECORD_REVOKED;
    record.cookie = cookie;
    model.fault_port().deliver_record(model, owner, record);
}

}  // namespace ciommu
