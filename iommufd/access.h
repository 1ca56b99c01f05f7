// An access (iommufd_access, drivers/iommu/iommufd/device.c): a driver's
// way into an IOAS's memory without DMA -- an emulated device, an mdev --
// by pinning IOVA ranges or copying through them.  Two drivers here: the
// selftest's (selftest.c's selftest_access), whose object the caller holds
// as a file descriptor (an object file, object_file.h) it names the access
// by; and a software mdev of the topology bound on this profile
// (emulated_device.h), whose access is its device object, as
// vfio_iommufd_emulated_bind makes it.
//
// Its pinned ranges are the model's DriverPins (ioasid/driver_pins.h), the
// same as the RFC profile's software-mdev pins: dropped by the unmap
// callback when the IOAS unmaps under them, and all of them when the
// access moves to another IOAS or goes.  They hold no ledger charge: the
// pages stay the IOAS's (docs/iommufd.md, "Divergences").
#pragma once

#include <cerrno>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "../ioasid/driver_pins.h"
#include "io_pagetable.h"
#include "object_table.h"

namespace ciommu {

struct IommufdCtx;
class Caller;

struct Access final : IommufdObject {
    static constexpr ObjectKind kKind = ObjectKind::kAccess;
    static constexpr unsigned kSelftest = ~0u;
    explicit Access(bool pins, unsigned device = kSelftest)
        : IommufdObject(kKind), needs_pin_pages(pins), emulated_device(device) {}

    const bool needs_pin_pages;  // MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES
    // A software mdev's (emulated_device.h): its topology index; it is
    // bound in the RFC model's device table under the access's id.
    // kSelftest: the selftest's.
    const unsigned emulated_device;
    uint32_t ioas_id = 0;  // attached to; 0: none
    DriverPins pins;       // each range charged to the context's RecordBudget
    uint64_t file = 0;     // the selftest's: its object file while open
    int fd = -1;           // the selftest's: the number the caller names it by

    bool is_emulated_device() const { return emulated_device != kSelftest; }
};

// Adds an access to the context's objects and to those an unmap notifies:
// its id, or -errno (ObjectTable::add's).  Throws std::bad_alloc with
// nothing added.  IommufdCtx::destroy_object takes it out of both.
long add_access(IommufdCtx& ictx, std::unique_ptr<Access> access);
// The selftest access the caller's fd number names, else nullptr.
Access* find_access(IommufdCtx& ictx, int fd);
// Drops the pinned range `id` (iommufd_access_unpin_pages): false if none.
bool unpin_access_range(IommufdCtx& ictx, Access& access, uint32_t id);
// iommufd_access_pin_pages' checks of [iova, last] against the IOAS's
// areas: ENOENT (a hole), EINVAL (areas not contiguous in memory), EPERM
// (not writable for a write).  With `uptr`, the selftest's check that each
// page is the caller's own page at uptr (EBADE otherwise).
long check_access_pin(const IoPagetable& iopt, uint64_t iova, uint64_t last, bool write, const Process* caller,
                      uint64_t uptr);

// What an access's read or write moves (iommufd_access_rw): the memory
// under an IOVA range, piece by piece, planned under the model lock and
// copied without it.
struct RwPiece {
    ProcessRef owner;
    uint64_t va;
    uint64_t length;
};
// Plans [iova, last]: 0, or the first area that stops it (-ENOENT: a hole,
// -EPERM: not permitted), after the pieces before it.
long plan_access_rw(const IoPagetable& iopt, uint64_t iova, uint64_t last, bool write, std::vector<RwPiece>& pieces);
// Moves bytes [offset, offset + bytes.size()) of the planned pieces into
// `bytes` (a read) or from it (a write): 0 or -EFAULT.  Without the model
// lock: it touches client memory.
long move_access_bytes(const std::vector<RwPiece>& pieces, uint64_t offset, std::span<std::byte> bytes, bool write);
// The first `bytes` of the planned pieces to (a read) or from (a write)
// the caller's buffer at ubuf, a slice at a time: 0 or -EFAULT.  Without
// the model lock.  Throws std::bad_alloc (the slice) with nothing moved.
long copy_through_access(const Caller& caller, const std::vector<RwPiece>& pieces, uint64_t bytes, uint64_t ubuf,
                         bool write);
// The unmap callback of every access on ioas_id: ranges meeting [first,
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
