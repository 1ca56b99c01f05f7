// The selftest mock driver's paging domain (struct mock_iommu_domain in
// drivers/iommu/iommufd/selftest.c): an IOMMU page table with 2 KiB pages
// (half a CPU page, so sub-page offsets are exercised) and, for a device
// with MOCK_FLAGS_DEVICE_HUGE_IOVA, 1 MiB pages; its aperture is
// [1 << 24, (1 << 31) - 1].
//
// Each IOPTE names the user address it translates to (the model is
// VA-based: the owner process is the area's, in the IOAS), whether it is
// part of a huge page, and a dirty bit the IOMMU would set on a DMA write.
#pragma once

#include <cstdint>
#include <optional>

#include "../ioasid/page_radix.h"
#include "io_domain.h"

namespace ciommu {

class MockDomain final : public IoDomain {
public:
    static constexpr uint64_t kIoPageSize = 2048;
    static constexpr uint64_t kHugePageSize = uint64_t{1} << 20;
    static constexpr uint64_t kApertureStart = uint64_t{1} << 24;
    static constexpr uint64_t kApertureLast = (uint64_t{1} << 31) - 1;

    MockDomain(bool huge_iova, bool dirty_ops) : huge_iova_(huge_iova), dirty_ops_(dirty_ops) {}

    bool huge_iova() const { return huge_iova_; }
    // The IOMMU page sizes it maps with (the kernel's pgsize_bitmap).
    uint64_t pgsize_bitmap() const override { return kIoPageSize | (huge_iova_ ? kHugePageSize : 0); }
    IovaRange aperture() const override { return {kApertureStart, kApertureLast}; }
    // Allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING (the kernel's
    // domain->dirty_ops): a device that cannot track dirty pages refuses it.
    bool dirty_ops() const override { return dirty_ops_; }
    MockDomain* mock() override { return this; }

    // Maps [iova, iova + length) to [vaddr, ...), 2 KiB aligned, with 1 MiB
    // entries where both addresses allow (huge_iova).  0, or -ENOMEM with
    // nothing mapped.
    // (The mock is VA-based: the owner is the IOAS area's.)
    long map(uint64_t iova, const ProcessRef& owner, uint64_t vaddr, uint64_t length, uint32_t prot) override;
    long map(uint64_t iova, uint64_t vaddr, uint64_t length, uint32_t prot);
    void unmap(uint64_t iova, uint64_t length) noexcept override;

    struct Entry {
        uint64_t vaddr;  // of the 2 KiB IO page's first byte
        uint32_t prot;
        bool huge;       // part of a 1 MiB entry
        bool dirty;
    };
    std::optional<Entry> lookup(uint64_t iova) const;
    uint64_t mapped_pages() const { return mapped_pages_; }

    // --- dirty tracking (IOMMU_HWPT_SET_DIRTY_TRACKING, TEST_OP_DIRTY) ---
    bool dirty_tracking() const { return dirty_tracking_; }
    void set_dirty_tracking(bool on) { dirty_tracking_ = on; }
    // Marks the IO page holding iova dirty, if mapped.
    void mark_dirty(uint64_t iova) noexcept;
    // mock_domain_read_and_clear_dirty: walks [iova, iova + length) entry
    // by entry, calling dirty(at, entry_size) for each dirty one (a huge
    // entry is dirty if any of its IO pages is) and clearing it unless
    // keep.  Unmapped IOVAs are skipped an IO page at a time.
    template <typename Fn> void read_and_clear_dirty(uint64_t iova, uint64_t length, bool keep, Fn&& dirty) {
        const uint64_t last = iova + (length - 1);
        for (uint64_t at = iova; at - iova <= last - iova;) {
            uint64_t size;
            if (test_and_clear_dirty(at, keep, &size))
                dirty(at, size);
            if (at + size < at)
                break;
            at += size;
        }
    }

private:
    // Whether the entry (the whole 1 MiB of a huge one) holding iova is
    // dirty; clears it unless keep.  Sets *entry_size to the entry's size
    // (the IO page size where nothing is mapped).
    bool test_and_clear_dirty(uint64_t iova, bool keep, uint64_t* entry_size) noexcept;

    static constexpr uint64_t kValid = 1, kRead = 2, kWrite = 4, kHuge = 8, kDirty = 16;
    static uint64_t index(uint64_t iova) { return iova / kIoPageSize; }
    // Only the aperture can hold entries (the IOAS reserves the rest); an
    // IOVA a caller names past it must not index the table.
    static bool in_aperture(uint64_t iova) { return iova >= kApertureStart && iova <= kApertureLast; }

    PageRadix<uint64_t> ptes_;  // by IO page number: vaddr | flag bits
    uint64_t mapped_pages_ = 0;
    bool huge_iova_;
    bool dirty_ops_;
    bool dirty_tracking_ = false;
};

}  // namespace ciommu
