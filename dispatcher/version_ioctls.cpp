// IOMMU_GET_API_VERSION and IOMMU_CHECK_EXTENSION: value commands that
// tell a client what this daemon speaks.
#include "cuse-iommu.h"
#include "handlers.h"

namespace ciommu {

long ioctl_get_api_version(CallEnv&) { return IOMMU_API_VERSION; }

long ioctl_check_extension(CallEnv& env) {
    switch (env.arg) {
    case IOMMU_EXT_MAP_TYPE1V2:      // VFIO type1v2 map/unmap rules
    case IOMMU_EXT_IOASID_NESTING:   // user-managed children of kernel-managed parents
    case IOMMU_EXT_USER_PAGE_TABLE:  // IOMMU_PGTABLE_FORMAT_X86_64 in user memory
    case IOMMU_EXT_MULTIDEV_GROUP:   // groups with several devices (bound by one context)
    case IOMMU_EXT_DMA_NO_SNOOP:     // IOMMU_IOASID_ENFORCE_SNOOP
        return 1;
    default:  // MAP_NEWTYPE, USER_PASID_TABLE, DIRTY_TRACKING: not modelled
        return 0;
    }
}

}  // namespace ciommu
