// The control socket's view of the model (docs/control.md, "The state"):
// every object as JSON.  Requires the model lock.
#pragma once

#include <nlohmann/json.hpp>

namespace ciommu {

class Model;
class FaultRegion;

// The whole model: iommus, devices, contexts, accounting, counters.
nlohmann::json dump_state(Model& model);
// One device of the topology, as "devices" lists it.
nlohmann::json device_json(Model& model, unsigned index);
// A PRI device's page-request credits {max, outstanding, held_dmas} (the
// counts null while unbound); null for a device without page requests.
nlohmann::json page_requests_json(Model& model, unsigned index);
// A context's fault region: settings and counters.
nlohmann::json fault_region_json(const FaultRegion& region);

// At most this many mappings are listed per IOASID.
inline constexpr size_t kDumpMappingsMax = 4096;

}  // namespace ciommu
