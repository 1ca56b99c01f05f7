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

// A device a removal takes away.
struct RemovedDevice {
    unsigned index;
    std::string name;
    std::optional<uint64_t> revoked;  // the context whose bind is revoked
};

// What removing a present device takes away: its mdevs (if it is a
// parent) first, then itself, each with the context it is bound in.
// Everything a removal needs memory for is made here, nothing changes.
std::vector<RemovedDevice> plan_device_removal(const Model& model, unsigned index);
// Carries out a plan made under the same hold of the model lock.  Needs
// no memory: a removal cannot fail half-way.
void remove_devices(Model& model, const std::vector<RemovedDevice>& plan) noexcept;

// Revokes a bind as if the device vanished under its owner: detaches it
// (pending page requests answered INVALID, their DMAs aborted), unbinds it,
// and queues an IOMMU_FAULT_RECORD_REVOKED record with its cookie in the
// owner's fault region, consumer or not.
void revoke_bind(Model& model, BoundDevice& dev) noexcept;

}  // namespace ciommu
