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
 *  - A failed command changes nothing.
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
#define IOMMU_NR_DEVICE_GET_INFO	(IOMMU_BASE + 0x02)	/* planned */
#define IOMMU_NR_IOASID_ALLOC		(IOMMU_BASE + 0x03)
#define IOMMU_NR_IOASID_FREE		(IOMMU_BASE + 0x04)
#define IOMMU_NR_MAP_DMA		(IOMMU_BASE + 0x05)
#define IOMMU_NR_UNMAP_DMA		(IOMMU_BASE + 0x06)
#define IOMMU_NR_INVALIDATE_CACHE	(IOMMU_BASE + 0x07)	/* planned */
#define IOMMU_NR_DEVICE_BIND		(IOMMU_BASE + 0x08)	/* planned */
#define IOMMU_NR_DEVICE_UNBIND		(IOMMU_BASE + 0x09)	/* planned */
#define IOMMU_NR_DEVICE_ATTACH		(IOMMU_BASE + 0x0a)	/* planned */
#define IOMMU_NR_DEVICE_DETACH		(IOMMU_BASE + 0x0b)	/* planned */
#define IOMMU_NR_FAULT_SET_EVENTFD	(IOMMU_BASE + 0x0c)	/* planned */
#define IOMMU_NR_PAGE_RESPONSE		(IOMMU_BASE + 0x0d)	/* planned */
#define IOMMU_NR_FAULT_REGION_INFO	(IOMMU_BASE + 0x0e)	/* planned */
#define IOMMU_NR_GET_STATS		(IOMMU_BASE + 0x0f)	/* planned */
#define IOMMU_NR_DIRTY_TRACKING		(IOMMU_BASE + 0x10)	/* planned (RFC: TBD) */
/* 0xb0 + 0x11 .. 0xcf: free for future /dev/iommu commands. */

#define IOMMU_NR_SIM_DAEMON_STATS	(IOMMU_SIM_BASE + 0x00)
#define IOMMU_NR_SIM_DMA		(IOMMU_SIM_BASE + 0x01)	/* planned */
#define IOMMU_NR_SIM_INJECT_FAULT	(IOMMU_SIM_BASE + 0x02)	/* planned */
#define IOMMU_NR_SIM_MDEV_PIN		(IOMMU_SIM_BASE + 0x03)	/* planned */
#define IOMMU_NR_SIM_MDEV_UNPIN		(IOMMU_SIM_BASE + 0x04)	/* planned */
/* 0xd5 .. 0xdf: free for future simulation commands. */

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
 * @argsz: sizeof(struct iommu_ioasid_alloc)
 * @flags: must be 0 (a kernel-managed I/O address space; user-managed,
 *         nested, identity and enforce-snoop kinds are planned)
 *
 * Allocates an I/O address space in the calling context.  Returns its id
 * (>= 0).  Ids are per open file: another open of /dev/iommu cannot see
 * or free them.
 * Errors: ENOSPC  the context already has IOMMU_IOASID_MAX address spaces.
 * ------------------------------------------------------------------------ */
#define IOMMU_IOASID_ALLOC	_IO(IOMMU_TYPE, IOMMU_NR_IOASID_ALLOC)
#define IOMMU_IOASID_MAX	4096

struct iommu_ioasid_alloc {
	__u32	argsz;
	__u32	flags;
};

/* ------------------------------------------------------------------------
 * IOMMU_IOASID_FREE - _IO(IOMMU_TYPE, IOMMU_BASE + 0x04)
 * @argsz: sizeof(struct iommu_ioasid_free)
 * @flags: must be 0
 * @ioasid: the address space to free; its mappings go with it
 *
 * Errors: ENOENT  no such IOASID in this context.
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
 *         the device's permission on the range
 * @ioasid: a kernel-managed IOASID of this context
 * @vaddr: the caller's virtual address backing the range
 * @iova: first I/O virtual address of the range
 * @size: length in bytes
 *
 * VFIO type1 semantics.  vaddr, iova and size must be multiples of the
 * 4 KiB page size; the daemon records the calling process and vaddr and
 * checks that every page of [vaddr, vaddr+size) is readable in the caller.
 * Errors: EINVAL  size 0, misaligned vaddr/iova/size, no permission flag,
 *                 iova+size or vaddr+size wraps, or the range is outside
 *                 the address space's aperture [0, 2^48);
 *         ENOENT  no such IOASID;
 *         EEXIST  the range overlaps an existing mapping;
 *         EFAULT  part of [vaddr, vaddr+size) is not mapped in the caller.
 * ------------------------------------------------------------------------ */
#define IOMMU_MAP_DMA		_IO(IOMMU_TYPE, IOMMU_NR_MAP_DMA)
#define IOMMU_MAP_DMA_READ	(1u << 0)
#define IOMMU_MAP_DMA_WRITE	(1u << 1)

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
 * a range covering no mapping succeeds with size 0.
 * Errors: EINVAL  misaligned iova/size, size 0 without UNMAP_ALL, UNMAP_ALL
 *                 with non-zero iova/size, iova+size wraps, or the range
 *                 would split a mapping;
 *         ENOENT  no such IOASID.
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

#endif /* CUSE_IOMMU_UAPI_H */
