// Reading one control request's fields (docs/control.md), with the JSON
// reader of toolkit/json_reader.h.  Every reader records the first problem
// as "<field>: <what was wrong>" (the JSON pointer of the value, without its
// leading "/") and returns a neutral value, so a command reads all its
// fields, then checks ok() once before it touches the model.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../toolkit/json_reader.h"

namespace ciommu {

class Fields {
public:
    // Any key outside `allowed` (besides "cmd") is an error: a misspelt
    // optional field must not be silently ignored.
    Fields(const nlohmann::json& request, std::initializer_list<std::string_view> allowed);

    bool ok() const { return !errs_.first; }
    // "" while ok().
    std::string error() const;
    bool has(const char* key) const { return request_.contains(key); }
    // Records "<key>: <message>" unless a problem was recorded already; false.
    bool fail(std::string_view key, const std::string& message);

    // A JSON integer or a hex string ("0x1000") in [lo, hi].  Required.
    uint64_t number(const char* key, uint64_t lo, uint64_t hi);
    std::optional<uint64_t> optional_number(const char* key, uint64_t lo, uint64_t hi);
    // Required unless a fallback is given.
    bool boolean(const char* key, std::optional<bool> fallback = std::nullopt);
    std::string string(const char* key);
    std::optional<std::string> optional_string(const char* key);
    // Required; an object.
    const nlohmann::json* object(const char* key);
    // Required; a non-empty array of distinct strings, each one of `names`.
    std::vector<std::string> names(const char* key, std::span<const std::string_view> names);
    // Required; exactly `length` bytes as 2 * length hex digits.
    std::vector<unsigned char> hex_bytes(const char* key, uint64_t length);

private:
    std::optional<JsonNode> find(const char* key, bool required);

    const nlohmann::json& request_;
    JsonErrors errs_;
    JsonNode root_{request_, "", errs_};
};

}  // namespace ciommu
