// IOMMU_GET_API_VERSION and IOMMU_CHECK_EXTENSION: value commands that
// tell a client what this daemon speaks.
#include "cuse-iommu.h"
#include "extensions.h"
#include "handlers.h"

namespace ciommu {

long ioctl_get_api_version(CallEnv&) { return IOMMU_API_VERSION; }

// The answers follow from extensions.cpp (and, for an extension a command
// serves, from whether the command has a row).
long ioctl_check_extension(CallEnv& env) { return extension_supported(env.arg); }

}  // namespace ciommu
