#include "arg_checks.h"

#include <algorithm>
#include <cstring>

#include "cuse-iommu.h"

namespace ciommu {
namespace {

uint32_t load_u32(const std::byte* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}

bool all_zero(std::span<const std::byte> bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

}  // namespace

long check_size(const CommandSpec& spec, uint32_t size) {
    if (size < spec.min_size)
        return -spec.convention->too_small;
    if (size > IOMMU_ARGSZ_MAX && !spec.convention->reads_struct_only)
        return -spec.convention->too_big;
    return 0;
}

long check_tail(const CommandSpec& spec, std::span<const std::byte> raw) {
    if (spec.output_tail || spec.convention->reads_struct_only || raw.size() <= spec.struct_size)
        return 0;
    return all_zero(raw.subspan(spec.struct_size)) ? 0 : -spec.convention->too_big;
}

// In the order iommufd applies them: flags, then reserved fields.
long check_flags_and_reserved(const CommandSpec& spec, const std::byte* args) {
    if (!spec.no_flags && (load_u32(args + spec.convention->flags_offset) & ~spec.valid_flags))
        return -spec.convention->unknown_flags;
    for (const ReservedField& field : spec.reserved) {
        if (!all_zero({args + field.offset, field.size}))
            return -spec.convention->reserved_not_zero;
    }
    return 0;
}

}  // namespace ciommu
