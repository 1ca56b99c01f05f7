#include "extensions.h"

#include "command_table.h"
#include "cuse-iommu.h"
#include <linux/ioctl.h>

namespace ciommu {
namespace {

using By = Extension::By;

constexpr Extension kExtensions[] = {
    {IOMMU_EXT_MAP_TYPE1V2, "MAP_TYPE1V2", By::kModel},          // VFIO type1v2 map/unmap rules
    {IOMMU_EXT_MAP_NEWTYPE, "MAP_NEWTYPE", By::kNotModelled},
    {IOMMU_EXT_IOASID_NESTING, "IOASID_NESTING", By::kModel},    // user-managed children of kernel-managed parents
    {IOMMU_EXT_USER_PAGE_TABLE, "USER_PAGE_TABLE", By::kModel},  // IOMMU_PGTABLE_FORMAT_X86_64 in user memory
    {IOMMU_EXT_USER_PASID_TABLE, "USER_PASID_TABLE", By::kNotModelled},
    {IOMMU_EXT_MULTIDEV_GROUP, "MULTIDEV_GROUP", By::kModel},    // groups with several devices (bound by one context)
    {IOMMU_EXT_DMA_NO_SNOOP, "DMA_NO_SNOOP", By::kModel},        // IOMMU_IOASID_ENFORCE_SNOOP
    {IOMMU_EXT_DIRTY_TRACKING, "DIRTY_TRACKING", By::kCommand, IOMMU_NR_DIRTY_TRACKING},
};

const Extension* find_extension(uint64_t value) {
    for (const Extension& e : kExtensions) {
        if (e.value == value)
            return &e;
    }
    return nullptr;
}

}  // namespace

std::span<const Extension> all_extensions() { return kExtensions; }

long extension_supported(uint64_t value) {
    const Extension* e = find_extension(value);
    if (!e)
        return 0;
    switch (e->by) {
    case By::kModel:
        return 1;
    case By::kNotModelled:
        return 0;
    case By::kCommand:
        return find_command(_IO(IOMMU_TYPE, e->command_nr)) != nullptr;
    }
    return 0;
}

const char* extension_name(uint64_t value) {
    const Extension* e = find_extension(value);
    return e ? e->name : nullptr;
}

}  // namespace ciommu
