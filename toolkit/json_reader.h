// Reading JSON input with errors that say where: the one reader set of the
// topology (devices/topology_reader.h) and of control requests
// (control/request_fields.h).  A JsonNode is a value and its JSON pointer
// (RFC 6901); every reader records the first error at the pointer of the
// value it is about ("/devices/0/iommu: missing", "/iova: expected ...")
// and returns false, so a reader can read on and report once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "json_error.h"
#include "json_text.h"
#include "uapi_names.h"

namespace ciommu {

struct JsonErrors {
    std::optional<JsonError> first;
    bool fail(const std::string& path, std::string message) {
        if (!first)
            first = JsonError{path, std::move(message)};
        return false;
    }
};

// A JSON value and where it sits in the document.
struct JsonNode {
    const nlohmann::json& v;
    std::string path;
    JsonErrors& errs;
    bool fail(std::string message) const { return errs.fail(path, std::move(message)); }
    JsonNode element(size_t i) const { return {v[i], json_pointer_child(path, i), errs}; }
};

using JsonKeys = std::initializer_list<std::string_view>;

// An object whose keys are all in `allowed` or `unlisted` ("unknown key;
// expected one of: <allowed>" at the first other key).
bool check_object(const JsonNode& n, JsonKeys allowed, JsonKeys unlisted = {});
bool check_array(const JsonNode& n, std::string_view of);

// The member `key` of object n, if it is there.
std::optional<JsonNode> member(const JsonNode& n, std::string_view key);
// Runs `read` on n[key]; a missing key is an error at its path: "missing".
template <class Read> bool required(const JsonNode& n, std::string_view key, const Read& read) {
    const std::optional<JsonNode> m = member(n, key);
    return m ? read(*m) : n.errs.fail(json_pointer_child(n.path, key), "missing");
}
// Runs `read` on n[key] if it is there (the caller's default stands otherwise).
template <class Read> bool if_present(const JsonNode& n, std::string_view key, const Read& read) {
    const std::optional<JsonNode> m = member(n, key);
    return !m || read(*m);
}

bool read_bool(const JsonNode& n, bool& out);
bool read_string(const JsonNode& n, std::string& out);
// A non-negative integer: a JSON integer, or text in `forms` (NumberForm
// bits: kHex for "0x1000", kSizeSuffix for "4K" too).
bool read_number(const JsonNode& n, unsigned forms, uint64_t& out);
// The same, in [lo, hi].
bool read_number_in(const JsonNode& n, uint64_t lo, uint64_t hi, uint64_t& out);

template <class E> struct JsonNamed {
    std::string_view name;
    E value;
};

// One of the names, as a JSON string.
// Allocates nothing unless it fails.
template <class E> bool read_enum(const JsonNode& n, std::span<const JsonNamed<E>> names, E& out) {
    for (const JsonNamed<E>& entry : names) {
        if (n.v.is_string() && n.v.template get_ref<const std::string&>() == entry.name) {
            out = entry.value;
            return true;
        }
    }
    std::string expected;
    for (const JsonNamed<E>& entry : names)
        expected += (expected.empty() ? "" : " or ") + json_quoted(entry.name);
    return n.fail("expected " + expected + ", got " + shown(n.v));
}

// One of a uapi enumeration's text spellings (toolkit/uapi_names.h).
bool read_uapi_name(const JsonNode& n, std::span<const UapiName> names, uint32_t& out);

}  // namespace ciommu
