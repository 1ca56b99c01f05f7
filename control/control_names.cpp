#include "control_names.h"

#include <utility>

#include "safe_json.h"
#include "../ioasid/io_address_space.h"
#include "../toolkit/uapi_names.h"
#include "cuse-iommu.h"

namespace ciommu {

std::string_view device_kind_name(DeviceKind kind) {
    switch (kind) {
    case DeviceKind::kPci:
        return "pci";
    case DeviceKind::kMdev:
        return "mdev";
    case DeviceKind::kSwMdev:
        return "sw-mdev";
    }
    return "?";
}

nlohmann::json fault_flags_json(uint32_t flags) {
    auto out = nlohmann::json::array();
    JsonScope scope(out);
    for (std::string_view name : text_names_of_bits(kDmaFaultFlags, flags))
        out.push_back(name);
    return std::exchange(out, nullptr);
}

nlohmann::json prot_json(uint32_t prot) {
    auto out = nlohmann::json::array();
    JsonScope scope(out);
    if (prot & kProtRead)
        out.push_back("read");
    if (prot & kProtWrite)
        out.push_back("write");
    return std::exchange(out, nullptr);
}

}  // namespace ciommu
