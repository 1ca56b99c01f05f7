// An I/O address space of the iommufd profile (iommufd_ioas): its
// io_pagetable.  Page tables (hw_pagetable.h) attached to it are its users.
#pragma once

#include "io_pagetable.h"
#include "object_table.h"

namespace ciommu {

struct Ioas final : IommufdObject {
    static constexpr ObjectKind kKind = ObjectKind::kIoas;
    explicit Ioas(RecordBudget& budget) : IommufdObject(kKind), iopt(budget) {}

    IoPagetable iopt;
};

}  // namespace ciommu
