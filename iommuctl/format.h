// Small text helpers shared by the renderers.  They take whatever JSON the
// daemon sent: a field of an unexpected type is shown as JSON, never thrown on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../toolkit/hex_text.h"

namespace iommuctl {

using nlohmann::json;

// obj[key] if obj is an object holding key, else null.
const json& field(const json& obj, std::string_view key);
// obj[key] if it is an array, else an empty array.
const json& array_field(const json& obj, std::string_view key);

// An unsigned integer, or a hex/decimal string of one.
std::optional<uint64_t> as_u64(const json& value);

// A value for a person: strings as they are (control characters made
// visible), numbers in decimal, null as "-", other JSON compactly.
std::string text(const json& value);
// Numbers in 0x-hex (strings as they are).
std::string hex(const json& value);
inline std::string hex(uint64_t value, int min_digits = 0) { return ciommu::hex_number(value, min_digits); }
// 4096 -> "4 KiB", 1536 -> "1536 B".
std::string human_bytes(uint64_t bytes);
// A page size: 4096 -> "4K", 2 MiB -> "2M"; strings as they are.
std::string page_size(const json& value);
// Control characters as \n, \t, \xNN: a name cannot move the cursor.
std::string printable(std::string_view s);

// Rows of cells, left-aligned in columns two spaces apart; each row starts
// with `indent` and has no trailing blanks.
std::string table(const std::vector<std::vector<std::string>>& rows, std::string_view indent);

// hexdump -C style, identical lines after the first collapsed to "*".
std::string hexdump(const std::vector<uint8_t>& bytes, std::string_view indent);

}  // namespace iommuctl
