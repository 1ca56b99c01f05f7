/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * cuse-iommu.h - the /dev/iommu uAPI served by the cuse-iommu daemon.
 *
 * A userspace prototype of the proposed Linux /dev/iommu uAPI (RFC v2, July
 * 2021).  This header is the whole contract: a client includes it and libc,
 * opens /dev/iommu and calls ioctl().  It compiles as C99 and as C++.
 *
 * Conventions (enforced once, by the daemon's dispatcher):
 *  - Every command is _IO(IOMMU_TYPE, nr): the size is not encoded in the
 *    number; commands with a struct take a pointer to it as the argument.
 *  - Every struct begins with  __u32 argsz; __u32 flags;
 *    argsz is sizeof the struct as the caller knows it.
 *      argsz < the command's minimum size           -> EINVAL
 *      argsz > what the daemon knows:
 *          the extra bytes are all zero              -> accepted
 *          any extra byte is non-zero                -> E2BIG
 *      argsz > IOMMU_ARGSZ_MAX                       -> E2BIG
 *      a flag bit the command does not define       -> EINVAL
 *      a non-zero __reserved field                   -> EINVAL
 *  - An unknown command number                       -> ENOTTY
 *  - A struct command with a NULL or unreadable argument -> EFAULT
 *  - A failed command changes nothing (one exception: an IOMMU_SIM_DMA that
 *    fails with EFAULT or ENOMEM part way; see docs/uapi.md).
 *  - Any command may fail with ENOMEM when the daemon itself runs out of
 *    memory; it then changes nothing (but see IOMMU_SIM_DMA).
 *  - Commands that return an object id (IOMMU_IOASID_ALLOC) return it as the
 *    ioctl() result, which is >= 0 on success.  On failure ioctl() returns -1
 *    and sets errno.
 *
 * Numbering: type ';' is shared with VFIO (';' 0x64-0x7f) and iommufd
 * (';' 0x80-0xa0).  cuse-iommu uses 0xb0-0xcf for the /dev/iommu commands
 * and 0xd0-0xdf for device-side simulation commands, which stand in for what
 * real hardware and a VFIO device driver would do.
 *
 * docs/uapi.md is the long form of this header, with an errno table per
 * command.
 */
#ifndef CUSE_IOMMU_UAPI_H
#define CUSE_IOMMU_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* The version IOMMU_GET_API_VERSION returns. Bumped on incompatible change. */
#define IOMMU_API_VERSION	0

#define IOMMU_TYPE		';'
#define IOMMU_BASE		0xb0
#define IOMMU_SIM_BASE		0xd0

/* The largest argsz the daemon accepts for any command. */
#define IOMMU_ARGSZ_MAX		4096

/* ------------------------------------------------------------------------
 * Numbering plan.  Commands marked (planned) are reserved: the daemon
 * answers them with ENOTTY until they are implemented.
 * ------------------------------------------------------------------------ */
#define IOMMU_NR_GET_API_VERSION	(IOMMU_BASE + 0x00)
#define IOMMU_NR_CHECK_EXTENSION	(IOMMU_BASE + 0x01)
#define IOMMU_NR_DEVICE_GET_INFO	(IOMMU_BASE + 0x02)
#define IOMMU_NR_IOASID_ALLOC		(IOMMU_BASE + 0x03)
#define IOMMU_NR_IOASID_FREE		(IOMMU_BASE + 0x04)
#define IOMMU_NR_MAP_DMA		(IOMMU_BASE + 0x05)
#define IOMMU_NR_UNMAP_DMA		(IOMMU_BASE + 0x06)
#define IOMMU_NR_INVALIDATE_CACHE	(IOMMU_BASE + 0x07)
#define IOMMU_NR_DEVICE_BIND		(IOMMU_BASE + 0x08)
#define IOMMU_NR_DEVICE_UNBIND		(IOMMU_BASE + 0x09)
#define IOMMU_NR_DEVICE_ATTACH		(IOMMU_BASE + 0x0a)
#define IOMMU_NR_DEVICE_DETACH		(IOMMU_BASE + 0x0b)
#define IOMMU_NR_FAULT_SET_EVENTFD	(IOMMU_BASE + 0x0c)
#define IOMMU_NR_PAGE_RESPONSE		(IOMMU_BASE + 0x0d)
#define IOMMU_NR_FAULT_REGION_INFO	(IOMMU_BASE + 0x0e)
#define IOMMU_NR_GET_STATS		(IOMMU_BASE + 0x0f)
#define IOMMU_NR_DIRTY_TRACKING		(IOMMU_BASE + 0x10)
#define IOMMU_NR_DEVICE_FAULT_REGISTER	(IOMMU_BASE + 0x11)
#define IOMMU_NR_DEVICE_FAULT_UNREGISTER (IOMMU_BASE + 0x12)
/* 0xb0 + 0x13 .. 0xcf: free for future /dev/iommu commands. */

#define IOMMU_NR_SIM_DAEMON_STATS	(IOMMU_SIM_BASE + 0x00)
#define IOMMU_NR_SIM_DMA		(IOMMU_SIM_BASE + 0x01)
#define IOMMU_NR_SIM_INJECT_FAULT	(IOMMU_SIM_BASE + 0x02)
#define IOMMU_NR_SIM_MDEV_PIN		(IOMMU_SIM_BASE + 0x03)
#define IOMMU_NR_SIM_MDEV_UNPIN		(IOMMU_SIM_BASE + 0x04)
#define IOMMU_NR_SIM_DMA_STATUS		(IOMMU_SIM_BASE + 0x05)
/* 0xd6 .. 0xdf: free for future simulation commands. */

/* ------------------------------------------------------------------------
 * IOMMU_GET_API_VERSION - _IO(IOMMU_TYPE, IOMMU_BASE + 0x00)
 *
 * No argument.  Returns IOMMU_API_VERSION.  Never fails.
 * ------------------------------------------------------------------------ */
#define IOMMU_GET_API_VERSION	_IO(IOMMU_TYPE, IOMMU_NR_GET_API_VERSION)

/* ------------------------------------------------------------------------
 * IOMMU_CHECK_EXTENSION - _IO(IOMMU_TYPE, IOMMU_BASE + 0x01), arg: an
 * IOMMU_EXT_* value passed by value (not a pointer).
 *
 * Returns 1 if the daemon supports the extension, 0 if it does not or the
 * value is unknown.  Never fails.  The list follows the RFC.
 * ------------------------------------------------------------------------ */
#define IOMMU_CHECK_EXTENSION	_IO(IOMMU_TYPE, IOMMU_NR_CHECK_EXTENSION)

enum iommu_extension {
	IOMMU_EXT_MAP_TYPE1V2		= 1,	/* VFIO type1v2 map/unmap rules */
	IOMMU_EXT_MAP_NEWTYPE		= 2,
	IOMMU_EXT_IOASID_NESTING	= 3,
	IOMMU_EXT_USER_PAGE_TABLE	= 4,
	IOMMU_EXT_USER_PASID_TABLE	= 5,
	IOMMU_EXT_MULTIDEV_GROUP	= 6,
	IOMMU_EXT_DMA_NO_SNOOP		= 7,
	IOMMU_EXT_DIRTY_TRACKING	= 8,
};

/* ------------------------------------------------------------------------
 * IOMMU_IOASID_ALLOC - _IO(IOMMU_TYPE, IOMMU_BASE + 0x03)
 * @argsz: sizeof(struct iommu_ioasid_alloc) (8 is enough for a plain
 *         kernel-managed address space)
 * @flags: the kind of address space, all attributes given at once:
 *   0                         kernel-managed: populated with MAP_DMA
 *   IOMMU_IOASID_USER_PGTABLE user-managed child of @parent_ioasid: the
 *                             I/O page table lives in user memory at
 *                             @user_pgd (an IOVA of the parent), in
 *                             @pgtable_format; stage 1 of a nested walk
 *   IOMMU_IOASID_IDENTITY     IOVA == the allocating process's virtual
 *                             address, reserved regions carved out
 *   IOMMU_IOASID_ENFORCE_SNOOP  may be added to any of the above: only
 *                             devices whose IOMMU can force snooping attach
 *                             (to it, or to a USER_PGTABLE child of it)
 * @parent_ioasid: USER_PGTABLE only: a kernel-managed IOASID (stage 2)
 * @pgtable_format: USER_PGTABLE only: an IOMMU_PGTABLE_FORMAT_* value
 * @user_pgd: USER_PGTABLE only: IOVA (in the parent) of the root table,
 *            4 KiB aligned
 *
 * Returns the new id (>= 1).  Ids are per open file: another open of
 * /dev/iommu cannot see or use them.
 * Errors: EINVAL  USER_PGTABLE together with IDENTITY; parent, format or
 *                 user_pgd given without USER_PGTABLE; user_pgd misaligned;
 *                 the parent is not kernel-managed;
 *         ENOENT  USER_PGTABLE and no such parent IOASID;
 *         EOPNOTSUPP  an unknown @pgtable_format;
 *         ENOSPC  the context already has IOMMU_IOASID_MAX address spaces.
 * ------------------------------------------------------------------------ */
#define IOMMU_IOASID_ALLOC	_IO(IOMMU_TYPE, IOMMU_NR_IOASID_ALLOC)
#define IOMMU_IOASID_MAX	4096

#define IOMMU_IOASID_USER_PGTABLE	(1u << 0)
#define IOMMU_IOASID_IDENTITY		(1u << 1)
#define IOMMU_IOASID_ENFORCE_SNOOP	(1u << 2)

/*
 * User page-table formats.  IOMMU_PGTABLE_FORMAT_X86_64: the x86-64 4-level
 * layout (docs/uapi.md, "User page tables"): 512 8-byte entries per 4 KiB
 * table, IOVA bits 47:39, 38:30, 29:21, 20:12 index levels 4..1; bit 0
 * present (read), bit 1 writable, bit 7 a 1 GiB (level 3) or 2 MiB
 * (level 2) leaf, bits 51:12 the next table's or the page's address, an
 * IOVA of the parent address space.
 */
#define IOMMU_PGTABLE_FORMAT_X86_64	1

struct iommu_ioasid_alloc {
	__u32		argsz;
	__u32		flags;
	__u32		parent_ioasid;
	__u32		pgtable_format;
	__aligned_u64	user_pgd;
};

/* ------------------------------------------------------------------------
 * IOMMU_IOASID_FREE - _IO(IOMMU_TYPE, IOMMU_BASE + 0x04)
 * @argsz: sizeof(struct iommu_ioasid_free)
 * @flags: must be 0
 * @ioasid: the address space to free; its mappings go with it
 *
 * Errors: ENOENT  no such IOASID in this context;
 *         EBUSY   devices are attached to it or child IOASIDs use it.
 * ------------------------------------------------------------------------ */
#define IOMMU_IOASID_FREE	_IO(IOMMU_TYPE, IOMMU_NR_IOASID_FREE)

struct iommu_ioasid_free {
	__u32	argsz;
	__u32	flags;
	__u32	ioasid;
	__u32	__reserved;
};

/* ------------------------------------------------------------------------
 * IOMMU_MAP_DMA - _IO(IOMMU_TYPE, IOMMU_BASE + 0x05)
 * @argsz: sizeof(struct iommu_map_dma)
 * @flags: IOMMU_MAP_DMA_READ and/or IOMMU_MAP_DMA_WRITE (at least one);
 *         the device's permission on the range.  IOMMU_MAP_DMA_IOPF: do not
 *         probe or pin now; the model pins (and charges) each page on the
 *         first stage-2 lookup that touches it -- by the DMA of a device
 *         behind an IOPF-capable IOMMU, or of a software mdev -- and such
 *         faults never reach the user (the "IOPF-capable, not statically
 *         pinned" mappings of "[RFC PATCH v3 8/8] vfio: Add nested IOPF
 *         support", Shenming Lu, May 2021).  A page that cannot be pinned then
 *         is an unrecoverable NOT_MAPPED stage-2 fault (never a page
 *         request: it is the host's page, not the user's to fix)
 * @ioasid: a kernel-managed IOASID of this context
 * @vaddr: the caller's virtual address backing the range
 * @iova: first I/O virtual address of the range
 * @size: length in bytes
 *
 * VFIO type1 semantics.  vaddr, iova and size must be multiples of the
 * 4 KiB page size; the daemon records the calling process and vaddr and
 * (without IOMMU_MAP_DMA_IOPF) checks that every page of [vaddr,
 * vaddr+size) is readable in the caller and charges the pages to the
 * caller's RLIMIT_MEMLOCK.
 * Errors, in this order:
 *         ENOENT  no such IOASID;
 *         EOPNOTSUPP  the IOASID is not kernel-managed (user-managed or
 *                 identity);
 *         EINVAL  no READ/WRITE flag, misaligned vaddr/iova/size, size 0,
 *                 iova+size or vaddr+size wraps, vaddr+size beyond 2^48, or
 *                 iova+size beyond the aperture end (2^48, narrowed to
 *                 2^address_width of the attached devices' IOMMUs); a
 *                 range ending exactly there (the last page) is accepted;
 *         EADDRINUSE  the range overlaps a reserved or MSI region of an
 *                 attached device's IOMMU;
 *         EEXIST  the range overlaps an existing mapping;
 *         EFAULT  (not IOPF) part of [vaddr, vaddr+size) is not readable in
 *                 the caller;
 *         ENOMEM  (not IOPF) the caller's RLIMIT_MEMLOCK would be exceeded;
 *         ENOSPC  the IOASID has mappings backed by 65536 processes already.
 * ------------------------------------------------------------------------ */
#define IOMMU_MAP_DMA		_IO(IOMMU_TYPE, IOMMU_NR_MAP_DMA)
#define IOMMU_MAP_DMA_READ	(1u << 0)
#define IOMMU_MAP_DMA_WRITE	(1u << 1)
#define IOMMU_MAP_DMA_IOPF	(1u << 2)

struct iommu_map_dma {
	__u32		argsz;
	__u32		flags;
	__u32		ioasid;
	__u32		__reserved;
	__aligned_u64	vaddr;
	__aligned_u64	iova;
	__aligned_u64	size;
};

/* ------------------------------------------------------------------------
 * IOMMU_UNMAP_DMA - _IO(IOMMU_TYPE, IOMMU_BASE + 0x06)
 * @argsz: sizeof(struct iommu_unmap_dma)
 * @flags: 0, or IOMMU_UNMAP_DMA_ALL to unmap everything (iova and size
 *         must then be 0)
 * @ioasid: a kernel-managed IOASID of this context
 * @iova: first address of the range
 * @size: in: length of the range; out: bytes actually unmapped
 *
 * VFIO type1v2 semantics: every mapping lying wholly inside the range is
 * removed; a range that would split a mapping fails and removes nothing;
 * a range covering no mapping succeeds with size 0.  An unmap that removed
 * something drops the cached translations of the range and (for the parent
 * of user-managed IOASIDs) every translation walked through a user table in
 * this IOASID; one that removed nothing drops nothing.
 * Errors: ENOENT  no such IOASID;
 *         EOPNOTSUPP  the IOASID is not kernel-managed;
 *         EINVAL  misaligned iova/size, size 0 without UNMAP_ALL, UNMAP_ALL
 *                 with non-zero iova/size, iova+size wraps, or the range
 *                 would split a mapping.
 * ------------------------------------------------------------------------ */
#define IOMMU_UNMAP_DMA		_IO(IOMMU_TYPE, IOMMU_NR_UNMAP_DMA)
#define IOMMU_UNMAP_DMA_ALL	(1u << 0)

struct iommu_unmap_dma {
	__u32		argsz;
	__u32		flags;
	__u32		ioasid;
	__u32		__reserved;
	__aligned_u64	iova;
	__aligned_u64	size;
};

/* ------------------------------------------------------------------------
 * Devices.  There is no VFIO here: the daemon simulates a topology of IOMMU
 * units and devices (docs/topology.md), and a device is named by its
 * topology name.  Binding it to a context creates the RFC's iommu_dev
 * {physical device (the parent for an mdev), defPASID, cookie}; the user's
 * 64-bit cookie names the device in every later command and fault report.
 * ------------------------------------------------------------------------ */
#define IOMMU_DEVICE_NAME_LEN	32

/*
 * IOMMU_DEVICE_BIND - _IO(IOMMU_TYPE, IOMMU_BASE + 0x08)
 * @argsz: sizeof(struct iommu_device_bind)
 * @flags: must be 0
 * @name: the device's topology name, NUL-terminated
 * @cookie: any value the caller chooses, unique within this context
 *
 * Group isolation: the first bind of a device claims its whole IOMMU group
 * for this context (the group's DMA is blocked until devices attach); the
 * group's other devices can then be bound only by the same context.  The
 * claim ends when the group's last bound device is unbound.  An mdev and
 * its parent exclude each other: a parent with bound mdevs cannot be bound,
 * and an mdev cannot be bound while its parent is.
 * Errors: EINVAL  @name not NUL-terminated;
 *         ENODEV  no device of that name;
 *         EEXIST  @cookie already names a device in this context;
 *         EBUSY   the device is bound already (here or elsewhere), its
 *                 group belongs to another context, or the mdev/parent
 *                 rule above;
 *         ENOSPC  an IOMMU-backed mdev, and no defPASID is free below
 *                 2^pasid_width on its parent.
 */
#define IOMMU_DEVICE_BIND	_IO(IOMMU_TYPE, IOMMU_NR_DEVICE_BIND)

struct iommu_device_bind {
	__u32		argsz;
	__u32		flags;
	char		name[IOMMU_DEVICE_NAME_LEN];
	__aligned_u64	cookie;
};

/*
 * IOMMU_DEVICE_UNBIND - _IO(IOMMU_TYPE, IOMMU_BASE + 0x09)
 * @argsz: sizeof(struct iommu_device_unbind)
 * @flags: must be 0
 * @cookie: the bound device
 *
 * Detaches the device from everything it is attached to, answers its
 * pending page requests INVALID, releases pages a software mdev pinned, ends
 * its fault-consumer registration, then unbinds.
 * Errors: ENOENT  no such cookie.
 */
#define IOMMU_DEVICE_UNBIND	_IO(IOMMU_TYPE, IOMMU_NR_DEVICE_UNBIND)

struct iommu_device_unbind {
	__u32		argsz;
	__u32		flags;
	__aligned_u64	cookie;
};

/*
 * IOMMU_DEVICE_GET_INFO - _IO(IOMMU_TYPE, IOMMU_BASE + 0x02)
 * @argsz: in: the size of the caller's buffer: this struct followed by room
 *         for capabilities, at least sizeof(struct iommu_device_info) (24),
 *         else EINVAL; out: the size the whole answer needs
 * @flags: in: must be 0; out: IOMMU_DEVICE_INFO_* facts
 * @cookie: the bound device
 * @cap_offset: out: offset of the first capability from the start of this
 *         struct, 0 if none (or if @argsz was too small to hold them)
 *
 * VFIO-style capability chain: each capability starts with struct
 * iommu_info_cap_header whose @next is the offset of the next one from the
 * start of this struct (0: last).  If the buffer holds the struct but not
 * the capabilities, the call still succeeds: @argsz comes back larger than
 * what was passed, @cap_offset is 0, and the caller retries with a larger
 * buffer.  Bytes past this struct are output space: they need not be zero.
 * Errors: EINVAL  @argsz < 24;
 *         ENOENT  no such cookie.
 */
#define IOMMU_DEVICE_GET_INFO	_IO(IOMMU_TYPE, IOMMU_NR_DEVICE_GET_INFO)

#define IOMMU_DEVICE_INFO_MDEV		(1u << 0)	/* a mediated device */
#define IOMMU_DEVICE_INFO_SW_MDEV	(1u << 1)	/* software-only mdev: no IOMMU */
#define IOMMU_DEVICE_INFO_PASID		(1u << 2)	/* can attach per PASID */
#define IOMMU_DEVICE_INFO_PRI		(1u << 3)	/* can issue page requests */
#define IOMMU_DEVICE_INFO_ENFORCE_SNOOP	(1u << 4)	/* its IOMMU can force snooping */
#define IOMMU_DEVICE_INFO_CAPS		(1u << 5)	/* @cap_offset is valid */
#define IOMMU_DEVICE_INFO_DIRTY_TRACKING (1u << 6)	/* its IOMMU can track dirty pages */

struct iommu_device_info {
	__u32		argsz;
	__u32		flags;
	__aligned_u64	cookie;
	__u32		cap_offset;
	__u32		__reserved;
};

struct iommu_info_cap_header {
	__u16	id;
	__u16	version;
	__u32	next;
};

/* The IOVA page sizes the device's IOMMU supports: bit N set = 2^N bytes. */
#define IOMMU_DEVICE_INFO_CAP_PAGE_SIZES	1
struct iommu_info_cap_page_sizes {
	struct iommu_info_cap_header	header;
	__aligned_u64			pgsize_bitmap;
};

/* Usable IOVA ranges: the aperture minus the reserved regions.  The
 * struct is followed by @nr_ranges struct iommu_iova_range. */
#define IOMMU_DEVICE_INFO_CAP_IOVA_RANGES	2
#ifndef _CUSE_IOMMU_IOVA_RANGE	/* also in cuse-iommu-iommufd.h */
#define _CUSE_IOMMU_IOVA_RANGE
struct iommu_iova_range {
	__aligned_u64	start;
	__aligned_u64	last;	/* inclusive */
};
#endif
struct iommu_info_cap_iova_ranges {
	struct iommu_info_cap_header	header;
	__u32				nr_ranges;
	__u32				__reserved;
};

/* Reserved regions: DMA there never reaches memory.  Followed by
 * @nr_regions struct iommu_resv_region. */
#define IOMMU_DEVICE_INFO_CAP_RESV_REGIONS	3
#define IOMMU_RESV_RESERVED	0	/* nothing may be mapped there */
#define IOMMU_RESV_MSI		1	/* the MSI doorbell window */
#define IOMMU_RESV_DIRECT	2	/* must stay identity-mapped (RMRR) */
struct iommu_resv_region {
	__aligned_u64	start;
	__aligned_u64	last;	/* inclusive */
	__u32		type;	/* IOMMU_RESV_* */
	__u32		__reserved;
};
struct iommu_info_cap_resv_regions {
	struct iommu_info_cap_header	header;
	__u32				nr_regions;
	__u32				__reserved;
};

/* Nesting: whether a user-managed child IOASID can be attached, how the
 * IOMMU nests, and the user page-table formats it walks. */
#define IOMMU_DEVICE_INFO_CAP_NESTING		4
#define IOMMU_NESTING_SUPPORTED	(1u << 0)
#define IOMMU_NESTING_HARDWARE	(1u << 1)	/* else: software (shadow) nesting */
struct iommu_info_cap_nesting {
	struct iommu_info_cap_header	header;
	__u32				flags;		/* IOMMU_NESTING_* */
	__u32				pgtable_formats;	/* bit N: IOMMU_PGTABLE_FORMAT N */
};

/* PASIDs and I/O page faults. */
#define IOMMU_DEVICE_INFO_CAP_PASID		5
#define IOMMU_PASID_IOPF	(1u << 0)	/* the IOMMU reports recoverable faults */
struct iommu_info_cap_pasid {
	struct iommu_info_cap_header	header;
	__u32				pasid_width;	/* bits; 0: no PASID support */
	__u32				flags;		/* IOMMU_PASID_* */
};

/* Page-request credits, only for devices with IOMMU_DEVICE_INFO_PRI.  Like a
 * PCIe function's Outstanding Page Request Allocation, a device has at most
 * @max_requests page requests waiting for an answer, and the daemon holds at
 * most @max_requests of its DMAs (stalled on a page request, or finished and
 * not yet reaped by IOMMU_SIM_DMA_STATUS or the control socket).  When
 * either is reached, IOMMU_SIM_DMA and a recoverable IOMMU_SIM_INJECT_FAULT
 * of the device fail with EBUSY before doing anything, so what one client's
 * stalled DMAs can make the daemon hold stays bounded.  The control
 * socket's `set` changes @max_requests (IOMMU_PRI_REQUESTS_DEFAULT at
 * start; 1 .. IOMMU_PRI_REQUESTS_MAX). */
#define IOMMU_DEVICE_INFO_CAP_PRI		6
#define IOMMU_PRI_REQUESTS_DEFAULT	16
#define IOMMU_PRI_REQUESTS_MAX		1024
struct iommu_info_cap_pri {
	struct iommu_info_cap_header	header;
	__u32				max_requests;
	__u32				outstanding;	/* page requests waiting now */
	__u32				held_dmas;	/* DMAs the daemon holds now */
	__u32				__reserved;
};

/*
 * IOMMU_DEVICE_ATTACH - _IO(IOMMU_TYPE, IOMMU_BASE + 0x0a)
 * @argsz: sizeof(struct iommu_device_attach)
 * @flags: 0 to attach the whole device (its requester ID), or
 *         IOMMU_ATTACH_PASID to attach one PASID of a PASID-capable device
 * @cookie: the bound device
 * @ioasid: the address space its DMA is translated through
 * @pasid: with IOMMU_ATTACH_PASID: the PASID (1 .. 2^pasid_width - 1)
 *
 * An IOMMU-backed mdev is routed by its parent's RID and its defPASID, so it
 * attaches whole (no IOMMU_ATTACH_PASID).  A software-only mdev has no
 * IOMMU routing; its attachment names the address space its vendor driver
 * pins pages from (IOMMU_SIM_MDEV_PIN).  A successful attach ends a
 * FAILURE page response's stop on the device's page requests.
 * Errors: ENOENT  no such cookie or IOASID;
 *         EBUSY   the device (or that PASID of it) is attached already;
 *         EINVAL  @pasid 0 or beyond the IOMMU's PASID width;
 *         EOPNOTSUPP  what the IOASID needs, the device's IOMMU lacks:
 *                 PASID (device or IOMMU not PASID-capable, or an mdev),
 *                 nesting or the page-table format (a USER_PGTABLE IOASID),
 *                 snoop control (ENFORCE_SNOOP on the IOASID, or on the
 *                 parent of a USER_PGTABLE IOASID); or a software mdev
 *                 attached with IOMMU_ATTACH_PASID or to a
 *                 non-kernel-managed IOASID;
 *         ERANGE  an existing mapping lies beyond the IOMMU's address width;
 *         EADDRINUSE  an existing mapping overlaps one of the IOMMU's
 *                 reserved regions.
 */
#define IOMMU_DEVICE_ATTACH	_IO(IOMMU_TYPE, IOMMU_NR_DEVICE_ATTACH)
#define IOMMU_ATTACH_PASID	(1u << 0)

struct iommu_device_attach {
	__u32		argsz;
	__u32		flags;
	__aligned_u64	cookie;
	__u32		ioasid;
	__u32		pasid;
};

/*
 * IOMMU_DEVICE_DETACH - _IO(IOMMU_TYPE, IOMMU_BASE + 0x0b)
 * @argsz: sizeof(struct iommu_device_detach)
 * @flags: 0 (the whole-device attachment) or IOMMU_ATTACH_PASID
 * @cookie: the bound device
 * @pasid: with IOMMU_ATTACH_PASID: the PASID to detach
 *
 * Page requests the device made through that attachment and still pending
 * are answered INVALID first (their DMA ends IOMMU_SIM_DMA_ABORTED).
 * Errors: ENOENT  no such cookie, or nothing attached there.
 */
#define IOMMU_DEVICE_DETACH	_IO(IOMMU_TYPE, IOMMU_NR_DEVICE_DETACH)

struct iommu_device_detach {
	__u32		argsz;
	__u32		flags;
	__aligned_u64	cookie;
	__u32		pasid;
	__u32		__reserved;
};

/*
 * IOMMU_INVALIDATE_CACHE - _IO(IOMMU_TYPE, IOMMU_BASE + 0x07)
 * @argsz: sizeof(struct iommu_invalidate_cache)
 * @flags: must be 0
 * @ioasid: a user-managed (USER_PGTABLE) IOASID whose table the user edited
 * @granularity: IOMMU_INV_GRAN_ALL (everything cached for @ioasid),
 *         IOMMU_INV_GRAN_PASID (one PASID), IOMMU_INV_GRAN_RANGE (one PASID,
 *         [@addr, @addr+@size))
 * @cache: IOMMU_INV_CACHE_* bits: which caches (at least one)
 * @pasid: GRAN_PASID, GRAN_RANGE: the PASID as the user attached it
 *         (IOMMU_ATTACH_PASID), or IOMMU_INV_PASID_RID for whole-device
 *         attachments -- an IOMMU-backed mdev's included, whose hidden
 *         defPASID names nothing here
 * @addr, @size: GRAN_RANGE: the IOVA range, 4 KiB aligned
 *
 * The model caches translations per (IOMMU unit, RID, PASID, page), like an
 * IOTLB: after editing a user page table, DMA keeps seeing the old
 * translation until this command drops it.  Kernel-managed IOASIDs need no
 * invalidation: UNMAP_DMA invalidates by itself.
 * Errors: ENOENT  no such IOASID;
 *         EINVAL  the IOASID is not user-managed, an unknown granularity,
 *                 no or unknown cache bits, a misaligned or wrapping range.
 */
#define IOMMU_INVALIDATE_CACHE	_IO(IOMMU_TYPE, IOMMU_NR_INVALIDATE_CACHE)

#define IOMMU_INV_GRAN_ALL	0
#define IOMMU_INV_GRAN_PASID	1
#define IOMMU_INV_GRAN_RANGE	2
#define IOMMU_INV_CACHE_IOTLB	(1u << 0)
#define IOMMU_INV_CACHE_DEVTLB	(1u << 1)
#define IOMMU_INV_CACHE_PASID	(1u << 2)
#define IOMMU_INV_PASID_RID	0xffffffffu

struct iommu_invalidate_cache {
	__u32		argsz;
	__u32		flags;
	__u32		ioasid;
	__u32		granularity;
	__u32		cache;
	__u32		pasid;
	__aligned_u64	addr;
	__aligned_u64	size;
};

/*
 * IOMMU_GET_STATS - _IO(IOMMU_TYPE, IOMMU_BASE + 0x0f)
 * @argsz: sizeof(struct iommu_stats)
 * @flags: must be 0
 * All other fields are outputs:
 * @locked_pages: pages charged to the calling process's RLIMIT_MEMLOCK by
 *         the daemon (each page once, however many mappings or pins use it)
 * @ioasids, @mappings, @devices: objects in this context
 * @iotlb_hits, @iotlb_misses: translations of this context's devices
 */
#define IOMMU_GET_STATS		_IO(IOMMU_TYPE, IOMMU_NR_GET_STATS)

struct iommu_stats {
	__u32		argsz;
	__u32		flags;
	__aligned_u64	locked_pages;
	__u32		ioasids;
	__u32		devices;
	__aligned_u64	mappings;
	__aligned_u64	iotlb_hits;
	__aligned_u64	iotlb_misses;
};

/*
 * IOMMU_DIRTY_TRACKING - _IO(IOMMU_TYPE, IOMMU_BASE + 0x10)
 *
 * Dirty tracking of a kernel-managed IOASID, for live migration: the RFC
 * left it "TBD"; this follows iommufd's IOMMU_HWPT_SET_DIRTY_TRACKING and
 * IOMMU_HWPT_GET_DIRTY_BITMAP, one command with VFIO_IOMMU_DIRTY_PAGES'
 * flag style.  While tracking is on, every device write through the IOASID
 * (directly, or as stage 2 of a nested one) sets the dirty bit of the
 * IOMMU page (4 KiB) it lands in, as the IOMMU sets a dirty bit in its
 * IOPTE.  A software mdev has no IOMMU: its writes are not tracked.
 *
 * @argsz: sizeof(struct iommu_dirty_tracking)
 * @flags: exactly one of START, STOP, GET_BITMAP; NO_CLEAR only with
 *         GET_BITMAP
 *   START: tracking on, every dirty bit cleared (again, if it was on).
 *          EOPNOTSUPP unless every IOMMU attached to the IOASID (or to a
 *          child of it) can track dirty pages (topology: "dirty_tracking");
 *          while it is on, attaching a device behind another IOMMU fails
 *          with EINVAL.
 *   STOP: tracking off (0 if it was off).
 *   GET_BITMAP: for each @page_size unit of [@iova, @iova + @length) that
 *          holds a dirty IOMMU page, sets its bit (bit n: the unit at
 *          @iova + n * @page_size; bits in little-endian 64-bit words, as
 *          iommufd's) in the bitmap at @data -- other bits are left as they
 *          are, so start with a zeroed bitmap -- and clears the dirty bits
 *          read, unless NO_CLEAR.  EINVAL if tracking is off, @length is 0,
 *          @page_size is not a power of two, @iova or @iova + @length is not
 *          aligned to 4 KiB and to @page_size, or a page of the range is
 *          not mapped; EOVERFLOW if the range wraps; EFAULT if the bitmap
 *          cannot be read and written (the dirty bits are kept then).
 * @ioasid: a kernel-managed IOASID of this context (ENOENT if there is
 *          none; EOPNOTSUPP for a user-managed or identity one)
 * @iova, @length, @page_size, @data: GET_BITMAP only (else must be 0)
 */
#define IOMMU_DIRTY_TRACKING	_IO(IOMMU_TYPE, IOMMU_NR_DIRTY_TRACKING)

#define IOMMU_DIRTY_TRACKING_START	(1u << 0)
#define IOMMU_DIRTY_TRACKING_STOP	(1u << 1)
#define IOMMU_DIRTY_TRACKING_GET_BITMAP	(1u << 2)
#define IOMMU_DIRTY_TRACKING_NO_CLEAR	(1u << 3)

struct iommu_dirty_tracking {
	__u32		argsz;
	__u32		flags;
	__u32		ioasid;
	__u32		__reserved;
	__aligned_u64	iova;
	__aligned_u64	length;
	__aligned_u64	page_size;
	__aligned_u64	data;
};

/* ------------------------------------------------------------------------
 * I/O page faults (RFC v2 section 4.6; "[RFC PATCH v3 8/8] vfio: Add nested
 * IOPF support", Shenming Lu, May 2021; "iommu: introduce device fault
 * report API", Jacob Pan, May 2018).
 *
 * A device's translation fault is routed like its DMA: {RID, PASID} -> the
 * attachment -> {IOASID, device cookie}, and becomes a struct
 * iommu_fault_record in the context's fault region, if the device has a
 * fault consumer (IOMMU_DEVICE_FAULT_REGISTER).  read() on the /dev/iommu
 * file returns whole records; poll() reports POLLIN while records wait; an
 * eventfd registered with IOMMU_FAULT_SET_EVENTFD is signalled for each new
 * record.
 *
 * Recoverable faults -- a page request: a NOT_MAPPED fault of a device that
 * can issue page requests (IOMMU_DEVICE_INFO_PRI: PRI-capable, behind an
 * IOPF-capable IOMMU; never a software mdev) in a table the user manages
 * (stage 1 of a USER_PGTABLE IOASID, or a kernel-managed IOASID the device
 * is attached to directly) -- stall the DMA and are pending until
 * IOMMU_PAGE_RESPONSE answers their group (or the response timeout, detach,
 * unbind or close answers INVALID).  Everything else (permission, blocked,
 * reserved, address size, non-present without PRI/IOPF, stage 2 under a
 * USER_PGTABLE IOASID, an IOPF page the daemon could not fault in) is
 * unrecoverable: reported with a reason, needing no answer.
 * ------------------------------------------------------------------------ */

/*
 * The record read() returns.  64 bytes.  A read of up to 126976 bytes
 * (128 KiB - 4 KiB) must be a multiple of this (else EINVAL) and returns as
 * many whole records as wait and fit.  A larger read may be any size: the
 * kernel carries it in pieces of at most 128 KiB, and the daemon answers the
 * first piece with whole records but never fills it (at most 2047 records),
 * so that the read never blocks waiting for a second piece; read again.
 * @flags: IOMMU_FAULT_RECORD_*
 * @reason: IOMMU_FAULT_REASON_*
 * @cookie: the device, as the user named it at bind
 * @ioasid: the address space whose table faulted (the child for a stage-1
 *          fault in a nested IOASID; its parent for a stage-2 fault); 0 for
 *          a DMA's BLOCKED, RESERVED or ADDR_SIZE fault
 * @pasid: with IOMMU_FAULT_RECORD_PASID_VALID: the PASID the device used
 *          (never an mdev's defPASID); else 0
 * @perm: the access: for a DMA's fault IOMMU_FAULT_PERM_WRITE for a
 *          write, else IOMMU_FAULT_PERM_READ; an injected fault keeps every
 *          IOMMU_FAULT_PERM_* bit it was given
 * @grpid: recoverable faults: the page request group to answer; else 0
 * @addr: the faulting IOVA
 * @seq: sequence number in this fault region, from 1, counting lost ones
 */
struct iommu_fault_record {
	__u32		flags;
	__u32		reason;
	__aligned_u64	cookie;
	__u32		ioasid;
	__u32		pasid;
	__u32		perm;
	__u32		grpid;
	__aligned_u64	addr;
	__aligned_u64	seq;
	__aligned_u64	__reserved[2];	/* room to grow; zero */
};

#define IOMMU_FAULT_RECORD_RECOVERABLE	(1u << 0)	/* a page request: answer it */
#define IOMMU_FAULT_RECORD_LAST		(1u << 1)	/* last page of its group (every
							 * group is one page) */
#define IOMMU_FAULT_RECORD_PASID_VALID	(1u << 2)
#define IOMMU_FAULT_RECORD_STAGE1	(1u << 3)	/* in the user-managed table */
#define IOMMU_FAULT_RECORD_STAGE2	(1u << 4)	/* in a kernel-managed table */
#define IOMMU_FAULT_RECORD_LOST_BEFORE	(1u << 5)	/* records were lost before this one */
#define IOMMU_FAULT_RECORD_REVOKED	(1u << 6)	/* not a fault: the device was removed
							 * (control socket) and its bind
							 * revoked; flags, cookie and seq
							 * are set, consumer or not */

#define IOMMU_FAULT_PERM_READ	(1u << 0)
#define IOMMU_FAULT_PERM_WRITE	(1u << 1)
#define IOMMU_FAULT_PERM_EXEC	(1u << 2)
#define IOMMU_FAULT_PERM_PRIV	(1u << 3)

/*
 * IOMMU_DEVICE_FAULT_REGISTER / IOMMU_DEVICE_FAULT_UNREGISTER -
 *         _IO(IOMMU_TYPE, IOMMU_BASE + 0x11 / 0x12)
 * @argsz: sizeof(struct iommu_device_fault)
 * @flags: must be 0
 * @cookie: a bound device
 *
 * Makes this context's fault region the device's one fault consumer (one handler
 * per device, as in "iommu: introduce device fault report API", Jacob Pan,
 * May 2018).  Without a consumer, the device's
 * unrecoverable faults are counted but not reported and its page requests
 * are answered INVALID at once.  Registering and nested IOPF mappings
 * (IOMMU_MAP_DMA_IOPF) may be set up in either order.  Records already
 * queued stay after UNREGISTER; unbinding the device also unregisters it.
 * Errors: ENOENT  no such cookie (UNREGISTER: or no consumer);
 *         EBUSY   REGISTER: the device has a consumer already;
 *                 UNREGISTER: page requests of the device are pending.
 */
#define IOMMU_DEVICE_FAULT_REGISTER	_IO(IOMMU_TYPE, IOMMU_NR_DEVICE_FAULT_REGISTER)
#define IOMMU_DEVICE_FAULT_UNREGISTER	_IO(IOMMU_TYPE, IOMMU_NR_DEVICE_FAULT_UNREGISTER)

struct iommu_device_fault {
	__u32		argsz;
	__u32		flags;
	__aligned_u64	cookie;
};

/*
 * IOMMU_FAULT_SET_EVENTFD - _IO(IOMMU_TYPE, IOMMU_BASE + 0x0c)
 * @argsz: sizeof(struct iommu_fault_eventfd)
 * @flags: must be 0
 * @fd: an eventfd of the calling process, or -1 to remove the current one
 *
 * The daemon keeps its own duplicate (pidfd_getfd), so the caller may close
 * its copy; each record queued adds 1 to the eventfd's counter (lost
 * records signal nothing).  A new eventfd replaces the previous one; a
 * failed call leaves the previous one in place.
 * Errors: EBADF  @fd < -1, or not an open file of the calling process;
 *         ESRCH, EPERM  the daemon cannot take the caller's file (the
 *                 caller is gone; pidfd_getfd refused);
 *         EINVAL  it is not an eventfd.
 */
#define IOMMU_FAULT_SET_EVENTFD	_IO(IOMMU_TYPE, IOMMU_NR_FAULT_SET_EVENTFD)

struct iommu_fault_eventfd {
	__u32	argsz;
	__u32	flags;
	__s32	fd;
	__u32	__reserved;
};

/*
 * IOMMU_PAGE_RESPONSE - _IO(IOMMU_TYPE, IOMMU_BASE + 0x0d)
 * @argsz: sizeof(struct iommu_page_response)
 * @flags: must be 0
 * @cookie: the device whose page request group is answered
 * @grpid: the group, from its records
 * @code: IOMMU_PAGE_RESP_SUCCESS: retry the translation (the stalled DMA
 *        continues, and succeeds if the mapping was fixed; a new fault is
 *        reported afresh);
 *        IOMMU_PAGE_RESP_INVALID: abort the DMA;
 *        IOMMU_PAGE_RESP_FAILURE: abort it, and stop reporting page
 *        requests for the device, on every PASID (they are answered INVALID
 *        at once and counted as unreported) until its next successful
 *        IOMMU_DEVICE_ATTACH; the device's other pending groups are
 *        answered INVALID at the same time
 * Errors, in this order:
 *         ENOENT  no such cookie;
 *         EINVAL  an unknown @code, or no pending group @grpid for the
 *                 device (never reported, already answered, timed out,
 *                 answered by detach, or lost).
 */
#define IOMMU_PAGE_RESPONSE	_IO(IOMMU_TYPE, IOMMU_NR_PAGE_RESPONSE)
#define IOMMU_PAGE_RESP_SUCCESS	0
#define IOMMU_PAGE_RESP_INVALID	1
#define IOMMU_PAGE_RESP_FAILURE	2

struct iommu_page_response {
	__u32		argsz;
	__u32		flags;
	__aligned_u64	cookie;
	__u32		grpid;
	__u32		code;
};

/*
 * IOMMU_FAULT_REGION_INFO - _IO(IOMMU_TYPE, IOMMU_BASE + 0x0e)
 * @argsz: sizeof(struct iommu_fault_region_info)
 * @flags: IOMMU_FAULT_REGION_SET_DEPTH and/or _SET_TIMEOUT to change those
 *         settings first; the struct comes back with the current state
 * @depth: records the region holds before it loses new ones (1 .. 65536;
 *         default 256).  0 or more than 65536 -> EINVAL; lowering it below
 *         the records waiting -> EBUSY (and nothing is set).
 * @timeout_ms: a page request unanswered this long is answered INVALID by
 *         the daemon (0: never; default 10000), checked every 20 ms.  A new
 *         value applies to page requests queued afterwards.
 * @pending: out: records waiting to be read
 * @lost: out: records lost because the region was full (their page
 *         requests were answered INVALID)
 * @delivered: out: records read so far
 * @unreported: out: faults of devices without a consumer, and page requests
 *         of a device stopped by a FAILURE response
 * @iopf_resolved: out: stage-2 faults on IOPF mappings the model resolved
 *         itself (never reported)
 * @timeouts: out: page requests answered INVALID by the timeout
 */
#define IOMMU_FAULT_REGION_INFO		_IO(IOMMU_TYPE, IOMMU_NR_FAULT_REGION_INFO)
#define IOMMU_FAULT_REGION_SET_DEPTH	(1u << 0)
#define IOMMU_FAULT_REGION_SET_TIMEOUT	(1u << 1)
#define IOMMU_FAULT_REGION_DEPTH_MAX	65536

struct iommu_fault_region_info {
	__u32		argsz;
	__u32		flags;
	__u32		depth;
	__u32		timeout_ms;
	__aligned_u64	pending;
	__aligned_u64	lost;
	__aligned_u64	delivered;
	__aligned_u64	unreported;
	__aligned_u64	iopf_resolved;
	__aligned_u64	timeouts;
};

/* ------------------------------------------------------------------------
 * IOMMU_SIM_DAEMON_STATS - _IO(IOMMU_TYPE, IOMMU_SIM_BASE + 0x00)
 * @argsz: sizeof(struct iommu_sim_daemon_stats)
 * @flags: must be 0
 * @contexts: out: open /dev/iommu files the daemon serves right now
 * @ioasids: out: IOASIDs alive across all contexts
 * @mappings: out: DMA mappings alive across all contexts
 * @mapped_bytes: out: bytes mapped across all contexts
 *
 * A simulation-side view of the whole daemon, the way a test harness would
 * look at the kernel's object counts: it lets a test prove that a client
 * which exits without cleaning up is reclaimed.
 * ------------------------------------------------------------------------ */
#define IOMMU_SIM_DAEMON_STATS	_IO(IOMMU_TYPE, IOMMU_NR_SIM_DAEMON_STATS)

struct iommu_sim_daemon_stats {
	__u32		argsz;
	__u32		flags;
	__u32		contexts;
	__u32		ioasids;
	__aligned_u64	mappings;
	__aligned_u64	mapped_bytes;
};

/* ------------------------------------------------------------------------
 * IOMMU_SIM_DMA - _IO(IOMMU_TYPE, IOMMU_SIM_BASE + 0x01)
 * @argsz: sizeof(struct iommu_sim_dma)
 * @flags: IOMMU_SIM_DMA_WRITE: the device writes memory (the bytes come from
 *         @data); without it the device reads memory into @data.
 *         IOMMU_SIM_DMA_PASID: the DMA carries @pasid
 * @cookie: a device bound in this context
 * @pasid: with IOMMU_SIM_DMA_PASID: 1 .. 2^pasid_width - 1 of the device's
 *         IOMMU
 * @status: out: IOMMU_SIM_DMA_OK; IOMMU_SIM_DMA_FAULT with the fault below;
 *         IOMMU_SIM_DMA_PENDING: a page request was reported and the DMA
 *         is stalled until it is answered (see IOMMU_SIM_DMA_STATUS); or
 *         IOMMU_SIM_DMA_ABORTED: the fault was a page request answered
 *         INVALID at once (no consumer, page requests stopped by FAILURE,
 *         or the fault region full)
 * @iova: first address the device accesses
 * @length: bytes, 1 .. IOMMU_SIM_DMA_MAX
 * @data: the caller's buffer of @length bytes (a PENDING read DMA writes
 *         it when IOMMU_SIM_DMA_STATUS reports that the DMA ended)
 * @bytes_done: out: bytes moved before the fault (all of them on success)
 * @fault_addr: out: the faulting IOVA
 * @fault_reason: out: IOMMU_FAULT_REASON_*
 * @fault_flags: out: IOMMU_FAULT_* (stage, access)
 * @dma_id: out: with IOMMU_SIM_DMA_PENDING: the id to ask about; else 0
 *
 * Makes the simulated device do DMA.  Translation goes as the hardware
 * would: the device's routing {RID, PASID} (an mdev: parent RID + defPASID)
 * -> the attached IOASID -> (IOTLB) -> stage 1 in the user's table, whose
 * table pointers and output are translated through the parent (stage 2) ->
 * the mapping owner's memory, with permissions checked at both stages.  A
 * translation fault is a result, not an error: the ioctl returns 0 with
 * @status FAULT, PENDING or ABORTED, and the fault is reported (or counted)
 * as the fault region's rules say.
 * Errors, in this order:
 *         ENOENT  no such cookie;
 *         EINVAL  @length 0 or > IOMMU_SIM_DMA_MAX;
 *         EOPNOTSUPP  IOMMU_SIM_DMA_PASID from an mdev, a device that is not
 *                 PASID-capable, or one whose IOMMU has no PASIDs;
 *         EINVAL  IOMMU_SIM_DMA_PASID and @pasid 0 or >= 2^pasid_width;
 *         EBUSY   a PRI device with IOMMU_DEVICE_INFO_CAP_PRI's
 *                 max_requests page requests outstanding or DMAs held;
 *         EFAULT  @data is not accessible (or, for a read DMA of a PRI
 *                 device, the calling process cannot be identified to hold
 *                 it until the DMA is reaped), or the mapping owner's
 *                 memory is gone (it unmapped its buffer behind the IOMMU's
 *                 back, or exited).  Pages
 *                 before the failure may have been moved already.
 *         ENOMEM  the daemon ran out of memory: before the DMA started
 *                 (nothing happened), or part way (e.g. an IOPF page it
 *                 had no memory to fault in): the DMA stops there, pages
 *                 before it stay moved, and nothing is written back (no
 *                 @bytes_done; a read's bytes do not reach @data).
 * ------------------------------------------------------------------------ */
#define IOMMU_SIM_DMA		_IO(IOMMU_TYPE, IOMMU_NR_SIM_DMA)
#define IOMMU_SIM_DMA_WRITE	(1u << 0)
#define IOMMU_SIM_DMA_PASID	(1u << 1)
#define IOMMU_SIM_DMA_MAX	(1u << 20)
#define IOMMU_SIM_DMA_OK	0
#define IOMMU_SIM_DMA_FAULT	1
#define IOMMU_SIM_DMA_PENDING	2
#define IOMMU_SIM_DMA_ABORTED	3	/* its page request was answered INVALID/FAILURE */

/* Why a translation failed. */
#define IOMMU_FAULT_REASON_BLOCKED	1	/* nothing attached for {RID, PASID} */
#define IOMMU_FAULT_REASON_NOT_MAPPED	2	/* no mapping / entry not present */
#define IOMMU_FAULT_REASON_PERMISSION	3	/* read or write not permitted */
#define IOMMU_FAULT_REASON_RESERVED	4	/* a reserved region (e.g. MSI) */
#define IOMMU_FAULT_REASON_ADDR_SIZE	5	/* beyond the address width */
/* Where and how. */
#define IOMMU_FAULT_WRITE	(1u << 0)	/* the DMA was a write (even when the
						 * fault was on reading a table) */
#define IOMMU_FAULT_STAGE1	(1u << 1)	/* in the user-managed table */
#define IOMMU_FAULT_STAGE2	(1u << 2)	/* in a kernel-managed table */

struct iommu_sim_dma {
	__u32		argsz;
	__u32		flags;
	__aligned_u64	cookie;
	__u32		pasid;
	__u32		status;
	__aligned_u64	iova;
	__aligned_u64	length;
	__aligned_u64	data;
	__aligned_u64	bytes_done;
	__aligned_u64	fault_addr;
	__u32		fault_reason;
	__u32		fault_flags;
	__aligned_u64	dma_id;
};

/* ------------------------------------------------------------------------
 * IOMMU_SIM_DMA_STATUS - _IO(IOMMU_TYPE, IOMMU_SIM_BASE + 0x05)
 * @argsz: sizeof(struct iommu_sim_dma_status)
 * @flags: must be 0
 * @dma_id: a DMA that SIM_DMA left PENDING
 * @status: out: IOMMU_SIM_DMA_PENDING, _OK, _FAULT or _ABORTED
 * @bytes_done, @fault_addr, @fault_reason, @fault_flags: out, as in SIM_DMA
 *
 * Once a finished DMA's status has been returned, its id is forgotten.
 * ABORTED: a page request of the DMA was answered INVALID or FAILURE (by the
 * user, the response timeout, detach, unbind or close), or the DMA resumed
 * into memory that was gone.
 * Errors: ENOENT  no such DMA in this context (@dma_id 0, never PENDING,
 *                 its final status was already returned, or a DMA the
 *                 control socket started: only it may reap those).
 * ------------------------------------------------------------------------ */
#define IOMMU_SIM_DMA_STATUS	_IO(IOMMU_TYPE, IOMMU_NR_SIM_DMA_STATUS)

struct iommu_sim_dma_status {
	__u32		argsz;
	__u32		flags;
	__aligned_u64	dma_id;
	__u32		status;
	__u32		fault_reason;
	__aligned_u64	bytes_done;
	__aligned_u64	fault_addr;
	__u32		fault_flags;
	__u32		__reserved;
};

/* ------------------------------------------------------------------------
 * IOMMU_SIM_INJECT_FAULT - _IO(IOMMU_TYPE, IOMMU_SIM_BASE + 0x02)
 * @argsz: sizeof(struct iommu_sim_inject_fault)
 * @flags: IOMMU_SIM_FAULT_RAW: the fault arrives as the IOMMU sees it, from
 *         requester @rid (and @pasid with IOMMU_SIM_FAULT_PASID), and is
 *         routed through the routing table; otherwise it comes from the
 *         bound device @cookie (an mdev's then carries its parent's RID and
 *         its defPASID, as the hardware would see it; a software mdev has
 *         no IOMMU and cannot be injected into).  Either way the fault goes
 *         to what the routing table has attached there, which must be a
 *         device bound in this context (the control socket injects
 *         daemon-wide).
 *         IOMMU_SIM_FAULT_RECOVERABLE: a page request (needs a PRI-capable
 *         device behind an IOPF-capable IOMMU); else unrecoverable.
 * @cookie: the device (without RAW)
 * @rid: the requester ID (with RAW): a PCI device of the topology
 * @pasid: with IOMMU_SIM_FAULT_PASID: 1 .. 2^20 - 1
 * @addr: the faulting address
 * @perm: IOMMU_FAULT_PERM_* (the record reports them as given)
 * @reason: unrecoverable: the IOMMU_FAULT_REASON_* to report
 *          (0: NOT_MAPPED); ignored with RECOVERABLE (NOT_MAPPED)
 *
 * Errors, in this order:
 *         EINVAL  @perm 0 or unknown bits, an unknown @reason; PASID with
 *                 @pasid 0 or >= 2^20;
 *         ENOENT  without RAW: no such cookie; with RAW: no PCI device has
 *                 @rid;
 *         EOPNOTSUPP  without RAW: a software mdev, or PASID for an mdev or
 *                 a device that is not PASID-capable;
 *         ENOENT  (both paths) nothing is attached at {RID, PASID}, or a
 *                 device of another context is -- the fault has nowhere
 *                 to go;
 *         EOPNOTSUPP  RECOVERABLE and the attached device cannot issue page
 *                 requests (no PRI, or its IOMMU has no IOPF);
 *         EBUSY   RECOVERABLE and the device has IOMMU_DEVICE_INFO_CAP_PRI's
 *                 max_requests page requests outstanding.
 * ------------------------------------------------------------------------ */
#define IOMMU_SIM_INJECT_FAULT	_IO(IOMMU_TYPE, IOMMU_NR_SIM_INJECT_FAULT)
#define IOMMU_SIM_FAULT_RAW		(1u << 0)
#define IOMMU_SIM_FAULT_PASID		(1u << 1)
#define IOMMU_SIM_FAULT_RECOVERABLE	(1u << 2)

struct iommu_sim_inject_fault {
	__u32		argsz;
	__u32		flags;
	__aligned_u64	cookie;
	__u32		rid;
	__u32		pasid;
	__aligned_u64	addr;
	__u32		perm;
	__u32		reason;
};

/* ------------------------------------------------------------------------
 * IOMMU_SIM_MDEV_PIN / IOMMU_SIM_MDEV_UNPIN - _IO(IOMMU_TYPE,
 *         IOMMU_SIM_BASE + 0x03 / 0x04)
 * @argsz: sizeof(struct iommu_sim_mdev_pin)
 * @flags: IOMMU_SIM_PIN_WRITE (PIN only): the vendor driver will write
 * @cookie: a software-only mdev bound in this context
 * @iova: first page (4 KiB aligned) in the IOASID the mdev is attached to
 * @npages: 1 .. IOMMU_SIM_PIN_MAX pages
 *
 * What a vendor driver does for a software mdev: pin guest pages through
 * the owning context's IOMMU backend, not a side channel.  Pins are charged
 * to the mapping owner's RLIMIT_MEMLOCK through the same ledger as
 * MAP_DMA: a page both mapped and pinned, or pinned by two mdevs, counts
 * once.  Pins go away with UNPIN, detach, unbind or close.
 * Errors, in this order:
 *         EINVAL  @npages 0 or > IOMMU_SIM_PIN_MAX, misaligned @iova, or
 *                 the range wraps;
 *         ENOENT  no such cookie;
 *         EINVAL  not a software mdev;
 *         ENXIO   the mdev is not attached;
 *         EFAULT  PIN: a page is not mapped (or not writable for
 *                 PIN_WRITE);
 *         ENOMEM  PIN: the mapping owner's RLIMIT_MEMLOCK (nothing stays
 *                 pinned);
 *         EINVAL  UNPIN: a page this mdev has not pinned (nothing is
 *                 unpinned).
 * ------------------------------------------------------------------------ */
#define IOMMU_SIM_MDEV_PIN	_IO(IOMMU_TYPE, IOMMU_NR_SIM_MDEV_PIN)
#define IOMMU_SIM_MDEV_UNPIN	_IO(IOMMU_TYPE, IOMMU_NR_SIM_MDEV_UNPIN)
#define IOMMU_SIM_PIN_WRITE	(1u << 0)
#define IOMMU_SIM_PIN_MAX	512

struct iommu_sim_mdev_pin {
	__u32		argsz;
	__u32		flags;
	__aligned_u64	cookie;
	__aligned_u64	iova;
	__u32		npages;
	__u32		__reserved;
};

#endif /* CUSE_IOMMU_UAPI_H */
