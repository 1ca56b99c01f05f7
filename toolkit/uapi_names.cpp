#include "uapi_names.h"

namespace ciommu {

std::string_view uapi_name(std::span<const UapiName> names, uint32_t value) {
    for (const UapiName& n : names)
        if (n.value == value)
            return n.uapi;
    return "?";
}

std::string_view text_name(std::span<const UapiName> names, uint32_t value) {
    for (const UapiName& n : names)
        if (n.value == value)
            return n.text;
    return "?";
}

std::optional<uint32_t> value_of_text(std::span<const UapiName> names, std::string_view text) {
    for (const UapiName& n : names)
        if (n.text == text)
            return n.value;
    return std::nullopt;
}

std::vector<std::string_view> text_names_of_bits(std::span<const UapiName> names, uint32_t bits) {
    std::vector<std::string_view> out;
    for (const UapiName& n : names)
        if (bits & n.value)
            out.push_back(n.text);
    return out;
}

std::string text_names_listed(std::span<const UapiName> names) {
    std::string out;
    for (const UapiName& n : names)
        out += (out.empty() ? "" : ", ") + std::string(n.text);
    return out;
}

}  // namespace ciommu
