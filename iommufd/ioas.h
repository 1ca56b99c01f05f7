// An I/O address space of the iommufd profile (iommufd_ioas).  So far it
// holds its options; its areas, allowed and reserved ranges and attached
// domains come with IOAS_MAP (docs/iommufd.md, "Status").
#pragma once

#include "object_table.h"

namespace ciommu {

struct Ioas final : IommufdObject {
    static constexpr ObjectKind kKind = ObjectKind::kIoas;
    Ioas() : IommufdObject(kKind) {}

    // IOMMU_OPTION_HUGE_PAGES (VFIO type1, not type1v2, turns it off).
    bool large_pages = true;
};

}  // namespace ciommu
