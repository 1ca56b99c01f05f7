// The control protocol's commands (docs/control.md), one function each.
// Each runs with the model lock held (handle_control_request takes it via
// Dispatcher::with_model) -- except dma, which takes it itself and drops it
// around client memory -- reads and checks every field before it changes
// anything, and returns the whole response: {"ok": true, ...} or
// {"ok": false, "error": "<field>: <what was wrong>"}.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace ciommu {

class Model;
struct BoundDevice;

nlohmann::json cmd_dump(Model& model, const nlohmann::json& request);
nlohmann::json cmd_dma(Model& model, const nlohmann::json& request);
nlohmann::json cmd_dma_status(Model& model, const nlohmann::json& request);
nlohmann::json cmd_fault(Model& model, const nlohmann::json& request);
nlohmann::json cmd_device_add(Model& model, const nlohmann::json& request);
nlohmann::json cmd_device_remove(Model& model, const nlohmann::json& request);
nlohmann::json cmd_set(Model& model, const nlohmann::json& request);
nlohmann::json cmd_check(Model& model, const nlohmann::json& request);

// ---- shared by the commands ----
nlohmann::json ok_response();
nlohmann::json error_response(const std::string& message);
// The bound device named `name` (the field `key`), or nullptr with *error set.
BoundDevice* bound_device_named(Model& model, const std::string& name, const char* key, std::string* error);

}  // namespace ciommu
