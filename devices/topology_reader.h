// The topology reader's shared pieces, internal to devices/topology*.cpp:
// where a value sits (JSON pointers), the first error met, and readers of
// JSON values that record it.  The document's parts are read by one file
// each (declared at the end); topology.cpp puts them together.
//
// Every reader returns false after recording the first error; nlohmann::json
// may still throw, and the entry points (parse_topology, parse_device) catch.
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

#include "../toolkit/json_text.h"
#include "topology.h"

namespace ciommu::topology_reader {

using nlohmann::json;

// ---- message pieces (JSON pointers, shown values: toolkit/json_text.h) ----

std::string hex(uint64_t v);

// ---- reading values: every reader records the first error and returns false ----

struct Errors {
    std::optional<TopologyError> first;
    bool fail(const std::string& path, std::string message) {
        if (!first)
            first = TopologyError{path, std::move(message)};
        return false;
    }
};

// A JSON value and where it sits in the document.
struct Node {
    const json& v;
    std::string path;
    Errors& errs;
    bool fail(std::string message) const { return errs.fail(path, std::move(message)); }
    Node element(size_t i) const { return {v[i], json_pointer_child(path, i), errs}; }
};

using Keys = std::initializer_list<std::string_view>;

bool contains(Keys keys, std::string_view key);

// An object whose keys are all in `allowed`.
bool check_object(const Node& n, Keys allowed);
bool check_array(const Node& n, std::string_view of);

// Runs `read` on n[key]; a missing key is an error.
template <class Read>
bool required(const Node& n, const char* key, const Read& read) {
    auto it = n.v.find(key);
    if (it == n.v.end())
        return n.fail("missing required key \"" + std::string(key) + "\"");
    return read(Node{*it, json_pointer_child(n.path, key), n.errs});
}

// Runs `read` on n[key] if it is there (the caller's default stands otherwise).
template <class Read>
bool if_present(const Node& n, const char* key, const Read& read) {
    auto it = n.v.find(key);
    return it == n.v.end() || read(Node{*it, json_pointer_child(n.path, key), n.errs});
}

bool read_bool(const Node& n, bool& out);
bool read_string(const Node& n, std::string& out);
// Device and IOMMU names: they go into iommu_device_bind::name, NUL included.
bool read_name(const Node& n, std::string& out);

// Sizes may also be written "4K", "2M", "1G", "1T" (binary multiples).
enum class Units { kPlain, kSize };

// A non-negative integer: a JSON integer or a hex string (a size: also "4K"...).
bool read_number(const Node& n, Units units, uint64_t& out);
// A number in [lo, hi].
bool read_uint(const Node& n, unsigned lo, unsigned hi, unsigned& out);

template <class E>
struct Named {
    std::string_view name;
    E value;
};

template <class E>
bool read_enum(const Node& n, std::span<const Named<E>> names, E& out) {
    std::string expected;
    for (const Named<E>& entry : names) {
        if (n.v.is_string() && n.v.get_ref<const std::string&>() == entry.name) {
            out = entry.value;
            return true;
        }
        expected += (expected.empty() ? "" : " or ") + json_quoted(entry.name);
    }
    return n.fail("expected " + expected + ", got " + shown(n.v));
}

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
