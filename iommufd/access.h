// An access (iommufd_access, drivers/iommu/iommufd/device.c): a driver's
// way into an IOAS's memory without DMA -- an emulated device, an mdev --
// by pinning IOVA ranges or copying through them.  The only driver here is
// the selftest's (selftest.c's selftest_access), whose object the caller
// holds as a file descriptor: an object file (object_file.h) it names the
// access by.
//
// Its pinned ranges ("items") are dropped by the unmap callback when the
// IOAS unmaps under them, and all of them when it moves to another IOAS or
// goes.  Pins here are bookkeeping: the pages stay the mapping process's
// (docs/iommufd.md, "Divergences").
#pragma once

#include <cerrno>
#include <cstdint>
#include <vector>

#include "io_pagetable.h"
#include "object_table.h"

namespace ciommu {

struct IommufdCtx;

struct AccessItem {
    uint64_t iova;
    uint64_t length;
    uint32_t id;
};

struct Access final : IommufdObject {
    static constexpr ObjectKind kKind = ObjectKind::kAccess;
    explicit Access(bool pins) : IommufdObject(kKind), needs_pin_pages(pins) {}

    const bool needs_pin_pages;  // MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES
    uint32_t ioas_id = 0;        // attached to; 0: none
    std::vector<AccessItem> items;  // each charged to the context's RecordBudget
    uint32_t next_item_id = 0;
    uint64_t file = 0;  // its object file while open
    int fd = -1;        // the number the caller names it by
};

// The access the caller's fd number names, else nullptr.
Access* find_access(IommufdCtx& ictx, int fd);
// The unmap callback of every access on ioas_id: items meeting [first,
// last] go (iommufd_access_notify_unmap -> iommufd_test_access_unmap).
void notify_accesses_unmap(IommufdCtx& ictx, uint32_t ioas_id, uint64_t first, uint64_t last) noexcept;
// iommufd_access_change_ioas: every item dropped, then the access moves
// from its IOAS (a user of it) to new_ioas_id (0: none; must exist).
void change_access_ioas(IommufdCtx& ictx, Access& access, uint32_t new_ioas_id) noexcept;

// Calls fn(const IoptArea&, uint64_t area_iova, uint64_t from, uint64_t to)
// for each area covering [iova, last] in turn (iopt_for_each_contig_area);
// fn returns 0 to go on or -errno to stop.  -ENOENT if a hole comes first.
template <typename Fn> long for_each_contig_area(const IoPagetable& iopt, uint64_t iova, uint64_t last, Fn&& fn) {
    for (uint64_t cur = iova;;) {
        uint64_t area_iova = 0;
        const IoptArea* area = iopt.area_at(cur, &area_iova);
        if (!area)
            return -ENOENT;
        const uint64_t to = area->last < last ? area->last : last;
        if (long err = fn(*area, area_iova, cur, to))
            return err;
        if (to == last)
            return 0;
        cur = to + 1;
    }
}

}  // namespace ciommu
