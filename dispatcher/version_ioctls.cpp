// IOMMU_GET_API_VERSION and IOMMU_CHECK_EXTENSION: value commands that
// tell a client what this daemon speaks.
#include "cuse-iommu.h"
#include "handlers.h"

namespace ciommu {

long ioctl_get_api_version(CallEnv&) { return IOMMU_API_VERSION; }

long ioctl_check_extension(CallEnv& env) {
    switch (env.arg) {
    case IOMMU_EXT_MAP_TYPE1V2:
        return 1;
    default:  // the rest of the RFC's list is not modelled yet
        return 0;
    }
}

}  // namespace ciommu
