#include "request_fields.h"

#include <algorithm>

#include "../toolkit/hex_text.h"

namespace ciommu {
namespace {

using nlohmann::json;

template <typename Names> std::string one_of(const Names& names) {
    std::string out;
    for (std::string_view name : names)
        out += (out.empty() ? "" : ", ") + json_quoted(name);
    return out;
}

}  // namespace

Fields::Fields(const json& request, std::initializer_list<std::string_view> allowed) : request_(request) {
    check_object(root_, allowed, {"cmd"});
}

std::string Fields::error() const {
    if (!errs_.first)
        return "";
    const std::string& path = errs_.first->path;
    return (path.empty() ? path : path.substr(1)) + ": " + errs_.first->message;
}

bool Fields::fail(std::string_view key, const std::string& message) {
    return errs_.fail(json_pointer_child("", key), message);
}

std::optional<JsonNode> Fields::find(const char* key, bool required) {
    std::optional<JsonNode> node = member(root_, key);
    if (!node && required)
        fail(key, "missing");
    return node;
}

std::optional<uint64_t> Fields::optional_number(const char* key, uint64_t lo, uint64_t hi) {
    const std::optional<JsonNode> v = find(key, false);
    uint64_t out = 0;
    if (!v || !read_number_in(*v, lo, hi, out))
        return std::nullopt;
    return out;
}

uint64_t Fields::number(const char* key, uint64_t lo, uint64_t hi) {
    uint64_t out = lo;
    if (const std::optional<JsonNode> v = find(key, true))
        read_number_in(*v, lo, hi, out);  // out stays lo on a failure it records
    return out;
}

bool Fields::boolean(const char* key, std::optional<bool> fallback) {
    const std::optional<JsonNode> v = find(key, !fallback);
    bool out = fallback.value_or(false);
    if (v && !read_bool(*v, out))
        return false;
    return out;
}

std::optional<std::string> Fields::optional_string(const char* key) {
    const std::optional<JsonNode> v = find(key, false);
    std::string out;
    if (!v || !read_string(*v, out))
        return std::nullopt;
    return out;
}

std::string Fields::string(const char* key) {
    std::string out;
    if (const std::optional<JsonNode> v = find(key, true))
        read_string(*v, out);
    return out;
}

const json* Fields::object(const char* key) {
    const std::optional<JsonNode> v = find(key, true);
    if (!v)
        return nullptr;
    if (!v->v.is_object()) {
        v->fail("expected an object, got " + shown(v->v));
        return nullptr;
    }
    return &v->v;
}

std::vector<std::string> Fields::names(const char* key, std::span<const std::string_view> allowed) {
    const std::optional<JsonNode> v = find(key, true);
    std::vector<std::string> out;
    if (!v)
        return out;
    if (!v->v.is_array() || v->v.empty()) {
        v->fail("expected a non-empty array of " + one_of(allowed) + ", got " + shown(v->v));
        return {};
    }
    for (const json& e : v->v) {
        const bool known =
            e.is_string() && std::find(allowed.begin(), allowed.end(), e.get<std::string>()) != allowed.end();
        if (!known) {
            v->fail("expected each of " + one_of(allowed) + ", got " + shown(e));
            return {};
        }
        if (std::find(out.begin(), out.end(), e.get<std::string>()) != out.end()) {
            v->fail(shown(e) + " is listed twice");
            return {};
        }
        out.push_back(e.get<std::string>());
    }
    return out;
}

std::vector<unsigned char> Fields::hex_bytes(const char* key, uint64_t length) {
    const std::optional<JsonNode> v = find(key, true);
    if (!v)
        return {};
    if (!v->v.is_string()) {
        v->fail("expected a string of hex digits, got " + shown(v->v));
        return {};
    }
    const std::string& text = v->v.get_ref<const std::string&>();
    if (text.size() != 2 * length) {
        v->fail("expected " + std::to_string(length) + " bytes (" + std::to_string(2 * length) +
                " hex digits), got " + std::to_string(text.size()) + " characters");
        return {};
    }
    std::vector<unsigned char> bytes(length);
    for (size_t i = 0; i < length; ++i) {
        const int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            v->fail("not a hex digit at character " + std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
            return {};
        }
        bytes[i] = static_cast<unsigned char>(hi << 4 | lo);
    }
    return bytes;
}

}  // namespace ciommu
