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
