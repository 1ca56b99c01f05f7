/*
 * vm_device_tests.c - end-to-end tests of the device model of /dev/iommu
 * through the real kernel CUSE path (tier 3): bind and group rules, the
 * GET_INFO capability chain, attach per RID / PASID / mdev, DMA into this
 * process's own memory, nesting through a stage-1 table this process builds,
 * IOTLB staleness, RLIMIT_MEMLOCK accounting, reclaim of a dead client and
 * dirty tracking.
 * Runs inside the QEMU guest (scripts/vm/tier3.sh) after vm_tests, as an
 * ordinary client: it includes only the uAPI header and libc.  It assumes the
 * daemon's default topology (docs/topology.md) and that it is the daemon's
 * only client.
 *
 * Output: one line per test, "PASS name" or "FAIL name: reason", then
 * "N passed, M failed" (vm_harness.h).  Exit status 0 only if nothing failed.
 * Usage: vm_device_tests [DEVICE]   (default /dev/iommu)
 */
#define _DEFAULT_SOURCE		/* mmap flags, nanosleep, syscall */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "cuse-iommu.h"
#include "vm_ioctls.h"
#include "vm_harness.h"

#define IOVA_BASE	0x100000ULL

/* The default topology (docs/topology.md). */
#define MSI_START	0xfee00000ULL
#define MSI_LAST	0xfeefffffULL
#define BRIDGE_START	0xe0000000ULL	/* iommu1's host-bridge window */
#define BRIDGE_LAST	0xefffffffULL
#define IOMMU0_LAST	((1ULL << 48) - 1)
#define IOMMU1_LAST	((1ULL << 39) - 1)
/* iommu0 has snoop control and dirty tracking; iommu1 neither. */
#define DIRTY		IOMMU_DEVICE_INFO_DIRTY_TRACKING
#define SNOOP_DIRTY	(IOMMU_DEVICE_INFO_ENFORCE_SNOOP | DIRTY)

/* ---------------------------------------------------------------------------
 * Helpers of this file (the shared ones are in vm_ioctls.h)
 * ------------------------------------------------------------------------- */

static long do_pin(int fd, unsigned long cmd, __u64 cookie, __u64 iova,
		   __u32 npages, __u32 flags)
{
	struct iommu_sim_mdev_pin p;

	memset(&p, 0, sizeof(p));
	p.argsz = sizeof(p);
	p.flags = flags;
	p.cookie = cookie;
	p.iova = iova;
	p.npages = npages;
	return io(fd, cmd, &p);
}

/* ---------------------------------------------------------------------------
 * DMA results
 * ------------------------------------------------------------------------- */

static const char *reason_name(__u32 r)
{
	static char other[32];

	switch (r) {
	case IOMMU_FAULT_REASON_BLOCKED:	return "BLOCKED";
	case IOMMU_FAULT_REASON_NOT_MAPPED:	return "NOT_MAPPED";
	case IOMMU_FAULT_REASON_PERMISSION:	return "PERMISSION";
	case IOMMU_FAULT_REASON_RESERVED:	return "RESERVED";
	case IOMMU_FAULT_REASON_ADDR_SIZE:	return "ADDR_SIZE";
	}
	snprintf(other, sizeof(other), "reason %u", r);
	return other;
}

static const char *fflags_str(__u32 f)
{
	static char str[4][64];
	static int i;

	i = (i + 1) % 4;
	snprintf(str[i], sizeof(str[i]), "%s%s%s%s",
		 f & IOMMU_FAULT_WRITE ? "WRITE|" : "",
		 f & IOMMU_FAULT_STAGE1 ? "STAGE1|" : "",
		 f & IOMMU_FAULT_STAGE2 ? "STAGE2|" : "",
		 f & ~(IOMMU_FAULT_WRITE | IOMMU_FAULT_STAGE1 | IOMMU_FAULT_STAGE2) ?
		 "other|" : "");
	if (str[i][0])
		str[i][strlen(str[i]) - 1] = '\0';
	else
		strcpy(str[i], "0");
	return str[i];
}

static const char *dma_str(const struct iommu_sim_dma *d)
{
	static char s[160];

	if (d->status == IOMMU_SIM_DMA_OK)
		snprintf(s, sizeof(s), "OK, bytes_done %llu",
			 (unsigned long long)d->bytes_done);
	else if (d->status == IOMMU_SIM_DMA_FAULT || d->status == IOMMU_SIM_DMA_ABORTED)
		snprintf(s, sizeof(s), "%s %s flags %s at 0x%llx, bytes_done %llu",
			 d->status == IOMMU_SIM_DMA_FAULT ? "FAULT" : "ABORTED",
			 reason_name(d->fault_reason), fflags_str(d->fault_flags),
			 (unsigned long long)d->fault_addr,
			 (unsigned long long)d->bytes_done);
	else
		snprintf(s, sizeof(s), "status %u", d->status);
	return s;
}

/* A DMA that must complete: all len bytes moved. */
static int dma_ok(int line, const char *what, int fd, __u64 cookie, __u64 iova,
		  void *data, __u64 len, int write, long pasid)
{
	struct iommu_sim_dma d;
	long r = do_dma(fd, cookie, iova, data, len, write, pasid, &d);

	if (r != 0) {
		failf(line, "%s: SIM_DMA expected success, got %s", what, resname(r));
		return -1;
	}
	if (d.status != IOMMU_SIM_DMA_OK || d.bytes_done != len) {
		failf(line, "%s: expected OK with %llu bytes, got %s", what,
		      (unsigned long long)len, dma_str(&d));
		return -1;
	}
	return 0;
}

/* A DMA that must stop at a translation fault (the ioctl itself succeeds):
 * status FAULT, or ABORTED for a page request nobody takes (answered INVALID). */
static int dma_fault(int line, const char *what, int fd, __u64 cookie, __u64 iova,
		     void *data, __u64 len, int write, long pasid, __u32 status, __u32 reason,
		     __u32 fflags, __u64 done, __u64 addr)
{
	struct iommu_sim_dma d;
	long r = do_dma(fd, cookie, iova, data, len, write, pasid, &d);

	if (r != 0) {
		failf(line, "%s: SIM_DMA expected success (a fault is a result), got %s",
		      what, resname(r));
		return -1;
	}
	if (d.status != status || d.fault_reason != reason ||
	    d.fault_flags != fflags || d.bytes_done != done || d.fault_addr != addr) {
		failf(line, "%s: expected %s %s flags %s at 0x%llx, bytes_done %llu;"
		      " got %s", what, status == IOMMU_SIM_DMA_FAULT ? "FAULT" : "ABORTED",
		      reason_name(reason), fflags_str(fflags),
		      (unsigned long long)addr, (unsigned long long)done, dma_str(&d));
		return -1;
	}
	return 0;
}

#define DMA_OK(what, fd, cookie, iova, data, len, write, pasid) \
	TRY(dma_ok(__LINE__, what, fd, cookie, iova, data, len, write, pasid))
#define DMA_FAULT(what, fd, cookie, iova, data, len, write, pasid, reason, ff, done, addr) \
	TRY(dma_fault(__LINE__, what, fd, cookie, iova, data, len, write, pasid, \
		      IOMMU_SIM_DMA_FAULT, reason, ff, done, addr))
/* accel0 is PRI-capable behind an IOPF IOMMU: its misses are page requests,
 * answered INVALID at once when the device has no fault consumer. */
#define DMA_ABORTED(what, fd, cookie, iova, data, len, write, pasid, reason, ff, done, addr) \
	TRY(dma_fault(__LINE__, what, fd, cookie, iova, data, len, write, pasid, \
		      IOMMU_SIM_DMA_ABORTED, reason, ff, done, addr))

/* ---------------------------------------------------------------------------
 * The tests.  Each gets two fresh contexts (struct ctx, vm_harness.h), which
 * the runner closes afterwards whatever happened: closing unbinds and frees
 * everything, so a test need not clean up after itself.
 * ------------------------------------------------------------------------- */

/* 1. Bind ------------------------------------------------------------------ */

static int t_bind_names_cookies(struct ctx *c)
{
	struct iommu_device_bind b;

	CHECK_ERR("bind \"nosuch\"", do_bind(c->a, "nosuch", 1), ENODEV);
	CHECK_ERR("bind \"\" (empty name)", do_bind(c->a, "", 1), ENODEV);
	CHECK_ERR("bind \"nic\" (a prefix of nic0)", do_bind(c->a, "nic", 1), ENODEV);
	memset(&b, 0, sizeof(b));
	b.argsz = sizeof(b);
	memset(b.name, 'n', sizeof(b.name));	/* no NUL */
	CHECK_ERR("bind with an unterminated name", io(c->a, IOMMU_DEVICE_BIND, &b), EINVAL);
	CHECK_OK("bind nic0 cookie 100", do_bind(c->a, "nic0", 100));
	CHECK_ERR("bind accel0 cookie 100 (cookie taken)", do_bind(c->a, "accel0", 100), EEXIST);
	CHECK_ERR("bind nic0 cookie 101 (bound here already)", do_bind(c->a, "nic0", 101), EBUSY);
	CHECK_OK("bind accel0 cookie 101", do_bind(c->a, "accel0", 101));
	return 0;
}

static int t_bind_elsewhere(struct ctx *c)
{
	struct iommu_stats s;

	CHECK_OK("A binds nic0", do_bind(c->a, "nic0", 1));
	CHECK_ERR("B binds nic0 (bound in A)", do_bind(c->b, "nic0", 2), EBUSY);
	CHECK_OK("B binds accel0 with A's cookie 1 (cookies are per context)",
		 do_bind(c->b, "accel0", 1));
	CHECK_OK("GET_STATS on B", ctx_stats(c->b, &s));
	CHECK(s.devices == 1, "B has %u devices, expected 1 (the failed bind added one?)",
	      s.devices);
	CHECK_ERR("B unbinds cookie 2 (its bind failed)", do_unbind(c->b, 2), ENOENT);
	CHECK_OK("A unbinds nic0", do_unbind(c->a, 1));
	CHECK_OK("B binds nic0 now", do_bind(c->b, "nic0", 2));
	CHECK_ERR("A binds nic0 (now bound in B)", do_bind(c->a, "nic0", 1), EBUSY);
	return 0;
}

static int t_bind_group(struct ctx *c)
{
	CHECK_OK("A binds nic1", do_bind(c->a, "nic1", 1));
	CHECK_ERR("B binds nic2 (its group belongs to A)", do_bind(c->b, "nic2", 2), EBUSY);
	CHECK_OK("A binds nic2 (same group, same context)", do_bind(c->a, "nic2", 2));
	CHECK_OK("A unbinds nic1", do_unbind(c->a, 1));
	CHECK_ERR("B binds nic1 (the group is still A's, through nic2)",
		  do_bind(c->b, "nic1", 1), EBUSY);
	CHECK_OK("B binds nic0 (another group)", do_bind(c->b, "nic0", 3));
	CHECK_OK("A unbinds nic2", do_unbind(c->a, 2));
	CHECK_OK("B binds nic1 (the claim ended with A's last device)",
		 do_bind(c->b, "nic1", 1));
	CHECK_ERR("A binds nic2 (the group is B's now)", do_bind(c->a, "nic2", 2), EBUSY);
	return 0;
}

static int t_bind_mdev_parent(struct ctx *c)
{
	CHECK_OK("A binds mdev0", do_bind(c->a, "mdev0", 1));
	CHECK_OK("B binds mdev1 (a sibling, another context)", do_bind(c->b, "mdev1", 2));
	CHECK_ERR("A binds gpu0 (its mdevs are bound)", do_bind(c->a, "gpu0", 3), EBUSY);
	CHECK_ERR("B binds gpu0 (its mdevs are bound)", do_bind(c->b, "gpu0", 3), EBUSY);
	CHECK_OK("A binds vmdev0 (software mdev of the same parent)", do_bind(c->a, "vmdev0", 4));
	CHECK_OK("A unbinds mdev0", do_unbind(c->a, 1));
	CHECK_ERR("A binds gpu0 (mdev1 and vmdev0 still bound)", do_bind(c->a, "gpu0", 3), EBUSY);
	CHECK_OK("B unbinds mdev1", do_unbind(c->b, 2));
	CHECK_ERR("A binds gpu0 (vmdev0 still bound)", do_bind(c->a, "gpu0", 3), EBUSY);
	CHECK_OK("A unbinds vmdev0", do_unbind(c->a, 4));
	CHECK_OK("A binds gpu0 (no mdev bound)", do_bind(c->a, "gpu0", 3));
	CHECK_ERR("A binds mdev0 (the parent is assigned whole)", do_bind(c->a, "mdev0", 1), EBUSY);
	CHECK_ERR("B binds mdev1 (the parent is assigned whole)", do_bind(c->b, "mdev1", 2), EBUSY);
	CHECK_ERR("B binds vmdev0 (the parent is assigned whole)", do_bind(c->b, "vmdev0", 4), EBUSY);
	return 0;
}

static int t_unbind_twice(struct ctx *c)
{
	struct iommu_stats s;

	CHECK_ERR("unbind a cookie never bound", do_unbind(c->a, 42), ENOENT);
	CHECK_OK("bind accel0", do_bind(c->a, "accel0", 42));
	CHECK_ERR("B unbinds A's cookie", do_unbind(c->b, 42), ENOENT);
	CHECK_OK("unbind", do_unbind(c->a, 42));
	CHECK_ERR("unbind again", do_unbind(c->a, 42), ENOENT);
	CHECK_ERR("and again", do_unbind(c->a, 42), ENOENT);
	CHECK_OK("GET_STATS", ctx_stats(c->a, &s));
	CHECK(s.devices == 0, "%u devices after unbind, expected 0", s.devices);
	CHECK_OK("B binds accel0 (free again)", do_bind(c->b, "accel0", 42));
	return 0;
}

/* 2. GET_INFO -------------------------------------------------------------- */

/* Sizes of the whole answer for the default topology (docs/topology.md). */
#define INFO_SIZE_IOMMU0	160
#define INFO_SIZE_IOMMU0_PRI	(INFO_SIZE_IOMMU0 + sizeof(struct iommu_info_cap_pri))
#define INFO_SIZE_IOMMU1	200
#define INFO_SIZE_SW_MDEV	72

static const char *info_flags_str(__u32 f)
{
	static char str[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(str[i], sizeof(str[i]), "0x%x(%s%s%s%s%s%s%s)", f,
		 f & IOMMU_DEVICE_INFO_MDEV ? "MDEV " : "",
		 f & IOMMU_DEVICE_INFO_SW_MDEV ? "SW_MDEV " : "",
		 f & IOMMU_DEVICE_INFO_PASID ? "PASID " : "",
		 f & IOMMU_DEVICE_INFO_PRI ? "PRI " : "",
		 f & IOMMU_DEVICE_INFO_ENFORCE_SNOOP ? "ENFORCE_SNOOP " : "",
		 f & IOMMU_DEVICE_INFO_CAPS ? "CAPS " : "",
		 f & IOMMU_DEVICE_INFO_DIRTY_TRACKING ? "DIRTY_TRACKING " : "");
	return str[i];
}

/* The answer with room for everything, its capabilities found by id. */
struct info {
	union {
		__u64 align;
		unsigned char b[IOMMU_ARGSZ_MAX];
	} buf;
	struct iommu_device_info head;
	__u32 cap_at[7];	/* offset of the capability with that id, 0: absent */
	int ncaps;
};

static struct info info;

/*
 * GET_INFO of `cookie` with the largest buffer; the bytes past the struct
 * are garbage on the way in (they are output space).  Walks the chain: every
 * capability inside the answer, 8-byte aligned, each id once, in ascending
 * order of id, version 1, its trailing array inside the answer too.
 */
static int get_info(int line, int fd, __u64 cookie)
{
	struct iommu_device_info *in = (void *)info.buf.b;
	__u32 at, prev = 0;
	long r;

	memset(&info, 0xa5, sizeof(info));
	memset(info.cap_at, 0, sizeof(info.cap_at));
	info.ncaps = 0;
	memset(in, 0, sizeof(*in));
	in->argsz = IOMMU_ARGSZ_MAX;
	in->cookie = cookie;
	r = io(fd, IOMMU_DEVICE_GET_INFO, in);
	if (r != 0) {
		failf(line, "GET_INFO(cookie %llu, argsz %u): expected success, got %s",
		      (unsigned long long)cookie, IOMMU_ARGSZ_MAX, resname(r));
		return -1;
	}
	memcpy(&info.head, info.buf.b, sizeof(info.head));
	CHECK_LINE(info.head.argsz > sizeof(info.head) && info.head.argsz <= IOMMU_ARGSZ_MAX,
		   "GET_INFO returned argsz %u", info.head.argsz);
	CHECK_LINE(info.head.cookie == cookie, "GET_INFO returned cookie %llu, expected %llu",
		   (unsigned long long)info.head.cookie, (unsigned long long)cookie);
	CHECK_LINE(info.head.flags & IOMMU_DEVICE_INFO_CAPS,
		   "a %u-byte buffer for a %u-byte answer: no CAPS flag (flags %s)",
		   IOMMU_ARGSZ_MAX, info.head.argsz, info_flags_str(info.head.flags));
	CHECK_LINE(info.head.cap_offset == sizeof(info.head),
		   "cap_offset %u, expected %zu (right after the struct)",
		   info.head.cap_offset, sizeof(info.head));
	for (at = info.head.cap_offset; at != 0; ) {
		struct iommu_info_cap_header h;
		size_t size = 0, elem = 0;
		__u32 n = 0;

		CHECK_LINE(info.ncaps < 6, "more than 6 capabilities (a loop?), at offset %u", at);
		CHECK_LINE(at >= sizeof(info.head) && at % 8 == 0 &&
			   at + sizeof(h) <= info.head.argsz,
			   "capability at offset %u: outside the %u-byte answer or misaligned",
			   at, info.head.argsz);
		memcpy(&h, info.buf.b + at, sizeof(h));
		CHECK_LINE(h.id >= 1 && h.id <= 6, "capability at %u has unknown id %u", at, h.id);
		CHECK_LINE(h.id > prev, "capability id %u at %u after id %u (duplicate or out of order)",
			   h.id, at, prev);
		CHECK_LINE(h.version == 1, "capability %u has version %u", h.id, h.version);
		switch (h.id) {
		case IOMMU_DEVICE_INFO_CAP_PAGE_SIZES:
			size = sizeof(struct iommu_info_cap_page_sizes);
			break;
		case IOMMU_DEVICE_INFO_CAP_IOVA_RANGES:
			size = sizeof(struct iommu_info_cap_iova_ranges);
			elem = sizeof(struct iommu_iova_range);
			break;
		case IOMMU_DEVICE_INFO_CAP_RESV_REGIONS:
			size = sizeof(struct iommu_info_cap_resv_regions);
			elem = sizeof(struct iommu_resv_region);
			break;
		case IOMMU_DEVICE_INFO_CAP_NESTING:
			size = sizeof(struct iommu_info_cap_nesting);
			break;
		case IOMMU_DEVICE_INFO_CAP_PASID:
			size = sizeof(struct iommu_info_cap_pasid);
			break;
		case IOMMU_DEVICE_INFO_CAP_PRI:
			size = sizeof(struct iommu_info_cap_pri);
			break;
		}
		if (elem) {	/* nr_ranges / nr_regions follows the header */
			CHECK_LINE(at + size <= info.head.argsz, "capability %u runs past the answer", h.id);
			memcpy(&n, info.buf.b + at + sizeof(h), sizeof(n));
		}
		CHECK_LINE(at + size + (size_t)n * elem <= info.head.argsz,
			   "capability %u (%u entries) at %u runs past the %u-byte answer",
			   h.id, n, at, info.head.argsz);
		CHECK_LINE(h.next == 0 || h.next >= at + size + (size_t)n * elem,
			   "capability %u at %u: next %u overlaps it", h.id, at, h.next);
		info.cap_at[h.id] = at;
		info.ncaps++;
		prev = h.id;
		at = h.next;
	}
	return 0;
}

#define GET_INFO(fd, cookie) TRY(get_info(__LINE__, fd, cookie))

/* Copies capability `id` out of the last answer (it must be there). */
static int cap(int line, __u16 id, void *out, size_t size)
{
	if (!info.cap_at[id]) {
		failf(line, "capability %u missing from the chain", id);
		return -1;
	}
	memcpy(out, info.buf.b + info.cap_at[id], size);
	return 0;
}

#define CAP(id, out) TRY(cap(__LINE__, id, out, sizeof(*(out))))

/* Entry i of the array after capability `id`. */
static void cap_elem(__u16 id, size_t head, size_t i, void *out, size_t size)
{
	memcpy(out, info.buf.b + info.cap_at[id] + head + i * size, size);
}

struct range {
	__u64 start, last;
	__u32 type;
};

/* IOVA_RANGES is exactly `want`; with msi_free, none overlaps the MSI window. */
static int check_ranges(int line, const struct range *want, __u32 nwant, int msi_free)
{
	struct iommu_info_cap_iova_ranges rc;
	struct iommu_iova_range r;
	__u32 i;

	TRY(cap(line, IOMMU_DEVICE_INFO_CAP_IOVA_RANGES, &rc, sizeof(rc)));
	CHECK_LINE(rc.nr_ranges == nwant, "IOVA_RANGES has %u ranges, expected %u",
		   rc.nr_ranges, nwant);
	for (i = 0; i < nwant; i++) {
		cap_elem(IOMMU_DEVICE_INFO_CAP_IOVA_RANGES, sizeof(rc), i, &r, sizeof(r));
		CHECK_LINE(r.start == want[i].start && r.last == want[i].last,
			   "IOVA range %u is [0x%llx, 0x%llx], expected [0x%llx, 0x%llx]", i,
			   (unsigned long long)r.start, (unsigned long long)r.last,
			   (unsigned long long)want[i].start, (unsigned long long)want[i].last);
		CHECK_LINE(!msi_free || !(r.start <= MSI_LAST && MSI_START <= r.last),
			   "IOVA range %u [0x%llx, 0x%llx] overlaps the MSI window", i,
			   (unsigned long long)r.start, (unsigned long long)r.last);
	}
	return 0;
}

static int check_resv(int line, const struct range *want, __u32 nwant)
{
	struct iommu_info_cap_resv_regions rc;
	struct iommu_resv_region r;
	__u32 i;

	TRY(cap(line, IOMMU_DEVICE_INFO_CAP_RESV_REGIONS, &rc, sizeof(rc)));
	CHECK_LINE(rc.nr_regions == nwant, "RESV_REGIONS has %u regions, expected %u",
		   rc.nr_regions, nwant);
	for (i = 0; i < nwant; i++) {
		cap_elem(IOMMU_DEVICE_INFO_CAP_RESV_REGIONS, sizeof(rc), i, &r, sizeof(r));
		CHECK_LINE(r.start == want[i].start && r.last == want[i].last &&
			   r.type == want[i].type,
			   "reserved region %u is [0x%llx, 0x%llx] type %u, expected"
			   " [0x%llx, 0x%llx] type %u", i,
			   (unsigned long long)r.start, (unsigned long long)r.last, r.type,
			   (unsigned long long)want[i].start, (unsigned long long)want[i].last,
			   want[i].type);
	}
	return 0;
}

#define CHECK_RANGES(want) TRY(check_ranges(__LINE__, want, sizeof(want) / sizeof(want[0]), 1))
#define CHECK_RESV(want) TRY(check_resv(__LINE__, want, sizeof(want) / sizeof(want[0])))

static const struct range iommu0_ranges[] = {
	{ 0, MSI_START - 1, 0 }, { MSI_LAST + 1, IOMMU0_LAST, 0 },
};
static const struct range iommu0_resv[] = {
	{ MSI_START, MSI_LAST, IOMMU_RESV_MSI },
};
static const struct range iommu1_ranges[] = {
	{ 0, BRIDGE_START - 1, 0 }, { BRIDGE_LAST + 1, MSI_START - 1, 0 },
	{ MSI_LAST + 1, IOMMU1_LAST, 0 },
};
static const struct range iommu1_resv[] = {
	{ BRIDGE_START, BRIDGE_LAST, IOMMU_RESV_RESERVED },
	{ MSI_START, MSI_LAST, IOMMU_RESV_MSI },
};
static const struct range sw_mdev_ranges[] = {
	{ 0, IOMMU0_LAST, 0 },
};

static int t_info_too_small(struct ctx *c)
{
	struct { struct iommu_device_info i; unsigned char tail[8]; } small;

	CHECK_OK("bind accel0", do_bind(c->a, "accel0", 9));
	memset(&small, 0x5c, sizeof(small));
	small.i.argsz = sizeof(small.i);
	small.i.flags = 0;
	small.i.cookie = 9;
	small.i.__reserved = 0;
	CHECK_OK("GET_INFO argsz 24", io(c->a, IOMMU_DEVICE_GET_INFO, &small.i));
	CHECK(small.i.argsz == INFO_SIZE_IOMMU0_PRI,
	      "argsz came back %u, expected %u (the whole answer's size)",
	      small.i.argsz, (unsigned)INFO_SIZE_IOMMU0_PRI);
	CHECK(small.i.cap_offset == 0, "cap_offset %u with a too-small buffer, expected 0",
	      small.i.cap_offset);
	CHECK(small.i.cookie == 9, "cookie came back %llu", (unsigned long long)small.i.cookie);
	CHECK(small.i.flags == (IOMMU_DEVICE_INFO_PASID | IOMMU_DEVICE_INFO_PRI |
				IOMMU_DEVICE_INFO_ENFORCE_SNOOP | DIRTY),
	      "flags %s, expected PASID|PRI|ENFORCE_SNOOP|DIRTY_TRACKING and no CAPS",
	      info_flags_str(small.i.flags));
	CHECK(small.tail[0] == 0x5c && small.tail[7] == 0x5c,
	      "bytes past argsz were written (0x%02x)", small.tail[0]);

	/* One byte short of the answer is still too small. */
	{
		union { __u64 align; unsigned char b[INFO_SIZE_IOMMU0_PRI]; } u;
		struct iommu_device_info i;

		memset(&u, 0, sizeof(u));
		memset(&i, 0, sizeof(i));
		i.argsz = INFO_SIZE_IOMMU0_PRI - 1;
		i.cookie = 9;
		memcpy(u.b, &i, sizeof(i));
		CHECK_OK("GET_INFO argsz 183", io(c->a, IOMMU_DEVICE_GET_INFO, u.b));
		memcpy(&i, u.b, sizeof(i));
		CHECK(i.argsz == INFO_SIZE_IOMMU0_PRI && i.cap_offset == 0 &&
		      !(i.flags & IOMMU_DEVICE_INFO_CAPS),
		      "argsz 183: came back argsz %u cap_offset %u flags %s", i.argsz,
		      i.cap_offset, info_flags_str(i.flags));
		/* Exactly the answer's size is enough. */
		memset(&u, 0, sizeof(u));
		memset(&i, 0, sizeof(i));
		i.argsz = INFO_SIZE_IOMMU0_PRI;
		i.cookie = 9;
		memcpy(u.b, &i, sizeof(i));
		CHECK_OK("GET_INFO argsz 184", io(c->a, IOMMU_DEVICE_GET_INFO, u.b));
		memcpy(&i, u.b, sizeof(i));
		CHECK(i.argsz == INFO_SIZE_IOMMU0_PRI && i.cap_offset == sizeof(i) &&
		      (i.flags & IOMMU_DEVICE_INFO_CAPS),
		      "argsz 184: came back argsz %u cap_offset %u flags %s", i.argsz,
		      i.cap_offset, info_flags_str(i.flags));
	}

	small.i.argsz = 8;
	CHECK_ERR("GET_INFO argsz 8 (below the minimum)",
		  io(c->a, IOMMU_DEVICE_GET_INFO, &small.i), EINVAL);
	small.i.argsz = sizeof(small.i);
	small.i.flags = 0;
	small.i.cookie = 10;
	CHECK_ERR("GET_INFO of an unbound cookie", io(c->a, IOMMU_DEVICE_GET_INFO, &small.i), ENOENT);
	small.i.cookie = 9;
	CHECK_ERR("GET_INFO of A's cookie from B", io(c->b, IOMMU_DEVICE_GET_INFO, &small.i), ENOENT);
	return 0;
}

static int t_info_nic0(struct ctx *c)
{
	struct iommu_info_cap_page_sizes ps;
	struct iommu_info_cap_nesting nest;
	struct iommu_info_cap_pasid pasid;

	CHECK_OK("bind nic0", do_bind(c->a, "nic0", 0x1234567890ULL));
	GET_INFO(c->a, 0x1234567890ULL);
	CHECK(info.head.argsz == INFO_SIZE_IOMMU0, "argsz %u, expected %u",
	      info.head.argsz, INFO_SIZE_IOMMU0);
	CHECK(info.head.flags == (IOMMU_DEVICE_INFO_ENFORCE_SNOOP | DIRTY | IOMMU_DEVICE_INFO_CAPS),
	      "flags %s, expected ENFORCE_SNOOP|DIRTY_TRACKING|CAPS", info_flags_str(info.head.flags));
	CHECK(info.ncaps == 5, "%d capabilities, expected 5", info.ncaps);
	CAP(IOMMU_DEVICE_INFO_CAP_PAGE_SIZES, &ps);
	CHECK((ps.pgsize_bitmap & (1ULL << 12)) && (ps.pgsize_bitmap & (1ULL << 21)) &&
	      (ps.pgsize_bitmap & (1ULL << 30)),
	      "pgsize_bitmap 0x%llx lacks 4K, 2M or 1G", (unsigned long long)ps.pgsize_bitmap);
	CHECK(ps.pgsize_bitmap == ((1ULL << 12) | (1ULL << 21) | (1ULL << 30)),
	      "pgsize_bitmap 0x%llx, expected exactly 4K|2M|1G",
	      (unsigned long long)ps.pgsize_bitmap);
	CHECK_RANGES(iommu0_ranges);
	CHECK_RESV(iommu0_resv);
	CAP(IOMMU_DEVICE_INFO_CAP_NESTING, &nest);
	CHECK(nest.flags == (IOMMU_NESTING_SUPPORTED | IOMMU_NESTING_HARDWARE),
	      "nesting flags 0x%x, expected SUPPORTED|HARDWARE", nest.flags);
	CHECK(nest.pgtable_formats == (1u << IOMMU_PGTABLE_FORMAT_X86_64),
	      "pgtable_formats 0x%x, expected the x86_64 bit 0x%x", nest.pgtable_formats,
	      1u << IOMMU_PGTABLE_FORMAT_X86_64);
	CAP(IOMMU_DEVICE_INFO_CAP_PASID, &pasid);
	CHECK(pasid.pasid_width == 20 && pasid.flags == IOMMU_PASID_IOPF,
	      "PASID capability: width %u flags 0x%x, expected 20 and IOPF (it describes"
	      " the IOMMU)", pasid.pasid_width, pasid.flags);
	return 0;
}

static int t_info_accel0(struct ctx *c)
{
	struct iommu_info_cap_pasid pasid;
	struct iommu_info_cap_nesting nest;
	struct iommu_info_cap_pri pri;

	CHECK_OK("bind accel0", do_bind(c->a, "accel0", 3));
	GET_INFO(c->a, 3);
	CHECK(info.head.flags == (IOMMU_DEVICE_INFO_PASID | IOMMU_DEVICE_INFO_PRI |
				  IOMMU_DEVICE_INFO_ENFORCE_SNOOP | DIRTY | IOMMU_DEVICE_INFO_CAPS),
	      "flags %s, expected PASID|PRI|ENFORCE_SNOOP|DIRTY_TRACKING|CAPS",
	      info_flags_str(info.head.flags));
	CAP(IOMMU_DEVICE_INFO_CAP_PASID, &pasid);
	CHECK(pasid.pasid_width == 20, "pasid_width %u, expected 20", pasid.pasid_width);
	CHECK(pasid.flags == IOMMU_PASID_IOPF, "PASID flags 0x%x, expected IOPF", pasid.flags);
	CAP(IOMMU_DEVICE_INFO_CAP_NESTING, &nest);
	CHECK(nest.flags == (IOMMU_NESTING_SUPPORTED | IOMMU_NESTING_HARDWARE) &&
	      (nest.pgtable_formats & (1u << IOMMU_PGTABLE_FORMAT_X86_64)),
	      "nesting flags 0x%x formats 0x%x", nest.flags, nest.pgtable_formats);
	CAP(IOMMU_DEVICE_INFO_CAP_PRI, &pri);
	CHECK(pri.max_requests == IOMMU_PRI_REQUESTS_DEFAULT && pri.outstanding == 0 &&
	      pri.held_dmas == 0, "PRI credits: max %u outstanding %u held %u, expected %u, 0, 0",
	      pri.max_requests, pri.outstanding, pri.held_dmas, IOMMU_PRI_REQUESTS_DEFAULT);
	CHECK_RANGES(iommu0_ranges);
	CHECK_RESV(iommu0_resv);
	return 0;
}

static int t_info_legacy0(struct ctx *c)
{
	struct iommu_info_cap_page_sizes ps;
	struct iommu_info_cap_nesting nest;
	struct iommu_info_cap_pasid pasid;

	CHECK_OK("bind legacy0", do_bind(c->a, "legacy0", 5));
	GET_INFO(c->a, 5);
	CHECK(info.head.argsz == INFO_SIZE_IOMMU1, "argsz %u, expected %u",
	      info.head.argsz, INFO_SIZE_IOMMU1);
	CHECK(info.head.flags == IOMMU_DEVICE_INFO_CAPS,
	      "flags %s, expected CAPS only (no PASID, PRI, snoop control)",
	      info_flags_str(info.head.flags));
	CAP(IOMMU_DEVICE_INFO_CAP_PAGE_SIZES, &ps);
	CHECK(ps.pgsize_bitmap == (1ULL << 12), "pgsize_bitmap 0x%llx, expected 4K only",
	      (unsigned long long)ps.pgsize_bitmap);
	CHECK_RANGES(iommu1_ranges);
	CHECK_RESV(iommu1_resv);
	CAP(IOMMU_DEVICE_INFO_CAP_NESTING, &nest);
	CHECK(nest.flags == 0 && nest.pgtable_formats == 0,
	      "nesting flags 0x%x formats 0x%x, expected 0/0", nest.flags, nest.pgtable_formats);
	CAP(IOMMU_DEVICE_INFO_CAP_PASID, &pasid);
	CHECK(pasid.pasid_width == 0 && pasid.flags == 0,
	      "PASID capability: width %u flags 0x%x, expected 0/0", pasid.pasid_width, pasid.flags);
	return 0;
}

/*
 * PASID|PRI is accel0's alone; every device's flags and answer size, exactly.
 * gpu0 and its mdevs exclude each other: gpu0 goes first and is unbound.
 */
static int t_info_flags_all(struct ctx *c)
{
	static const struct {
		const char *name;
		__u32 flags, argsz;
	} devs[] = {
		{ "gpu0", IOMMU_DEVICE_INFO_PASID | SNOOP_DIRTY, INFO_SIZE_IOMMU0 },
		{ "nic0", SNOOP_DIRTY, INFO_SIZE_IOMMU0 },
		{ "nic1", SNOOP_DIRTY, INFO_SIZE_IOMMU0 },
		{ "nic2", SNOOP_DIRTY, INFO_SIZE_IOMMU0 },
		{ "accel0", IOMMU_DEVICE_INFO_PASID | IOMMU_DEVICE_INFO_PRI | SNOOP_DIRTY,
			INFO_SIZE_IOMMU0_PRI },
		{ "mdev0", IOMMU_DEVICE_INFO_MDEV | SNOOP_DIRTY, INFO_SIZE_IOMMU0 },
		{ "mdev1", IOMMU_DEVICE_INFO_MDEV | SNOOP_DIRTY, INFO_SIZE_IOMMU0 },
		{ "vmdev0", IOMMU_DEVICE_INFO_MDEV | IOMMU_DEVICE_INFO_SW_MDEV,
			INFO_SIZE_SW_MDEV },
		{ "legacy0", 0, INFO_SIZE_IOMMU1 },
	};
	size_t i;

	for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		__u32 want = devs[i].flags | IOMMU_DEVICE_INFO_CAPS;
		long r = do_bind(c->a, devs[i].name, 1000 + i);

		CHECK(r == 0, "bind %s: %s", devs[i].name, resname(r));
		GET_INFO(c->a, 1000 + i);
		CHECK(info.head.flags == want, "%s: flags %s, expected %s", devs[i].name,
		      info_flags_str(info.head.flags), info_flags_str(want));
		CHECK(info.head.argsz == devs[i].argsz, "%s: argsz %u, expected %u",
		      devs[i].name, info.head.argsz, devs[i].argsz);
		if (i == 0)	/* gpu0: make way for its mdevs */
			CHECK_OK("unbind gpu0", do_unbind(c->a, 1000));
	}
	return 0;
}

static int t_info_sw_mdev(struct ctx *c)
{
	struct iommu_info_cap_page_sizes ps;

	CHECK_OK("bind vmdev0", do_bind(c->a, "vmdev0", 8));
	GET_INFO(c->a, 8);
	CHECK(info.ncaps == 2 && info.cap_at[IOMMU_DEVICE_INFO_CAP_PAGE_SIZES] &&
	      info.cap_at[IOMMU_DEVICE_INFO_CAP_IOVA_RANGES],
	      "a software mdev has %d capabilities, expected PAGE_SIZES and IOVA_RANGES only",
	      info.ncaps);
	CAP(IOMMU_DEVICE_INFO_CAP_PAGE_SIZES, &ps);
	CHECK(ps.pgsize_bitmap == PAGE, "pgsize_bitmap 0x%llx, expected 4K",
	      (unsigned long long)ps.pgsize_bitmap);
	/* Its "DMA" is the vendor driver's CPU access: no MSI window. */
	TRY(check_ranges(__LINE__, sw_mdev_ranges, 1, 0));
	return 0;
}

/* 3. Attach ---------------------------------------------------------------- */

static int t_attach_rid(struct ctx *c)
{
	long id = do_alloc(c->a), other = do_alloc(c->a);

	CHECK_OK("IOASID_ALLOC", id);
	CHECK_OK("IOASID_ALLOC", other);
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", 1));
	CHECK_ERR("attach an unbound cookie", do_attach(c->a, 2, id, NO_PASID), ENOENT);
	CHECK_ERR("attach to an unknown IOASID", do_attach(c->a, 1, 0x7ffffff0, NO_PASID), ENOENT);
	CHECK_ERR("detach before attach", do_detach(c->a, 1, NO_PASID), ENOENT);
	CHECK_OK("attach nic0", do_attach(c->a, 1, id, NO_PASID));
	CHECK_ERR("attach nic0 again, same IOASID", do_attach(c->a, 1, id, NO_PASID), EBUSY);
	CHECK_ERR("attach nic0 again, another IOASID", do_attach(c->a, 1, other, NO_PASID), EBUSY);
	CHECK_ERR("FREE while nic0 is attached", do_free(c->a, id), EBUSY);
	CHECK_OK("FREE the other IOASID", do_free(c->a, other));
	CHECK_OK("detach nic0", do_detach(c->a, 1, NO_PASID));
	CHECK_ERR("detach nic0 again", do_detach(c->a, 1, NO_PASID), ENOENT);
	CHECK_OK("FREE after detach", do_free(c->a, id));
	return 0;
}

/* accel0's PASIDs and its RID each reach their own address space. */
static int t_attach_pasid(struct ctx *c)
{
	unsigned char *mem = pages(3);
	long x = do_alloc(c->a), y = do_alloc(c->a), z = do_alloc(c->a);
	char five[] = "pasid five", six[] = "pasid six", rid[] = "the RID";
	struct iommu_sim_dma d;

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	CHECK(x > 0 && y > 0 && z > 0, "IOASID_ALLOC: %ld %ld %ld", x, y, z);
	memset(mem, 0, 3 * PAGE);
	CHECK_OK("MAP X", do_map(c->a, x, mem, IOVA_BASE, PAGE, RW));
	CHECK_OK("MAP Y", do_map(c->a, y, mem + PAGE, IOVA_BASE, PAGE, RW));
	CHECK_OK("MAP Z", do_map(c->a, z, mem + 2 * PAGE, IOVA_BASE, PAGE, RW));
	CHECK_OK("bind accel0", do_bind(c->a, "accel0", 7));
	CHECK_ERR("attach PASID 0", do_attach(c->a, 7, x, 0), EINVAL);
	CHECK_ERR("attach PASID 2^20 (past the width)", do_attach(c->a, 7, x, 1L << 20), EINVAL);
	CHECK_OK("attach PASID 5 -> X", do_attach(c->a, 7, x, 5));
	CHECK_ERR("attach PASID 5 again -> Y", do_attach(c->a, 7, y, 5), EBUSY);
	CHECK_OK("attach PASID 6 -> Y", do_attach(c->a, 7, y, 6));
	CHECK_OK("attach PASID 2^20-1 -> Y", do_attach(c->a, 7, y, (1L << 20) - 1));

	DMA_OK("DMA write with PASID 5", c->a, 7, IOVA_BASE + 16, five, sizeof(five), 1, 5);
	DMA_OK("DMA write with PASID 6", c->a, 7, IOVA_BASE + 16, six, sizeof(six), 1, 6);
	CHECK(memcmp(mem + 16, five, sizeof(five)) == 0,
	      "PASID 5's bytes are not in X's page: \"%.16s\"", (char *)mem + 16);
	CHECK(memcmp(mem + PAGE + 16, six, sizeof(six)) == 0,
	      "PASID 6's bytes are not in Y's page: \"%.16s\"", (char *)mem + PAGE + 16);
	DMA_FAULT("DMA without PASID (RID not attached)", c->a, 7, IOVA_BASE, rid, 4, 0,
		  NO_PASID, IOMMU_FAULT_REASON_BLOCKED, 0, 0, IOVA_BASE);
	DMA_FAULT("DMA with PASID 7 (not attached)", c->a, 7, IOVA_BASE, rid, 4, 1, 7,
		  IOMMU_FAULT_REASON_BLOCKED, IOMMU_FAULT_WRITE, 0, IOVA_BASE);
	CHECK_OK("attach the RID -> Z", do_attach(c->a, 7, z, NO_PASID));
	DMA_OK("DMA write without PASID", c->a, 7, IOVA_BASE + 16, rid, sizeof(rid), 1, NO_PASID);
	CHECK(memcmp(mem + 2 * PAGE + 16, rid, sizeof(rid)) == 0,
	      "the RID's bytes are not in Z's page");
	CHECK(memcmp(mem + 16, five, sizeof(five)) == 0 &&
	      memcmp(mem + PAGE + 16, six, sizeof(six)) == 0,
	      "the RID's DMA changed X's or Y's page");

	CHECK_ERR("detach PASID 8 (never attached)", do_detach(c->a, 7, 8), ENOENT);
	CHECK_OK("detach PASID 5", do_detach(c->a, 7, 5));
	CHECK_ERR("detach PASID 5 again", do_detach(c->a, 7, 5), ENOENT);
	CHECK(do_dma(c->a, 7, IOVA_BASE, five, 4, 0, 5, &d) == 0 &&
	      d.status == IOMMU_SIM_DMA_FAULT && d.fault_reason == IOMMU_FAULT_REASON_BLOCKED,
	      "DMA with PASID 5 after its detach: %s", dma_str(&d));
	DMA_OK("DMA with PASID 6 (still attached)", c->a, 7, IOVA_BASE, six, 4, 0, 6);
	CHECK_OK("attach PASID 5 -> Y (free again)", do_attach(c->a, 7, y, 5));
	munmap(mem, 3 * PAGE);
	return 0;
}

/* What the IOASID needs and the device's IOMMU lacks. */
static int t_attach_eopnotsupp(struct ctx *c)
{
	long plain = do_alloc(c->a);
	long nested = plain > 0 ? do_alloc_nested(c->a, plain, 0x10000) : -1;
	long snoop = do_alloc_flags(c->a, IOMMU_IOASID_ENFORCE_SNOOP);
	long snoop_nested = plain > 0 ? do_alloc_arg(c->a, IOMMU_IOASID_USER_PGTABLE |
		IOMMU_IOASID_ENFORCE_SNOOP, plain, IOMMU_PGTABLE_FORMAT_X86_64, 0) : -1;

	CHECK(plain > 0 && nested > 0 && snoop > 0 && snoop_nested > 0,
	      "IOASID_ALLOC: plain %s, nested %s, snoop %s, snoop+nested %s", resname(plain),
	      resname(nested), resname(snoop), resname(snoop_nested));
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", 1));
	CHECK_OK("bind legacy0", do_bind(c->a, "legacy0", 2));
	CHECK_OK("bind mdev0", do_bind(c->a, "mdev0", 3));
	CHECK_OK("bind vmdev0", do_bind(c->a, "vmdev0", 4));
	CHECK_OK("bind accel0", do_bind(c->a, "accel0", 5));

	CHECK_ERR("PASID 5 of nic0 (no PASID)", do_attach(c->a, 1, plain, 5), EOPNOTSUPP);
	CHECK_ERR("PASID 5 of legacy0 (IOMMU without PASID)", do_attach(c->a, 2, plain, 5),
		  EOPNOTSUPP);
	CHECK_ERR("PASID 5 of mdev0 (an mdev)", do_attach(c->a, 3, plain, 5), EOPNOTSUPP);
	CHECK_ERR("PASID 5 of vmdev0 (a software mdev)", do_attach(c->a, 4, plain, 5), EOPNOTSUPP);
	CHECK_ERR("legacy0 onto a nested IOASID (no nesting)", do_attach(c->a, 2, nested, NO_PASID),
		  EOPNOTSUPP);
	CHECK_ERR("legacy0 onto an ENFORCE_SNOOP IOASID (no snoop control)",
		  do_attach(c->a, 2, snoop, NO_PASID), EOPNOTSUPP);
	CHECK_ERR("legacy0 onto an ENFORCE_SNOOP nested IOASID",
		  do_attach(c->a, 2, snoop_nested, NO_PASID), EOPNOTSUPP);
	CHECK_ERR("vmdev0 onto a nested IOASID", do_attach(c->a, 4, nested, NO_PASID), EOPNOTSUPP);

	/* What iommu0 has. */
	CHECK_OK("nic0 onto the ENFORCE_SNOOP IOASID", do_attach(c->a, 1, snoop, NO_PASID));
	CHECK_OK("accel0 PASID 5 onto the nested IOASID", do_attach(c->a, 5, nested, 5));
	CHECK_OK("accel0 PASID 6 onto the ENFORCE_SNOOP nested IOASID",
		 do_attach(c->a, 5, snoop_nested, 6));
	CHECK_OK("legacy0 onto the plain IOASID (failed attaches changed nothing)",
		 do_attach(c->a, 2, plain, NO_PASID));
	CHECK_OK("mdev0 onto the plain IOASID", do_attach(c->a, 3, plain, NO_PASID));
	CHECK_OK("vmdev0 onto the plain IOASID", do_attach(c->a, 4, plain, NO_PASID));
	CHECK_ERR("FREE the parent of nested IOASIDs", do_free(c->a, plain), EBUSY);
	return 0;
}

/* IOMMU-backed mdevs attach whole; each one's DMA lands in its own space. */
static int t_attach_mdev(struct ctx *c)
{
	unsigned char *mem = pages(2);
	long x = do_alloc(c->a), y = do_alloc(c->a);
	char w0[] = "from mdev0", w1[] = "from mdev1", back[16];
	struct iommu_sim_dma d;

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	CHECK(x > 0 && y > 0, "IOASID_ALLOC: %ld %ld", x, y);
	memset(mem, 0, 2 * PAGE);
	CHECK_OK("MAP X", do_map(c->a, x, mem, IOVA_BASE, PAGE, RW));
	CHECK_OK("MAP Y", do_map(c->a, y, mem + PAGE, IOVA_BASE, PAGE, RW));
	CHECK_OK("bind mdev0", do_bind(c->a, "mdev0", 10));
	CHECK_OK("bind mdev1", do_bind(c->a, "mdev1", 11));
	DMA_FAULT("mdev0 DMA before attach", c->a, 10, IOVA_BASE, w0, 4, 1, NO_PASID,
		  IOMMU_FAULT_REASON_BLOCKED, IOMMU_FAULT_WRITE, 0, IOVA_BASE);
	CHECK_OK("attach mdev0 -> X", do_attach(c->a, 10, x, NO_PASID));
	CHECK_ERR("attach mdev0 again", do_attach(c->a, 10, y, NO_PASID), EBUSY);
	DMA_FAULT("mdev1 DMA (not attached; mdev0's defPASID is not its)", c->a, 11, IOVA_BASE,
		  w1, 4, 1, NO_PASID, IOMMU_FAULT_REASON_BLOCKED, IOMMU_FAULT_WRITE, 0, IOVA_BASE);
	CHECK_OK("attach mdev1 -> Y", do_attach(c->a, 11, y, NO_PASID));
	DMA_OK("mdev0 DMA write", c->a, 10, IOVA_BASE + 0x800, w0, sizeof(w0), 1, NO_PASID);
	DMA_OK("mdev1 DMA write", c->a, 11, IOVA_BASE + 0x800, w1, sizeof(w1), 1, NO_PASID);
	CHECK(memcmp(mem + 0x800, w0, sizeof(w0)) == 0,
	      "mdev0's DMA did not land in X's page: \"%.12s\"", (char *)mem + 0x800);
	CHECK(memcmp(mem + PAGE + 0x800, w1, sizeof(w1)) == 0,
	      "mdev1's DMA did not land in Y's page: \"%.12s\"", (char *)mem + PAGE + 0x800);
	memcpy(mem + 0x100, "mdev read", 10);
	memset(back, 0, sizeof(back));
	DMA_OK("mdev0 DMA read", c->a, 10, IOVA_BASE + 0x100, back, 10, 0, NO_PASID);
	CHECK(memcmp(back, "mdev read", 10) == 0, "mdev0 read back \"%.10s\"", back);
	CHECK_ERR("mdev0 DMA with a PASID", do_dma(c->a, 10, IOVA_BASE, back, 4, 0, 5, &d),
		  EOPNOTSUPP);
	CHECK_OK("detach mdev0", do_detach(c->a, 10, NO_PASID));
	DMA_FAULT("mdev0 DMA after detach", c->a, 10, IOVA_BASE, back, 4, 0, NO_PASID,
		  IOMMU_FAULT_REASON_BLOCKED, 0, 0, IOVA_BASE);
	DMA_OK("mdev1 DMA (still attached)", c->a, 11, IOVA_BASE, back, 4, 0, NO_PASID);
	munmap(mem, 2 * PAGE);
	return 0;
}

/* Existing mappings must fit the IOMMU's width. */
static int t_attach_erange(struct ctx *c)
{
	unsigned char *mem = pages(1);
	long id = do_alloc(c->a);

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	CHECK_OK("IOASID_ALLOC", id);
	CHECK_OK("bind legacy0", do_bind(c->a, "legacy0", 1));
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", 2));
	CHECK_OK("MAP at 2^40", do_map(c->a, id, mem, 1ULL << 40, PAGE, RW));
	CHECK_ERR("attach legacy0 (39-bit) with a mapping at 2^40",
		  do_attach(c->a, 1, id, NO_PASID), ERANGE);
	CHECK_OK("UNMAP 2^40", do_unmap(c->a, id, 1ULL << 40, PAGE));
	CHECK_OK("MAP at 2^39 (the first address past 39 bits)",
		 do_map(c->a, id, mem, 1ULL << 39, PAGE, RW));
	CHECK_ERR("attach legacy0 with a mapping at 2^39", do_attach(c->a, 1, id, NO_PASID), ERANGE);
	CHECK_OK("attach nic0 (48-bit) with the same mapping", do_attach(c->a, 2, id, NO_PASID));
	CHECK_OK("UNMAP 2^39", do_unmap(c->a, id, 1ULL << 39, PAGE));
	CHECK_OK("MAP the last 39-bit page", do_map(c->a, id, mem, (1ULL << 39) - PAGE, PAGE, RW));
	CHECK_OK("attach legacy0 now", do_attach(c->a, 1, id, NO_PASID));
	CHECK_ERR("MAP at 2^39 while legacy0 is attached (narrowed aperture)",
		  do_map(c->a, id, mem, 1ULL << 39, PAGE, RW), EINVAL);
	CHECK_OK("detach legacy0", do_detach(c->a, 1, NO_PASID));
	CHECK_OK("MAP at 2^39 after the detach", do_map(c->a, id, mem, 1ULL << 39, PAGE, RW));
	munmap(mem, PAGE);
	return 0;
}

/* Existing mappings must stay clear of the IOMMU's reserved regions, and
 * attached devices keep new mappings out of them. */
static int t_attach_eaddrinuse(struct ctx *c)
{
	unsigned char *mem = pages(1);
	long msi = do_alloc(c->a), clean = do_alloc(c->a), bridge = do_alloc(c->a);

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	CHECK(msi > 0 && clean > 0 && bridge > 0, "IOASID_ALLOC: %ld %ld %ld", msi, clean, bridge);
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", 1));
	CHECK_OK("bind legacy0", do_bind(c->a, "legacy0", 2));
	CHECK_OK("MAP into the MSI window (nothing attached yet)",
		 do_map(c->a, msi, mem, MSI_START + 0x10000, PAGE, RW));
	CHECK_ERR("attach nic0 to it", do_attach(c->a, 1, msi, NO_PASID), EADDRINUSE);
	CHECK_OK("MAP into iommu1's host-bridge window",
		 do_map(c->a, bridge, mem, BRIDGE_START, PAGE, RW));
	CHECK_ERR("attach legacy0 to it", do_attach(c->a, 2, bridge, NO_PASID), EADDRINUSE);
	CHECK_OK("attach nic0 to it (iommu0 has no bridge window)",
		 do_attach(c->a, 1, bridge, NO_PASID));
	CHECK_OK("detach nic0", do_detach(c->a, 1, NO_PASID));

	CHECK_OK("attach nic0 to a clean IOASID", do_attach(c->a, 1, clean, NO_PASID));
	CHECK_ERR("MAP the MSI window's first page", do_map(c->a, clean, mem, MSI_START, PAGE, RW),
		  EADDRINUSE);
	CHECK_ERR("MAP the MSI window's last page",
		  do_map(c->a, clean, mem, MSI_LAST + 1 - PAGE, PAGE, RW), EADDRINUSE);
	CHECK_ERR("MAP 8K straddling the MSI window's start",
		  do_map(c->a, clean, mem, MSI_START - PAGE, 2 * PAGE, RW), EADDRINUSE);
	CHECK_OK("MAP the page just below the MSI window",
		 do_map(c->a, clean, mem, MSI_START - PAGE, PAGE, RW));
	CHECK_OK("MAP the page just above the MSI window",
		 do_map(c->a, clean, mem, MSI_LAST + 1, PAGE, RW));
	CHECK_OK("MAP iommu1's bridge window (only legacy0 reserves it)",
		 do_map(c->a, clean, mem, BRIDGE_START, PAGE, RW));
	CHECK_OK("detach nic0", do_detach(c->a, 1, NO_PASID));
	CHECK_OK("MAP the MSI window after the detach",
		 do_map(c->a, clean, mem, MSI_START + PAGE, PAGE, RW));
	munmap(mem, PAGE);
	return 0;
}

static int t_free_busy(struct ctx *c)
{
	long parent = do_alloc(c->a), child, kid2;
	struct iommu_stats s;

	CHECK_OK("IOASID_ALLOC", parent);
	child = do_alloc_nested(c->a, parent, 0x10000000);
	CHECK_OK("nested IOASID_ALLOC", child);
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", 1));
	CHECK_OK("bind accel0", do_bind(c->a, "accel0", 2));
	CHECK_OK("attach nic0 -> parent", do_attach(c->a, 1, parent, NO_PASID));
	CHECK_OK("attach accel0 PASID 9 -> child", do_attach(c->a, 2, child, 9));
	CHECK_ERR("FREE the parent (attached, and has a child)", do_free(c->a, parent), EBUSY);
	CHECK_ERR("FREE the child (attached)", do_free(c->a, child), EBUSY);
	CHECK_OK("detach nic0", do_detach(c->a, 1, NO_PASID));
	CHECK_ERR("FREE the parent (has a child)", do_free(c->a, parent), EBUSY);
	CHECK_OK("unbind accel0 (detaches it)", do_unbind(c->a, 2));
	CHECK_OK("FREE the child", do_free(c->a, child));
	CHECK_OK("FREE the parent", do_free(c->a, parent));
	CHECK_OK("GET_STATS", ctx_stats(c->a, &s));
	CHECK(s.ioasids == 0 && s.devices == 1, "after the frees: %u IOASIDs, %u devices",
	      s.ioasids, s.devices);
	kid2 = do_alloc_nested(c->a, parent, 0);
	CHECK_ERR("nested ALLOC with the freed parent", kid2, ENOENT);
	return 0;
}

/* 4. DMA ------------------------------------------------------------------- */

static int t_dma_write_read(struct ctx *c)
{
	unsigned char *mem = pages(2);
	char msg[] = "DMA across a page boundary", back[sizeof(msg)];
	long id = do_alloc(c->a);
	struct iommu_stats s;

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	CHECK_OK("IOASID_ALLOC", id);
	memset(mem, 0x11, 2 * PAGE);
	CHECK_OK("MAP 8K", do_map(c->a, id, mem, IOVA_BASE, 2 * PAGE, RW));
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", 1));
	CHECK_OK("attach nic0", do_attach(c->a, 1, id, NO_PASID));
	DMA_OK("DMA write across the page boundary", c->a, 1, IOVA_BASE + PAGE - 8, msg,
	       sizeof(msg), 1, NO_PASID);
	CHECK(memcmp(mem + PAGE - 8, msg, sizeof(msg)) == 0,
	      "the bytes did not land: \"%.27s\"", (char *)mem + PAGE - 8);
	CHECK(mem[PAGE - 9] == 0x11 && mem[PAGE - 8 + sizeof(msg)] == 0x11,
	      "bytes around the DMA changed: 0x%02x 0x%02x", mem[PAGE - 9],
	      mem[PAGE - 8 + sizeof(msg)]);
	/* The client changes its memory; the device reads the new bytes. */
	memcpy(mem + PAGE - 8, "CPU wrote this, device read", sizeof(msg));
	memset(back, 0, sizeof(back));
	DMA_OK("DMA read back", c->a, 1, IOVA_BASE + PAGE - 8, back, sizeof(back), 0, NO_PASID);
	CHECK(memcmp(back, "CPU wrote this, device read", sizeof(back)) == 0,
	      "read back \"%.27s\"", back);
	/* A whole 8K read. */
	{
		unsigned char *big = pages(2);

		CHECK(big != NULL, "mmap: %s", strerror(errno));
		DMA_OK("DMA read 8K", c->a, 1, IOVA_BASE, big, 2 * PAGE, 0, NO_PASID);
		CHECK(memcmp(big, mem, 2 * PAGE) == 0, "the 8K read differs from memory");
		munmap(big, 2 * PAGE);
	}
	CHECK_OK("GET_STATS", ctx_stats(c->a, &s));
	CHECK(s.iotlb_hits + s.iotlb_misses >= 4,
	      "GET_STATS counts %llu IOTLB hits + %llu misses after 4+ page translations",
	      (unsigned long long)s.iotlb_hits, (unsigned long long)s.iotlb_misses);
	munmap(mem, 2 * PAGE);
	return 0;
}

static int t_dma_faults(struct ctx *c)
{
	unsigned char *mem = pages(2);
	unsigned char data[64];
	long id = do_alloc(c->a);
	__u32 W = IOMMU_FAULT_WRITE, S2 = IOMMU_FAULT_STAGE2;

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	CHECK_OK("IOASID_ALLOC", id);
	memset(mem, 0x22, 2 * PAGE);
	CHECK_OK("MAP RW 4K", do_map(c->a, id, mem, IOVA_BASE, PAGE, RW));
	CHECK_OK("MAP RO 4K", do_map(c->a, id, mem + PAGE, 2 * IOVA_BASE, PAGE, RO));
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", 1));
	CHECK_OK("bind legacy0", do_bind(c->a, "legacy0", 2));
	memset(data, 0x77, sizeof(data));

	DMA_FAULT("bound, not attached (blocked)", c->a, 1, IOVA_BASE, data, 8, 0, NO_PASID,
		  IOMMU_FAULT_REASON_BLOCKED, 0, 0, IOVA_BASE);
	CHECK_OK("attach nic0", do_attach(c->a, 1, id, NO_PASID));
	DMA_FAULT("write running off the mapping after 32 bytes", c->a, 1, IOVA_BASE + PAGE - 32,
		  data, 64, 1, NO_PASID, IOMMU_FAULT_REASON_NOT_MAPPED, S2 | W, 32,
		  IOVA_BASE + PAGE);
	CHECK(mem[PAGE - 32] == 0x77 && mem[PAGE - 1] == 0x77,
	      "the 32 bytes before the fault did not land (0x%02x)", mem[PAGE - 32]);
	CHECK(mem[PAGE - 33] == 0x22 && mem[PAGE] == 0x22,
	      "bytes outside the DMA changed (0x%02x, 0x%02x)", mem[PAGE - 33], mem[PAGE]);
	DMA_FAULT("read of an unmapped IOVA", c->a, 1, 0x7000000000ULL, data, 8, 0, NO_PASID,
		  IOMMU_FAULT_REASON_NOT_MAPPED, S2, 0, 0x7000000000ULL);
	DMA_FAULT("write to a read-only mapping", c->a, 1, 2 * IOVA_BASE + 8, data, 8, 1, NO_PASID,
		  IOMMU_FAULT_REASON_PERMISSION, S2 | W, 0, 2 * IOVA_BASE + 8);
	CHECK(mem[PAGE + 8] == 0x22, "the refused write changed memory (0x%02x)", mem[PAGE + 8]);
	memset(data, 0, sizeof(data));
	DMA_OK("read of the read-only mapping", c->a, 1, 2 * IOVA_BASE + 8, data, 8, 0, NO_PASID);
	CHECK(data[0] == 0x22 && data[7] == 0x22, "read 0x%02x", data[0]);
	DMA_FAULT("write to the MSI window", c->a, 1, MSI_START, data, 4, 1, NO_PASID,
		  IOMMU_FAULT_REASON_RESERVED, W, 0, MSI_START);
	DMA_FAULT("read in the MSI window", c->a, 1, MSI_LAST - 3, data, 4, 0, NO_PASID,
		  IOMMU_FAULT_REASON_RESERVED, 0, 0, MSI_LAST - 3);
	CHECK_OK("attach legacy0", do_attach(c->a, 2, id, NO_PASID));
	DMA_FAULT("legacy0 beyond 39 bits", c->a, 2, 1ULL << 39, data, 4, 0, NO_PASID,
		  IOMMU_FAULT_REASON_ADDR_SIZE, 0, 0, 1ULL << 39);
	DMA_FAULT("legacy0 in the host-bridge window", c->a, 2, BRIDGE_START, data, 4, 1, NO_PASID,
		  IOMMU_FAULT_REASON_RESERVED, W, 0, BRIDGE_START);
	CHECK_OK("detach nic0", do_detach(c->a, 1, NO_PASID));
	DMA_FAULT("after detach (blocked)", c->a, 1, IOVA_BASE, data, 8, 1, NO_PASID,
		  IOMMU_FAULT_REASON_BLOCKED, W, 0, IOVA_BASE);
	DMA_OK("legacy0 still reaches the mapping", c->a, 2, IOVA_BASE, data, 8, 0, NO_PASID);
	CHECK_OK("UNMAP the RW page", do_unmap(c->a, id, IOVA_BASE, PAGE));
	DMA_FAULT("legacy0 after UNMAP (the IOTLB entry went with it)", c->a, 2, IOVA_BASE, data,
		  8, 0, NO_PASID, IOMMU_FAULT_REASON_NOT_MAPPED, S2, 0, IOVA_BASE);
	munmap(mem, 2 * PAGE);
	return 0;
}

static int t_dma_errors(struct ctx *c)
{
	unsigned char *mem = pages(1);
	unsigned char data[8];
	struct iommu_sim_dma d;
	long id = do_alloc(c->a);

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	CHECK_OK("IOASID_ALLOC", id);
	CHECK_OK("MAP", do_map(c->a, id, mem, IOVA_BASE, PAGE, RW));
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", 1));
	CHECK_OK("attach nic0", do_attach(c->a, 1, id, NO_PASID));
	CHECK_ERR("unbound cookie", do_dma(c->a, 9, IOVA_BASE, data, 8, 0, NO_PASID, &d), ENOENT);
	CHECK_ERR("A's cookie from B", do_dma(c->b, 1, IOVA_BASE, data, 8, 0, NO_PASID, &d), ENOENT);
	CHECK_ERR("length 0", do_dma(c->a, 1, IOVA_BASE, data, 0, 0, NO_PASID, &d), EINVAL);
	CHECK_ERR("length IOMMU_SIM_DMA_MAX+1",
		  do_dma(c->a, 1, IOVA_BASE, data, IOMMU_SIM_DMA_MAX + 1ULL, 0, NO_PASID, &d), EINVAL);
	CHECK_ERR("PASID from nic0", do_dma(c->a, 1, IOVA_BASE, data, 8, 0, 5, &d), EOPNOTSUPP);
	CHECK_ERR("write from a NULL buffer", do_dma(c->a, 1, IOVA_BASE, NULL, 8, 1, NO_PASID, &d),
		  EFAULT);
	DMA_OK("and a good one", c->a, 1, IOVA_BASE, data, 8, 0, NO_PASID);
	munmap(mem, PAGE);
	return 0;
}

/* 5. Nesting --------------------------------------------------------------- */

#define PTE_P		(1ULL << 0)
#define PTE_W		(1ULL << 1)
#define PTE_PS		(1ULL << 7)
#define PTE_RW		(PTE_P | PTE_W)
#define TABLES_GPA	0x10000000ULL	/* L4, L3, L2, L1 */
#define DATA_GPA	0x20000000ULL	/* data pages 0-3; page 3 read-only in stage 2 */
#define NEST_IOVA	0x40000000ULL	/* L4[0] L3[1] L2[0] L1[0] */
#define NEST_COOKIE	7
#define NEST_PASID	5

struct nested {
	unsigned char *tables;	/* 4 pages: L4, L3, L2, L1 */
	unsigned char *data;	/* 4 pages */
	long parent, child;
};

/* Entry `index` of table `level` (4: the root .. 1: the leaf table). */
static volatile __u64 *pte(struct nested *n, int level, int index)
{
	return (volatile __u64 *)(void *)(n->tables + (4 - level) * PAGE) + index;
}

static int x86_index(__u64 iova, int level)
{
	return (int)((iova >> (12 + 9 * (level - 1))) & 511);
}

/*
 * The stage-1 table in this process's memory, mapped (read-only, as a guest's
 * page tables are to its IOMMU) into a kernel-managed parent at TABLES_GPA,
 * the data pages at DATA_GPA; a USER_PGTABLE child rooted at the L4's GPA;
 * accel0 PASID 5 attached to the child.
 */
static int nested_setup(struct ctx *c, struct nested *n)
{
	memset(n, 0, sizeof(*n));
	n->tables = pages(4);
	n->data = pages(4);
	CHECK(n->tables && n->data, "mmap: %s", strerror(errno));
	memset(n->tables, 0, 4 * PAGE);
	memset(n->data, 0x33, 4 * PAGE);
	n->parent = do_alloc(c->a);
	CHECK_OK("parent IOASID_ALLOC", n->parent);
	CHECK_OK("MAP the tables (read-only)",
		 do_map(c->a, n->parent, n->tables, TABLES_GPA, 4 * PAGE, RO));
	CHECK_OK("MAP data pages 0-2", do_map(c->a, n->parent, n->data, DATA_GPA, 3 * PAGE, RW));
	CHECK_OK("MAP data page 3 (read-only)",
		 do_map(c->a, n->parent, n->data + 3 * PAGE, DATA_GPA + 3 * PAGE, PAGE, RO));
	CHECK(x86_index(NEST_IOVA, 4) == 0 && x86_index(NEST_IOVA, 3) == 1 &&
	      x86_index(NEST_IOVA, 2) == 0 && x86_index(NEST_IOVA, 1) == 0,
	      "the test's own index arithmetic is wrong");
	*pte(n, 4, 0) = (TABLES_GPA + 1 * PAGE) | PTE_RW;	/* L4[0] -> L3 */
	*pte(n, 3, 1) = (TABLES_GPA + 2 * PAGE) | PTE_RW;	/* L3[1] -> L2 */
	*pte(n, 2, 0) = (TABLES_GPA + 3 * PAGE) | PTE_RW;	/* L2[0] -> L1 */
	*pte(n, 1, 0) = DATA_GPA | PTE_RW;			/* data page 0 */
	*pte(n, 1, 1) = (DATA_GPA + PAGE) | PTE_P;		/* data page 1, read-only */
	/* L1[2] not present */
	*pte(n, 1, 3) = (DATA_GPA + 3 * PAGE) | PTE_RW;		/* stage 2 says read-only */
	CHECK_ERR("nested ALLOC with a misaligned root",
		  do_alloc_nested(c->a, n->parent, TABLES_GPA + 8), EINVAL);
	n->child = do_alloc_nested(c->a, n->parent, TABLES_GPA);
	CHECK_OK("nested IOASID_ALLOC (USER_PGTABLE, x86_64)", n->child);
	CHECK_OK("bind accel0", do_bind(c->a, "accel0", NEST_COOKIE));
	CHECK_OK("attach accel0 PASID 5 -> the child",
		 do_attach(c->a, NEST_COOKIE, n->child, NEST_PASID));
	return 0;
}

static void nested_free(struct nested *n)
{
	if (n->tables)
		munmap(n->tables, 4 * PAGE);
	if (n->data)
		munmap(n->data, 4 * PAGE);
}

static int nested_dma_body(struct ctx *c, struct nested *n)
{
	char hello[] = "through two stages", back[sizeof(hello)];

	TRY(nested_setup(c, n));
	DMA_OK("nested DMA write", c->a, NEST_COOKIE, NEST_IOVA + 0x20, hello, sizeof(hello), 1,
	       NEST_PASID);
	CHECK(memcmp(n->data + 0x20, hello, sizeof(hello)) == 0,
	      "the bytes did not land in data page 0: \"%.18s\"", (char *)n->data + 0x20);
	CHECK(n->data[0x1f] == 0x33 && n->data[0x20 + sizeof(hello)] == 0x33,
	      "bytes around the nested DMA changed");
	memcpy(n->data + PAGE + 0x40, "page one", 9);
	memset(back, 0, sizeof(back));
	DMA_OK("nested DMA read of the stage-1 read-only page", c->a, NEST_COOKIE,
	       NEST_IOVA + PAGE + 0x40, back, 9, 0, NEST_PASID);
	CHECK(memcmp(back, "page one", 9) == 0, "read back \"%.9s\"", back);
	/* A 2 MiB stage-1 leaf: L2[1] maps IOVA +2M.. onto DATA_GPA.. */
	*pte(n, 2, 1) = DATA_GPA | PTE_RW | PTE_PS;
	memset(back, 0, sizeof(back));
	DMA_OK("nested DMA read through a 2 MiB leaf", c->a, NEST_COOKIE,
	       NEST_IOVA + 0x200020, back, sizeof(back), 0, NEST_PASID);
	CHECK(memcmp(back, hello, sizeof(hello)) == 0, "2 MiB leaf read back \"%.18s\"", back);
	DMA_FAULT("the RID (no PASID) is not attached", c->a, NEST_COOKIE, NEST_IOVA, back, 4, 0,
		  NO_PASID, IOMMU_FAULT_REASON_BLOCKED, 0, 0, NEST_IOVA);
	DMA_FAULT("PASID 6 is not attached", c->a, NEST_COOKIE, NEST_IOVA, back, 4, 0, 6,
		  IOMMU_FAULT_REASON_BLOCKED, 0, 0, NEST_IOVA);
	return 0;
}

static int t_nested_dma(struct ctx *c)
{
	struct nested n;
	int r = nested_dma_body(c, &n);

	nested_free(&n);
	return r;
}

static int nested_faults_body(struct ctx *c, struct nested *n)
{
	char w[4] = { 'w', 'w', 'w', 'w' };
	__u32 W = IOMMU_FAULT_WRITE;

	TRY(nested_setup(c, n));
	DMA_ABORTED("stage-1 entry not present (L1[2])", c->a, NEST_COOKIE, NEST_IOVA + 2 * PAGE,
		  w, 4, 0, NEST_PASID, IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE1, 0,
		  NEST_IOVA + 2 * PAGE);
	DMA_ABORTED("stage-1 table not present (L4[1])", c->a, NEST_COOKIE, 1ULL << 39, w, 4, 1,
		  NEST_PASID, IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE1 | W, 0, 1ULL << 39);
	DMA_FAULT("write to a stage-1 read-only page (L1[1])", c->a, NEST_COOKIE,
		  NEST_IOVA + PAGE, w, 4, 1, NEST_PASID, IOMMU_FAULT_REASON_PERMISSION,
		  IOMMU_FAULT_STAGE1 | W, 0, NEST_IOVA + PAGE);
	CHECK(n->data[PAGE] == 0x33, "the refused stage-1 write changed memory");
	DMA_FAULT("write where stage 1 allows and stage 2 refuses (L1[3])", c->a, NEST_COOKIE,
		  NEST_IOVA + 3 * PAGE, w, 4, 1, NEST_PASID, IOMMU_FAULT_REASON_PERMISSION,
		  IOMMU_FAULT_STAGE2 | W, 0, NEST_IOVA + 3 * PAGE);
	DMA_OK("read where both stages allow it (L1[3])", c->a, NEST_COOKIE, NEST_IOVA + 3 * PAGE,
	       w, 4, 0, NEST_PASID);
	/* Read-only one level up: L2[0] clears W; the whole L1 range is read-only. */
	*pte(n, 2, 0) = (TABLES_GPA + 3 * PAGE) | PTE_P;
	DMA_FAULT("write under a read-only L2 entry", c->a, NEST_COOKIE, NEST_IOVA + 0x100, w, 4, 1,
		  NEST_PASID, IOMMU_FAULT_REASON_PERMISSION, IOMMU_FAULT_STAGE1 | W, 0,
		  NEST_IOVA + 0x100);
	*pte(n, 2, 0) = (TABLES_GPA + 3 * PAGE) | PTE_RW;
	/* A stage-1 output the parent does not map: a stage-2 fault. */
	*pte(n, 1, 4) = 0x30000000ULL | PTE_RW;
	DMA_FAULT("stage-1 output unmapped in the parent", c->a, NEST_COOKIE, NEST_IOVA + 4 * PAGE,
		  w, 4, 0, NEST_PASID, IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE2, 0,
		  NEST_IOVA + 4 * PAGE);
	/* A table pointer the parent does not map. */
	*pte(n, 3, 2) = 0x30000000ULL | PTE_RW;
	DMA_FAULT("stage-1 table pointer unmapped in the parent", c->a, NEST_COOKIE,
		  2ULL << 30, w, 4, 0, NEST_PASID, IOMMU_FAULT_REASON_NOT_MAPPED,
		  IOMMU_FAULT_STAGE2, 0, 2ULL << 30);
	/* The write that stage 1 allows lands (the earlier entries were fresh walks). */
	DMA_OK("write through L1[0]", c->a, NEST_COOKIE, NEST_IOVA + 0x100, w, 4, 1, NEST_PASID);
	CHECK(memcmp(n->data + 0x100, w, 4) == 0, "the nested write did not land");
	return 0;
}

static int t_nested_faults(struct ctx *c)
{
	struct nested n;
	int r = nested_faults_body(c, &n);

	nested_free(&n);
	return r;
}

/* 6. IOTLB staleness ------------------------------------------------------- */

static int read7(int line, struct ctx *c, char *out, const char *want, const char *what)
{
	memset(out, 0, 8);
	TRY(dma_ok(line, what, c->a, NEST_COOKIE, NEST_IOVA, out, 7, 0, NEST_PASID));
	if (memcmp(out, want, 7) != 0) {
		failf(line, "%s: DMA read \"%.7s\", expected \"%s\"", what, out, want);
		return -1;
	}
	return 0;
}

#define READ7(want, what) TRY(read7(__LINE__, c, out, want, what))

static int iotlb_body(struct ctx *c, struct nested *n)
{
	struct iommu_stats s0, s1, s2;
	char out[8];

	TRY(nested_setup(c, n));
	memcpy(n->data, "page-0", 7);
	memcpy(n->data + 2 * PAGE, "page-2", 7);
	READ7("page-0", "first read (a miss, now cached)");
	CHECK_OK("GET_STATS", ctx_stats(c->a, &s0));

	*pte(n, 1, 0) = (DATA_GPA + 2 * PAGE) | PTE_RW;	/* edit, no invalidation */
	READ7("page-0", "read after editing L1[0], before INVALIDATE (stale is right)");
	CHECK_OK("GET_STATS", ctx_stats(c->a, &s1));
	CHECK(s1.iotlb_hits > s0.iotlb_hits, "iotlb_hits did not grow: %llu -> %llu",
	      (unsigned long long)s0.iotlb_hits, (unsigned long long)s1.iotlb_hits);
	CHECK(s1.iotlb_misses == s0.iotlb_misses, "iotlb_misses grew on a cached read: %llu -> %llu",
	      (unsigned long long)s0.iotlb_misses, (unsigned long long)s1.iotlb_misses);

	CHECK_OK("INVALIDATE another PASID",
		 do_invalidate(c->a, n->child, IOMMU_INV_GRAN_PASID, IOMMU_INV_CACHE_IOTLB, 6, 0, 0));
	READ7("page-0", "read after invalidating PASID 6");
	CHECK_OK("INVALIDATE another page",
		 do_invalidate(c->a, n->child, IOMMU_INV_GRAN_RANGE, IOMMU_INV_CACHE_IOTLB,
			       NEST_PASID, NEST_IOVA + PAGE, PAGE));
	READ7("page-0", "read after invalidating the next page");
	CHECK_OK("INVALIDATE GRAN_RANGE of the page",
		 do_invalidate(c->a, n->child, IOMMU_INV_GRAN_RANGE, IOMMU_INV_CACHE_IOTLB,
			       NEST_PASID, NEST_IOVA, PAGE));
	READ7("page-2", "read after GRAN_RANGE invalidation");
	CHECK_OK("GET_STATS", ctx_stats(c->a, &s2));
	CHECK(s2.iotlb_misses > s1.iotlb_misses, "no IOTLB miss after the invalidation: %llu -> %llu",
	      (unsigned long long)s1.iotlb_misses, (unsigned long long)s2.iotlb_misses);

	*pte(n, 1, 0) = DATA_GPA | PTE_RW;
	READ7("page-2", "read after editing back, before INVALIDATE");
	CHECK_OK("INVALIDATE GRAN_PASID",
		 do_invalidate(c->a, n->child, IOMMU_INV_GRAN_PASID, IOMMU_INV_CACHE_IOTLB,
			       NEST_PASID, 0, 0));
	READ7("page-0", "read after GRAN_PASID invalidation");

	*pte(n, 1, 0) = (DATA_GPA + 2 * PAGE) | PTE_RW;
	READ7("page-0", "read after the third edit, before INVALIDATE");
	CHECK_OK("INVALIDATE GRAN_ALL",
		 do_invalidate(c->a, n->child, IOMMU_INV_GRAN_ALL,
			       IOMMU_INV_CACHE_IOTLB | IOMMU_INV_CACHE_DEVTLB, 0, 0, 0));
	READ7("page-2", "read after GRAN_ALL invalidation");

	/* A cleared entry is a stale hit too, until invalidated. */
	*pte(n, 1, 0) = 0;
	READ7("page-2", "read after clearing L1[0], before INVALIDATE");
	CHECK_OK("INVALIDATE GRAN_RANGE",
		 do_invalidate(c->a, n->child, IOMMU_INV_GRAN_RANGE, IOMMU_INV_CACHE_IOTLB,
			       NEST_PASID, NEST_IOVA, PAGE));
	DMA_ABORTED("read after clearing L1[0] and invalidating", c->a, NEST_COOKIE, NEST_IOVA, out,
		  7, 0, NEST_PASID, IOMMU_FAULT_REASON_NOT_MAPPED, IOMMU_FAULT_STAGE1, 0, NEST_IOVA);

	/* What INVALIDATE_CACHE refuses. */
	CHECK_ERR("INVALIDATE a kernel-managed IOASID",
		  do_invalidate(c->a, n->parent, IOMMU_INV_GRAN_ALL, IOMMU_INV_CACHE_IOTLB, 0, 0, 0),
		  EINVAL);
	CHECK_ERR("INVALIDATE an unknown IOASID",
		  do_invalidate(c->a, 0x7ffffff0, IOMMU_INV_GRAN_ALL, IOMMU_INV_CACHE_IOTLB, 0, 0, 0),
		  ENOENT);
	CHECK_ERR("INVALIDATE from B", do_invalidate(c->b, n->child, IOMMU_INV_GRAN_ALL,
		  IOMMU_INV_CACHE_IOTLB, 0, 0, 0), ENOENT);
	CHECK_ERR("INVALIDATE with no cache bit",
		  do_invalidate(c->a, n->child, IOMMU_INV_GRAN_ALL, 0, 0, 0, 0), EINVAL);
	CHECK_ERR("INVALIDATE granularity 3",
		  do_invalidate(c->a, n->child, 3, IOMMU_INV_CACHE_IOTLB, 0, 0, 0), EINVAL);
	CHECK_ERR("INVALIDATE a misaligned range",
		  do_invalidate(c->a, n->child, IOMMU_INV_GRAN_RANGE, IOMMU_INV_CACHE_IOTLB,
				NEST_PASID, NEST_IOVA + 1, PAGE), EINVAL);
	return 0;
}

static int t_iotlb_stale(struct ctx *c)
{
	struct nested n;
	int r = iotlb_body(c, &n);

	nested_free(&n);
	return r;
}

/* 7. Accounting ------------------------------------------------------------ */

#define LIMIT_PAGES	4

/* CAP_IPC_LOCK in this process's effective set: 1, 0, or -1 on error. */
static int has_ipc_lock(void)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &hdr, data) != 0)
		return -1;
	return (data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective & CAP_TO_MASK(CAP_IPC_LOCK)) != 0;
}

/* Drops CAP_IPC_LOCK from every set of this process.  0 or -1. */
static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	int i = CAP_TO_INDEX(CAP_IPC_LOCK);

	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &hdr, data) != 0)
		return -1;
	data[i].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	data[i].permitted &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	data[i].inheritable &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	hdr.pid = 0;
	return syscall(SYS_capset, &hdr, data) == 0 ? 0 : -1;
}

static int set_memlock(rlim_t bytes)
{
	struct rlimit r;

	r.rlim_cur = bytes;
	r.rlim_max = bytes;
	return setrlimit(RLIMIT_MEMLOCK, &r);
}

static int expect_locked(int line, int fd, __u64 want, const char *when)
{
	struct iommu_stats s;
	long r = ctx_stats(fd, &s);

	if (r != 0) {
		failf(line, "GET_STATS %s: %s", when, resname(r));
		return -1;
	}
	if (s.locked_pages != want) {
		failf(line, "locked_pages %llu %s, expected %llu",
		      (unsigned long long)s.locked_pages, when, (unsigned long long)want);
		return -1;
	}
	return 0;
}

#define LOCKED(fd, want, when) TRY(expect_locked(__LINE__, fd, want, when))

/* In the child: no CAP_IPC_LOCK, RLIMIT_MEMLOCK 4 pages. */
static int memlock_child(void)
{
	unsigned char *mem = pages(6);
	struct rlimit r;
	struct iommu_stats s;
	int fd;
	long a, b;

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	memset(mem, 0x44, 6 * PAGE);
	CHECK(drop_ipc_lock() == 0, "capset (drop CAP_IPC_LOCK): %s", strerror(errno));
	CHECK(has_ipc_lock() == 0, "CAP_IPC_LOCK still effective after capset");
	CHECK(set_memlock(LIMIT_PAGES * PAGE) == 0, "setrlimit(RLIMIT_MEMLOCK): %s", strerror(errno));
	CHECK(getrlimit(RLIMIT_MEMLOCK, &r) == 0 && r.rlim_cur == LIMIT_PAGES * PAGE,
	      "RLIMIT_MEMLOCK is %llu", (unsigned long long)r.rlim_cur);
	fd = open(dev_path, O_RDWR);
	CHECK(fd >= 0, "open %s: %s", dev_path, strerror(errno));
	a = do_alloc(fd);
	b = do_alloc(fd);
	CHECK(a > 0 && b > 0, "IOASID_ALLOC: %s %s", resname(a), resname(b));
	LOCKED(fd, 0, "before any MAP");

	/* A: pages 0-1 and 2-3 as two mappings. */
	CHECK_OK("MAP pages 0-1 into A", do_map(fd, a, mem, IOVA_BASE, 2 * PAGE, RW));
	LOCKED(fd, 2, "after mapping 2 pages");
	CHECK_OK("MAP pages 2-3 into A", do_map(fd, a, mem + 2 * PAGE, IOVA_BASE + 2 * PAGE,
						2 * PAGE, RW));
	LOCKED(fd, LIMIT_PAGES, "after mapping 4 pages (the limit)");
	CHECK_OK("MAP pages 0-3 into B (the same buffer)",
		 do_map(fd, b, mem, 0x900000, 4 * PAGE, RW));
	LOCKED(fd, LIMIT_PAGES, "after mapping the same 4 pages into a second IOASID");
	CHECK_ERR("MAP a 5th page", do_map(fd, b, mem + 4 * PAGE, 0x200000, PAGE, RW), ENOMEM);
	CHECK_ERR("MAP pages 1-4 (one of them fresh)",
		  do_map(fd, a, mem + PAGE, 0x300000, 4 * PAGE, RW), ENOMEM);
	LOCKED(fd, LIMIT_PAGES, "after the refused MAPs");
	CHECK_OK("GET_STATS", ctx_stats(fd, &s));
	CHECK(s.mappings == 3, "%llu mappings after the refused MAPs, expected 3",
	      (unsigned long long)s.mappings);

	/* Unmapping gives pages back once nothing else uses them. */
	CHECK_OK("UNMAP B", do_unmap(fd, b, 0x900000, 4 * PAGE));
	LOCKED(fd, LIMIT_PAGES, "after unmapping B (A still maps all 4)");
	CHECK_OK("UNMAP A's pages 2-3", do_unmap(fd, a, IOVA_BASE + 2 * PAGE, 2 * PAGE));
	LOCKED(fd, 2, "after unmapping pages 2-3");
	CHECK_OK("MAP the 5th page now", do_map(fd, b, mem + 4 * PAGE, 0x200000, PAGE, RW));
	LOCKED(fd, 3, "after mapping the 5th page");

	/* A software mdev's pins of mapped pages are already charged. */
	CHECK_OK("bind vmdev0", do_bind(fd, "vmdev0", 1));
	CHECK_ERR("PIN before attach", do_pin(fd, IOMMU_SIM_MDEV_PIN, 1, IOVA_BASE, 1, 0), ENXIO);
	CHECK_OK("attach vmdev0 -> A", do_attach(fd, 1, a, NO_PASID));
	CHECK_OK("PIN pages 0-1 for write",
		 do_pin(fd, IOMMU_SIM_MDEV_PIN, 1, IOVA_BASE, 2, IOMMU_SIM_PIN_WRITE));
	LOCKED(fd, 3, "after pinning 2 mapped pages");
	CHECK_OK("PIN them again", do_pin(fd, IOMMU_SIM_MDEV_PIN, 1, IOVA_BASE, 2, 0));
	LOCKED(fd, 3, "after pinning them twice");
	CHECK_ERR("PIN an unmapped IOVA",
		  do_pin(fd, IOMMU_SIM_MDEV_PIN, 1, IOVA_BASE + 2 * PAGE, 1, 0), EFAULT);
	CHECK_OK("UNPIN once", do_pin(fd, IOMMU_SIM_MDEV_UNPIN, 1, IOVA_BASE, 2, 0));
	CHECK_OK("UNPIN twice", do_pin(fd, IOMMU_SIM_MDEV_UNPIN, 1, IOVA_BASE, 2, 0));
	CHECK_ERR("UNPIN a third time", do_pin(fd, IOMMU_SIM_MDEV_UNPIN, 1, IOVA_BASE, 2, 0), EINVAL);
	LOCKED(fd, 3, "after unpinning");
	/* Pinned, then unmapped: the charge goes with the last user. */
	CHECK_OK("PIN page 0", do_pin(fd, IOMMU_SIM_MDEV_PIN, 1, IOVA_BASE, 1, 0));
	CHECK_OK("UNMAP pages 0-1 (pinned)", do_unmap(fd, a, IOVA_BASE, 2 * PAGE));
	LOCKED(fd, 1, "after unmapping the pinned pages");
	CHECK_OK("unbind vmdev0", do_unbind(fd, 1));
	CHECK_OK("FREE B", do_free(fd, b));
	LOCKED(fd, 0, "after freeing B");
	close(fd);
	munmap(mem, 6 * PAGE);
	return 0;
}

/* In the child: CAP_IPC_LOCK kept, the same 4-page limit: no limit applies. */
static int memlock_exempt_child(void)
{
	unsigned char *mem = pages(6);
	int fd;
	long a;

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	memset(mem, 0x55, 6 * PAGE);
	CHECK(has_ipc_lock() == 1, "the test runs without CAP_IPC_LOCK (not root?)");
	CHECK(set_memlock(LIMIT_PAGES * PAGE) == 0, "setrlimit(RLIMIT_MEMLOCK): %s", strerror(errno));
	fd = open(dev_path, O_RDWR);
	CHECK(fd >= 0, "open %s: %s", dev_path, strerror(errno));
	a = do_alloc(fd);
	CHECK_OK("IOASID_ALLOC", a);
	CHECK_OK("MAP 6 pages with CAP_IPC_LOCK", do_map(fd, a, mem, IOVA_BASE, 6 * PAGE, RW));
	LOCKED(fd, 6, "after mapping 6 pages (counted, not limited)");
	close(fd);
	return 0;
}

/* Runs fn in a child; its verdict and reason come back through a pipe. */
static int in_child(int (*fn)(void))
{
	int p[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int r;

		close(p[0]);
		why[0] = '\0';
		r = fn();
		if (r != 0 && write(p[1], why, strlen(why)) < 0)
			_exit(3);
		_exit(r == 0 ? 0 : 1);
	}
	close(p[1]);
	why[0] = '\0';
	while ((n = read(p[0], why + got, sizeof(why) - 1 - got)) > 0)
		got += n;
	why[got] = '\0';
	close(p[0]);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1 && why[0]) {
		/* The child's reason, marked as such. */
		char tmp[sizeof(why)];

		/* Cut the reason so the prefix fits (no truncation warning). */
		snprintf(tmp, sizeof(tmp), "in the child: %.*s",
			 (int)(sizeof(tmp) - sizeof("in the child: ")), why);
		memcpy(why, tmp, sizeof(why));
		return -1;
	}
	CHECK(0, "the child ended with status 0x%x (%s)", status, why[0] ? why : "no reason");
	return -1;
}

static int t_memlock_limit(struct ctx *c)
{
	(void)c;
	return in_child(memlock_child);
}

static int t_memlock_cap_exempt(struct ctx *c)
{
	(void)c;
	return in_child(memlock_exempt_child);
}

/* 8. Reclaim --------------------------------------------------------------- */

/*
 * A child binds and attaches devices (RID, PASID, mdev, software mdev with
 * a pin, a two-device group) and dies without closing.  The daemon must let
 * another context bind them all once the kernel has released the file.
 */
static const char *const reclaim_names[] = { "nic0", "nic1", "accel0", "mdev0", "vmdev0" };

static int reclaim_setup(void *mem)
{
	struct iommu_sim_dma d;
	unsigned char data[8];
	int fd = open(dev_path, O_RDWR);
	long id = fd < 0 ? -1 : do_alloc(fd);
	long child = id > 0 ? do_alloc_nested(fd, id, 0) : -1;
	size_t k;
	int bad = fd < 0 || id < 0 || child < 0;

	for (k = 0; !bad && k < sizeof(reclaim_names) / sizeof(reclaim_names[0]); k++)
		bad = do_bind(fd, reclaim_names[k], k + 1) != 0;
	bad = bad || do_bind(fd, "nic2", 10) != 0 ||
	      do_map(fd, id, mem, IOVA_BASE, 4 * PAGE, RW) != 0 ||
	      do_attach(fd, 1, id, NO_PASID) != 0 ||
	      do_attach(fd, 2, id, NO_PASID) != 0 ||
	      do_attach(fd, 3, id, 5) != 0 ||
	      do_attach(fd, 3, child, 6) != 0 ||
	      do_attach(fd, 4, id, NO_PASID) != 0 ||
	      do_attach(fd, 5, id, NO_PASID) != 0 ||
	      do_pin(fd, IOMMU_SIM_MDEV_PIN, 5, IOVA_BASE, 2, 0) != 0 ||
	      do_dma(fd, 1, IOVA_BASE, data, 8, 0, NO_PASID, &d) != 0 ||
	      d.status != IOMMU_SIM_DMA_OK;	/* an IOTLB entry for nic0 */
	return bad ? -1 : 0;
}

static int reclaim(struct ctx *c, enum leave_how how)
{
	struct iommu_sim_daemon_stats base, now;
	struct leaver holder;
	unsigned char *mem = pages(4), data[8];
	long r = 0;
	int i;

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	memset(mem, 0x66, 4 * PAGE);
	CHECK_OK("DAEMON_STATS", daemon_stats(c->a, &base));
	TRY(leaver_start(&holder, how, reclaim_setup, mem));
	if (holder.set_up) {
		/* While the child lives, its devices are its own. */
		r = do_bind(c->a, "nic0", 1);
		if (r == -EBUSY)
			r = do_bind(c->a, "nic2", 2);
		if (r == -EBUSY)
			r = do_bind(c->a, "gpu0", 3);
	}
	leaver_end(&holder);
	CHECK(holder.set_up, "the child could not bind/attach/map/pin/DMA (see other tests)");
	CHECK(r == -EBUSY, "binding the live child's devices: expected EBUSY, got %s", resname(r));

	/* The kernel sends RELEASE asynchronously: poll, up to 3 s. */
	for (i = 0; i < 60; i++) {
		r = do_bind(c->a, "nic0", 1);
		if (r != -EBUSY)
			break;
		sleep_ms(50);
	}
	CHECK(r == 0, "nic0 still not bindable 3 s after the child died: %s", resname(r));
	CHECK_OK("bind accel0 (was the child's)", do_bind(c->a, "accel0", 2));
	CHECK_OK("bind nic2 (the child's group)", do_bind(c->a, "nic2", 3));
	CHECK_OK("bind mdev1 in B", do_bind(c->b, "mdev1", 4));
	CHECK_OK("unbind mdev1 in B", do_unbind(c->b, 4));
	CHECK_OK("bind gpu0 in B (the child's mdevs are gone)", do_bind(c->b, "gpu0", 5));
	/* Nothing of the child's routing is left: not attached here, so blocked. */
	DMA_FAULT("nic0 DMA at the child's IOVA", c->a, 1, IOVA_BASE, data, 8, 0, NO_PASID,
		  IOMMU_FAULT_REASON_BLOCKED, 0, 0, IOVA_BASE);
	DMA_FAULT("accel0 PASID 5 DMA", c->a, 2, IOVA_BASE, data, 8, 0, 5,
		  IOMMU_FAULT_REASON_BLOCKED, 0, 0, IOVA_BASE);
	CHECK_OK("DAEMON_STATS", daemon_stats(c->a, &now));
	CHECK(now.contexts == base.contexts && now.ioasids == base.ioasids &&
	      now.mappings == base.mappings && now.mapped_bytes == base.mapped_bytes,
	      "after reclaim: %s, baseline %s", dstats_str(&now), dstats_str(&base));
	munmap(mem, 4 * PAGE);
	return 0;
}

static int t_reclaim_exit(struct ctx *c) { return reclaim(c, LEAVE_EXIT); }
static int t_reclaim_sigkill(struct ctx *c) { return reclaim(c, LEAVE_KILL); }

/* 7. Dirty tracking ---------------------------------------------------------- */

static long dirty_op(int fd, __u32 flags, long ioasid, __u64 iova, __u64 length,
		     __u64 page_size, void *bitmap)
{
	struct iommu_dirty_tracking d;

	memset(&d, 0, sizeof(d));
	d.argsz = sizeof(d);
	d.flags = flags;
	d.ioasid = (__u32)ioasid;
	d.iova = iova;
	d.length = length;
	d.page_size = page_size;
	d.data = (__u64)(unsigned long)bitmap;
	return io(fd, IOMMU_DIRTY_TRACKING, &d);
}

#define GET_BITMAP	IOMMU_DIRTY_TRACKING_GET_BITMAP

/*
 * The device's writes, and only they, come back as bits of the bitmap, once
 * (then cleared); a device behind an IOMMU that cannot track is refused.
 */
static int t_dirty_tracking(struct ctx *c)
{
	unsigned char *mem = pages(8);
	__u64 bitmap[2];
	char byte = 'd';
	long id = do_alloc(c->a);

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	CHECK_OK("IOASID_ALLOC", id);
	CHECK(io_val(c->a, IOMMU_CHECK_EXTENSION, IOMMU_EXT_DIRTY_TRACKING) == 1,
	      "CHECK_EXTENSION(DIRTY_TRACKING) is not 1");
	CHECK_OK("MAP 32K", do_map(c->a, id, mem, IOVA_BASE, 8 * PAGE, RW));
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", 1));
	CHECK_OK("attach nic0", do_attach(c->a, 1, id, NO_PASID));
	memset(bitmap, 0, sizeof(bitmap));
	CHECK_ERR("GET_BITMAP before START", dirty_op(c->a, GET_BITMAP, id, IOVA_BASE,
		  8 * PAGE, PAGE, bitmap), EINVAL);
	CHECK_OK("START", dirty_op(c->a, IOMMU_DIRTY_TRACKING_START, id, 0, 0, 0, NULL));

	DMA_OK("write page 2", c->a, 1, IOVA_BASE + 2 * PAGE, &byte, 1, 1, NO_PASID);
	DMA_OK("write pages 5-6", c->a, 1, IOVA_BASE + 6 * PAGE - 1, mem, 2, 1, NO_PASID);
	DMA_OK("read page 7", c->a, 1, IOVA_BASE + 7 * PAGE, &byte, 1, 0, NO_PASID);
	CHECK_OK("GET_BITMAP NO_CLEAR", dirty_op(c->a, GET_BITMAP | IOMMU_DIRTY_TRACKING_NO_CLEAR,
		 id, IOVA_BASE, 8 * PAGE, PAGE, bitmap));
	CHECK(bitmap[0] == 0x64, "bitmap 0x%llx, expected 0x64 (pages 2, 5, 6)",
	      (unsigned long long)bitmap[0]);
	bitmap[0] = 0;
	CHECK_OK("GET_BITMAP in 8K units", dirty_op(c->a, GET_BITMAP, id, IOVA_BASE,
		 8 * PAGE, 2 * PAGE, bitmap));
	CHECK(bitmap[0] == 0xe, "bitmap 0x%llx, expected 0xe (units 1, 2, 3)",
	      (unsigned long long)bitmap[0]);
	bitmap[0] = 0;
	CHECK_OK("GET_BITMAP after the clearing read", dirty_op(c->a, GET_BITMAP, id, IOVA_BASE,
		 8 * PAGE, PAGE, bitmap));
	CHECK(bitmap[0] == 0, "bitmap 0x%llx after a clearing read, expected 0",
	      (unsigned long long)bitmap[0]);

	CHECK_ERR("GET_BITMAP into unmapped memory",
		  dirty_op(c->a, GET_BITMAP, id, IOVA_BASE, 8 * PAGE, PAGE, (void *)8), EFAULT);
	CHECK_ERR("GET_BITMAP past the mapping",
		  dirty_op(c->a, GET_BITMAP, id, IOVA_BASE, 9 * PAGE, PAGE, bitmap), EINVAL);
	CHECK_ERR("GET_BITMAP wrapping", dirty_op(c->a, GET_BITMAP, id, ~0ULL - PAGE + 1,
		  2 * PAGE, PAGE, bitmap), EOVERFLOW);
	CHECK_ERR("START and STOP at once", dirty_op(c->a, IOMMU_DIRTY_TRACKING_START |
		  IOMMU_DIRTY_TRACKING_STOP, id, 0, 0, 0, NULL), EINVAL);
	CHECK_ERR("START of an IOASID of another open",
		  dirty_op(c->b, IOMMU_DIRTY_TRACKING_START, id, 0, 0, 0, NULL), ENOENT);

	CHECK_OK("bind legacy0", do_bind(c->a, "legacy0", 2));
	CHECK_ERR("attach legacy0 (iommu1: no dirty tracking) while tracking",
		  do_attach(c->a, 2, id, NO_PASID), EINVAL);
	CHECK_OK("STOP", dirty_op(c->a, IOMMU_DIRTY_TRACKING_STOP, id, 0, 0, 0, NULL));
	CHECK_OK("attach legacy0 after STOP", do_attach(c->a, 2, id, NO_PASID));
	CHECK_ERR("START with legacy0 attached",
		  dirty_op(c->a, IOMMU_DIRTY_TRACKING_START, id, 0, 0, 0, NULL), EOPNOTSUPP);
	munmap(mem, 8 * PAGE);
	return 0;
}


static const struct vm_test tests[] = {
	{ "bind_names_cookies", t_bind_names_cookies },
	{ "bind_elsewhere", t_bind_elsewhere },
	{ "bind_group", t_bind_group },
	{ "bind_mdev_parent", t_bind_mdev_parent },
	{ "unbind_twice", t_unbind_twice },
	{ "info_too_small", t_info_too_small },
	{ "info_nic0", t_info_nic0 },
	{ "info_accel0", t_info_accel0 },
	{ "info_legacy0", t_info_legacy0 },
	{ "info_flags_all", t_info_flags_all },
	{ "info_sw_mdev", t_info_sw_mdev },
	{ "attach_rid", t_attach_rid },
	{ "attach_pasid", t_attach_pasid },
	{ "attach_eopnotsupp", t_attach_eopnotsupp },
	{ "attach_mdev", t_attach_mdev },
	{ "attach_erange", t_attach_erange },
	{ "attach_eaddrinuse", t_attach_eaddrinuse },
	{ "free_busy", t_free_busy },
	{ "dma_write_read", t_dma_write_read },
	{ "dma_faults", t_dma_faults },
	{ "dma_errors", t_dma_errors },
	{ "nested_dma", t_nested_dma },
	{ "nested_faults", t_nested_faults },
	{ "iotlb_stale", t_iotlb_stale },
	{ "dirty_tracking", t_dirty_tracking },
	{ "memlock_limit", t_memlock_limit },
	{ "memlock_cap_exempt", t_memlock_cap_exempt },
	{ "reclaim_exit", t_reclaim_exit },
	{ "reclaim_sigkill", t_reclaim_sigkill },
};

int main(int argc, char **argv)
{
	vm_start(argc, argv);
	return run_tests(tests, sizeof(tests) / sizeof(tests[0]), 0);
}
