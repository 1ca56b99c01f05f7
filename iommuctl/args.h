// Command-line words: options of a sub-command, and the numbers, byte strings
// and names its arguments hold.  Every failure is a UsageError.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"

#include "../toolkit/hex_text.h"

namespace iommuctl {

struct OptionSpec {
    std::string_view name;  // "--pasid"
    bool takes_value;
};

struct ParsedArgs {
    std::vector<std::string> positional;
    std::map<std::string, std::string, std::less<>> options;  // flags map to ""

    bool has(std::string_view name) const { return options.find(name) != options.end(); }
    std::optional<std::string> value(std::string_view name) const;
};

// Splits a sub-command's words into options (`--name VALUE`, `--name=VALUE`,
// flags) and positional arguments; `--` ends the options.  The global options
// (--socket, --timeout) are accepted here too and update env.  Throws
// HelpRequested on -h/--help, UsageError on an unknown or repeated option or a
// missing value.
ParsedArgs parse_args(const std::vector<std::string>& args, std::initializer_list<OptionSpec> spec, Env& env);

// Applies a global option; false if `name` is not one.
bool apply_global_option(std::string_view name, const std::string& value, Env& env);
inline constexpr std::array<OptionSpec, 2> kGlobalOptions = {{{"--socket", true}, {"--timeout", true}}};

// Throws UsageError unless there are exactly n positional arguments; `usage`
// names them ("DEVICE IOVA LENGTH").
void expect_positional(const ParsedArgs& args, size_t n, std::string_view usage);

// A non-negative integer, decimal or 0x-hex, at most `max`; `what` names it in
// the error ("IOVA").
uint64_t parse_number(std::string_view text, std::string_view what, uint64_t max = UINT64_MAX);

// "00:02.1" -> 0x0011, or a plain number <= 0xffff.
uint32_t parse_rid(std::string_view text);

// Hex bytes: "48656c6c6f", "0x48656c6c6f", "48 65 6c", "48:65:6c".
std::vector<uint8_t> parse_hex_bytes(std::string_view text, std::string_view what);
// The protocol's `data`: lower-case hex, no separators, and back.
using ciommu::from_hex;
using ciommu::to_hex;

}  // namespace iommuctl
