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

/* An inclusive IOVA range: [start, last] (also in cuse-iommu.h). */
#ifndef _CUSE_IOMMU_IOVA_RANGE
#define _CUSE_IOMMU_IOVA_RANGE
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};
#endif

/*
 * IOMMU_IOAS_IOVA_RANGES: the IOVA ranges an IOAS_MAP may use (the holes
 * between reserved ranges, attached domains' apertures included), written
 * to allowed_iovas up to num_iovas entries; num_iovas is set to the full
 * count (EMSGSIZE if more than fitted), out_iova_alignment to what every
 * IOVA and length must be a multiple of (1 with no domain attached).
 */
struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};
#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)

/*
 * IOMMU_IOAS_ALLOW_IOVAS: replaces the set of ranges allocated IOVAs are
 * taken from (num_iovas 0: anywhere).  Ranges must not overlap (EINVAL)
 * nor meet a reserved range (EADDRINUSE).
 */
struct iommu_ioas_allow_iovas {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
};
#define IOMMU_IOAS_ALLOW_IOVAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)

enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

/*
 * IOMMU_IOAS_MAP: maps [user_va, user_va + length) at iova (FIXED_IOVA) or
 * at an IOVA the IOAS picks (written back).  With no domain attached the
 * memory is not touched until one is (lazy pinning).
 */
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

/*
 * IOMMU_IOAS_COPY: maps in dst_ioas_id the memory that
 * [src_iova, src_iova + length) of src_ioas_id maps, with MAP's flags.
 */
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};
#define IOMMU_IOAS_COPY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)

/*
 * IOMMU_IOAS_UNMAP: unmaps every area inside [iova, iova + length) (iova 0
 * and length U64_MAX: all of them); length is set to the bytes unmapped.
 * An area only partly inside, or nothing to unmap, is ENOENT.
 */
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

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

enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
	IOMMU_HWPT_FAULT_ID_VALID = 1 << 2,
};

enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE = 0,
	IOMMU_HWPT_DATA_VTD_S1 = 1,
	IOMMU_HWPT_DATA_ARM_SMMUV3 = 2,
};

/*
 * IOMMU_HWPT_ALLOC: a hardware page table for device dev_id on pt_id (an
 * IOAS: a paging one, at once attached to the IOAS's address space).
 */
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 fault_id;
	__u32 __reserved2;
};
#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE = 0,
	IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
	IOMMU_HW_INFO_TYPE_ARM_SMMUV3 = 2,
};

enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
	IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1,
	IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2,
};

/*
 * Newer than 6.12 (its selftest uses it): out_data_type is then an input,
 * the type of data the caller wants (EOPNOTSUPP if the IOMMU has another).
 */
enum iommufd_hw_info_flags {
	IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1 << 0,
};

/*
 * IOMMU_GET_HW_INFO: what the IOMMU behind device dev_id is: its type's
 * data (up to data_len bytes at data_uptr, the rest of the buffer zeroed;
 * data_len is set to the IOMMU's size), capabilities and PASID width.
 */
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 out_data_type;
	__u8 out_max_pasid_log2;
	__u8 __reserved[3];
	__aligned_u64 out_capabilities;
};
#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

enum iommufd_hwpt_set_dirty_tracking_flags {
	IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

/* IOMMU_HWPT_SET_DIRTY_TRACKING: turns a paging page table's tracking on or off. */
struct iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};
#define IOMMU_HWPT_SET_DIRTY_TRACKING _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)

enum iommufd_hwpt_get_dirty_bitmap_flags {
	IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

/*
 * IOMMU_HWPT_GET_DIRTY_BITMAP: sets a bit per page_size page of
 * [iova, iova + length) written since the last read (in the bitmap at
 * data, bit 0 for iova), and clears the IOPTEs' dirty bits unless NO_CLEAR.
 * Note: flags is the third field here.
 */
struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};
#define IOMMU_HWPT_GET_DIRTY_BITMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)

/*
 * IOMMU_HWPT_DATA_VTD_S1: a nested page table whose stage 1 is the
 * caller's Intel VT-d first-level (x86-64 4-level) table at pgtbl_addr, an
 * IOVA of the parent page table.  addr_width: 48 (57, 5-level, is not
 * modelled: EINVAL).
 */
enum iommu_hwpt_vtd_s1_flags {
	IOMMU_VTD_S1_SRE = 1 << 0,
	IOMMU_VTD_S1_EAFE = 1 << 1,
	IOMMU_VTD_S1_WPE = 1 << 2,
};

struct iommu_hwpt_vtd_s1 {
	__aligned_u64 flags;
	__aligned_u64 pgtbl_addr;
	__u32 addr_width;
	__u32 __reserved;
};

/*
 * IOMMU_HWPT_INVALIDATE: entry_num invalidation requests of data_type,
 * entry_len bytes each, for a nested page table; entry_num is set to how
 * many were handled.
 */
struct iommu_hwpt_invalidate {
	__u32 size;
	__u32 hwpt_id;
	__aligned_u64 data_uptr;
	__u32 data_type;
	__u32 entry_len;
	__u32 entry_num;
	__u32 __reserved;
};
#define IOMMU_HWPT_INVALIDATE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE)

enum iommu_hwpt_invalidate_data_type {
	IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0,
};

/*
 * An IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 entry: npages 4 KiB pages of the
 * stage-1 IOVA addr (4 KiB aligned) leave the IOTLB; addr 0 with npages
 * __u64 max: everything.  flags: IOMMU_VTD_INV_FLAGS_LEAF (only leaf
 * entries changed: the model flushes the same either way).
 */
enum iommu_hwpt_vtd_s1_invalidate_flags {
	IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0,
};

struct iommu_hwpt_vtd_s1_invalidate {
	__aligned_u64 addr;
	__aligned_u64 npages;
	__u32 flags;
	__u32 __reserved;
};

/*
 * IOMMU_FAULT_QUEUE_ALLOC: a fault queue object and the file descriptor
 * page faults of the page tables allocated with it (HWPT_ALLOC's
 * FAULT_ID_VALID) are read from, struct iommu_hwpt_pgfault by struct, and
 * answered on, struct iommu_hwpt_page_response by struct.
 */
struct iommu_fault_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_fault_id;
	__u32 out_fault_fd;
};
#define IOMMU_FAULT_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC)

enum iommu_hwpt_pgfault_flags {
	IOMMU_PGFAULT_FLAGS_PASID_VALID = (1 << 0),
	IOMMU_PGFAULT_FLAGS_LAST_PAGE = (1 << 1),
};

enum iommu_hwpt_pgfault_perm {
	IOMMU_PGFAULT_PERM_READ = (1 << 0),
	IOMMU_PGFAULT_PERM_WRITE = (1 << 1),
	IOMMU_PGFAULT_PERM_EXEC = (1 << 2),
	IOMMU_PGFAULT_PERM_PRIV = (1 << 3),
};

/* One page fault, as read() from a fault queue's fd. */
struct iommu_hwpt_pgfault {
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 grpid;
	__u32 perm;
	__u32 __reserved;
	__aligned_u64 addr;
	__u32 length;
	__u32 cookie;
};

enum iommufd_page_response_code {
	IOMMUFD_PAGE_RESP_SUCCESS = 0,
	IOMMUFD_PAGE_RESP_INVALID = 1,
};

/* The answer to a fault group, write()n to the fault queue's fd. */
struct iommu_hwpt_page_response {
	__u32 cookie;
	__u32 code;
};

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

/* GET_HW_INFO of a mock device: its type and data. */
#define IOMMU_HW_INFO_TYPE_SELFTEST	0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL	0xdeadbeef

struct iommu_test_hw_info {
	__u32 flags;
	__u32 test_reg;
};

/*
 * A nested mock page table: HWPT_ALLOC with data_type
 * IOMMU_HWPT_DATA_SELFTEST and this data sets its four IOTLB entries to
 * iotlb; HWPT_INVALIDATE with IOMMU_HWPT_INVALIDATE_DATA_SELFTEST entries
 * zeroes one (iotlb_id) or all (IOMMU_TEST_INVALIDATE_FLAG_ALL); the
 * MD_CHECK_IOTLB operation compares one.
 */
#define IOMMU_HWPT_DATA_SELFTEST 0xdead
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeef

enum {
	MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3,
	MOCK_NESTED_DOMAIN_IOTLB_NUM = 4,
};

struct iommu_hwpt_selftest {
	__u32 iotlb;
};

#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef

struct iommu_hwpt_invalidate_selftest {
#define IOMMU_TEST_INVALIDATE_FLAG_ALL	(1 << 0)
	__u32 flags;
	__u32 iotlb_id;
};

/* ACCESS_PAGES flags; ACCESS_RW flags; CREATE_ACCESS flags. */
enum {
	MOCK_FLAGS_ACCESS_WRITE = 1 << 0,
	MOCK_FLAGS_ACCESS_SYZ = 1 << 16,
};

enum {
	MOCK_ACCESS_RW_WRITE = 1 << 0,
	MOCK_ACCESS_RW_SLOW_PATH = 1 << 2,
};

enum {
	MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0,
};

/* MOCK_DOMAIN_FLAGS: what the mock device can do. */
enum {
	MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
	MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,
	MOCK_FLAGS_DEVICE_PASID = 1 << 2,
};

/*
 * The command's payload is a union, one member per operation; `last`
 * follows it (the command's minimum size ends before it).  `raw` gives
 * the union its kernel size.
 */
struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__aligned_u64 start;
			__aligned_u64 length;
		} add_reserved;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
		} mock_domain;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			__u32 dev_flags;
		} mock_domain_flags;
		struct {
			__u32 pt_id;
		} mock_domain_replace;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} check_map;
		struct {
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 refs;
		} check_refs;
		/*
		 * CREATE_ACCESS answers an access object as a file descriptor
		 * (cuse-iommu: only through the fd helper, docs/iommufd.md);
		 * the other access operations name it by that fd in `id`.
		 */
		struct {
			__u32 out_access_fd;
			__u32 flags;
		} create_access;
		struct {
			__u32 access_pages_id;
		} destroy_access_pages;
		struct {
			__u32 flags;
			__u32 out_access_pages_id;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} access_pages;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 flags;
		} access_rw;
		struct {
			__u32 limit;
		} memory_limit;
		struct {
			__u32 ioas_id;
		} access_replace_ioas;
		struct {
			__u32 flags;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__aligned_u64 uptr;
			__aligned_u64 out_nr_dirty;
		} dirty;
		struct {
			__u32 id;
			__u32 iotlb;
		} check_iotlb;
		struct {
			__u32 dev_id;
			__u32 pasid;
			__u32 grpid;
			__u32 perm;
			__u64 addr;
		} trigger_iopf;
		__aligned_u64 raw[6];
	};
	__u32 last;
};
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

#endif /* _UAPI_IOMMUFD_TEST_H */

/*
 * cuse-iommu's own commands of the iommufd profile: not upstream's.  They
 * are _IO(IOMMUFD_TYPE, 0xf0 + n): upstream numbers iommufd's commands up
 * from 0x80 (IOMMU_TEST_CMD is 0xa0) and VFIO's from 0x64, so the top of the
 * number space stays clear of both.  Their own guard: they are declared
 * even where <linux/iommufd.h> came first.
 */
#ifndef _CUSE_IOMMU_IOMMUFD_OWN_H
#define _CUSE_IOMMU_IOMMUFD_OWN_H

#define CUSE_IOMMUFD_CMD_BASE 0xf0

/*
 * Objects that upstream answers as a file descriptor (FAULT_QUEUE_ALLOC's
 * fault fd, TEST_CMD CREATE_ACCESS's access fd) are open files of the
 * daemon's second node, /dev/<name>-object ("the object node").  CUSE
 * cannot put a file into the caller's table, so the caller opens one
 * itself, which libcuse-iommu-fd.so (LD_PRELOAD) does for unmodified
 * programs (docs/iommufd.md, "File descriptors"):
 *
 *   1. open("/dev/<name>-object", O_RDWR | O_CLOEXEC) -> object_fd;
 *   2. ioctl(object_fd, CUSE_IOMMUFD_OBJECT_TOKEN, &token): the open file's
 *      secret (a __u64), valid only for the process that opened it.  It is
 *      _IOR, unlike every other command: the kernel copies it out, so the
 *      daemon never waits on the caller's memory for it;
 *   3. ioctl(iommufd, CUSE_IOMMUFD_OBJECT_FD_CALL, &call): runs `cmd` with
 *      `arg` as ioctl(iommufd, cmd, arg) would, the object it makes bound
 *      to that open file, and object_fd written where upstream writes the
 *      new fd (out_fault_fd, out_access_fd).
 *
 * Without step 3 those commands fail with EOPNOTSUPP.  The object file
 * then behaves as upstream's fd: read(), write(), poll() and close().
 */
#define CUSE_IOMMUFD_OBJECT_TOKEN _IOR(IOMMUFD_TYPE, CUSE_IOMMUFD_CMD_BASE + 0, __u64)

/*
 * CUSE_IOMMUFD_OBJECT_FD_CALL: on the iommufd fd.  cmd: IOMMU_FAULT_QUEUE_ALLOC
 * or IOMMU_TEST_CMD (op CREATE_ACCESS), else EINVAL.  EBADF: the token
 * names no object file of the calling process, or one already bound.
 * Returns what cmd returns.
 */
struct cuse_iommufd_object_fd_call {
	__u32 size;
	__u32 flags;
	__u32 cmd;
	__s32 object_fd;
	__aligned_u64 object_token;
	__aligned_u64 arg;
};
#define CUSE_IOMMUFD_OBJECT_FD_CALL _IO(IOMMUFD_TYPE, CUSE_IOMMUFD_CMD_BASE + 1)

/*
 * Topology devices (cuse-iommu's own; they stand in for VFIO cdev's
 * VFIO_DEVICE_BIND_IOMMUFD, VFIO_DEVICE_[AT|DE]TACH_IOMMUFD_PT and the
 * device itself).  The daemon's simulated devices (its topology: nic0,
 * accel0, ...) are bound to the context by name and get a dev_id, the
 * iommufd device object HWPT_ALLOC, GET_HW_INFO and these name them by.
 * Their DMA goes through the page table attached (paging or nested),
 * the IOTLB, and faults to the page table's fault queue.
 */

/*
 * CUSE_IOMMUFD_DEVICE_BIND: binds the topology device `name` (NUL
 * terminated); out_dev_id: its device object.  Errors: EINVAL (flags,
 * name not terminated), ENODEV (no such device), EBUSY (bound elsewhere,
 * its group claimed by another context, or an mdev/parent conflict),
 * ENOSPC.  IOMMU_DESTROY of the id is EBUSY: unbind it.  A software mdev
 * binds as an emulated device (below).
 */
#define CUSE_IOMMUFD_DEVICE_NAME_LEN 32
struct cuse_iommufd_device_bind {
	__u32 size;
	__u32 flags;
	char name[CUSE_IOMMUFD_DEVICE_NAME_LEN];
	__u32 out_dev_id;
	__u32 __reserved;
};
#define CUSE_IOMMUFD_DEVICE_BIND _IO(IOMMUFD_TYPE, CUSE_IOMMUFD_CMD_BASE + 2)

/* CUSE_IOMMUFD_DEVICE_UNBIND: detaches everything, then unbinds. */
struct cuse_iommufd_device_unbind {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 __reserved;
};
#define CUSE_IOMMUFD_DEVICE_UNBIND _IO(IOMMUFD_TYPE, CUSE_IOMMUFD_CMD_BASE + 3)

/*
 * CUSE_IOMMUFD_DEVICE_ATTACH: attaches dev_id (with
 * CUSE_IOMMUFD_ATTACH_PASID: its pasid) to pt_id: an IOAS (then to an
 * automatic paging page table of its IOMMU, made if none fits), a paging
 * page table made for a device of the same IOMMU, or a nested one over
 * such.  pt_id is set to the page table's id, as VFIO's ATTACH does.
 * Errors: ENOENT, EINVAL (another kind of object, another IOMMU's page
 * table, a bad PASID), EBUSY (attached already: detach first),
 * EOPNOTSUPP (the IOMMU cannot: PASID, nesting), EADDRINUSE (an IOAS
 * mapping in the IOMMU's reserved ranges).
 */
#define CUSE_IOMMUFD_ATTACH_PASID (1 << 0)
struct cuse_iommufd_device_attach {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 pt_id;
	__u32 __reserved;
};
#define CUSE_IOMMUFD_DEVICE_ATTACH _IO(IOMMUFD_TYPE, CUSE_IOMMUFD_CMD_BASE + 4)
/* CUSE_IOMMUFD_DEVICE_DETACH: the same struct; pt_id must be 0. ENOENT:
 * not attached. */
#define CUSE_IOMMUFD_DEVICE_DETACH _IO(IOMMUFD_TYPE, CUSE_IOMMUFD_CMD_BASE + 5)

/*
 * CUSE_IOMMUFD_DEVICE_DMA: the device dev_id does DMA: length bytes
 * (1 .. CUSE_IOMMUFD_DMA_MAX) at iova, reading memory into the caller's
 * buffer `data`, or with CUSE_IOMMUFD_DMA_WRITE writing it from there;
 * with CUSE_IOMMUFD_DMA_PASID the DMA carries pasid.  A translation fault
 * is a result: status CUSE_IOMMUFD_DMA_FAULT with the fault, or
 * CUSE_IOMMUFD_DMA_PENDING when it became a page request in the page
 * table's fault queue: once the request is answered SUCCESS (a write()
 * of the fault fd), CUSE_IOMMUFD_DEVICE_DMA_STATUS with dma_id runs the
 * DMA on and reports it; or CUSE_IOMMUFD_DMA_ABORTED when it could not
 * be one.
 * Errors: ENOENT (no device), EINVAL (length, flags), EOPNOTSUPP/EINVAL
 * (PASID), EFAULT (data), EBUSY (the device's page-request credits).
 */
#define CUSE_IOMMUFD_DMA_WRITE (1 << 0)
#define CUSE_IOMMUFD_DMA_PASID (1 << 1)
enum cuse_iommufd_dma_result {
	CUSE_IOMMUFD_DMA_OK = 0,
	CUSE_IOMMUFD_DMA_FAULT = 1,
	CUSE_IOMMUFD_DMA_PENDING = 2,
	CUSE_IOMMUFD_DMA_ABORTED = 3,
};
/* out_fault_reason (the same numbers as the RFC profile's). */
enum cuse_iommufd_fault_reason {
	CUSE_IOMMUFD_FAULT_BLOCKED = 1,    /* nothing attached for {RID, PASID} */
	CUSE_IOMMUFD_FAULT_NOT_MAPPED = 2, /* no mapping, entry not present */
	CUSE_IOMMUFD_FAULT_PERMISSION = 3, /* read or write not permitted */
	CUSE_IOMMUFD_FAULT_RESERVED = 4,   /* a reserved region (MSI) */
	CUSE_IOMMUFD_FAULT_ADDR_SIZE = 5,  /* beyond the address width */
};
#define CUSE_IOMMUFD_DMA_MAX (1u << 20)
struct cuse_iommufd_device_dma {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 data;
	__u32 out_status;
	__u32 out_fault_reason;
	__aligned_u64 out_bytes_done;
	__aligned_u64 out_fault_addr;
	__aligned_u64 out_dma_id;
};
#define CUSE_IOMMUFD_DEVICE_DMA _IO(IOMMUFD_TYPE, CUSE_IOMMUFD_CMD_BASE + 6)

/*
 * CUSE_IOMMUFD_DEVICE_DMA_STATUS: what became of a PENDING DMA (the same
 * out fields as DMA).  A DMA whose page request was answered SUCCESS runs
 * on in this call first (the fault fd's write() touches no memory of
 * yours).  Once it has ended the answer reaps it (a read's bytes have then
 * been written to its buffer).  ENOENT: no such DMA.
 */
struct cuse_iommufd_dma_status {
	__u32 size;
	__u32 flags;
	__aligned_u64 dma_id;
	__u32 out_status;
	__u32 out_fault_reason;
	__aligned_u64 out_bytes_done;
	__aligned_u64 out_fault_addr;
};
#define CUSE_IOMMUFD_DEVICE_DMA_STATUS _IO(IOMMUFD_TYPE, CUSE_IOMMUFD_CMD_BASE + 7)

/*
 * Software mdevs (topology kind "sw-mdev", e.g. vmdev0) bind too, as
 * VFIO's emulated devices do (vfio_iommufd_emulated_bind): no IOMMU, their
 * dev_id is an iommufd access.  They attach to an IOAS only (ENOENT for
 * any other id, as iommufd_access_attach; a PASID: EOPNOTSUPP); their DMA
 * is their vendor driver's copy through the IOAS (vfio_dma_rw): complete,
 * or a FAULT (BLOCKED: not attached; NOT_MAPPED: a hole; PERMISSION: a
 * read-only area), never PENDING (a PASID: EOPNOTSUPP); HWPT_ALLOC and
 * GET_HW_INFO do not take their id.
 *
 * CUSE_IOMMUFD_DEVICE_PIN / _UNPIN: such a device's vendor driver pins
 * (vfio_pin_pages) or unpins npages pages from iova (4 KiB aligned) of
 * the IOAS it is attached to.  A range pinned again counts its pins, and
 * each UNPIN of it drops one (as iommufd counts an access's users of one
 * range).  An unmap of the IOAS under a pinned range drops it with all its
 * pins (the driver's dma_unmap callback), as do detach and unbind.
 * Errors: EINVAL (flags, iova misaligned, npages 0 or more than
 * CUSE_IOMMUFD_PIN_MAX, the range wraps; UNPIN: no range pinned that is
 * exactly this one), ENOENT (no such software mdev, not attached, or a
 * hole in the IOAS), EPERM (PIN_WRITE on a read-only area), ENOSPC (the
 * context's record budget).
 */
#define CUSE_IOMMUFD_PIN_WRITE (1 << 0)
#define CUSE_IOMMUFD_PIN_MAX 512
struct cuse_iommufd_device_pin {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 npages;
	__aligned_u64 iova;
};
#define CUSE_IOMMUFD_DEVICE_PIN _IO(IOMMUFD_TYPE, CUSE_IOMMUFD_CMD_BASE + 8)
#define CUSE_IOMMUFD_DEVICE_UNPIN _IO(IOMMUFD_TYPE, CUSE_IOMMUFD_CMD_BASE + 9)

#endif /* _CUSE_IOMMU_IOMMUFD_OWN_H */
