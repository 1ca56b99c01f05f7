#include "format.h"

#include <algorithm>
#include <cstdio>

#include "../toolkit/json_text.h"

namespace iommuctl {

namespace {
const json kNull = nullptr;
const json kEmptyArray = json::array();
}  // namespace

const json& field(const json& obj, std::string_view key) {
    if (!obj.is_object())
        return kNull;
    auto it = obj.find(key);
    return it == obj.end() ? kNull : *it;
}

const json& array_field(const json& obj, std::string_view key) {
    const json& value = field(obj, key);
    return value.is_array() ? value : kEmptyArray;
}

std::optional<uint64_t> as_u64(const json& value) {
    uint64_t out = 0;
    if (ciommu::json_u64(value, ciommu::kDecimal | ciommu::kHex, out) != ciommu::NumberError::kNone)
        return std::nullopt;
    return out;
}

std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (u < 0x20 || u == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\x%02x", u);
            out += buf;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string text(const json& value) {
    if (value.is_null())
        return "-";
    if (value.is_string())
        return printable(value.get_ref<const std::string&>());
    if (value.is_boolean())
        return value.get<bool>() ? "yes" : "no";
    return printable(value.dump());
}

std::string hex(const json& value) {
    if (value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0))
        return ciommu::hex_number(*as_u64(value));
    return text(value);
}

std::string human_bytes(uint64_t bytes) {
    static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024 || bytes % 1024)
        return std::to_string(bytes) + " B";
    uint64_t value = bytes / 1024;
    int unit = 0;
    while (value % 1024 == 0 && value >= 1024 && unit < 5) {
        value /= 1024;
        ++unit;
    }
    return std::to_string(value) + " " + kUnits[unit];
}

std::string page_size(const json& value) {
    const auto n = value.is_number() ? as_u64(value) : std::nullopt;
    if (!n)
        return text(value);
    static constexpr const char* kSuffix = "KMGTPE";
    uint64_t v = *n;
    if (v == 0 || v % 1024)
        return std::to_string(v);
    v /= 1024;
    int unit = 0;
    while (v % 1024 == 0 && v >= 1024 && unit < 5) {
        v /= 1024;
        ++unit;
    }
    return std::to_string(v) + kSuffix[unit];
}

std::string table(const std::vector<std::vector<std::string>>& rows, std::string_view indent) {
    std::vector<size_t> width;
    for (const auto& row : rows)
        for (size_t i = 0; i < row.size(); ++i) {
            if (width.size() <= i)
                width.resize(i + 1, 0);
            width[i] = std::max(width[i], row[i].size());
        }
    std::string out;
    for (const auto& row : rows) {
        std::string line(indent);
        for (size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size())
                line.append(width[i] - row[i].size() + 2, ' ');
        }
        while (!line.empty() && line.back() == ' ')
            line.pop_back();
        out += line + "\n";
    }
    return out;
}

std::string hexdump(const std::vector<uint8_t>& bytes, std::string_view indent) {
    std::string out;
    bool starred = false;
    for (size_t off = 0; off < bytes.size(); off += 16) {
        const size_t n = std::min<size_t>(16, bytes.size() - off);
        if (off >= 16 && n == 16 &&
            std::equal(bytes.begin() + off, bytes.begin() + off + 16, bytes.begin() + off - 16)) {
            if (!starred)
                out += std::string(indent) + "*\n";
            starred = true;
            continue;
        }
        starred = false;
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%08zx ", off);
        std::string line = std::string(indent) + buf;
        std::string ascii;
        for (size_t i = 0; i < 16; ++i) {
            if (i == 8)
                line += " ";
            if (i < n) {
                std::snprintf(buf, sizeof(buf), " %02x", bytes[off + i]);
                line += buf;
                const uint8_t c = bytes[off + i];
                ascii.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '.');
            } else {
                line += "   ";
            }
        }
        out += line + "  |" + ascii + "|\n";
    }
    if (starred) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%08zx", bytes.size());
        out += std::string(indent) + buf + "\n";
    }
    return out;
}

}  // namespace iommuctl
