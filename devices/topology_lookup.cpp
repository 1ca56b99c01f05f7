// What the model asks of a topology: a device by name or position, a
// device's IOMMU, a BDF's RID, and an IOMMU's aperture and usable IOVA
// ranges.
#include "topology.h"

#include <algorithm>

namespace ciommu {

const DeviceSpec* Topology::find_device(std::string_view name) const {
    for (const DeviceSpec& d : devices) {
        if (d.present && d.name == name)
            return &d;
    }
    return nullptr;
}

unsigned Topology::index_of(const DeviceSpec& dev) const {
    for (size_t i = 0; i < devices.size(); ++i) {
        if (&devices[i] == &dev)
            return static_cast<unsigned>(i);
    }
    return kNoIndex;
}

std::optional<uint16_t> parse_bdf(std::string_view bdf) {
    const auto hex_digit = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    if (bdf.size() != 7 || bdf[2] != ':' || bdf[5] != '.')
        return std::nullopt;
    const int digits[] = {hex_digit(bdf[0]), hex_digit(bdf[1]), hex_digit(bdf[3]), hex_digit(bdf[4]),
                          hex_digit(bdf[6])};
    if (std::find(std::begin(digits), std::end(digits), -1) != std::end(digits))
        return std::nullopt;
    const int bus = digits[0] << 4 | digits[1], dev = digits[2] << 4 | digits[3], fn = digits[4];
    if (dev > 0x1f || fn > 7)
        return std::nullopt;
    return static_cast<uint16_t>(bus << 8 | dev << 3 | fn);
}

const IommuUnit* iommu_of(const Topology& topo, const DeviceSpec& dev) {
    if (dev.kind == DeviceKind::kSwMdev || dev.iommu >= topo.iommus.size())
        return nullptr;
    return &topo.iommus[dev.iommu];
}

uint64_t aperture_last(const IommuUnit& iommu) {
    return iommu.address_width >= 64 ? ~uint64_t{0} : (uint64_t{1} << iommu.address_width) - 1;
}

std::vector<IovaRange> usable_iova_ranges(const IommuUnit& iommu) {
    std::vector<IovaRange> ranges;
    const uint64_t last = aperture_last(iommu);
    uint64_t next = 0;  // first address not yet covered
    bool done = false;  // the regions reached the end of the aperture
    for (const ReservedRegion& r : iommu.reserved) {
        if (r.start > next)
            ranges.push_back({next, r.start - 1});
        if (r.last >= last) {
            done = true;
            break;
        }
        next = std::max(next, r.last + 1);
    }
    if (!done)
        ranges.push_back({next, last});
    return ranges;
}

}  // namespace ciommu
