// The topology reader's value readers (topology_reader.h): JSON pointers,
// error-message pieces, and the readers of booleans, strings, names and
// numbers, each recording the first error with the path of the value.
#include "topology_reader.h"

#include <algorithm>
#include <charconv>
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

// "0x..." (hex) or, for sizes, digits and a K/M/G/T suffix.  Returns "" or why not.
std::string number_from_text(std::string_view s, Units units, uint64_t& out) {
    int base = 10;
    unsigned shift = 0;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    } else if (units == Units::kSize && s.size() > 1 && std::string_view("KMGT").find(s.back()) != s.npos) {
        shift = 10 * (1 + static_cast<unsigned>(std::string_view("KMGT").find(s.back())));
        s.remove_suffix(1);
    } else {
        return "bad";
    }
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    if (ec == std::errc::result_out_of_range || (ec == std::errc{} && end == s.data() + s.size() &&
                                                 out > (~uint64_t{0} >> shift)))
        return "does not fit in 64 bits";
    if (ec != std::errc{} || end != s.data() + s.size())
        return "bad";
    out <<= shift;
    return "";
}

}  // namespace

std::string child(const std::string& path, std::string_view key) {
    std::string out = path + "/";
    for (char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

std::string child(const std::string& path, size_t index) {
    return path + "/" + std::to_string(index);
}

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string in_quotes(std::string_view s) {
    return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string shown(const json& v) {
    switch (v.type()) {
    case json::value_t::object:
        return "an object";
    case json::value_t::array:
        return "an array";
    default: {
        std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
        return s.size() <= 40 ? s : s.substr(0, 37) + "...";
    }
    }
}

bool contains(Keys keys, std::string_view key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

bool check_object(const Node& n, Keys allowed) {
    if (!n.v.is_object())
        return n.fail("expected an object, got " + shown(n.v));
    for (const auto& [key, value] : n.v.items()) {
        if (!contains(allowed, key))
            return n.errs.fail(child(n.path, key), "unknown key; expected one of: " + joined(allowed));
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
    // Parsed text makes a non-negative integer unsigned; a json built in C++
    // from an int (a control request in a test) keeps it signed.
    if (n.v.is_number_unsigned() || (n.v.is_number_integer() && n.v.get<int64_t>() >= 0)) {
        out = n.v.get<uint64_t>();
        return true;
    }
    if (n.v.is_string()) {
        const std::string why = number_from_text(n.v.get_ref<const std::string&>(), units, out);
        if (why.empty())
            return true;
        if (why != "bad")
            return n.fail(shown(n.v) + " " + why);
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
