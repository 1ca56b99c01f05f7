#include "number_text.h"

#include <charconv>

namespace ciommu {

NumberError parse_u64(std::string_view text, unsigned forms, uint64_t& out) {
    static constexpr std::string_view kSuffixes = "KMGT";
    int base = 10;
    unsigned shift = 0;
    if ((forms & kHex) && text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    } else if ((forms & kSizeSuffix) && text.size() > 1 && kSuffixes.find(text.back()) != text.npos) {
        shift = 10 * (1 + static_cast<unsigned>(kSuffixes.find(text.back())));
        text.remove_suffix(1);
    } else if (!(forms & kDecimal)) {
        return NumberError::kBad;
    }
    // from_chars would take a sign or skip nothing else; only digits pass.
    if (text.empty() || text[0] == '-' || text[0] == '+')
        return NumberError::kBad;
    uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (ec == std::errc::invalid_argument || end != text.data() + text.size())
        return NumberError::kBad;
    if (ec == std::errc::result_out_of_range || value > (~uint64_t{0} >> shift))
        return NumberError::kTooBig;
    out = value << shift;
    return NumberError::kNone;
}

}  // namespace ciommu
