#include "json_text.h"

namespace ciommu {

using nlohmann::json;

std::string shown(const json& value) {
    switch (value.type()) {
    case json::value_t::object:
        return "an object";
    case json::value_t::array:
        return "an array";
    default: {
        std::string s = value.dump(-1, ' ', false, json::error_handler_t::replace);
        return s.size() <= 40 ? s : s.substr(0, 37) + "...";
    }
    }
}

std::string json_quoted(std::string_view s) {
    return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

NumberError json_u64(const json& value, unsigned forms, uint64_t& out) {
    // Parsed text makes a non-negative integer unsigned; a json built in C++
    // from an int (a control request in a test) keeps it signed.
    if (value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0)) {
        out = value.get<uint64_t>();
        return NumberError::kNone;
    }
    if (value.is_string())
        return parse_u64(value.get_ref<const std::string&>(), forms, out);
    return NumberError::kBad;
}

std::string json_pointer_child(const std::string& path, std::string_view key) {
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

std::string json_pointer_child(const std::string& path, size_t index) {
    return path + "/" + std::to_string(index);
}

}  // namespace ciommu
