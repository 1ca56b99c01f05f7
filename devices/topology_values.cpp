// The topology reader's own value readers (topology_reader.h): names,
// ranges of small numbers, hex for messages.  The rest of reading JSON is
// toolkit/json_reader.h.
#include "topology_reader.h"

#include <algorithm>
#include <cstdio>

namespace ciommu::topology_reader {

bool contains(Keys keys, std::string_view key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

bool read_name(const Node& n, std::string& out) {
    const auto ok_char = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '-';
    };
    if (n.v.is_string()) {
        const auto& s = n.v.get_ref<const std::string&>();
        if (!s.empty() && s.size() < IOMMU_DEVICE_NAME_LEN && std::all_of(s.begin(), s.end(), ok_char)) {
            out = s;
            return true;
        }
    }
    return n.fail("expected a name of 1.." + std::to_string(IOMMU_DEVICE_NAME_LEN - 1) +
                  " characters from [A-Za-z0-9_.-], got " + shown(n.v));
}

bool read_uint(const Node& n, unsigned lo, unsigned hi, unsigned& out) {
    uint64_t v = 0;
    if (!read_number_in(n, lo, hi, v))
        return false;
    out = static_cast<unsigned>(v);
    return true;
}

}  // namespace ciommu::topology_reader
