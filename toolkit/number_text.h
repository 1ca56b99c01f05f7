// Numbers written as text, one parser for every edge: the topology file,
// control requests, iommuctl's command line and its reading of answers.
// Each edge says which forms it accepts and words its own message.
#pragma once

#include <cstdint>
#include <string_view>

namespace ciommu {

enum NumberForm : unsigned {
    kDecimal = 1,     // "4096"
    kHex = 2,         // "0x1000" (or "0X")
    kSizeSuffix = 4,  // "4K", "2M", "1G", "1T": decimal, binary multiples
};

enum class NumberError {
    kNone,
    kBad,     // not a number in any accepted form
    kTooBig,  // a number, but not below 2^64
};

// Parses all of `text` as one of `forms` (NumberForm bits) into out.
NumberError parse_u64(std::string_view text, unsigned forms, uint64_t& out);

}  // namespace ciommu
