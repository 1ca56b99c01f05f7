/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * cuse-iommu-iommufd.h - the upstream iommufd uAPI (Linux 6.12) that
 * `cuse-iommu --abi iommufd` serves on /dev/iommu (docs/iommufd.md).
 *
 * Debian 12's linux-libc-dev (6.1) has no <linux/iommufd.h>, so the daemon
 * and programs built here declare the ABI from this header.  It declares
 * the commands the profile implements so far, with the kernel's names and
 * layouts; the selftest tier checks every size and offset against the
 * kernel's own header.  The include guards are the kernel's: whichever of
 * this file and <linux/iommufd.h> (or the selftest's iommufd_test.h) comes
 * first is the one used.
 *
 * Every command is _IO(IOMMUFD_TYPE, nr) and its struct starts with
 * __u32 size (sizeof the struct the caller knows): smaller than the
 * command's minimum is EINVAL, larger with non-zero bytes past the struct
 * the daemon knows is E2BIG, an unknown flag or option is EOPNOTSUPP, an
 * unknown object id ENOENT.
 */
#ifndef _UAPI_IOMMUFD_H
#define _UAPI_IOMMUFD_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define IOMMUFD_TYPE (';')

enum {
	IOMMUFD_CMD_BASE = 0x80,
	IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE,
	IOMMUFD_CMD_IOAS_ALLOC = 0x81,
	IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 0x82,
	IOMMUFD_CMD_IOAS_COPY = 0x83,
	IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84,
	IOMMUFD_CMD_IOAS_MAP = 0x85,
	IOMMUFD_CMD_IOAS_UNMAP = 0x86,
	IOMMUFD_CMD_OPTION = 0x87,
	IOMMUFD_CMD_VFIO_IOAS = 0x88,
	IOMMUFD_CMD_HWPT_ALLOC = 0x89,
	IOMMUFD_CMD_GET_HW_INFO = 0x8a,
	IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b,
	IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 0x8c,
	IOMMUFD_CMD_HWPT_INVALIDATE = 0x8d,
	IOMMUFD_CMD_FAULT_QUEUE_ALLOC = 0x8e,
};

/*
 * IOMMU_DESTROY: destroys any object by id.  ENOENT for an unknown id,
 * EBUSY while another object uses it (an IOAS with a page table on it).
 */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};
#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)

/* IOMMU_IOAS_ALLOC: a new, empty I/O address space; flags must be 0. */
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

enum iommufd_option {
	IOMMU_OPTION_RLIMIT_MODE = 0,	/* object_id 0; val64 1: per-mm accounting */
	IOMMU_OPTION_HUGE_PAGES = 1,	/* object_id: an IOAS; val64 0 or 1 */
};

enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};

/*
 * IOMMU_OPTION: gets or sets one option.  RLIMIT_MODE is the context's
 * (setting it needs the caller's CAP_SYS_RESOURCE, and no object yet:
 * EBUSY); HUGE_PAGES is an IOAS's.  GET writes val64 back.
 */
struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};
#define IOMMU_OPTION _IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)

enum iommufd_vfio_ioas_op {
	IOMMU_VFIO_IOAS_GET = 0,
	IOMMU_VFIO_IOAS_SET = 1,
	IOMMU_VFIO_IOAS_CLEAR = 2,
};

/*
 * IOMMU_VFIO_IOAS: the IOAS the VFIO type1 compatibility ioctls on this fd
 * act on.  GET without one is ENODEV.
 */
struct iommu_vfio_ioas {
	__u32 size;
	__u32 ioas_id;
	__u16 op;
	__u16 __reserved;
};
#define IOMMU_VFIO_IOAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)

#endif /* _UAPI_IOMMUFD_H */

/*
 * The selftest's mock driver (drivers/iommu/iommufd/iommufd_test.h in the
 * kernel, built only with CONFIG_IOMMUFD_TEST): IOMMU_TEST_CMD, with an
 * operation per `op`.  The daemon answers it from its own model.
 */
#ifndef _UAPI_IOMMUFD_TEST_H
#define _UAPI_IOMMUFD_TEST_H

enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,
	IOMMU_TEST_OP_MOCK_DOMAIN,
	IOMMU_TEST_OP_MD_CHECK_MAP,
	IOMMU_TEST_OP_MD_CHECK_REFS,
	IOMMU_TEST_OP_CREATE_ACCESS,
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_RW,
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
	IOMMU_TEST_OP_DIRTY,
	IOMMU_TEST_OP_MD_CHECK_IOTLB,
	IOMMU_TEST_OP_TRIGGER_IOPF,
};

enum {
	MOCK_APERTURE_START = 1UL << 24,
	MOCK_APERTURE_LAST = (1UL << 31) - 1,
};

/*
 * The command's payload is a union, one member per operation; `last`
 * follows it (the command's minimum size ends before it).  Only the
 * members of the operations the daemon implements are spelled out; `raw`
 * gives the union its kernel size.
 */
struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 refs;
		} check_refs;
		struct {
			__u32 limit;
		} memory_limit;
		__aligned_u64 raw[6];
	};
	__u32 last;
};
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

#endif /* _UAPI_IOMMUFD_TEST_H */
