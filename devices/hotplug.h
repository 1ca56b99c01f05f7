// Devices that come and go while the daemon runs (the control socket's
// device-add and device-remove).  A removed device keeps its topology index
// (marked not present), so indices and DeviceSpec pointers never change
// meaning.  All require the model lock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "topology.h"

namespace ciommu {

class Model;
struct BoundDevice;

// Adds one device object (docs/topology.md) under the topology file's
// rules (parse_device).  Its index, or the error with its JSON path (path:
// where `device` sits in the caller's document).  Nothing changes on error.
std::variant<unsigned, TopologyError> hot_add_device(Model& model, const nlohmann::json& device,
                                                     const std::string& path);

struct RemovedDevice {
    std::string name;
    std::optional<uint64_t> revoked;  // the context whose bind was revoked
};

// Removes a present device, an mdev parent's mdevs first.  Returns every
// device removed, in that order.
std::vector<RemovedDevice> hot_remove_device(Model& model, unsigned index);

// Revokes a bind as if the device vanished under its owner: detaches it
// (pending page requests answered INVALID, their DMAs aborted), unbinds it,
// and queues an IOMMU_FAULT_RECORD_REVOKED record with its cookie in the
// owner's fault region, consumer or not.
void revoke_bind(Model& model, BoundDevice& dev);

}  // namespace ciommu
