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
    for (const auto& [key, value] : request.items()) {
        if (key != "cmd" && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            fail(key, allowed.size() ? "unknown field; this command takes " + one_of(allowed)
                                     : "unknown field; this command takes none");
            return;
        }
    }
}

bool Fields::fail(std::string_view key, const std::string& message) {
    if (error_.empty())
        error_ = std::string(key) + ": " + message;
    return false;
}

const json* Fields::find(const char* key, bool required) {
    auto it = request_.find(key);
    if (it != request_.end())
        return &*it;
    if (required)
        fail(key, "missing");
    return nullptr;
}

std::optional<uint64_t> Fields::optional_number(const char* key, uint64_t lo, uint64_t hi) {
    const json* v = find(key, false);
    if (!v)
        return std::nullopt;
    uint64_t out = 0;
    switch (json_u64(*v, kHex, out)) {
    case NumberError::kNone:
        break;
    case NumberError::kTooBig:
        fail(key, shown(*v) + " does not fit in 64 bits");
        return std::nullopt;
    case NumberError::kBad:
        fail(key, "expected a non-negative integer or a hex string like \"0x1000\", got " + shown(*v));
        return std::nullopt;
    }
    if (out < lo || out > hi) {
        fail(key, "expected " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + std::to_string(out));
        return std::nullopt;
    }
    return out;
}

uint64_t Fields::number(const char* key, uint64_t lo, uint64_t hi) {
    if (!find(key, true))
        return lo;
    return optional_number(key, lo, hi).value_or(lo);
}

bool Fields::boolean(const char* key, std::optional<bool> fallback) {
    const json* v = find(key, !fallback);
    if (!v)
        return fallback.value_or(false);
    if (!v->is_boolean())
        return fail(key, "expected true or false, got " + shown(*v));
    return v->get<bool>();
}

std::optional<std::string> Fields::optional_string(const char* key) {
    const json* v = find(key, false);
    if (!v)
        return std::nullopt;
    if (!v->is_string()) {
        fail(key, "expected a string, got " + shown(*v));
        return std::nullopt;
    }
    return v->get<std::string>();
}

std::string Fields::string(const char* key) {
    if (!find(key, true))
        return "";
    return optional_string(key).value_or("");
}

const json* Fields::object(const char* key) {
    const json* v = find(key, true);
    if (v && !v->is_object()) {
        fail(key, "expected an object, got " + shown(*v));
        return nullptr;
    }
    return v;
}

std::vector<std::string> Fields::names(const char* key, std::span<const std::string_view> allowed) {
    const json* v = find(key, true);
    std::vector<std::string> out;
    if (!v)
        return out;
    if (!v->is_array() || v->empty()) {
        fail(key, "expected a non-empty array of " + one_of(allowed) + ", got " + shown(*v));
        return {};
    }
    for (const json& e : *v) {
        const bool known =
            e.is_string() && std::find(allowed.begin(), allowed.end(), e.get<std::string>()) != allowed.end();
        if (!known) {
            fail(key, "expected each of " + one_of(allowed) + ", got " + shown(e));
            return {};
        }
        if (std::find(out.begin(), out.end(), e.get<std::string>()) != out.end()) {
            fail(key, shown(e) + " is listed twice");
            return {};
        }
        out.push_back(e.get<std::string>());
    }
    return out;
}

std::vector<unsigned char> Fields::hex_bytes(const char* key, uint64_t length) {
    const json* v = find(key, true);
    if (!v)
        return {};
    if (!v->is_string()) {
        fail(key, "expected a string of hex digits, got " + shown(*v));
        return {};
    }
    const std::string& text = v->get_ref<const std::string&>();
    if (text.size() != 2 * length) {
        fail(key, "expected " + std::to_string(length) + " bytes (" + std::to_string(2 * length) +
                      " hex digits), got " + std::to_string(text.size()) + " characters");
        return {};
    }
    std::vector<unsigned char> bytes(length);
    for (size_t i = 0; i < length; ++i) {
        const int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            fail(key, "not a hex digit at character " + std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
            return {};
        }
        bytes[i] = static_cast<unsigned char>(hi << 4 | lo);
    }
    return bytes;
}

}  // namespace ciommu
