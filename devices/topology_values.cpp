// The topology reader's value readers (topology_reader.h): JSON pointers,
// error-message pieces, and the readers of booleans, strings, names and
// numbers, each recording the first error with the path of the value.
#include "topology_reader.h"

#include <algorithm>
#include <cstdio>
#include <system_error>

namespace ciommu::topology_reader {
namespace {

std::string joined(Keys keys) {
    std::string out;
    for (std::string_view k : keys)
        out += (out.empty() ? "" : ", ") + std::string(k);
    return out;
}

}  // namespace

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

bool contains(Keys keys, std::string_view key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

bool check_object(const Node& n, Keys allowed) {
    if (!n.v.is_object())
        return n.fail("expected an object, got " + shown(n.v));
    for (const auto& [key, value] : n.v.items()) {
        if (!contains(allowed, key))
            return n.errs.fail(json_pointer_child(n.path, key), "unknown key; expected one of: " + joined(allowed));
    }
    return true;
}

bool check_array(const Node& n, std::string_view of) {
    return n.v.is_array() || n.fail("expected an array of " + std::string(of) + ", got " + shown(n.v));
}

bool read_bool(const Node& n, bool& out) {
    if (!n.v.is_boolean())
        return n.fail("expected true or false, got " + shown(n.v));
    out = n.v.get<bool>();
    return true;
}

bool read_string(const Node& n, std::string& out) {
    if (!n.v.is_string())
        return n.fail("expected a string, got " + shown(n.v));
    out = n.v.get<std::string>();
    return true;
}

bool read_name(const Node& n, std::string& out) {
    const auto ok_char = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '-';
    };
    if (n.v.is_string()) {
        const auto& s = n.v.get_ref<const std::string&>();
        if (!s.empty() && s.size() < IOMMU_DEVICE_NAME_LEN && std::all_of(s.begin(), s.end(), ok_char)) {
            out = s;
            return true;
        }
    }
    return n.fail("expected a name of 1.." + std::to_string(IOMMU_DEVICE_NAME_LEN - 1) +
                  " characters from [A-Za-z0-9_.-], got " + shown(n.v));
}

bool read_number(const Node& n, Units units, uint64_t& out) {
    // Text: "0x..." (hex) or, for sizes, digits and a K/M/G/T suffix.
    switch (json_u64(n.v, units == Units::kSize ? kHex | kSizeSuffix : kHex, out)) {
    case NumberError::kNone:
        return true;
    case NumberError::kTooBig:
        return n.fail(shown(n.v) + " does not fit in 64 bits");
    case NumberError::kBad:
        break;
    }
    if (units == Units::kSize)
        return n.fail("expected a size (an integer, a hex string like \"0x1000\", or \"4K\", \"2M\", \"1G\"), got " +
                      shown(n.v));
    return n.fail("expected a non-negative integer or a hex string like \"0x1000\", got " + shown(n.v));
}

bool read_uint(const Node& n, unsigned lo, unsigned hi, unsigned& out) {
    uint64_t v = 0;
    if (!read_number(n, Units::kPlain, v))
        return false;
    if (v < lo || v > hi)
        return n.fail("expected " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + std::to_string(v));
    out = static_cast<unsigned>(v);
    return true;
}

}  // namespace ciommu::topology_reader
