/*
 * Thin ioctl wrappers shared by the VM test clients.  Each do_*() returns the
 * ioctl's result (>= 0) or -errno; each *_arg() only builds a command's
 * struct, for a test that changes a field before it makes the call itself.
 * Strict C99; only cuse-iommu.h + libc.
 */
#ifndef VM_IOCTLS_H
#define VM_IOCTLS_H

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cuse-iommu.h"

#define PAGE		4096ULL	/* the uAPI's page size */

#define RW		(IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE)
#define RO		IOMMU_MAP_DMA_READ

#define NO_PASID	(-1L)	/* the whole device (its RID) */

static inline long io(int fd, unsigned long cmd, void *arg)
{
	int r = ioctl(fd, cmd, arg);

	return r < 0 ? -(long)errno : r;
}

/* A value command (GET_API_VERSION, CHECK_EXTENSION): the argument is a number. */
static inline long io_val(int fd, unsigned long cmd, unsigned long arg)
{
	int r = ioctl(fd, cmd, arg);

	return r < 0 ? -(long)errno : r;
}

/* ---------------------------------------------------------------------------
 * Argument builders: zero the whole struct, then fill in what the caller
 * names, so fields a newer header adds read as zero ("not used").
 * ------------------------------------------------------------------------- */

static inline struct iommu_ioasid_alloc alloc_arg(void)
{
	struct iommu_ioasid_alloc a;

	memset(&a, 0, sizeof(a));
	a.argsz = sizeof(a);
	return a;
}

static inline struct iommu_ioasid_free free_arg(__u32 ioasid)
{
	struct iommu_ioasid_free f;

	memset(&f, 0, sizeof(f));
	f.argsz = sizeof(f);
	f.ioasid = ioasid;
	return f;
}

static inline struct iommu_map_dma map_arg(__u32 ioasid, const void *vaddr,
					   __u64 iova, __u64 size, __u32 prot)
{
	struct iommu_map_dma m;

	memset(&m, 0, sizeof(m));
	m.argsz = sizeof(m);
	m.flags = prot;
	m.ioasid = ioasid;
	m.vaddr = (__u64)(unsigned long)vaddr;
	m.iova = iova;
	m.size = size;
	return m;
}

static inline struct iommu_unmap_dma unmap_arg(__u32 ioasid, __u64 iova,
					       __u64 size)
{
	struct iommu_unmap_dma u;

	memset(&u, 0, sizeof(u));
	u.argsz = sizeof(u);
	u.ioasid = ioasid;
	u.iova = iova;
	u.size = size;
	return u;
}

/* ---------------------------------------------------------------------------
 * IOASIDs and mappings
 * ------------------------------------------------------------------------- */

static inline long do_alloc_arg(int fd, __u32 flags, __u32 parent,
				__u32 format, __u64 pgd)
{
	struct iommu_ioasid_alloc a = alloc_arg();

	a.flags = flags;
	a.parent_ioasid = parent;
	a.pgtable_format = format;
	a.user_pgd = pgd;
	return io(fd, IOMMU_IOASID_ALLOC, &a);
}

/* A kernel-managed IOASID. */
static inline long do_alloc(int fd)
{
	return do_alloc_arg(fd, 0, 0, 0, 0);
}

/* The same with extra attribute flags, e.g. ENFORCE_SNOOP. */
static inline long do_alloc_flags(int fd, __u32 flags)
{
	return do_alloc_arg(fd, flags, 0, 0, 0);
}

/* A user-managed child of parent whose x86-64 root table is at IOVA pgd. */
static inline long do_alloc_nested(int fd, __u32 parent, __u64 pgd)
{
	return do_alloc_arg(fd, IOMMU_IOASID_USER_PGTABLE, parent,
			    IOMMU_PGTABLE_FORMAT_X86_64, pgd);
}

static inline long do_free(int fd, __u32 ioasid)
{
	struct iommu_ioasid_free f = free_arg(ioasid);

	return io(fd, IOMMU_IOASID_FREE, &f);
}

static inline long do_map(int fd, __u32 ioasid, const void *vaddr, __u64 iova,
			  __u64 size, __u32 prot)
{
	struct iommu_map_dma m = map_arg(ioasid, vaddr, iova, size, prot);

	return io(fd, IOMMU_MAP_DMA, &m);
}

/* Unmap [iova, iova+size); *unmapped (if not NULL) gets the size written back. */
static inline long do_unmap_size(int fd, __u32 ioasid, __u64 iova, __u64 size,
				 __u64 *unmapped)
{
	struct iommu_unmap_dma u = unmap_arg(ioasid, iova, size);
	long r = io(fd, IOMMU_UNMAP_DMA, &u);

	if (unmapped)
		*unmapped = u.size;
	return r;
}

static inline long do_unmap(int fd, __u32 ioasid, __u64 iova, __u64 size)
{
	return do_unmap_size(fd, ioasid, iova, size, NULL);
}

static inline long do_invalidate(int fd, __u32 ioasid, __u32 gran, __u32 cache,
				 __u32 pasid, __u64 addr, __u64 size)
{
	struct iommu_invalidate_cache inv;

	memset(&inv, 0, sizeof(inv));
	inv.argsz = sizeof(inv);
	inv.ioasid = ioasid;
	inv.granularity = gran;
	inv.cache = cache;
	inv.pasid = pasid;
	inv.addr = addr;
	inv.size = size;
	return io(fd, IOMMU_INVALIDATE_CACHE, &inv);
}

/* ---------------------------------------------------------------------------
 * Devices
 * ------------------------------------------------------------------------- */

static inline long do_bind(int fd, const char *name, __u64 cookie)
{
	struct iommu_device_bind b;

	memset(&b, 0, sizeof(b));
	b.argsz = sizeof(b);
	strncpy(b.name, name, sizeof(b.name) - 1);
	b.cookie = cookie;
	return io(fd, IOMMU_DEVICE_BIND, &b);
}

static inline long do_unbind(int fd, __u64 cookie)
{
	struct iommu_device_unbind u;

	memset(&u, 0, sizeof(u));
	u.argsz = sizeof(u);
	u.cookie = cookie;
	return io(fd, IOMMU_DEVICE_UNBIND, &u);
}

static inline long do_attach(int fd, __u64 cookie, __u32 ioasid, long pasid)
{
	struct iommu_device_attach a;

	memset(&a, 0, sizeof(a));
	a.argsz = sizeof(a);
	a.cookie = cookie;
	a.ioasid = ioasid;
	if (pasid != NO_PASID) {
		a.flags = IOMMU_ATTACH_PASID;
		a.pasid = (__u32)pasid;
	}
	return io(fd, IOMMU_DEVICE_ATTACH, &a);
}

static inline long do_detach(int fd, __u64 cookie, long pasid)
{
	struct iommu_device_detach d;

	memset(&d, 0, sizeof(d));
	d.argsz = sizeof(d);
	d.cookie = cookie;
	if (pasid != NO_PASID) {
		d.flags = IOMMU_ATTACH_PASID;
		d.pasid = (__u32)pasid;
	}
	return io(fd, IOMMU_DEVICE_DETACH, &d);
}

/*
 * SIM_DMA's struct: the device `cookie` does DMA on [iova, iova+len) from/to
 * data.  The outputs the daemon must write are poisoned, so a test sees one
 * it left alone.
 */
static inline void dma_arg(struct iommu_sim_dma *d, __u64 cookie, __u64 iova,
			   void *data, __u64 len, int write, long pasid)
{
	memset(d, 0, sizeof(*d));
	d->argsz = sizeof(*d);
	d->flags = write ? IOMMU_SIM_DMA_WRITE : 0;
	if (pasid != NO_PASID) {
		d->flags |= IOMMU_SIM_DMA_PASID;
		d->pasid = (__u32)pasid;
	}
	d->cookie = cookie;
	d->iova = iova;
	d->length = len;
	d->data = (__u64)(unsigned long)data;
	d->status = 0xeeeeeeeeu;
	d->bytes_done = 0xeeeeeeeeeeeeeeeeULL;
	d->fault_reason = 0xeeeeeeeeu;
	d->fault_flags = 0xeeeeeeeeu;
	d->dma_id = 0xeeeeeeeeeeeeeeeeULL;
}

/* The device `cookie` does DMA (dma_arg()); *d gets the outputs. */
static inline long do_dma(int fd, __u64 cookie, __u64 iova, void *data,
			  __u64 len, int write, long pasid,
			  struct iommu_sim_dma *d)
{
	dma_arg(d, cookie, iova, data, len, write, pasid);
	return io(fd, IOMMU_SIM_DMA, d);
}

/* ---------------------------------------------------------------------------
 * Device information
 * ------------------------------------------------------------------------- */

/*
 * Capability `id` of the bound device `cookie` (GET_INFO with a buffer of
 * IOMMU_ARGSZ_MAX bytes, the chain walked from cap_offset): its first `size`
 * bytes are copied to out.  0, -ENOENT if the chain has no such capability,
 * -EIO if the chain is malformed, or GET_INFO's -errno.
 */
static inline long do_get_cap(int fd, __u64 cookie, __u16 id, void *out, size_t size)
{
	union {
		struct iommu_device_info info;
		unsigned char b[IOMMU_ARGSZ_MAX];
	} u;
	__u32 at, hops = 0;
	long r;

	memset(&u, 0, sizeof(u));
	u.info.argsz = sizeof(u);
	u.info.cookie = cookie;
	r = io(fd, IOMMU_DEVICE_GET_INFO, &u);
	if (r < 0)
		return r;
	for (at = u.info.cap_offset; at != 0; hops++) {
		struct iommu_info_cap_header h;

		if (hops > 64 || at < sizeof(u.info) || at + sizeof(h) > sizeof(u))
			return -EIO;
		memcpy(&h, u.b + at, sizeof(h));
		if (h.id == id) {
			if (at + size > sizeof(u))
				return -EIO;
			memcpy(out, u.b + at, size);
			return 0;
		}
		at = h.next;
	}
	return -ENOENT;
}

/* ---------------------------------------------------------------------------
 * Faults: consumers, the eventfd, page responses, injection, stalled DMAs
 * ------------------------------------------------------------------------- */

#define IOPF	IOMMU_MAP_DMA_IOPF	/* a MAP_DMA flag beside RW and RO */

/* SIM_DMA_STATUS of a PENDING DMA; outputs poisoned first, as in do_dma(). */
static inline long dma_status(int fd, __u64 dma_id, struct iommu_sim_dma_status *s)
{
	memset(s, 0, sizeof(*s));
	s->argsz = sizeof(*s);
	s->dma_id = dma_id;
	s->status = 0xeeeeeeeeu;
	s->bytes_done = 0xeeeeeeeeeeeeeeeeULL;
	return io(fd, IOMMU_SIM_DMA_STATUS, s);
}

/* DEVICE_FAULT_REGISTER or _UNREGISTER (cmd) of the device `cookie`. */
static inline long fault_reg(int fd, unsigned long cmd, __u64 cookie)
{
	struct iommu_device_fault f;

	memset(&f, 0, sizeof(f));
	f.argsz = sizeof(f);
	f.cookie = cookie;
	return io(fd, cmd, &f);
}

#define do_register(fd, cookie)		fault_reg(fd, IOMMU_DEVICE_FAULT_REGISTER, cookie)
#define do_unregister(fd, cookie)	fault_reg(fd, IOMMU_DEVICE_FAULT_UNREGISTER, cookie)

static inline long set_eventfd(int fd, int efd)
{
	struct iommu_fault_eventfd e;

	memset(&e, 0, sizeof(e));
	e.argsz = sizeof(e);
	e.fd = efd;
	return io(fd, IOMMU_FAULT_SET_EVENTFD, &e);
}

static inline long respond(int fd, __u64 cookie, __u32 grpid, __u32 code)
{
	struct iommu_page_response r;

	memset(&r, 0, sizeof(r));
	r.argsz = sizeof(r);
	r.cookie = cookie;
	r.grpid = grpid;
	r.code = code;
	return io(fd, IOMMU_PAGE_RESPONSE, &r);
}

/* FAULT_REGION_INFO: flags SET_DEPTH / SET_TIMEOUT apply depth / timeout_ms. */
static inline long region_info(int fd, __u32 flags, __u32 depth, __u32 timeout_ms,
			       struct iommu_fault_region_info *i)
{
	memset(i, 0, sizeof(*i));
	i->argsz = sizeof(*i);
	i->flags = flags;
	i->depth = depth;
	i->timeout_ms = timeout_ms;
	return io(fd, IOMMU_FAULT_REGION_INFO, i);
}

static inline long inject(int fd, __u32 flags, __u64 cookie, __u32 rid, __u32 pasid,
			  __u64 addr, __u32 perm, __u32 reason)
{
	struct iommu_sim_inject_fault f;

	memset(&f, 0, sizeof(f));
	f.argsz = sizeof(f);
	f.flags = flags;
	f.cookie = cookie;
	f.rid = rid;
	f.pasid = pasid;
	f.addr = addr;
	f.perm = perm;
	f.reason = reason;
	return io(fd, IOMMU_SIM_INJECT_FAULT, &f);
}

/* An unrecoverable fault of the bound device `cookie` (reason NOT_MAPPED). */
static inline long inject_simple(int fd, __u64 cookie, __u64 addr, __u32 perm)
{
	return inject(fd, 0, cookie, 0, 0, addr, perm, 0);
}

/* ---------------------------------------------------------------------------
 * Statistics
 * ------------------------------------------------------------------------- */

/* This context's counters (GET_STATS). */
static inline long ctx_stats(int fd, struct iommu_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->argsz = sizeof(*s);
	return io(fd, IOMMU_GET_STATS, s);
}

/* The whole daemon's counters, across all contexts (SIM_DAEMON_STATS). */
static inline long daemon_stats(int fd, struct iommu_sim_daemon_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->argsz = sizeof(*s);
	return io(fd, IOMMU_SIM_DAEMON_STATS, s);
}

#endif /* VM_IOCTLS_H */
