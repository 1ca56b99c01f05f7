#include "hex_text.h"

#include <cstdio>

namespace ciommu {

int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

std::string hex_number(uint64_t value, int min_digits) {
    char text[32];
    std::snprintf(text, sizeof(text), "0x%0*llx", min_digits, static_cast<unsigned long long>(value));
    return text;
}

std::string to_hex(std::span<const uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(2 * bytes.size(), '0');
    for (size_t i = 0; i < bytes.size(); ++i) {
        out[2 * i] = kDigits[bytes[i] >> 4];
        out[2 * i + 1] = kDigits[bytes[i] & 0xf];
    }
    return out;
}

std::optional<std::vector<uint8_t>> from_hex(std::string_view digits) {
    if (digits.size() % 2)
        return std::nullopt;
    std::vector<uint8_t> bytes(digits.size() / 2);
    for (size_t i = 0; i < bytes.size(); ++i) {
        const int hi = hex_digit(digits[2 * i]), lo = hex_digit(digits[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return bytes;
}

std::optional<uint16_t> parse_bdf(std::string_view bdf) {
    if (bdf.size() != 7 || bdf[2] != ':' || bdf[5] != '.')
        return std::nullopt;
    const int digits[] = {hex_digit(bdf[0]), hex_digit(bdf[1]), hex_digit(bdf[3]), hex_digit(bdf[4]),
                          hex_digit(bdf[6])};
    for (int d : digits)
        if (d < 0)
            return std::nullopt;
    const int bus = digits[0] << 4 | digits[1], dev = digits[2] << 4 | digits[3], fn = digits[4];
    if (dev > 0x1f || fn > 7)
        return std::nullopt;
    return static_cast<uint16_t>(bus << 8 | dev << 3 | fn);
}

}  // namespace ciommu
