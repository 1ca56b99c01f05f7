// JSON pieces every reader of JSON input words its errors with: the
// topology reader (devices/topology_reader.h), control requests
// (control/request_fields.h) and iommuctl.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "number_text.h"

namespace ciommu {

// A value as an error message shows it after "got": objects and arrays by
// kind, anything else as JSON, cut at 40 characters.
std::string shown(const nlohmann::json& value);

// s as a JSON string, quotes included (invalid UTF-8 replaced).
std::string json_quoted(std::string_view s);

// A non-negative integer given as a JSON integer or as text in `forms`
// (NumberForm bits): kBad for anything else (a negative or fractional
// number, another type, text in no accepted form).
NumberError json_u64(const nlohmann::json& value, unsigned forms, uint64_t& out);

// A JSON pointer (RFC 6901) one step down: path + "/" + key, the key
// escaped ("~" -> "~0", "/" -> "~1"); or path + "/" + index.
std::string json_pointer_child(const std::string& path, std::string_view key);
std::string json_pointer_child(const std::string& path, size_t index);

}  // namespace ciommu
