// The topology reader's shared pieces, internal to devices/topology*.cpp:
// where a value sits (JSON pointers), the first error met, and readers of
// JSON values that record it.  The document's parts are read by one file
// each (declared at the end); topology.cpp puts them together.
//
// Every reader returns false after recording the first error at the JSON
// pointer of the value it is about; nlohmann::json may still throw, and the
// entry points (parse_topology, parse_device) catch (parse_device lets
// std::bad_alloc through).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../toolkit/json_reader.h"
#include "topology.h"

namespace ciommu::topology_reader {

using nlohmann::json;

// ---- the JSON reader (toolkit/json_reader.h), and what only topologies read ----

using Node = JsonNode;
using Errors = JsonErrors;
using Keys = JsonKeys;
template <class E> using Named = JsonNamed<E>;

bool contains(Keys keys, std::string_view key);

// Device and IOMMU names: they go into iommu_device_bind::name, NUL included.
bool read_name(const Node& n, std::string& out);

// Sizes may also be written "4K", "2M", "1G", "1T" (binary multiples).
enum class Units { kPlain, kSize };

// A non-negative integer: a JSON integer or a hex string (a size: also "4K"...).
inline bool read_number(const Node& n, Units units, uint64_t& out) {
    return ciommu::read_number(n, units == Units::kSize ? kHex | kSizeSuffix : kHex, out);
}
// A number in [lo, hi].
bool read_uint(const Node& n, unsigned lo, unsigned hi, unsigned& out);

// ---- the document's parts, one file each ----

// topology_text.cpp: the text as JSON (comments allowed); a syntax error, a
// number out of range or a duplicate key is an error at its path.
bool parse_json(std::string_view text, json& doc, Errors& errs);

// topology_iommus.cpp: the "iommus" array; names unique.
bool read_iommus(const Node& n, std::vector<IommuUnit>& out);

// topology_devices.cpp: the "devices" array, resolved against topo.iommus
// into topo.devices (names and BDFs unique, groups behind one IOMMU, mdev
// parents and groups).
bool read_devices(const Node& n, Topology& topo);

}  // namespace ciommu::topology_reader
