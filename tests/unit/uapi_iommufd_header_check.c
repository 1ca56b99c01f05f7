/* The iommufd uAPI header must stand alone as C11 (its anonymous union, as
 * in the kernel's own header) and C++20, with the kernel's layout.  The
 * selftest tier compares every field with the kernel's header
 * (tests/iommufd-selftests/layout_check.py); these are the sizes iommufd's
 * dispatcher table lists. */
#include "cuse-iommu-iommufd.h"

#include <stddef.h>

#define ABI_CHECK(name, cond) typedef char iommufd_abi_check_##name[(cond) ? 1 : -1]

ABI_CHECK(destroy_size, sizeof(struct iommu_destroy) == 8);
ABI_CHECK(ioas_alloc_size, sizeof(struct iommu_ioas_alloc) == 12);
ABI_CHECK(option_size, sizeof(struct iommu_option) == 24);
ABI_CHECK(vfio_ioas_size, sizeof(struct iommu_vfio_ioas) == 12);
ABI_CHECK(test_cmd_size, sizeof(struct iommu_test_cmd) == 72);
ABI_CHECK(test_cmd_last, offsetof(struct iommu_test_cmd, last) == 64);
ABI_CHECK(numbers, IOMMU_DESTROY == 0x3b80 && IOMMU_TEST_CMD == 0x3ba0);
