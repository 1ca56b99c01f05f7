// The user page-table format IOMMU_PGTABLE_FORMAT_X86_64: x86-64 4-level
// paging as an IOMMU's first stage reads it.  512 8-byte entries per 4 KiB
// table; IOVA bits 47:39, 38:30, 29:21 and 20:12 index levels 4, 3, 2, 1.
// Table pointers and page addresses are IOVAs of the parent (stage-2)
// address space, as a guest's GPAs would be.
#pragma once

#include <cstdint>

namespace ciommu::x86pt {

inline constexpr uint64_t kPresent = 1ull << 0;   // present; readable
inline constexpr uint64_t kWritable = 1ull << 1;
inline constexpr uint64_t kLargePage = 1ull << 7;  // leaf at level 3 (1 GiB) or 2 (2 MiB)
inline constexpr uint64_t kAddressMask = 0x000ffffffffff000ull;  // bits 51:12
inline constexpr unsigned kLevels = 4;

inline unsigned index_at(uint64_t iova, unsigned level) {
    return static_cast<unsigned>((iova >> (12 + 9 * (level - 1))) & 511);
}
// Bytes one entry maps at `level`: 4 KiB, 2 MiB, 1 GiB, 512 GiB.
inline uint64_t entry_span(unsigned level) { return 1ull << (12 + 9 * (level - 1)); }

}  // namespace ciommu::x86pt
