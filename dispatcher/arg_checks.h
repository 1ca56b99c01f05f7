// The argument checks every struct command shares, driven by its row and
// the row's Convention (command_table.h).  Pure functions of the bytes:
// the dispatcher reads the caller's memory, these decide.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>

#include "command_table.h"

namespace ciommu {

// The RFC's /dev/iommu: argsz, flags first; every refusal is EINVAL except
// a struct larger than the daemon's with non-zero bytes past it (E2BIG, as
// copy_struct_from_user).
inline constexpr Convention kRfcConvention{
    .name = "rfc",
    .size_name = "argsz",
    .flags_offset = 4,
    .too_small = EINVAL,
    .too_big = E2BIG,
    .unknown_flags = EINVAL,
    .reserved_not_zero = EINVAL,
};

// iommufd's: the struct starts with __u32 size; unknown flags and non-zero
// reserved fields are EOPNOTSUPP (a newer caller asking for something this
// version lacks), bytes past the struct E2BIG (iommufd_table.cpp).
inline constexpr Convention kIommufdConvention{
    .name = "iommufd",
    .size_name = "size",
    .flags_offset = 4,
    .too_small = EINVAL,
    .too_big = E2BIG,
    .unknown_flags = EOPNOTSUPP,
    .reserved_not_zero = EOPNOTSUPP,
};

// VFIO type1's, served by iommufd's compatibility layer on the same fd
// (drivers/iommu/iommufd/vfio_compat.c): argsz first, EINVAL for a short
// one or an unknown flag; only the struct VFIO knows is read.
inline constexpr Convention kVfioConvention{
    .name = "vfio",
    .size_name = "argsz",
    .flags_offset = 4,
    .too_small = EINVAL,
    .too_big = E2BIG,  // never given: nothing past the struct is read
    .unknown_flags = EINVAL,
    .reserved_not_zero = EINVAL,
    .reads_struct_only = true,
};

// The declared size (argsz/size) against the row: 0 or -errno.
long check_size(const CommandSpec& spec, uint32_t size);
// Bytes past the struct the daemon knows (`raw` holds the `size` bytes the
// caller passed): they must be zero unless the row has an output tail.
long check_tail(const CommandSpec& spec, std::span<const std::byte> raw);
// Flags and reserved fields of the zero-extended struct: 0 or -errno.
long check_flags_and_reserved(const CommandSpec& spec, const std::byte* args);

}  // namespace ciommu
