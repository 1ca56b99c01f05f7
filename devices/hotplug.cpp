#include "hotplug.h"

#include "../dispatcher/model.h"
#include "../fault-region/fault_router.h"
#include "cuse-iommu.h"
#include "device_ops.h"

namespace ciommu {
namespace {

RemovedDevice remove_one(Model& model, unsigned index) {
    RemovedDevice removed{model.topology().devices[index].name, std::nullopt};
    if (BoundDevice* dev = model.devices().bound(index)) {
        removed.revoked = dev->ctx->id;
        revoke_bind(model, *dev);
    }
    model.mark_removed(index);
    return removed;
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

std::vector<RemovedDevice> hot_remove_device(Model& model, unsigned index) {
    std::vector<RemovedDevice> removed;
    const auto& devices = model.topology().devices;
    for (unsigned i = 0; i < devices.size(); ++i) {
        if (devices[i].present && devices[i].kind != DeviceKind::kPci && devices[i].parent == index)
            removed.push_back(remove_one(model, i));
    }
    removed.push_back(remove_one(model, index));
    return removed;
}

void revoke_bind(Model& model, BoundDevice& dev) {
    Context& owner = *dev.ctx;
    const uint64_t cookie = dev.cookie;
    unbind_device(model, owner, cookie);  // dev is gone after this
    // Consumer or not: the owner must learn that its cookie is dead.
    iommu_fault_record record{};
    record.flags = IOMMU_FAULT_RECORD_REVOKED;
    record.cookie = cookie;
    deliver_record(model, owner, record);
}

}  // namespace ciommu
