// The iommufd profile's command handlers (its rows: dispatcher/
// iommufd_table.cpp).  Each follows the kernel function of the same job in
// drivers/iommu/iommufd/ (named beside it); docs/iommufd.md lists where
// they differ.
#pragma once

#include "cuse-iommu-iommufd.h"

namespace ciommu {

struct CallEnv;  // core/call_env.h
struct IommufdCtx;

// main.c
long ioctl_iommufd_destroy(CallEnv& env, const iommu_destroy& cmd);
long ioctl_iommufd_option(CallEnv& env, iommu_option& cmd);
// ioas.c
long ioctl_ioas_alloc(CallEnv& env, iommu_ioas_alloc& cmd);
long ioas_option(IommufdCtx& ictx, iommu_option& cmd);
// vfio_compat.c: IOMMU_VFIO_IOAS, and the VFIO type1 value commands
long ioctl_vfio_ioas(CallEnv& env, iommu_vfio_ioas& cmd);
long ioctl_vfio_get_api_version(CallEnv& env);
long ioctl_vfio_check_extension(CallEnv& env);
long ioctl_vfio_set_iommu(CallEnv& env);
// selftest.c: the mock driver's IOMMU_TEST_CMD
long ioctl_iommufd_test(CallEnv& env, iommu_test_cmd& cmd);

}  // namespace ciommu
