#include "args.h"

#include "../toolkit/number_text.h"

namespace iommuctl {

namespace {

const OptionSpec* find_spec(std::string_view name, std::initializer_list<OptionSpec> spec) {
    for (const OptionSpec& s : spec)
        if (s.name == name)
            return &s;
    for (const OptionSpec& s : kGlobalOptions)
        if (s.name == name)
            return &s;
    return nullptr;
}

}  // namespace

std::optional<std::string> ParsedArgs::value(std::string_view name) const {
    auto it = options.find(name);
    if (it == options.end())
        return std::nullopt;
    return it->second;
}

bool apply_global_option(std::string_view name, const std::string& value, Env& env) {
    if (name == "--socket") {
        if (value.empty())
            throw UsageError("--socket needs a path");
        env.socket_path = value;
        return true;
    }
    if (name == "--timeout") {
        const uint64_t ms = parse_number(value, "--timeout (milliseconds)", 3600 * 1000);
        if (ms == 0)
            throw UsageError("--timeout must be at least 1 ms");
        env.timeout_ms = static_cast<int>(ms);
        return true;
    }
    return false;
}

ParsedArgs parse_args(const std::vector<std::string>& args, std::initializer_list<OptionSpec> spec, Env& env) {
    ParsedArgs parsed;
    bool options_done = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& word = args[i];
        // "-" is standard input; "-1" a (bad) number, left for its parser to refuse.
        if (options_done || word.size() < 2 || word[0] != '-' || (word[1] >= '0' && word[1] <= '9')) {
            parsed.positional.push_back(word);
            continue;
        }
        if (word == "--") {
            options_done = true;
            continue;
        }
        if (word == "-h" || word == "--help")
            throw HelpRequested{};
        std::string name = word;
        std::optional<std::string> inline_value;
        if (const size_t eq = word.find('='); word.starts_with("--") && eq != std::string::npos) {
            name = word.substr(0, eq);
            inline_value = word.substr(eq + 1);
        }
        const OptionSpec* s = find_spec(name, spec);
        if (!s)
            throw UsageError("unknown option '" + word + "'");
        std::string value;
        if (s->takes_value) {
            if (inline_value) {
                value = *inline_value;
            } else if (i + 1 < args.size()) {
                value = args[++i];
            } else {
                throw UsageError(name + " needs a value");
            }
        } else if (inline_value) {
            throw UsageError(name + " takes no value");
        }
        if (apply_global_option(name, value, env))
            continue;
        if (parsed.has(name))
            throw UsageError(name + " given twice");
        parsed.options.emplace(name, std::move(value));
    }
    return parsed;
}

void expect_positional(const ParsedArgs& args, size_t n, std::string_view usage) {
    if (args.positional.size() < n)
        throw UsageError("missing arguments: expected " + std::string(usage));
    if (args.positional.size() > n)
        throw UsageError("unexpected argument '" + args.positional[n] + "': expected " + std::string(usage));
}

uint64_t parse_number(std::string_view text, std::string_view what, uint64_t max) {
    uint64_t value = 0;
    const ciommu::NumberError error = ciommu::parse_u64(text, ciommu::kDecimal | ciommu::kHex, value);
    if (error == ciommu::NumberError::kBad)
        throw UsageError(std::string(what) + ": expected a number (decimal or 0x-hex), got '" + std::string(text) +
                         "'");
    if (error == ciommu::NumberError::kTooBig || value > max)
        throw UsageError(std::string(what) + ": " + std::string(text) + " is out of range (at most " +
                         std::to_string(max) + ")");
    return value;
}

uint32_t parse_rid(std::string_view text) {
    // BB:DD.F as in a topology file.
    if (text.size() == 7 && text[2] == ':' && text[5] == '.') {
        if (auto rid = ciommu::parse_bdf(text))
            return *rid;
        throw UsageError("RID: expected BB:DD.F (hex; device 00-1f, function 0-7) or a number, got '" +
                         std::string(text) + "'");
    }
    return static_cast<uint32_t>(parse_number(text, "RID", 0xffff));
}

std::vector<uint8_t> parse_hex_bytes(std::string_view text, std::string_view what) {
    std::string_view s = text;
    if (s.starts_with("0x") || s.starts_with("0X"))
        s.remove_prefix(2);
    std::vector<uint8_t> bytes;
    int high = -1;
    for (char c : s) {
        if (c == ' ' || c == ':' || c == '\t' || c == '\n') {
            if (high >= 0)
                throw UsageError(std::string(what) + ": a separator splits a byte in '" + std::string(text) + "'");
            continue;
        }
        const int d = ciommu::hex_digit(c);
        if (d < 0)
            throw UsageError(std::string(what) + ": '" + std::string(1, c) + "' is not a hex digit");
        if (high < 0) {
            high = d;
        } else {
            bytes.push_back(static_cast<uint8_t>(high << 4 | d));
            high = -1;
        }
    }
    if (high >= 0)
        throw UsageError(std::string(what) + ": an odd number of hex digits");
    if (bytes.empty())
        throw UsageError(std::string(what) + ": no bytes");
    return bytes;
}

}  // namespace iommuctl
