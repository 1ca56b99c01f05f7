/*
 * shim.h - compile-only names the selftest needs and Debian's 6.12.118
 * headers lack.
 *
 * Debian's linux-source-6.12 carries tools/testing/selftests/iommu/ files
 * newer than its own include/uapi/linux/iommufd.h and iommufd_test.h: the
 * suite names five things the tree's headers do not define.  This file is
 * passed with -include so that iommufd.c builds unmodified; the values are
 * those upstream defines (Linux >= 6.15).  It adds no code.
 */
#ifndef CUSE_IOMMU_SELFTEST_SHIM_H
#define CUSE_IOMMU_SELFTEST_SHIM_H

#define MOCK_FLAGS_DEVICE_PASID		(1 << 2)
#define MOCK_PASID_WIDTH		20
#define IOMMU_HW_INFO_TYPE_DEFAULT	0
#define IOMMU_HW_INFO_FLAG_INPUT_TYPE	(1 << 0)
/* Upstream: a union of in_data_type (input with the flag above) and
 * out_data_type, at the same offset. */
#define in_data_type			out_data_type

#endif
