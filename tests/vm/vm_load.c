/*
 * vm_load.c - load through the real /dev/iommu (issue 10, item 5): 64
 * processes, each with its own open of the device, make 10,000 operations
 * each at the same time, every result checked against the rules
 * (docs/uapi.md); afterwards the daemon must be clean: its counters
 * (IOMMU_SIM_DAEMON_STATS from a fresh open) and the control socket's dump
 * (`iommuctl dump --json`) show nothing left of them, and every device
 * works again for a new owner.
 *
 * Each process keeps a model of its own context -- its IOASIDs, its
 * mappings (several alive at once, of its own pages), its locked pages, the
 * device it holds -- and draws its next operation from a mix:
 * IOASID_ALLOC/FREE, MAP_DMA/UNMAP_DMA, GET_STATS (checked exactly against
 * the model), IOMMU_SIM_DAEMON_STATS (checked against bounds: the other
 * processes change it meanwhile), a few calls that must fail (MAP over a
 * mapping: EEXIST; FREE of an attached IOASID: EBUSY; FREE of an unknown
 * id: ENOENT), and DEVICE_BIND of one of the devices the default topology
 * lets separate contexts hold at once (nic0, nic1, accel0, legacy0, mdev0,
 * mdev1).  Devices are exclusive: a bind that fails EBUSY is the rule while
 * another process holds the device, and that process goes on with
 * device-less operations, trying again now and then.  A process that holds
 * a device attaches and detaches it, makes it DMA into its mappings
 * (IOMMU_SIM_DMA, the bytes checked in its memory) and into unmapped IOVAs
 * (status FAULT, NOT_MAPPED), and now and then unbinds it, so devices change
 * hands during the run.  The holder of accel0 (PRI) registers as its fault
 * consumer and, instead of faulting DMAs, goes through page requests: a DMA
 * into an unmapped IOVA stalls (PENDING), read() gives the record, MAP_DMA
 * maps the page, IOMMU_PAGE_RESPONSE SUCCESS resumes it, SIM_DMA_STATUS
 * says OK and the bytes are where they belong (a read DMA's bytes arrive in
 * its buffer when it is reaped).  One system call is one operation.
 *
 * A quarter of the processes clean up (unbind, unmap, free, GET_STATS all
 * zero, close); the others leave everything: a quarter _exit(), a quarter
 * are SIGKILLed (by themselves), a quarter close the file without cleaning
 * up; the ones that hold accel0 leave a DMA stalled on a page request.
 *
 * Runs inside the QEMU guest (scripts/vm/tier3.sh) as an ordinary client:
 * it includes only the uAPI header and libc.  It assumes the daemon's
 * default topology (docs/topology.md), that it is the daemon's only client,
 * and that `iommuctl` is on PATH and reaches the daemon's control socket
 * (test mode: /bin/iommuctl, /run/cuse-iommu.sock).
 *
 * Output: one line per test, "PASS name" or "FAIL name: reason", then
 * "N passed, M failed" (vm_harness.h), with "note:" lines: the wall time and
 * throughput of the load, the mix, the slowest call.  Exit status 0 only if
 * nothing failed.
 * Usage: vm_load [DEVICE] [-p PROCESSES] [-n OPERATIONS] [-t SECONDS] [-s SEED]
 *   (default /dev/iommu, 64 processes, 10000 operations each, the load must
 *   be over within 600 s, a seed from the clock; the seed is printed, and
 *   -s reuses it, though which binds succeed, and so what follows, depends
 *   on timing).
 *   Under TCG the daemon serves 1,500-4,200 calls/s to 64 clients
 *   (depending on how busy the host is), so the full size takes 2.5 to
 *   7 minutes (315 s in one run); test mode
 *   (scripts/vm/guest.sh) runs -n 2000 -t 150.
 */
#define _DEFAULT_SOURCE		/* mmap flags, nanosleep */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cuse-iommu.h"
#include "vm_ioctls.h"
#include "vm_harness.h"

/* ---------------------------------------------------------------------------
 * The load's shape
 * ------------------------------------------------------------------------- */

#define MAX_PROCS	256
static int nprocs = 64;
static long nops = 10000;
static long deadline_s = 600;		/* the whole load, fork to last reap */
static unsigned long long seed;

/* Each process: NPAGES pages of its own memory; at most MAXIO IOASIDs, each
 * with at most MAXMAP mappings of 1..MAP_PAGES_MAX pages, mapping m of an
 * IOASID at IOVA_BASE + m * IOVA_STRIDE (low IOVAs: below legacy0's 39 bits
 * and clear of every reserved region). */
#define NPAGES		32
#define MAXIO		4
#define MAXMAP		8
#define MAP_PAGES_MAX	4
#define IOVA_BASE	0x100000ULL
#define IOVA_STRIDE	0x10000ULL
#define DMA_MAX		256	/* bytes of one DMA into a mapping */
#define COOKIE_BASE	0x10ad0000ULL	/* + the number of binds so far */

/* The devices separate contexts can hold at once (nic2 shares nic1's group;
 * gpu0 would exclude its mdevs; vmdev0 has no IOMMU). */
static const char *const dev_names[] = { "nic0", "nic1", "accel0", "legacy0", "mdev0", "mdev1" };
#define NDEVS		6
#define DEV_ACCEL0	2	/* PRI: its misses are page requests */

/* How a process ends. */
enum { END_CLEAN, END_EXIT, END_KILL, END_CLOSE, NENDS };
static const char *const end_names[NENDS] = {
	"cleans up", "_exit()s leaving everything", "is SIGKILLed leaving everything",
	"closes without cleaning up"
};

/* What a call is, for the counts and messages. */
enum {
	K_ALLOC, K_FREE, K_MAP, K_UNMAP, K_STATS, K_DSTATS, K_BIND, K_UNBIND, K_ATTACH,
	K_DETACH, K_REGISTER, K_DMA, K_DMA_FAULT, K_PR_DMA, K_PR_READ, K_PR_RESPONSE,
	K_PR_STATUS, K_OPEN, K_CLOSE, NKINDS
};
static const char *const kind_names[NKINDS] = {
	"IOASID_ALLOC", "IOASID_FREE", "MAP_DMA", "UNMAP_DMA", "GET_STATS", "SIM_DAEMON_STATS",
	"DEVICE_BIND", "DEVICE_UNBIND", "DEVICE_ATTACH", "DEVICE_DETACH", "FAULT_REGISTER",
	"SIM_DMA", "SIM_DMA (unmapped)", "SIM_DMA (page request)", "read()", "PAGE_RESPONSE",
	"SIM_DMA_STATUS", "open()", "close()"
};

/* What each process reports, in memory shared with the parent. */
#define NMSG	3
struct result {
	volatile int state;		/* 0 waiting, 1 running, 2 done (verdict below) */
	volatile int doing;		/* the kind of the call in progress, -1: none */
	volatile long ops;		/* calls made so far */
	int end;			/* END_* */
	long count[NKINDS];
	double kind_ms[NKINDS];		/* time spent in each kind of call */
	long fails;			/* results that broke a rule */
	long expected_errors;		/* calls that failed as they had to */
	long bind_busy;			/* binds refused EBUSY */
	long roundtrips;		/* page requests served end to end */
	long dma_bytes;			/* DMA bytes checked in memory */
	double ms;			/* from the start to the verdict */
	double worst_ms;		/* the slowest call */
	int worst_kind;
	long slow_calls;		/* calls over 100 ms */
	long left[4];			/* left behind: IOASIDs, mappings, devices, stalled DMAs */
	char held[80];			/* the devices it held, in order */
	char msg[NMSG][240];		/* the first failures */
};

static struct result *results;

/* ---------------------------------------------------------------------------
 * One process's model of its context
 * ------------------------------------------------------------------------- */

struct mapping {
	int live;
	int page;			/* its first page in buf */
	__u64 size;
};

struct space {
	long id;			/* 0: slot free */
	int nmaps;
	struct mapping map[MAXMAP];	/* map[m] at IOVA_BASE + m * IOVA_STRIDE */
};

struct proc {
	int idx, fd;
	struct result *res;
	unsigned long long rng;
	unsigned char *buf;		/* NPAGES pages */
	int refs[NPAGES];		/* mappings using each page */
	int locked;			/* pages with refs > 0: what GET_STATS must say */
	struct space io[MAXIO];
	int nio;
	long nmaps;
	__u64 mapped_bytes;
	/* the device held: dev_names[dev], or dev -1 */
	int dev;
	__u64 cookie;
	int attached;			/* the IOASID slot it is attached to (whole), or -1 */
	int registered;			/* accel0: this context is its fault consumer */
	long binds;
	/* a page request being served: phase 1 read, 2 map, 3 respond, 4 status */
	int phase;
	int pr_slot, pr_map, pr_page, pr_pages, pr_write;
	__u64 pr_iova, pr_off, pr_len, pr_dma_id;
	__u32 pr_grpid;
	unsigned char pr_data[64];
	int kind;			/* of the call in progress */
	double t_call;
};

static unsigned long long rnd(struct proc *p)
{
	unsigned long long x = p->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	p->rng = x;
	return x * 2685821657736338717ULL;
}

/* 0 .. n-1 */
static unsigned rn(struct proc *p, unsigned n)
{
	return (unsigned)((rnd(p) >> 33) % n);
}

/* A result broke a rule: count it, keep the first few messages. */
static void fail(struct proc *p, const char *fmt, ...)
{
	struct result *r = p->res;
	va_list ap;
	int n;

	if (r->fails++ >= NMSG)
		return;
	n = snprintf(r->msg[r->fails - 1], sizeof(r->msg[0]), "process %d (pid %d, %s), call %ld: ",
		     p->idx, (int)getpid(), p->dev >= 0 ? dev_names[p->dev] : "no device",
		     r->ops);
	va_start(ap, fmt);
	vsnprintf(r->msg[r->fails - 1] + n, sizeof(r->msg[0]) - n, fmt, ap);
	va_end(ap);
}

/* Around each call: count it, time it. */
static void begin(struct proc *p, int kind)
{
	p->res->count[kind]++;
	p->res->ops++;
	p->res->doing = kind;
	p->kind = kind;
	p->t_call = now_ms();
}

static void end(struct proc *p)
{
	double ms = now_ms() - p->t_call;

	p->res->doing = -1;
	p->res->kind_ms[p->kind] += ms;
	if (ms > p->res->worst_ms) {
		p->res->worst_ms = ms;
		p->res->worst_kind = p->kind;
	}
	if (ms > 100)
		p->res->slow_calls++;
}

/* begin(), the call, end(): one system call, its result in r. */
#define CALL(p, kind, expr, r) do { \
	begin(p, kind); \
	(r) = (expr); \
	end(p); \
} while (0)

static __u64 map_iova(int m)
{
	return IOVA_BASE + (__u64)m * IOVA_STRIDE;
}

static unsigned char *page_va(struct proc *p, int page)
{
	return p->buf + (size_t)page * PAGE;
}

static void model_map(struct proc *p, int s, int m, int page, int npages)
{
	struct mapping *mp = &p->io[s].map[m];
	int i;

	mp->live = 1;
	mp->page = page;
	mp->size = (__u64)npages * PAGE;
	p->io[s].nmaps++;
	p->nmaps++;
	p->mapped_bytes += mp->size;
	for (i = page; i < page + npages; i++)
		if (p->refs[i]++ == 0)
			p->locked++;
}

static void model_unmap(struct proc *p, int s, int m)
{
	struct mapping *mp = &p->io[s].map[m];
	int i;

	for (i = mp->page; i < mp->page + (int)(mp->size / PAGE); i++)
		if (--p->refs[i] == 0)
			p->locked--;
	p->io[s].nmaps--;
	p->nmaps--;
	p->mapped_bytes -= mp->size;
	mp->live = 0;
}

static void model_free(struct proc *p, int s)
{
	int m;

	for (m = 0; m < MAXMAP; m++)
		if (p->io[s].map[m].live)
			model_unmap(p, s, m);
	p->io[s].id = 0;
	p->nio--;
}

/* A random slot with an IOASID (-1 if none). */
static int any_space(struct proc *p)
{
	int i, s = (int)rn(p, MAXIO);

	for (i = 0; i < MAXIO; i++, s = (s + 1) % MAXIO)
		if (p->io[s].id)
			return s;
	return -1;
}

/* A random live (want 1) or free (want 0) mapping index of slot s, or -1. */
static int any_map(struct proc *p, int s, int want)
{
	int i, m = (int)rn(p, MAXMAP);

	for (i = 0; i < MAXMAP; i++, m = (m + 1) % MAXMAP)
		if (p->io[s].map[m].live == want)
			return m;
	return -1;
}

/* A random slot with a live mapping (want 1) or a free index (want 0), or -1. */
static int space_with(struct proc *p, int want)
{
	int i, s = (int)rn(p, MAXIO);

	for (i = 0; i < MAXIO; i++, s = (s + 1) % MAXIO)
		if (p->io[s].id && (want ? p->io[s].nmaps > 0 : p->io[s].nmaps < MAXMAP))
			return s;
	return -1;
}

static void fill(struct proc *p, unsigned char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (unsigned char)(rnd(p) >> 56);
}

static const char *status_name(__u32 s)
{
	static char other[32];

	switch (s) {
	case IOMMU_SIM_DMA_OK:		return "OK";
	case IOMMU_SIM_DMA_FAULT:	return "FAULT";
	case IOMMU_SIM_DMA_PENDING:	return "PENDING";
	case IOMMU_SIM_DMA_ABORTED:	return "ABORTED";
	}
	snprintf(other, sizeof(other), "status %u", s);
	return other;
}

static const char *dma_str(const struct iommu_sim_dma *d)
{
	static char s[200];

	snprintf(s, sizeof(s), "%s, bytes_done %llu, fault reason %u flags 0x%x at 0x%llx,"
		 " dma_id %llu", status_name(d->status), (unsigned long long)d->bytes_done,
		 d->fault_reason, d->fault_flags, (unsigned long long)d->fault_addr,
		 (unsigned long long)d->dma_id);
	return s;
}

/* ---------------------------------------------------------------------------
 * The operations: each makes exactly one system call and checks its result
 * ------------------------------------------------------------------------- */

static void op_alloc(struct proc *p)
{
	long r;
	int s, i;

	for (s = 0; p->io[s].id; s++)
		;
	CALL(p, K_ALLOC, do_alloc(p->fd), r);
	if (r <= 0) {
		fail(p, "IOASID_ALLOC with %d IOASIDs: %s", p->nio, resname(r));
		return;
	}
	for (i = 0; i < MAXIO; i++)
		if (p->io[i].id == r) {
			fail(p, "IOASID_ALLOC returned %ld, an id this context holds already", r);
			return;
		}
	memset(&p->io[s], 0, sizeof(p->io[s]));
	p->io[s].id = r;
	p->nio++;
}

/* FREE of a random IOASID: EBUSY if the device is attached to it. */
static void op_free(struct proc *p)
{
	int s = any_space(p);
	long r;

	CALL(p, K_FREE, do_free(p->fd, (__u32)p->io[s].id), r);
	if (s == p->attached) {
		if (r == -EBUSY)
			p->res->expected_errors++;
		else
			fail(p, "IOASID_FREE of IOASID %ld, %s attached to it: %s, expected EBUSY",
			     p->io[s].id, dev_names[p->dev], resname(r));
		return;
	}
	if (r != 0) {
		fail(p, "IOASID_FREE of IOASID %ld (%d mappings): %s", p->io[s].id,
		     p->io[s].nmaps, resname(r));
		return;
	}
	model_free(p, s);
}

/* MAP_DMA of 1..4 of our pages at a free index of slot s (index m, or any). */
static void map_at(struct proc *p, int kind, int s, int m, int npages, int page)
{
	long r;

	CALL(p, kind, do_map(p->fd, (__u32)p->io[s].id, page_va(p, page), map_iova(m),
			     (__u64)npages * PAGE, RW), r);
	if (r != 0) {
		fail(p, "MAP_DMA of %d pages at 0x%llx in IOASID %ld (%d mappings there): %s",
		     npages, (unsigned long long)map_iova(m), p->io[s].id, p->io[s].nmaps,
		     resname(r));
		return;
	}
	model_map(p, s, m, page, npages);
}

static void op_map(struct proc *p)
{
	int s = space_with(p, 0), m = any_map(p, s, 0);
	int npages = 1 + (int)rn(p, MAP_PAGES_MAX);

	map_at(p, K_MAP, s, m, npages, (int)rn(p, NPAGES - npages + 1));
}

/*
 * UNMAP_DMA of a live mapping: its exact range, or (one in eight) its whole
 * stride, which holds only it; or (one in ten, if the slot has a free index)
 * an empty stride, which unmaps nothing (size 0 back).
 */
static void op_unmap(struct proc *p)
{
	int s = space_with(p, 1), m = any_map(p, s, 1), free_m = any_map(p, s, 0);
	__u64 size = p->io[s].map[m].size, back = ~0ULL, want = size;
	__u64 iova = map_iova(m), len = size;
	long r;

	if (free_m >= 0 && rn(p, 10) == 0) {
		iova = map_iova(free_m);
		len = IOVA_STRIDE;
		want = 0;
	} else if (rn(p, 8) == 0) {
		len = IOVA_STRIDE;
	}
	CALL(p, K_UNMAP, do_unmap_size(p->fd, (__u32)p->io[s].id, iova, len, &back), r);
	if (r != 0 || back != want) {
		fail(p, "UNMAP_DMA [0x%llx, +0x%llx) of IOASID %ld: %s, size %llu back; expected"
		     " success, size %llu", (unsigned long long)iova, (unsigned long long)len,
		     p->io[s].id, resname(r), (unsigned long long)back, (unsigned long long)want);
		return;
	}
	if (want)
		model_unmap(p, s, m);
}

/* Calls that must fail, and change nothing. */
static void op_error(struct proc *p)
{
	int s = space_with(p, 1);
	long r;

	if (s >= 0) {
		int m = any_map(p, s, 1);

		CALL(p, K_MAP, do_map(p->fd, (__u32)p->io[s].id, page_va(p, 0), map_iova(m), PAGE,
				      RW), r);
		if (r != -EEXIST)
			fail(p, "MAP_DMA over the mapping at 0x%llx: %s, expected EEXIST",
			     (unsigned long long)map_iova(m), resname(r));
		else
			p->res->expected_errors++;
		return;
	}
	CALL(p, K_FREE, do_free(p->fd, 4000), r);
	if (r != -ENOENT)
		fail(p, "IOASID_FREE of 4000 (no such IOASID): %s, expected ENOENT", resname(r));
	else
		p->res->expected_errors++;
}

/* GET_STATS: this context's counts, exactly as the model has them. */
static void op_stats(struct proc *p)
{
	struct iommu_stats s;
	long r;

	CALL(p, K_STATS, ctx_stats(p->fd, &s), r);
	if (r != 0) {
		fail(p, "GET_STATS: %s", resname(r));
		return;
	}
	if (s.ioasids != (__u32)p->nio || s.devices != (__u32)(p->dev >= 0) ||
	    s.mappings != (__u64)p->nmaps || s.locked_pages != (__u64)p->locked)
		fail(p, "GET_STATS: ioasids %u devices %u mappings %llu locked_pages %llu;"
		     " expected %d %d %ld %d", s.ioasids, s.devices,
		     (unsigned long long)s.mappings, (unsigned long long)s.locked_pages, p->nio,
		     p->dev >= 0, p->nmaps, p->locked);
}

/* SIM_DAEMON_STATS: the others change it meanwhile, so bounds only -- at
 * least what we hold, at most what every process could hold. */
static void op_dstats(struct proc *p)
{
	struct iommu_sim_daemon_stats s;
	__u64 max_maps = (__u64)nprocs * MAXIO * MAXMAP;
	long r;

	CALL(p, K_DSTATS, daemon_stats(p->fd, &s), r);
	if (r != 0) {
		fail(p, "SIM_DAEMON_STATS: %s", resname(r));
		return;
	}
	if (s.contexts < 1 || s.contexts > (__u32)nprocs + 2 || s.ioasids < (__u32)p->nio ||
	    s.ioasids > (__u32)(nprocs * MAXIO) || s.mappings < (__u64)p->nmaps ||
	    s.mappings > max_maps || s.mapped_bytes < p->mapped_bytes ||
	    s.mapped_bytes > max_maps * MAP_PAGES_MAX * PAGE)
		fail(p, "SIM_DAEMON_STATS %s: out of bounds (this process holds %d IOASIDs,"
		     " %ld mappings, %llu bytes; %d processes could hold at most %d, %llu, %llu)",
		     dstats_str(&s), p->nio, p->nmaps, (unsigned long long)p->mapped_bytes,
		     nprocs, nprocs * MAXIO, (unsigned long long)max_maps,
		     (unsigned long long)(max_maps * MAP_PAGES_MAX * PAGE));
}

/* BIND of device d: success, or EBUSY while another process holds it. */
static void op_bind(struct proc *p, int d)
{
	__u64 cookie = COOKIE_BASE + (__u64)p->binds;
	long r;

	CALL(p, K_BIND, do_bind(p->fd, dev_names[d], cookie), r);
	if (r == -EBUSY) {
		p->res->bind_busy++;
		p->res->expected_errors++;
		return;
	}
	if (r != 0) {
		fail(p, "DEVICE_BIND %s: %s, expected success or EBUSY", dev_names[d], resname(r));
		return;
	}
	p->binds++;
	p->dev = d;
	p->cookie = cookie;
	p->attached = -1;
	p->registered = 0;
	if (strlen(p->res->held) + strlen(dev_names[d]) + 2 < sizeof(p->res->held))
		snprintf(p->res->held + strlen(p->res->held),
			 sizeof(p->res->held) - strlen(p->res->held), "%s%s",
			 p->res->held[0] ? " " : "", dev_names[d]);
}

static void op_unbind(struct proc *p)
{
	long r;

	CALL(p, K_UNBIND, do_unbind(p->fd, p->cookie), r);
	if (r != 0)
		fail(p, "DEVICE_UNBIND of %s: %s", dev_names[p->dev], resname(r));
	p->dev = -1;		/* whatever it said: never use the cookie again */
	p->attached = -1;
	p->registered = 0;
}

static void op_register(struct proc *p)
{
	long r;

	CALL(p, K_REGISTER, do_register(p->fd, p->cookie), r);
	if (r != 0)
		fail(p, "DEVICE_FAULT_REGISTER of %s: %s", dev_names[p->dev], resname(r));
	p->registered = 1;	/* a failure is counted once, not at every call */
}

/* The whole device to a random IOASID. */
static void op_attach(struct proc *p)
{
	int s = any_space(p);
	long r;

	CALL(p, K_ATTACH, do_attach(p->fd, p->cookie, (__u32)p->io[s].id, NO_PASID), r);
	if (r != 0) {
		fail(p, "DEVICE_ATTACH %s to IOASID %ld (%d mappings): %s", dev_names[p->dev],
		     p->io[s].id, p->io[s].nmaps, resname(r));
		return;
	}
	p->attached = s;
}

static void op_detach(struct proc *p)
{
	long r;

	CALL(p, K_DETACH, do_detach(p->fd, p->cookie, NO_PASID), r);
	if (r != 0)
		fail(p, "DEVICE_DETACH %s from IOASID %ld: %s", dev_names[p->dev],
		     p->io[p->attached].id, resname(r));
	p->attached = -1;
}

/* The device reads or writes 1..256 bytes of a mapping of its IOASID. */
static void op_dma(struct proc *p)
{
	int s = p->attached, m = any_map(p, s, 1), write = (int)rn(p, 2);
	struct mapping *mp = &p->io[s].map[m];
	__u64 off = rn(p, (unsigned)mp->size), room = mp->size - off;
	__u64 len = 1 + rn(p, (unsigned)(room < DMA_MAX ? room : DMA_MAX));
	unsigned char data[DMA_MAX], *mem = page_va(p, mp->page) + off;
	struct iommu_sim_dma d;
	long r;

	if (write)
		fill(p, data, len);
	else
		memset(data, 0xa5, len);
	CALL(p, K_DMA, do_dma(p->fd, p->cookie, map_iova(m) + off, data, len, write, NO_PASID,
			      &d), r);
	if (r != 0 || d.status != IOMMU_SIM_DMA_OK || d.bytes_done != len || d.dma_id != 0) {
		fail(p, "SIM_DMA %s of %llu bytes at 0x%llx (mapped, IOASID %ld): %s%s%s",
		     write ? "write" : "read", (unsigned long long)len,
		     (unsigned long long)(map_iova(m) + off), p->io[s].id, resname(r),
		     r == 0 ? ": " : "", r == 0 ? dma_str(&d) : "");
		return;
	}
	if (memcmp(mem, data, len) != 0) {
		fail(p, "SIM_DMA %s of %llu bytes at 0x%llx: OK, but %s", write ? "write" : "read",
		     (unsigned long long)len, (unsigned long long)(map_iova(m) + off),
		     write ? "the bytes are not in our memory" :
			     "the bytes read are not those of our memory");
		return;
	}
	p->res->dma_bytes += len;
}

/* A device without page requests DMAs into an unmapped IOVA: FAULT. */
static void op_dma_fault(struct proc *p)
{
	int s = p->attached, m = any_map(p, s, 0), write = (int)rn(p, 2);
	__u64 iova = map_iova(m) + rn(p, MAP_PAGES_MAX * PAGE), len = 1 + rn(p, 64);
	__u32 flags = IOMMU_FAULT_STAGE2 | (write ? IOMMU_FAULT_WRITE : 0);
	unsigned char data[64];
	struct iommu_sim_dma d;
	long r;

	memset(data, 0x3c, sizeof(data));
	CALL(p, K_DMA_FAULT, do_dma(p->fd, p->cookie, iova, data, len, write, NO_PASID, &d), r);
	if (r != 0 || d.status != IOMMU_SIM_DMA_FAULT || d.bytes_done != 0 ||
	    d.fault_reason != IOMMU_FAULT_REASON_NOT_MAPPED || d.fault_flags != flags ||
	    d.fault_addr != iova || d.dma_id != 0)
		fail(p, "SIM_DMA %s at unmapped 0x%llx of IOASID %ld: %s%s%s; expected FAULT,"
		     " reason %u flags 0x%x at 0x%llx, bytes_done 0, dma_id 0",
		     write ? "write" : "read", (unsigned long long)iova, p->io[s].id, resname(r),
		     r == 0 ? ": " : "", r == 0 ? dma_str(&d) : "", IOMMU_FAULT_REASON_NOT_MAPPED,
		     flags, (unsigned long long)iova);
}

/*
 * accel0's page request, one call per step: phase 0 a DMA into an unmapped
 * IOVA of the attached IOASID stalls (PENDING); 1 read() gives its record;
 * 2 MAP_DMA of the page; 3 PAGE_RESPONSE SUCCESS; 4 SIM_DMA_STATUS: OK, and
 * the bytes are in our memory (a write) or in the DMA's buffer (a read).
 */
static void pr_start(struct proc *p)
{
	int s = p->attached, m = any_map(p, s, 0);
	struct iommu_sim_dma d;
	long r;

	p->pr_slot = s;
	p->pr_map = m;
	p->pr_pages = 1 + (int)rn(p, 2);
	p->pr_page = (int)rn(p, NPAGES - p->pr_pages + 1);
	p->pr_write = (int)rn(p, 2);
	p->pr_off = rn(p, (unsigned)(PAGE - sizeof(p->pr_data)));
	p->pr_len = 1 + rn(p, sizeof(p->pr_data));
	p->pr_iova = map_iova(m) + p->pr_off;
	if (p->pr_write)
		fill(p, p->pr_data, sizeof(p->pr_data));
	else
		memset(p->pr_data, 0x5a, sizeof(p->pr_data));
	CALL(p, K_PR_DMA, do_dma(p->fd, p->cookie, p->pr_iova, p->pr_data, p->pr_len,
				 p->pr_write, NO_PASID, &d), r);
	if (r != 0 || d.status != IOMMU_SIM_DMA_PENDING || d.bytes_done != 0 ||
	    d.fault_addr != p->pr_iova || d.fault_reason != IOMMU_FAULT_REASON_NOT_MAPPED ||
	    d.dma_id == 0 || d.dma_id == 0xeeeeeeeeeeeeeeeeULL) {
		fail(p, "accel0 SIM_DMA %s at unmapped 0x%llx of IOASID %ld (its fault consumer"
		     " registered): %s%s%s; expected PENDING on a page request at that address",
		     p->pr_write ? "write" : "read", (unsigned long long)p->pr_iova,
		     p->io[s].id, resname(r), r == 0 ? ": " : "", r == 0 ? dma_str(&d) : "");
		if (r != 0 || d.status != IOMMU_SIM_DMA_PENDING)
			return;	/* nothing to serve */
	}
	p->pr_dma_id = d.dma_id;
	p->phase = 1;
}

static void pr_read(struct proc *p)
{
	struct iommu_fault_record recs[4], *rec = &recs[0];
	__u32 flags = IOMMU_FAULT_RECORD_RECOVERABLE | IOMMU_FAULT_RECORD_LAST |
		      IOMMU_FAULT_RECORD_STAGE2;
	__u32 perm = p->pr_write ? IOMMU_FAULT_PERM_WRITE : IOMMU_FAULT_PERM_READ;
	long r;

	memset(recs, 0, sizeof(recs));
	CALL(p, K_PR_READ, read(p->fd, recs, sizeof(recs)), r);
	if (r < 0)
		r = -(long)errno;
	p->phase = 0;
	if (r != (long)sizeof(*rec)) {
		fail(p, "read() after a DMA went PENDING: %s, expected its one record (%zu bytes)",
		     resname(r), sizeof(*rec));
		return;
	}
	if (rec->flags != flags || rec->reason != IOMMU_FAULT_REASON_NOT_MAPPED ||
	    rec->cookie != p->cookie || rec->ioasid != (__u32)p->io[p->pr_slot].id ||
	    rec->pasid != 0 || rec->perm != perm || rec->addr != p->pr_iova || rec->grpid == 0) {
		fail(p, "the page request's record: flags 0x%x reason %u cookie 0x%llx ioasid %u"
		     " pasid %u perm 0x%x grpid %u addr 0x%llx; expected flags 0x%x reason %u"
		     " cookie 0x%llx ioasid %ld pasid 0 perm 0x%x grpid >0 addr 0x%llx",
		     rec->flags, rec->reason, (unsigned long long)rec->cookie, rec->ioasid,
		     rec->pasid, rec->perm, rec->grpid, (unsigned long long)rec->addr, flags,
		     IOMMU_FAULT_REASON_NOT_MAPPED, (unsigned long long)p->cookie,
		     p->io[p->pr_slot].id, perm, (unsigned long long)p->pr_iova);
		return;
	}
	p->pr_grpid = rec->grpid;
	p->phase = 2;
}

static void pr_map(struct proc *p)
{
	long before = p->res->fails;

	map_at(p, K_MAP, p->pr_slot, p->pr_map, p->pr_pages, p->pr_page);
	p->phase = p->res->fails == before ? 3 : 0;
}

static void pr_respond(struct proc *p)
{
	long r;

	CALL(p, K_PR_RESPONSE, respond(p->fd, p->cookie, p->pr_grpid, IOMMU_PAGE_RESP_SUCCESS), r);
	p->phase = 0;
	if (r != 0) {
		fail(p, "PAGE_RESPONSE SUCCESS of group %u: %s", p->pr_grpid, resname(r));
		return;
	}
	p->phase = 4;
}

static void pr_status(struct proc *p)
{
	unsigned char *mem = page_va(p, p->pr_page) + p->pr_off;
	struct iommu_sim_dma_status s;
	long r;

	CALL(p, K_PR_STATUS, dma_status(p->fd, p->pr_dma_id, &s), r);
	p->phase = 0;
	if (r != 0 || s.status != IOMMU_SIM_DMA_OK || s.bytes_done != p->pr_len) {
		fail(p, "SIM_DMA_STATUS of the DMA resumed by SUCCESS (dma_id %llu): %s%s%s, bytes_done"
		     " %llu; expected OK, bytes_done %llu", (unsigned long long)p->pr_dma_id,
		     resname(r), r == 0 ? ", status " : "", r == 0 ? status_name(s.status) : "",
		     (unsigned long long)s.bytes_done, (unsigned long long)p->pr_len);
		return;
	}
	if (memcmp(mem, p->pr_data, p->pr_len) != 0) {
		fail(p, "the %s DMA resumed after a page request is OK, but %s",
		     p->pr_write ? "write" : "read",
		     p->pr_write ? "its bytes are not in our memory" :
				   "its buffer does not hold the bytes of our memory");
		return;
	}
	p->res->roundtrips++;
	p->res->dma_bytes += p->pr_len;
}

static void pr_step(struct proc *p)
{
	switch (p->phase) {
	case 1: pr_read(p); break;
	case 2: pr_map(p); break;
	case 3: pr_respond(p); break;
	default: pr_status(p); break;
	}
}

/* ---------------------------------------------------------------------------
 * The mix
 * ------------------------------------------------------------------------- */

enum {
	W_ALLOC, W_FREE, W_MAP, W_UNMAP, W_STATS, W_DSTATS, W_ERROR, W_BIND, W_UNBIND,
	W_ATTACH, W_DETACH, W_DMA, W_DMA_FAULT, W_PAGE_REQUEST, NW
};

/* One operation (one call), drawn from what the state allows. */
static void one_op(struct proc *p)
{
	int w[NW], i, total = 0, pick, has_dev = p->dev >= 0, att = p->attached;

	if (p->phase) {
		pr_step(p);
		return;
	}
	if (has_dev && p->dev == DEV_ACCEL0 && !p->registered) {
		op_register(p);
		return;
	}
	memset(w, 0, sizeof(w));	/* per mille, roughly */
	w[W_ALLOC] = p->nio < MAXIO ? 40 : 0;
	w[W_FREE] = p->nio > 0 ? 25 : 0;
	w[W_MAP] = space_with(p, 0) >= 0 ? 220 : 0;
	w[W_UNMAP] = p->nmaps > 0 ? 180 : 0;
	w[W_STATS] = 60;
	w[W_DSTATS] = 40;
	w[W_ERROR] = 10;
	w[W_BIND] = has_dev ? 0 : 10;
	w[W_UNBIND] = has_dev ? 2 : 0;
	w[W_ATTACH] = has_dev && att < 0 && p->nio > 0 ? 40 : 0;
	w[W_DETACH] = att >= 0 ? 10 : 0;
	w[W_DMA] = att >= 0 && p->io[att].nmaps > 0 ? 250 : 0;
	if (att >= 0 && p->io[att].nmaps < MAXMAP) {
		if (p->dev == DEV_ACCEL0)
			w[W_PAGE_REQUEST] = 50;	/* five calls each */
		else
			w[W_DMA_FAULT] = 20;
	}
	for (i = 0; i < NW; i++)
		total += w[i];
	pick = (int)rn(p, (unsigned)total);
	for (i = 0; pick >= w[i]; i++)
		pick -= w[i];
	switch (i) {
	case W_ALLOC:		op_alloc(p); break;
	case W_FREE:		op_free(p); break;
	case W_MAP:		op_map(p); break;
	case W_UNMAP:		op_unmap(p); break;
	case W_STATS:		op_stats(p); break;
	case W_DSTATS:		op_dstats(p); break;
	case W_ERROR:		op_error(p); break;
	case W_BIND:		op_bind(p, (int)rn(p, NDEVS)); break;
	case W_UNBIND:		op_unbind(p); break;
	case W_ATTACH:		op_attach(p); break;
	case W_DETACH:		op_detach(p); break;
	case W_DMA:		op_dma(p); break;
	case W_DMA_FAULT:	op_dma_fault(p); break;
	default:		pr_start(p); break;
	}
}

/* Undo everything, each step checked, then GET_STATS must say nothing is left. */
static void clean_up(struct proc *p)
{
	struct iommu_stats st;
	int s, m;
	long r;

	if (p->dev >= 0)
		op_unbind(p);
	for (s = 0; s < MAXIO; s++) {
		if (!p->io[s].id)
			continue;
		for (m = 0; m < MAXMAP; m++) {
			__u64 back = ~0ULL, size = p->io[s].map[m].size;

			if (!p->io[s].map[m].live)
				continue;
			CALL(p, K_UNMAP, do_unmap_size(p->fd, (__u32)p->io[s].id, map_iova(m), size,
						       &back), r);
			if (r != 0 || back != size)
				fail(p, "clean-up: UNMAP_DMA at 0x%llx: %s, size %llu back",
				     (unsigned long long)map_iova(m), resname(r),
				     (unsigned long long)back);
			model_unmap(p, s, m);
		}
		CALL(p, K_FREE, do_free(p->fd, (__u32)p->io[s].id), r);
		if (r != 0)
			fail(p, "clean-up: IOASID_FREE %ld: %s", p->io[s].id, resname(r));
		p->io[s].id = 0;
		p->nio--;
	}
	CALL(p, K_STATS, ctx_stats(p->fd, &st), r);
	if (r != 0 || st.ioasids || st.devices || st.mappings || st.locked_pages)
		fail(p, "GET_STATS after the clean-up: %s, ioasids %u devices %u mappings %llu"
		     " locked_pages %llu; expected all 0", resname(r), st.ioasids, st.devices,
		     (unsigned long long)st.mappings, (unsigned long long)st.locked_pages);
	CALL(p, K_CLOSE, close(p->fd), r);
	if (r != 0)
		fail(p, "close(): %s", strerror(errno));
}

/* A process of the load: never returns. */
static void load_child(int idx, int go, const struct ctx *c)
{
	static struct proc p;
	char token;
	double t0;

	/* The test's own files are not this process's business. */
	close(c->a);
	close(c->b);
	memset(&p, 0, sizeof(p));
	p.idx = idx;
	p.res = &results[idx];
	p.res->end = idx % NENDS;
	p.res->doing = -1;
	p.rng = (seed + 0x9e3779b97f4a7c15ULL * (unsigned long long)(idx + 1)) | 1;
	p.dev = -1;
	p.attached = -1;
	p.buf = pages(NPAGES);
	if (p.buf)
		memset(p.buf, 0x11, NPAGES * PAGE);	/* resident before the clock starts */
	/* Everyone starts at once: the parent closes its end of the pipe. */
	if (read(go, &token, 1) < 0)
		_exit(3);
	close(go);
	t0 = now_ms();
	p.res->state = 1;
	if (!p.buf) {
		fail(&p, "mmap: %s", strerror(errno));
		goto out;
	}
	begin(&p, K_OPEN);
	p.fd = open(dev_path, O_RDWR | O_NONBLOCK);
	end(&p);
	if (p.fd < 0) {
		fail(&p, "open %s: %s", dev_path, strerror(errno));
		goto out;
	}
	/* First a bind of "its" device (about eleven processes want each). */
	op_bind(&p, idx % NDEVS);
	while (p.res->ops < nops || p.phase)
		one_op(&p);
	switch (p.res->end) {
	case END_CLEAN:
		clean_up(&p);
		break;
	default:
		/* accel0's holder leaves a DMA stalled on a page request
		 * (attached first, if it is not). */
		if (p.dev == DEV_ACCEL0 && p.registered && p.attached < 0) {
			if (p.nio == 0)
				op_alloc(&p);
			if (p.nio > 0)
				op_attach(&p);
		}
		if (p.dev == DEV_ACCEL0 && p.registered && p.attached >= 0 &&
		    p.io[p.attached].nmaps < MAXMAP) {
			pr_start(&p);
			p.res->left[3] = p.phase == 1;
		}
		p.res->left[0] = p.nio;
		p.res->left[1] = p.nmaps;
		p.res->left[2] = p.dev >= 0;
		if (p.res->end == END_CLOSE)
			close(p.fd);
		break;
	}
out:
	p.res->ms = now_ms() - t0;
	p.res->state = 2;
	if (p.res->end == END_KILL)
		raise(SIGKILL);
	_exit(0);
}

/* ---------------------------------------------------------------------------
 * The tests
 * ------------------------------------------------------------------------- */

/* Until the daemon's counters are `contexts` contexts and nothing else, at most ms. */
static int wait_counts(int line, int fd, __u32 contexts, long ms, double *took)
{
	struct iommu_sim_daemon_stats s;
	double t0 = now_ms();
	long r;

	for (;;) {
		r = daemon_stats(fd, &s);
		CHECK_LINE(r == 0, "SIM_DAEMON_STATS: %s", resname(r));
		if (s.contexts == contexts && s.ioasids == 0 && s.mappings == 0 &&
		    s.mapped_bytes == 0)
			break;
		CHECK_LINE(now_ms() - t0 < ms, "SIM_DAEMON_STATS %.1f s after the load: %s; expected"
			   " {contexts %u, ioasids 0, mappings 0, bytes 0}", (now_ms() - t0) / 1000,
			   dstats_str(&s), contexts);
		sleep_ms(20);
	}
	if (took)
		*took = now_ms() - t0;
	return 0;
}

static int t_load(struct ctx *c)
{
	static pid_t pids[MAX_PROCS];
	double kind_ms[NKINDS];
	long total[NKINDS], ops = 0, fails = 0, busy = 0, errs = 0, trips = 0, slow = 0;
	long bytes = 0, behind[4] = { 0, 0, 0, 0 };
	int go[2], i, k, left, reaped_bad = 0, unfinished = 0, devices = 0;
	double t0, secs, worst = 0, settle_ms = 0, fastest = 1e12, slowest = 0;
	int worst_kind = -1, worst_proc = -1;
	char bad[400] = "";
	size_t size = (sizeof(struct result) * (size_t)nprocs + PAGE - 1) / PAGE;

	results = shared_pages(size);
	CHECK(results != NULL, "mmap: %s", strerror(errno));
	memset(results, 0, size * PAGE);
	CHECK(pipe(go) == 0, "pipe: %s", strerror(errno));
	step("forking %d processes", nprocs);
	fflush(stdout);
	for (i = 0; i < nprocs; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(go[1]);
			load_child(i, go[0], c);
		}
		if (pids[i] < 0) {
			int e = errno, n = i;

			close(go[0]);
			close(go[1]);	/* the ones started run; kill them */
			while (i-- > 0)
				kill_reap(pids[i], 3000);
			CHECK(0, "fork of process %d: %s", n, strerror(e));
		}
	}
	close(go[0]);
	step("%d processes x %ld operations", nprocs, nops);
	t0 = now_ms();
	close(go[1]);	/* go */

	for (left = nprocs; left > 0;) {
		int status;
		pid_t w = waitpid(-1, &status, WNOHANG);

		if (w > 0) {
			for (i = 0; i < nprocs && pids[i] != w; i++)
				;
			if (i < nprocs) {
				struct result *r = &results[i];
				int want_kill = r->end == END_KILL;
				int ok = want_kill ? WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL :
						     WIFEXITED(status) && WEXITSTATUS(status) == 0;

				if ((!ok || r->state != 2) && reaped_bad++ == 0)
					snprintf(bad, sizeof(bad), "process %d (%s) ended with %s%s", i,
						 end_names[r->end], status_str(status),
						 r->state != 2 ? " before its verdict" : "");
				pids[i] = 0;
				left--;
			}
			continue;
		}
		if (now_ms() - t0 > deadline_s * 1000.0)
			break;
		sleep_ms(20);
	}
	secs = (now_ms() - t0) / 1000;

	if (left > 0) {
		/* Over time: say where they are, then kill them. */
		for (i = 0; i < nprocs; i++)
			if (pids[i] > 0) {
				struct result *r = &results[i];

				if (unfinished++ < 3)
					printf("note: process %d not done after %ld s: %ld of %ld calls made%s%s\n",
					       i, deadline_s, r->ops, nops,
					       r->doing >= 0 ? ", in " : "",
					       r->doing >= 0 ? kind_names[r->doing] : "");
				kill(pids[i], SIGKILL);
			}
		for (i = 0; i < nprocs; i++)
			if (pids[i] > 0 && !reap_within(pids[i], 3000, NULL))
				printf("note: process %d not reaped 3 s after SIGKILL\n", i);
	}

	memset(total, 0, sizeof(total));
	memset(kind_ms, 0, sizeof(kind_ms));
	for (i = 0; i < nprocs; i++) {
		struct result *r = &results[i];

		ops += r->ops;
		for (k = 0; k < NKINDS; k++) {
			total[k] += r->count[k];
			kind_ms[k] += r->kind_ms[k];
		}
		fails += r->fails;
		busy += r->bind_busy;
		errs += r->expected_errors;
		trips += r->roundtrips;
		bytes += r->dma_bytes;
		slow += r->slow_calls;
		devices += r->held[0] != 0;
		for (k = 0; k < 4; k++)
			behind[k] += r->left[k];
		if (r->state == 2 && r->ms < fastest)
			fastest = r->ms;
		if (r->state == 2 && r->ms > slowest)
			slowest = r->ms;
		if (r->worst_ms > worst) {
			worst = r->worst_ms;
			worst_kind = r->worst_kind;
			worst_proc = i;
		}
	}
	printf("note: load: %d processes x %ld operations: %ld calls in %.1f s = %.0f calls/s"
	       " (seed %llu)\n", nprocs, nops, ops, secs, secs > 0 ? ops / secs : 0.0,
	       (unsigned long long)seed);
	if (fastest < 1e12)
		printf("note: load: processes took %.1f .. %.1f s;", fastest / 1000, slowest / 1000);
	else
		printf("note: load: no process finished;");
	printf(" slowest call %.0f ms (%s, process %d); %ld calls over 100 ms\n", worst,
	       worst_kind >= 0 ? kind_names[worst_kind] : "-", worst_proc, slow);
	printf("note: load: mix:");
	for (k = 0; k < NKINDS; k++)
		printf("%s %s %ld", k ? "," : "", kind_names[k], total[k]);
	printf("\n");
	printf("note: load: mean ms per call:");
	for (k = 0; k < NKINDS; k++)
		if (total[k])
			printf("%s %s %.2f", k ? "," : "", kind_names[k], kind_ms[k] / total[k]);
	printf("\n");
	printf("note: load: %ld calls failed as the rules say (%ld binds EBUSY); %d processes held"
	       " a device; %ld page requests served end to end; %ld DMA bytes checked\n", errs, busy,
	       devices, trips, bytes);
	printf("note: load: the processes that did not clean up left %ld IOASIDs, %ld mappings,"
	       " %ld bound devices and %ld DMAs stalled on page requests to the daemon\n",
	       behind[0], behind[1], behind[2], behind[3]);
	for (i = 0; i < nprocs && fails; i++) {
		struct result *r = &results[i];

		for (k = 0; k < NMSG && k < r->fails; k++)
			printf("note: %s\n", r->msg[k]);
	}
	CHECK(unfinished == 0, "%d of %d processes were not done %ld s after they started (%ld of"
	      " %ld calls made in all); killed", unfinished, nprocs, deadline_s, ops,
	      (long)nprocs * nops);
	CHECK(fails == 0, "%ld results broke the rules (the first of each process above)", fails);
	CHECK(reaped_bad == 0, "%s (%d such processes)", bad, reaped_bad);
	for (i = 0; i < NDEVS; i++) {
		int held = 0;

		for (k = 0; k < nprocs && !held; k++)
			held = strstr(results[k].held, dev_names[i]) != NULL;
		CHECK(held, "no process ever held %s", dev_names[i]);
	}
	CHECK(trips > 0, "no page request of accel0 was served");

	/* The kernel releases an exited process's file asynchronously. */
	step("waiting for the daemon to release the processes' contexts");
	TRY(wait_counts(__LINE__, c->a, 2, 10000, &settle_ms));
	printf("note: load: the daemon had released every process's context %.0f ms after the"
	       " last was reaped\n", settle_ms);
	return 0;
}

/* Closes the runner's two contexts and opens one (c->x): the daemon's only one. */
static int only_context(int line, struct ctx *c)
{
	close(c->a);
	close(c->b);
	c->a = c->b = -1;
	c->x = open(dev_path, O_RDWR);
	CHECK_LINE(c->x >= 0, "open %s: %s", dev_path, strerror(errno));
	return 0;
}

/* SIM_DAEMON_STATS from a fresh open: this context and nothing else. */
static int t_clean_counts(struct ctx *c)
{
	TRY(only_context(__LINE__, c));
	TRY(wait_counts(__LINE__, c->x, 1, 3000, NULL));
	return 0;
}

/* ---------------------------------------------------------------------------
 * The control socket's dump: just enough JSON to look at known keys
 * ------------------------------------------------------------------------- */

static const char *js_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

/* Past the value at p, or NULL if it is malformed. */
static const char *js_skip(const char *p)
{
	p = js_ws(p);
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++)
			if (*p == '\\' && p[1])
				p++;
		return *p ? p + 1 : NULL;
	}
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';

		p = js_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				if (*p != '"' || !(p = js_skip(p)))
					return NULL;
				p = js_ws(p);
				if (*p++ != ':')
					return NULL;
			}
			if (!(p = js_skip(p)))
				return NULL;
			p = js_ws(p);
			if (*p == ',') {
				p = js_ws(p + 1);
				continue;
			}
			return *p == close ? p + 1 : NULL;
		}
	}
	if (!*p || strchr(",:]}", *p))
		return NULL;
	while (*p && !strchr(",:]} \n\t\r", *p))
		p++;
	return p;
}

/* The value of member `key` of the object at p, or NULL. */
static const char *js_member(const char *p, const char *key)
{
	size_t n = strlen(key);

	if (!p || *(p = js_ws(p)) != '{')
		return NULL;
	p = js_ws(p + 1);
	while (*p == '"') {
		const char *k = p + 1, *e = js_skip(p);

		if (!e)
			return NULL;
		p = js_ws(e);
		if (*p != ':')
			return NULL;
		p = js_ws(p + 1);
		if ((size_t)(e - 1 - k) == n && strncmp(k, key, n) == 0)
			return p;
		if (!(p = js_skip(p)))
			return NULL;
		p = js_ws(p);
		if (*p == ',')
			p = js_ws(p + 1);
	}
	return NULL;
}

/* Element i of the array at p, or NULL. */
static const char *js_elem(const char *p, int i)
{
	if (!p || *(p = js_ws(p)) != '[')
		return NULL;
	p = js_ws(p + 1);
	if (*p == ']')
		return NULL;
	while (i-- > 0) {
		if (!(p = js_skip(p)))
			return NULL;
		p = js_ws(p);
		if (*p != ',')
			return NULL;
		p = js_ws(p + 1);
	}
	return p;
}

/* Elements of the array at p; -1 if it is no array. */
static int js_len(const char *p)
{
	int n = 0;

	if (!p || *js_ws(p) != '[')
		return -1;
	while (js_elem(p, n))
		n++;
	return n;
}

/* The value at p is the integer (or literal) text `want`. */
static int js_is(const char *p, const char *want)
{
	const char *e = p ? js_skip(p) : NULL;

	return e && (size_t)(e - p) == strlen(want) && strncmp(p, want, (size_t)(e - p)) == 0;
}

/* The value at p, on one line, shortened: for messages. */
static const char *js_text(const char *p)
{
	static char s[4][160];
	static int i;
	const char *e = p ? js_skip(p) : NULL;
	char *o;
	size_t n = 0;

	if (!e)
		return p ? "(malformed)" : "(missing)";
	i = (i + 1) % 4;
	o = s[i];
	for (; p < e && n < sizeof(s[0]) - 4; p++)
		if (*p != '\n' && !(*p == ' ' && n > 0 && o[n - 1] == ' '))
			o[n++] = *p;
	if (p < e) {
		o[n++] = '.';
		o[n++] = '.';
		o[n++] = '.';
	}
	o[n] = '\0';
	return o;
}

/* Runs argv, its stdout and stderr into a buffer (malloc'd, NUL-ended), at most ms. */
static char *run_capture(char *const argv[], int *status, long ms)
{
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap);
	double deadline = now_ms() + ms;
	int pipefd[2];
	pid_t pid;

	*status = -1;
	if (!out || pipe(pipefd) != 0)
		return out;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	while (pid > 0 && now_ms() < deadline) {
		struct pollfd pf = { pipefd[0], POLLIN, 0 };
		ssize_t n;

		if (poll(&pf, 1, 100) <= 0)
			continue;
		if (len + 4096 + 1 > cap) {
			char *more = cap < (64u << 20) ? realloc(out, cap * 2) : NULL;

			if (!more)
				break;
			out = more;
			cap *= 2;
		}
		n = read(pipefd[0], out + len, cap - len - 1);
		if (n <= 0 && !(n < 0 && errno == EINTR))
			break;
		if (n > 0)
			len += (size_t)n;
	}
	close(pipefd[0]);
	out[len] = '\0';
	if (pid > 0 && !reap_within(pid, deadline - now_ms() > 0 ? (long)(deadline - now_ms()) : 0,
				    status))
		kill_reap(pid, 1000);
	return out;
}

/*
 * `iommuctl dump --json`: the counters (contexts 1: ours; routes, IOTLB
 * entries, locked pages 0), no device bound, no accounting left, and the one
 * context ours, with nothing in it.
 */
static int check_dump(const char *json)
{
	static const char *const zero[] = { "routes", "iotlb_entries", "locked_pages" };
	const char *counters = js_member(json, "counters"), *devs = js_member(json, "devices");
	const char *acct = js_member(json, "accounting"), *ctxs = js_member(json, "contexts");
	const char *me, *v;
	char pid[32];
	int i, n;

	CHECK(js_skip(json) != NULL, "the output is not one JSON value: %s", js_text(json));
	CHECK(counters && js_is(js_member(counters, "contexts"), "1"),
	      "counters: %s; expected contexts 1 (this test's open)", js_text(counters));
	for (i = 0; i < 3; i++)
		CHECK(js_is(js_member(counters, zero[i]), "0"), "counters: %s; expected %s 0",
		      js_text(counters), zero[i]);
	n = js_len(devs);
	CHECK(n >= NDEVS, "devices: %s", js_text(devs));
	for (i = 0; i < n; i++) {
		const char *d = js_elem(devs, i);

		CHECK(js_is(js_member(d, "bound_by"), "null"), "device %s is still bound: %s",
		      js_text(js_member(d, "name")), js_text(d));
	}
	CHECK(js_len(acct) == 0, "accounting is not empty: %s", js_text(acct));
	CHECK(js_len(ctxs) == 1, "%d contexts listed, expected this test's one: %s", js_len(ctxs),
	      js_text(ctxs));
	me = js_elem(ctxs, 0);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	CHECK(js_is(js_member(me, "pid"), pid), "the one context is not this test's (pid %s): %s",
	      pid, js_text(me));
	CHECK(js_len(js_member(me, "ioasids")) == 0 && js_len(js_member(me, "devices")) == 0 &&
	      js_len(js_member(me, "dmas")) == 0, "this test's fresh context is not empty: %s",
	      js_text(me));
	v = js_member(js_member(me, "fault_region"), "pending");
	CHECK(js_is(v, "0"), "this test's fresh context has fault records pending: %s", js_text(v));
	return 0;
}

static int t_dump_clean(struct ctx *c)
{
	char *argv[] = { "iommuctl", "dump", "--json", NULL };
	int status, rc;
	char *out;

	TRY(only_context(__LINE__, c));
	TRY(wait_counts(__LINE__, c->x, 1, 3000, NULL));
	out = run_capture(argv, &status, 15000);
	CHECK(out != NULL, "out of memory");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		failf(__LINE__, "iommuctl dump --json: %s: %s",
		      status == -1 ? "did not finish within 15 s" : status_str(status),
		      js_text(out[0] ? out : "\"(no output)\""));
		free(out);
		return -1;
	}
	rc = check_dump(out);
	free(out);
	return rc;
}

/*
 * After the load, every device still works for a new owner: all six bound in
 * one context, attached to one IOASID, each writes its name into our page
 * and reads it back.
 */
static int t_devices_usable(struct ctx *c)
{
	unsigned char *mem = pages(1);
	struct iommu_sim_dma d;
	char back[16];
	long id, r;
	int i;

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	memset(mem, 0, PAGE);
	id = do_alloc(c->a);
	CHECK_OK("IOASID_ALLOC", id);
	CHECK_OK("MAP_DMA", do_map(c->a, (__u32)id, mem, IOVA_BASE, PAGE, RW));
	for (i = 0; i < NDEVS; i++) {
		const char *name = dev_names[i];
		__u64 at = IOVA_BASE + 16 * (unsigned)i;

		r = do_bind(c->a, name, (__u64)i + 1);
		CHECK(r == 0, "bind %s after the load: %s", name, resname(r));
		r = do_attach(c->a, (__u64)i + 1, (__u32)id, NO_PASID);
		CHECK(r == 0, "attach %s after the load: %s", name, resname(r));
		r = do_dma(c->a, (__u64)i + 1, at, (void *)name, strlen(name) + 1, 1, NO_PASID, &d);
		CHECK(r == 0 && d.status == IOMMU_SIM_DMA_OK, "%s DMA write: %s%s%s", name,
		      resname(r), r == 0 ? ": " : "", r == 0 ? dma_str(&d) : "");
		CHECK(strcmp((char *)mem + 16 * i, name) == 0, "%s's DMA did not land", name);
		memset(back, 0, sizeof(back));
		r = do_dma(c->a, (__u64)i + 1, at, back, strlen(name) + 1, 0, NO_PASID, &d);
		CHECK(r == 0 && d.status == IOMMU_SIM_DMA_OK && strcmp(back, name) == 0,
		      "%s DMA read: %s%s%s, \"%.15s\"", name, resname(r), r == 0 ? ": " : "",
		      r == 0 ? dma_str(&d) : "", back);
	}
	munmap(mem, PAGE);
	return 0;
}

static const struct vm_test tests[] = {
	{ "load_processes_x_operations", t_load },
	{ "load_daemon_counts_clean", t_clean_counts },
	{ "load_dump_clean", t_dump_clean },
	{ "load_devices_usable_after", t_devices_usable },
};

static void usage(void)
{
	fprintf(stderr, "usage: vm_load [DEVICE] [-p PROCESSES] [-n OPERATIONS] [-t SECONDS]"
		" [-s SEED]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int i, rc;

	vm_start(1, argv);
	seed = (unsigned long long)now_ms() * 1000003ULL ^ (unsigned long long)getpid();
	for (i = 1; i < argc; i++) {
		char *end = NULL;
		long v = 0;

		if (argv[i][0] != '-') {
			dev_path = argv[i];
			continue;
		}
		if (i + 1 >= argc || strlen(argv[i]) != 2)
			usage();
		if (argv[i][1] == 's') {
			seed = strtoull(argv[++i], &end, 0);
			if (*end)
				usage();
			continue;
		}
		v = strtol(argv[++i], &end, 0);
		if (*end || v <= 0)
			usage();
		switch (argv[i - 1][1]) {
		case 'p': nprocs = v > MAX_PROCS ? MAX_PROCS : (int)v; break;
		case 'n': nops = v; break;
		case 't': deadline_s = v; break;
		default: usage();
		}
	}
	/* Each test in its own process, bounded: the load's own deadline, the
	 * wait for the daemon's release, then room to report. */
	run_deadline_s = (unsigned)deadline_s + 30;
	rc = run_tests(tests, sizeof(tests) / sizeof(tests[0]), RUN_NOTE_SLOW | RUN_ISOLATED);
	return rc;
}
