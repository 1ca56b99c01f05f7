// Bytes and PCI addresses written in hex: the DMA data of control
// requests and iommuctl, BDFs in the topology file and on iommuctl's
// command line.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ciommu {

// 0..15, or -1 for a character that is not a hex digit.
int hex_digit(char c);

// "0x1f" (lower case; at least min_digits digits): addresses and sizes in
// messages, the trace and iommuctl.
std::string hex_number(uint64_t value, int min_digits = 0);
// "00ff..." (lower case), two digits a byte.
std::string to_hex(std::span<const uint8_t> bytes);

// Exactly 2 * n hex digits (no prefix, no separators) -> n bytes.
std::optional<std::vector<uint8_t>> from_hex(std::string_view digits);

// "BB:DD.F" (hex; device 00-1f, function 0-7) -> the 16-bit requester ID.
std::optional<uint16_t> parse_bdf(std::string_view bdf);

}  // namespace ciommu
