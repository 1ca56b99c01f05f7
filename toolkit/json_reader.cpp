#include "json_reader.h"

#include <algorithm>

namespace ciommu {

bool check_object(const JsonNode& n, JsonKeys allowed, JsonKeys unlisted) {
    if (!n.v.is_object())
        return n.fail("expected an object, got " + shown(n.v));
    for (const auto& [key, value] : n.v.items()) {
        if (std::find(allowed.begin(), allowed.end(), key) != allowed.end() ||
            std::find(unlisted.begin(), unlisted.end(), key) != unlisted.end())
            continue;
        std::string expected;
        for (std::string_view k : allowed)
            expected += (expected.empty() ? "" : ", ") + std::string(k);
        return n.errs.fail(json_pointer_child(n.path, key),
                           expected.empty() ? "unknown key; expected none" : "unknown key; expected one of: " + expected);
    }
    return true;
}

bool check_array(const JsonNode& n, std::string_view of) {
    return n.v.is_array() || n.fail("expected an array of " + std::string(of) + ", got " + shown(n.v));
}

std::optional<JsonNode> member(const JsonNode& n, std::string_view key) {
    if (!n.v.is_object())
        return std::nullopt;
    auto it = n.v.find(key);
    if (it == n.v.end())
        return std::nullopt;
    return JsonNode{*it, json_pointer_child(n.path, key), n.errs};
}

bool read_bool(const JsonNode& n, bool& out) {
    if (!n.v.is_boolean())
        return n.fail("expected true or false, got " + shown(n.v));
    out = n.v.get<bool>();
    return true;
}

bool read_string(const JsonNode& n, std::string& out) {
    if (!n.v.is_string())
        return n.fail("expected a string, got " + shown(n.v));
    out = n.v.get<std::string>();
    return true;
}

bool read_number(const JsonNode& n, unsigned forms, uint64_t& out) {
    switch (json_u64(n.v, forms, out)) {
    case NumberError::kNone:
        return true;
    case NumberError::kTooBig:
        return n.fail(shown(n.v) + " does not fit in 64 bits");
    case NumberError::kBad:
        break;
    }
    if (forms & kSizeSuffix)
        return n.fail("expected a size (an integer, a hex string like \"0x1000\", or \"4K\", \"2M\", \"1G\"), got " +
                      shown(n.v));
    return n.fail("expected a non-negative integer or a hex string like \"0x1000\", got " + shown(n.v));
}

bool read_uapi_name(const JsonNode& n, std::span<const UapiName> names, uint32_t& out) {
    if (n.v.is_string()) {
        if (const auto value = value_of_text(names, n.v.get_ref<const std::string&>())) {
            out = *value;
            return true;
        }
    }
    std::string expected;
    for (const UapiName& name : names)
        expected += (expected.empty() ? "" : " or ") + json_quoted(name.text);
    return n.fail("expected " + expected + ", got " + shown(n.v));
}

bool read_number_in(const JsonNode& n, uint64_t lo, uint64_t hi, uint64_t& out) {
    uint64_t v = 0;
    if (!read_number(n, kHex, v))
        return false;
    if (v < lo || v > hi)
        return n.fail("expected " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + std::to_string(v));
    out = v;
    return true;
}

}  // namespace ciommu
