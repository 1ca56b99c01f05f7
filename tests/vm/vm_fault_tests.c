/*
 * vm_fault_tests.c - end-to-end tests of I/O page faults on /dev/iommu
 * through the real kernel CUSE path (tier 3): fault records read() from the
 * file, poll/epoll and the eventfd, page requests that stall a DMA until
 * IOMMU_PAGE_RESPONSE, the response timeout, overflow of the fault region,
 * mdev faults routed by defPASID, nested IOPF mappings the daemon resolves
 * itself, and the cleanup of a client killed with page requests pending.
 * Runs inside the QEMU guest (scripts/vm/tier3.sh) after vm_device_tests, as
 * an ordinary client: it includes only the uAPI header and libc.  It assumes
 * the daemon's default topology (docs/topology.md) and that it is the
 * daemon's only client.
 *
 * Output: one line per test, "PASS name" or "FAIL name: reason", then
 * "N passed, M failed" (vm_harness.h).  Exit status 0 only if nothing failed.
 * Usage: vm_fault_tests [DEVICE]   (default /dev/iommu)
 */
#define _DEFAULT_SOURCE		/* mmap flags, nanosleep, eventfd, epoll */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cuse-iommu.h"
#include "vm_ioctls.h"
#include "vm_harness.h"

#define REC		((long)sizeof(struct iommu_fault_record))	/* 64 */

/* The default topology (docs/topology.md): RID = bus << 8 | dev << 3 | fn. */
#define RID_NIC0	0x08	/* 00:01.0 */
#define RID_ACCEL0	0x18	/* 00:03.0 */
#define RID_GPU0	0x20	/* 00:04.0, the mdevs' parent */
#define MSI_START	0xfee00000ULL

/* Cookies: recognisable in a record. */
#define ACCEL		0xacce1000ULL
#define NIC		0x41c00000ULL
#define MDEV0		0x3d000000ULL
#define MDEV1		0x3d100000ULL

/* ---------------------------------------------------------------------------
 * Helpers of this file (the shared ones are in vm_ioctls.h)
 * ------------------------------------------------------------------------- */

/* Sets or clears O_NONBLOCK on fd.  0 or -errno. */
static long set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -(long)errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) < 0 ? -(long)errno : 0;
}

/* read() that returns bytes or -errno. */
static long rd(int fd, void *buf, size_t n)
{
	ssize_t r = read(fd, buf, n);

	return r < 0 ? -(long)errno : (long)r;
}

/*
 * read() bounded in time: SIGALRM (installed without SA_RESTART) interrupts
 * a read the daemon leaves waiting; the kernel then sends FUSE_INTERRUPT and
 * the read fails with EINTR.  Bytes or -errno.
 */
static long read_bounded(int fd, void *buf, size_t n, unsigned seconds)
{
	long r;

	alarm(seconds);
	r = rd(fd, buf, n);
	alarm(0);
	return r;
}

/* The eventfd's counter (reads and resets it); 0 if it is not readable. */
static __u64 efd_take(int efd)
{
	__u64 v = 0;

	if (read(efd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

/* ---------------------------------------------------------------------------
 * Fault records
 * ------------------------------------------------------------------------- */

static const char *rflags_str(__u32 f)
{
	static char str[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(str[i], sizeof(str[i]), "%s%s%s%s%s%s%s%s",
		 f & IOMMU_FAULT_RECORD_RECOVERABLE ? "RECOVERABLE|" : "",
		 f & IOMMU_FAULT_RECORD_LAST ? "LAST|" : "",
		 f & IOMMU_FAULT_RECORD_PASID_VALID ? "PASID_VALID|" : "",
		 f & IOMMU_FAULT_RECORD_STAGE1 ? "STAGE1|" : "",
		 f & IOMMU_FAULT_RECORD_STAGE2 ? "STAGE2|" : "",
		 f & IOMMU_FAULT_RECORD_LOST_BEFORE ? "LOST_BEFORE|" : "",
		 f & IOMMU_FAULT_RECORD_REVOKED ? "REVOKED|" : "",
		 f & ~0x7fu ? "other|" : "");
	if (str[i][0])
		str[i][strlen(str[i]) - 1] = '\0';
	else
		strcpy(str[i], "0");
	return str[i];
}

static const char *rec_str(const struct iommu_fault_record *r)
{
	static char str[2][256];
	static int i;

	i = (i + 1) % 2;
	snprintf(str[i], sizeof(str[i]),
		 "{flags %s, reason %u, cookie 0x%llx, ioasid %u, pasid %u, perm 0x%x,"
		 " grpid %u, addr 0x%llx, seq %llu}", rflags_str(r->flags), r->reason,
		 (unsigned long long)r->cookie, r->ioasid, r->pasid, r->perm, r->grpid,
		 (unsigned long long)r->addr, (unsigned long long)r->seq);
	return str[i];
}

#define ANY_IOASID	0xffffffffu	/* check_rec: do not look at ioasid */

/*
 * The record is exactly this fault: flags (all of them), reason, cookie,
 * ioasid, perm, addr; the PASID with PASID_VALID, else 0; a page request has
 * a group id, anything else grpid 0; the reserved words are zero
 * (docs/uapi.md, "The record").  seq is the caller's business.
 */
static int check_rec(int line, const char *what, const struct iommu_fault_record *r,
		     __u32 flags, __u32 reason, __u64 cookie, __u32 ioasid, __u32 pasid,
		     __u32 perm, __u64 addr)
{
	int ok = r->flags == flags && r->reason == reason && r->cookie == cookie &&
		 (ioasid == ANY_IOASID || r->ioasid == ioasid) &&
		 r->pasid == ((flags & IOMMU_FAULT_RECORD_PASID_VALID) ? pasid : 0) &&
		 r->perm == perm && r->addr == addr &&
		 ((flags & IOMMU_FAULT_RECORD_RECOVERABLE) ? r->grpid != 0 : r->grpid == 0);

	if (!ok) {
		struct iommu_fault_record want;

		memset(&want, 0, sizeof(want));
		want.flags = flags;
		want.reason = reason;
		want.cookie = cookie;
		want.ioasid = ioasid;
		want.pasid = pasid;
		want.perm = perm;
		want.addr = addr;
		want.seq = r->seq;
		want.grpid = (flags & IOMMU_FAULT_RECORD_RECOVERABLE) ? r->grpid : 0;
		failf(line, "%s: record %s, expected %s%s", what, rec_str(r), rec_str(&want),
		      (flags & IOMMU_FAULT_RECORD_RECOVERABLE) ? " (with a non-zero grpid)" : "");
		return -1;
	}
	CHECK_LINE(r->__reserved[0] == 0 && r->__reserved[1] == 0,
		   "%s: the record's reserved words are 0x%llx 0x%llx", what,
		   (unsigned long long)r->__reserved[0], (unsigned long long)r->__reserved[1]);
	return 0;
}

#define CHECK_REC(what, r, flags, reason, cookie, ioasid, pasid, perm, addr) \
	TRY(check_rec(__LINE__, what, r, flags, reason, cookie, ioasid, pasid, perm, addr))

/* Reads exactly one record (room is given for four), waiting up to 5 s. */
static int read_one(int line, int fd, struct iommu_fault_record *rec)
{
	struct iommu_fault_record buf[4];
	long r = read_bounded(fd, buf, sizeof(buf), 5);

	CHECK_LINE(r != -EINTR, "read(): no fault record within 5 s");
	CHECK_LINE(r >= 0, "read() of the fault region: %s", errname(-r));
	CHECK_LINE(r == REC, "read() with room for 4 records returned %ld bytes,"
		   " expected one record (%ld)%s%s", r, REC, r >= REC ? "; the first: " : "",
		   r >= REC ? rec_str(&buf[0]) : "");
	memcpy(rec, buf, sizeof(*rec));
	return 0;
}

#define READ_ONE(fd, rec) TRY(read_one(__LINE__, fd, rec))

/* Reads exactly n records (n >= 1) in reads of at most `chunk` records. */
static int read_n(int line, int fd, struct iommu_fault_record *out, size_t n, size_t chunk)
{
	size_t got = 0;

	while (got < n) {
		size_t want = n - got < chunk ? n - got : chunk;
		long r = read_bounded(fd, out + got, want * REC, 5);

		CHECK_LINE(r != -EINTR, "read(): only %zu of %zu records within 5 s", got, n);
		CHECK_LINE(r > 0, "read() after %zu of %zu records: %s", got, n, resname(r));
		CHECK_LINE(r % REC == 0, "read() returned %ld bytes, not whole records", r);
		got += (size_t)r / REC;
	}
	return 0;
}

/* FAULT_REGION_INFO counters; ANY: not checked. */
#define ANY	(~0ULL)

static int check_counters(int line, int fd, __u64 pending, __u64 lost, __u64 delivered,
			  __u64 unreported, __u64 iopf_resolved, __u64 timeouts)
{
	struct iommu_fault_region_info i;
	long r = region_info(fd, 0, 0, 0, &i);

	CHECK_LINE(r == 0, "FAULT_REGION_INFO: %s", resname(r));
	if ((pending != ANY && i.pending != pending) || (lost != ANY && i.lost != lost) ||
	    (delivered != ANY && i.delivered != delivered) ||
	    (unreported != ANY && i.unreported != unreported) ||
	    (iopf_resolved != ANY && i.iopf_resolved != iopf_resolved) ||
	    (timeouts != ANY && i.timeouts != timeouts)) {
		failf(line, "FAULT_REGION_INFO: pending %llu lost %llu delivered %llu unreported %llu"
		      " iopf_resolved %llu timeouts %llu; expected %lld %lld %lld %lld %lld %lld"
		      " (-1: any)", (unsigned long long)i.pending, (unsigned long long)i.lost,
		      (unsigned long long)i.delivered, (unsigned long long)i.unreported,
		      (unsigned long long)i.iopf_resolved, (unsigned long long)i.timeouts,
		      (long long)pending, (long long)lost, (long long)delivered,
		      (long long)unreported, (long long)iopf_resolved, (long long)timeouts);
		return -1;
	}
	return 0;
}

#define COUNTERS(fd, pending, lost, delivered, unreported, iopf, timeouts) \
	TRY(check_counters(__LINE__, fd, pending, lost, delivered, unreported, iopf, timeouts))
#define NO_RECORD(fd) COUNTERS(fd, 0, ANY, ANY, ANY, ANY, ANY)

/* ---------------------------------------------------------------------------
 * DMA results
 * ------------------------------------------------------------------------- */

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

static const char *st_str(const struct iommu_sim_dma_status *d)
{
	static char s[200];

	snprintf(s, sizeof(s), "%s, bytes_done %llu, fault reason %u flags 0x%x at 0x%llx",
		 status_name(d->status), (unsigned long long)d->bytes_done, d->fault_reason,
		 d->fault_flags, (unsigned long long)d->fault_addr);
	return s;
}

/*
 * A DMA that must stall on a page request: the ioctl succeeds with status
 * PENDING, `done` bytes moved, the fault (NOT_MAPPED) at addr and a dma_id.
 */
static int dma_pending(int line, const char *what, int fd, __u64 cookie, __u64 iova,
		       void *data, __u64 len, int write, long pasid, __u64 done, __u64 addr,
		       __u64 *dma_id)
{
	struct iommu_sim_dma d;
	long r = do_dma(fd, cookie, iova, data, len, write, pasid, &d);

	CHECK_LINE(r == 0, "%s: SIM_DMA expected success, got %s", what, resname(r));
	CHECK_LINE(d.status == IOMMU_SIM_DMA_PENDING && d.dma_id != 0 &&
		   d.dma_id != 0xeeeeeeeeeeeeeeeeULL && d.bytes_done == done &&
		   d.fault_addr == addr && d.fault_reason == IOMMU_FAULT_REASON_NOT_MAPPED,
		   "%s: expected PENDING with a dma_id, bytes_done %llu, NOT_MAPPED at 0x%llx;"
		   " got %s", what, (unsigned long long)done, (unsigned long long)addr, dma_str(&d));
	*dma_id = d.dma_id;
	return 0;
}

#define DMA_PENDING(what, fd, cookie, iova, data, len, write, pasid, done, addr, id) \
	TRY(dma_pending(__LINE__, what, fd, cookie, iova, data, len, write, pasid, done, addr, id))

/* A DMA that finishes at once with `status` (OK, FAULT or ABORTED). */
static int dma_now(int line, const char *what, int fd, __u64 cookie, __u64 iova, void *data,
		   __u64 len, int write, long pasid, __u32 status, __u32 reason, __u64 done)
{
	struct iommu_sim_dma d;
	long r = do_dma(fd, cookie, iova, data, len, write, pasid, &d);

	CHECK_LINE(r == 0, "%s: SIM_DMA expected success, got %s", what, resname(r));
	CHECK_LINE(d.status == status && d.bytes_done == done && d.dma_id == 0 &&
		   (status == IOMMU_SIM_DMA_OK || d.fault_reason == reason),
		   "%s: expected %s (reason %u) with bytes_done %llu and dma_id 0; got %s", what,
		   status_name(status), reason, (unsigned long long)done, dma_str(&d));
	return 0;
}

#define DMA_OK(what, fd, cookie, iova, data, len, write, pasid) \
	TRY(dma_now(__LINE__, what, fd, cookie, iova, data, len, write, pasid, \
		    IOMMU_SIM_DMA_OK, 0, len))
#define DMA_NOW(what, fd, cookie, iova, data, len, write, pasid, status, reason) \
	TRY(dma_now(__LINE__, what, fd, cookie, iova, data, len, write, pasid, status, reason, 0))

/* SIM_DMA_STATUS of dma_id is `status` with `done` bytes moved. */
static int expect_status(int line, const char *what, int fd, __u64 dma_id, __u32 status,
			 __u64 done)
{
	struct iommu_sim_dma_status s;
	long r = dma_status(fd, dma_id, &s);

	CHECK_LINE(r == 0, "%s: SIM_DMA_STATUS(%llu): %s", what, (unsigned long long)dma_id,
		   resname(r));
	CHECK_LINE(s.status == status && s.bytes_done == done,
		   "%s: SIM_DMA_STATUS says %s; expected %s with bytes_done %llu", what, st_str(&s),
		   status_name(status), (unsigned long long)done);
	return 0;
}

#define STATUS(what, fd, id, status, done) \
	TRY(expect_status(__LINE__, what, fd, id, status, done))

/* ---------------------------------------------------------------------------
 * The tests.  Each gets two fresh contexts (struct ctx, vm_harness.h), which
 * the runner closes afterwards whatever happened, and a third slot `x` for a
 * test's own extra open.  Closing unbinds and frees everything, and answers
 * page requests still pending, so a test need not clean up after itself.
 * ------------------------------------------------------------------------- */

/* accel0 bound as ACCEL in c->a, its RID (or `pasid`) attached to a fresh
 * kernel-managed IOASID (returned), its faults reported to c->a. */
static long accel_setup(struct ctx *c, long pasid, int reg)
{
	long id = do_alloc(c->a);

	if (id <= 0)
		return id < 0 ? id : -EIO;
	if (do_bind(c->a, "accel0", ACCEL) != 0 || do_attach(c->a, ACCEL, id, pasid) != 0 ||
	    (reg && do_register(c->a, ACCEL) != 0))
		return -EIO;
	return id;
}

#define ACCEL_SETUP(id, pasid, reg) do { \
	(id) = accel_setup(c, pasid, reg); \
	CHECK((id) > 0, "accel0 bind/attach/register: %s (see vm_device_tests)", resname(id)); \
} while (0)

/* 1. Page requests answered ----------------------------------------------- */

#define PR_IOVA		0x200000ULL
#define PR_PASID	5

/*
 * The consumer of "iommu: introduce device fault report API" (Jacob Pan, May
 * 2018): epoll on the eventfd and on /dev/iommu; a DMA stalls on an unmapped
 * page; the consumer reads the page request, maps its own buffer there and
 * answers SUCCESS; the DMA completes into that buffer.
 */
static int t_iopf_epoll_roundtrip(struct ctx *c)
{
	unsigned char *mem = pages(2);
	char msg[] = "stalled, then resolved", back[16];
	struct iommu_fault_record rec;
	struct epoll_event ev, evs[4];
	struct iommu_sim_dma d;
	__u64 dma_id, counter;
	int efd, ep, seen = 0, n, i;
	double deadline;
	long id;

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	memset(mem, 0, 2 * PAGE);
	ACCEL_SETUP(id, PR_PASID, 1);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK(efd >= 0, "eventfd: %s", strerror(errno));
	c->x = efd;	/* the runner closes it */
	CHECK_OK("FAULT_SET_EVENTFD", set_eventfd(c->a, efd));
	ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0, "epoll_create1: %s", strerror(errno));
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u32 = 1;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) != 0 ||
	    (ev.data.u32 = 2, epoll_ctl(ep, EPOLL_CTL_ADD, c->a, &ev) != 0)) {
		failf(__LINE__, "epoll_ctl(ADD): %s", strerror(errno));
		close(ep);
		return -1;
	}
	n = epoll_wait(ep, evs, 4, 0);
	if (n != 0) {
		failf(__LINE__, "epoll_wait before any fault: %d events (first: %u), expected 0",
		      n, n > 0 ? evs[0].data.u32 : 0);
		close(ep);
		return -1;
	}

	/* The device writes to an IOVA nobody mapped: a page request. */
	if (dma_pending(__LINE__, "accel0 PASID 5 DMA write to an unmapped IOVA", c->a, ACCEL,
			PR_IOVA + 0x10, msg, sizeof(msg), 1, PR_PASID, 0, PR_IOVA + 0x10,
			&dma_id) != 0) {
		close(ep);
		return -1;
	}
	deadline = now_ms() + 5000;
	while (seen != 3 && now_ms() < deadline) {
		n = epoll_wait(ep, evs, 4, 100);
		for (i = 0; i < n; i++)
			if (evs[i].events & EPOLLIN)
				seen |= 1 << (evs[i].data.u32 - 1);
	}
	close(ep);
	CHECK(seen == 3, "epoll after the page request: %s%s did not become readable within 5 s",
	      seen & 1 ? "" : "the eventfd ", seen & 2 ? "" : "the /dev/iommu fd");
	counter = efd_take(efd);
	CHECK(counter == 1, "the eventfd counted %llu, expected 1 (one record)",
	      (unsigned long long)counter);
	READ_ONE(c->a, &rec);
	CHECK_REC("the page request", &rec, IOMMU_FAULT_RECORD_RECOVERABLE |
		  IOMMU_FAULT_RECORD_LAST | IOMMU_FAULT_RECORD_PASID_VALID |
		  IOMMU_FAULT_RECORD_STAGE2, IOMMU_FAULT_REASON_NOT_MAPPED, ACCEL, (__u32)id,
		  PR_PASID, IOMMU_FAULT_PERM_WRITE, PR_IOVA + 0x10);
	CHECK(rec.seq == 1, "the first record of a fresh region has seq %llu, expected 1",
	      (unsigned long long)rec.seq);
	STATUS("before the answer", c->a, dma_id, IOMMU_SIM_DMA_PENDING, 0);
	CHECK(mem[0x10] == 0, "the stalled DMA wrote before the answer");
	{
		struct pollfd p = { c->a, POLLIN, 0 };

		CHECK(poll(&p, 1, 0) == 0, "poll() of an empty region: revents 0x%x", p.revents);
	}

	/* The consumer's fix: its own buffer at the page, then SUCCESS. */
	CHECK_OK("MAP the consumer's page", do_map(c->a, id, mem, PR_IOVA, PAGE, RW));
	CHECK_OK("PAGE_RESPONSE SUCCESS", respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_SUCCESS));
	STATUS("after SUCCESS", c->a, dma_id, IOMMU_SIM_DMA_OK, sizeof(msg));
	CHECK(memcmp(mem + 0x10, msg, sizeof(msg)) == 0,
	      "the resumed DMA's bytes are not in the consumer's buffer: \"%.22s\"",
	      (char *)mem + 0x10);
	CHECK(mem[0xf] == 0 && mem[0x10 + sizeof(msg)] == 0, "bytes around the DMA changed");
	{
		struct iommu_sim_dma_status s;

		CHECK_ERR("SIM_DMA_STATUS of a reaped DMA", dma_status(c->a, dma_id, &s), ENOENT);
	}
	CHECK_ERR("PAGE_RESPONSE of the answered group",
		  respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_SUCCESS), EINVAL);

	/* A read DMA: the bytes reach the initiator's buffer when it resumes. */
	memcpy(mem + PAGE + 0x40, "resolved read", 14);
	memset(back, 0, sizeof(back));
	DMA_PENDING("accel0 DMA read of an unmapped IOVA", c->a, ACCEL, PR_IOVA + PAGE + 0x40,
		    back, 14, 0, PR_PASID, 0, PR_IOVA + PAGE + 0x40, &dma_id);
	CHECK(efd_take(efd) == 1, "the eventfd did not count the second record");
	READ_ONE(c->a, &rec);
	CHECK_REC("the read's page request", &rec, IOMMU_FAULT_RECORD_RECOVERABLE |
		  IOMMU_FAULT_RECORD_LAST | IOMMU_FAULT_RECORD_PASID_VALID |
		  IOMMU_FAULT_RECORD_STAGE2, IOMMU_FAULT_REASON_NOT_MAPPED, ACCEL, (__u32)id,
		  PR_PASID, IOMMU_FAULT_PERM_READ, PR_IOVA + PAGE + 0x40);
	CHECK(rec.seq == 2, "the second record has seq %llu", (unsigned long long)rec.seq);
	CHECK_OK("MAP the page read-only", do_map(c->a, id, mem + PAGE, PR_IOVA + PAGE, PAGE, RO));
	CHECK_OK("PAGE_RESPONSE SUCCESS", respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_SUCCESS));
	STATUS("the read after SUCCESS", c->a, dma_id, IOMMU_SIM_DMA_OK, 14);
	CHECK(memcmp(back, "resolved read", 14) == 0, "the resumed read gave \"%.14s\"", back);
	/* Now mapped: no page request at all. */
	DMA_OK("the same read again", c->a, ACCEL, PR_IOVA + PAGE + 0x40, back, 14, 0, PR_PASID);
	CHECK(do_dma(c->a, ACCEL, PR_IOVA + 0x10, msg, 4, 1, PR_PASID, &d) == 0 &&
	      d.status == IOMMU_SIM_DMA_OK, "a write to the mapped page: %s", dma_str(&d));
	COUNTERS(c->a, 0, 0, 2, 0, 0, 0);
	return 0;
}

#define LAZY_IOVA	0x3000000ULL
#define LAZY_PAGES	4

/* A multi-page DMA that faults page by page; each fault resolved as it comes. */
static int t_iopf_lazy_mapping(struct ctx *c)
{
	const __u64 off = 0x100, len = LAZY_PAGES * PAGE;
	unsigned char *mem = pages(LAZY_PAGES + 1), *src = pages(LAZY_PAGES);
	__u32 groups[LAZY_PAGES + 1];
	struct iommu_fault_record rec;
	__u64 dma_id, expect_addr, i;
	int k, j;
	long id;

	CHECK(mem && src, "mmap: %s", strerror(errno));
	memset(mem, 0, (LAZY_PAGES + 1) * PAGE);
	for (i = 0; i < len; i++)
		src[i] = (unsigned char)(i * 7 + 3);
	ACCEL_SETUP(id, NO_PASID, 1);
	/* [LAZY_IOVA + 0x100, + 16K) touches 5 pages, none mapped. */
	DMA_PENDING("a 16K DMA write over 5 unmapped pages", c->a, ACCEL, LAZY_IOVA + off, src,
		    len, 1, NO_PASID, 0, LAZY_IOVA + off, &dma_id);
	expect_addr = LAZY_IOVA + off;
	for (k = 0; k <= LAZY_PAGES; k++) {
		__u64 page, done;

		READ_ONE(c->a, &rec);
		CHECK_REC("a lazy page request", &rec, IOMMU_FAULT_RECORD_RECOVERABLE |
			  IOMMU_FAULT_RECORD_LAST | IOMMU_FAULT_RECORD_STAGE2,
			  IOMMU_FAULT_REASON_NOT_MAPPED, ACCEL, (__u32)id, 0,
			  IOMMU_FAULT_PERM_WRITE, expect_addr);
		CHECK(rec.seq == (__u64)k + 1, "fault %d has seq %llu", k,
		      (unsigned long long)rec.seq);
		for (j = 0; j < k; j++)
			CHECK(groups[j] != rec.grpid, "faults %d and %d share group %u", j, k,
			      rec.grpid);
		groups[k] = rec.grpid;
		page = rec.addr & ~(PAGE - 1);
		CHECK_OK("MAP the faulting page",
			 do_map(c->a, id, mem + (page - LAZY_IOVA), page, PAGE, RW));
		CHECK_OK("PAGE_RESPONSE SUCCESS",
			 respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_SUCCESS));
		expect_addr = page + PAGE;
		done = expect_addr - (LAZY_IOVA + off);
		if (k < LAZY_PAGES) {
			struct iommu_sim_dma_status s;

			CHECK_OK("SIM_DMA_STATUS", dma_status(c->a, dma_id, &s));
			CHECK(s.status == IOMMU_SIM_DMA_PENDING && s.bytes_done == done &&
			      s.fault_addr == expect_addr,
			      "after resolving page %d: %s; expected PENDING, bytes_done %llu,"
			      " the next fault at 0x%llx", k, st_str(&s), (unsigned long long)done,
			      (unsigned long long)expect_addr);
		}
	}
	STATUS("after the last page", c->a, dma_id, IOMMU_SIM_DMA_OK, len);
	CHECK(memcmp(mem + off, src, len) == 0, "the 16K did not land in the consumer's pages");
	CHECK(mem[off - 1] == 0 && mem[off + len] == 0, "bytes around the DMA changed");
	COUNTERS(c->a, 0, 0, LAZY_PAGES + 1, 0, 0, 0);
	munmap(mem, (LAZY_PAGES + 1) * PAGE);
	munmap(src, LAZY_PAGES * PAGE);
	return 0;
}

/* 2. Other answers and the rules ------------------------------------------ */

static int t_response_invalid(struct ctx *c)
{
	unsigned char *mem = pages(1);
	char w[8] = "invalid";
	struct iommu_fault_record rec;
	struct iommu_sim_dma_status s;
	__u64 dma_id;
	long id;

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	memset(mem, 0, PAGE);
	ACCEL_SETUP(id, NO_PASID, 1);
	DMA_PENDING("DMA write to an unmapped IOVA", c->a, ACCEL, PR_IOVA, w, 8, 1, NO_PASID, 0,
		    PR_IOVA, &dma_id);
	READ_ONE(c->a, &rec);
	/* Even with the page mapped meanwhile, INVALID aborts. */
	CHECK_OK("MAP the page", do_map(c->a, id, mem, PR_IOVA, PAGE, RW));
	CHECK_OK("PAGE_RESPONSE INVALID", respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_INVALID));
	CHECK_OK("SIM_DMA_STATUS", dma_status(c->a, dma_id, &s));
	CHECK(s.status == IOMMU_SIM_DMA_ABORTED && s.bytes_done == 0 &&
	      s.fault_reason == IOMMU_FAULT_REASON_NOT_MAPPED && s.fault_addr == PR_IOVA,
	      "after INVALID: %s; expected ABORTED NOT_MAPPED at 0x%llx, nothing moved",
	      st_str(&s), (unsigned long long)PR_IOVA);
	CHECK(mem[0] == 0, "the aborted DMA wrote memory");
	CHECK_ERR("SIM_DMA_STATUS once more (reaped)", dma_status(c->a, dma_id, &s), ENOENT);
	CHECK_ERR("SIM_DMA_STATUS of dma_id 0", dma_status(c->a, 0, &s), ENOENT);
	/* INVALID stops nothing: the next page request is reported. */
	DMA_PENDING("the next page request", c->a, ACCEL, PR_IOVA + PAGE, w, 8, 1, NO_PASID, 0,
		    PR_IOVA + PAGE, &dma_id);
	CHECK_ERR("SIM_DMA_STATUS of the DMA from another context", dma_status(c->b, dma_id, &s),
		  ENOENT);
	READ_ONE(c->a, &rec);
	CHECK_OK("PAGE_RESPONSE INVALID", respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_INVALID));
	STATUS("after the second INVALID", c->a, dma_id, IOMMU_SIM_DMA_ABORTED, 0);
	COUNTERS(c->a, 0, 0, 2, 0, 0, 0);
	munmap(mem, PAGE);
	return 0;
}

/*
 * FAILURE: abort, answer the device's other pending groups INVALID too
 * (55b0618), and stop its page requests on every PASID (answered INVALID at
 * once, counted unreported) until its next successful attach.
 */
static int t_response_failure(struct ctx *c)
{
	unsigned char *mem = pages(2);
	char w[8] = "failure";
	struct iommu_fault_record rec, rec2;	/* the RID's and PASID 5's requests */
	__u64 dma_id, dma2;
	long id;

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	memset(mem, 0, 2 * PAGE);
	ACCEL_SETUP(id, NO_PASID, 1);
	CHECK_OK("attach accel0 PASID 5 too", do_attach(c->a, ACCEL, id, PR_PASID));
	DMA_PENDING("a RID DMA write to an unmapped IOVA", c->a, ACCEL, PR_IOVA, w, 8, 1, NO_PASID,
		    0, PR_IOVA, &dma_id);
	READ_ONE(c->a, &rec);
	DMA_PENDING("a PASID 5 DMA write to another unmapped IOVA", c->a, ACCEL, PR_IOVA + PAGE, w,
		    8, 1, PR_PASID, 0, PR_IOVA + PAGE, &dma2);
	READ_ONE(c->a, &rec2);
	CHECK(rec.grpid != rec2.grpid, "two pending page requests share group %u", rec.grpid);
	CHECK_OK("PAGE_RESPONSE FAILURE", respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_FAILURE));
	STATUS("after FAILURE", c->a, dma_id, IOMMU_SIM_DMA_ABORTED, 0);
	STATUS("the device's other group (pending before the FAILURE)", c->a, dma2,
	       IOMMU_SIM_DMA_ABORTED, 0);
	CHECK_ERR("PAGE_RESPONSE to the other group",
		  respond(c->a, ACCEL, rec2.grpid, IOMMU_PAGE_RESP_SUCCESS), EINVAL);
	COUNTERS(c->a, 0, 0, 2, 0, 0, 0);

	DMA_NOW("the next RID page request (answered INVALID at once, not reported)", c->a, ACCEL,
		PR_IOVA, w, 8, 1, NO_PASID, IOMMU_SIM_DMA_ABORTED, IOMMU_FAULT_REASON_NOT_MAPPED);
	COUNTERS(c->a, 0, 0, 2, 1, 0, 0);
	DMA_NOW("a PASID 5 page request (every PASID is stopped)", c->a, ACCEL, PR_IOVA + 2 * PAGE,
		w, 8, 0, PR_PASID, IOMMU_SIM_DMA_ABORTED, IOMMU_FAULT_REASON_NOT_MAPPED);
	CHECK_OK("INJECT a recoverable fault",
		 inject(c->a, IOMMU_SIM_FAULT_RECOVERABLE, ACCEL, 0, 0, PR_IOVA, IOMMU_FAULT_PERM_READ, 0));
	COUNTERS(c->a, 0, 0, 2, 3, 0, 0);
	/* Unrecoverable faults are still reported. */
	CHECK_OK("INJECT an unrecoverable fault",
		 inject(c->a, 0, ACCEL, 0, 0, 0x7000, IOMMU_FAULT_PERM_WRITE,
			IOMMU_FAULT_REASON_PERMISSION));
	READ_ONE(c->a, &rec);
	CHECK_REC("the unrecoverable fault after FAILURE", &rec, IOMMU_FAULT_RECORD_STAGE2,
		  IOMMU_FAULT_REASON_PERMISSION, ACCEL, (__u32)id, 0, IOMMU_FAULT_PERM_WRITE, 0x7000);
	CHECK(rec.seq == 3, "seq %llu, expected 3 (the unreported ones take no number)",
	      (unsigned long long)rec.seq);
	/* A failed attach is no attach. */
	CHECK_ERR("attach the RID again (attached already)", do_attach(c->a, ACCEL, id, NO_PASID),
		  EBUSY);
	DMA_NOW("a page request after the failed attach", c->a, ACCEL, PR_IOVA, w, 8, 1, NO_PASID,
		IOMMU_SIM_DMA_ABORTED, IOMMU_FAULT_REASON_NOT_MAPPED);
	COUNTERS(c->a, 0, 0, 3, 4, 0, 0);
	/* Detach and attach again: page requests are reported once more. */
	CHECK(mem[PAGE] == 0, "an aborted DMA wrote memory");
	CHECK_OK("detach accel0", do_detach(c->a, ACCEL, NO_PASID));
	CHECK_OK("attach accel0 again", do_attach(c->a, ACCEL, id, NO_PASID));
	DMA_PENDING("a page request after re-attach", c->a, ACCEL, PR_IOVA, w, 8, 1, NO_PASID, 0,
		    PR_IOVA, &dma_id);
	READ_ONE(c->a, &rec);
	CHECK_REC("the page request after re-attach", &rec, IOMMU_FAULT_RECORD_RECOVERABLE |
		  IOMMU_FAULT_RECORD_LAST | IOMMU_FAULT_RECORD_STAGE2,
		  IOMMU_FAULT_REASON_NOT_MAPPED, ACCEL, (__u32)id, 0, IOMMU_FAULT_PERM_WRITE, PR_IOVA);
	CHECK_OK("MAP the page", do_map(c->a, id, mem, PR_IOVA, PAGE, RW));
	CHECK_OK("PAGE_RESPONSE SUCCESS", respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_SUCCESS));
	STATUS("after SUCCESS", c->a, dma_id, IOMMU_SIM_DMA_OK, 8);
	CHECK(memcmp(mem, w, 8) == 0, "the resumed DMA did not land");
	COUNTERS(c->a, 0, 0, 4, 4, 0, 0);
	munmap(mem, 2 * PAGE);
	return 0;
}

static int t_response_errors(struct ctx *c)
{
	char w[4] = "err";
	struct iommu_fault_record rec;
	struct iommu_page_response pr;
	__u64 dma_id;
	long id;

	ACCEL_SETUP(id, NO_PASID, 1);
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", NIC));
	CHECK_ERR("PAGE_RESPONSE with nothing pending", respond(c->a, ACCEL, 1, 0), EINVAL);
	DMA_PENDING("DMA write to an unmapped IOVA", c->a, ACCEL, PR_IOVA, w, 4, 1, NO_PASID, 0,
		    PR_IOVA, &dma_id);
	READ_ONE(c->a, &rec);
	CHECK_ERR("PAGE_RESPONSE of an unknown cookie",
		  respond(c->a, 0x999, rec.grpid, IOMMU_PAGE_RESP_SUCCESS), ENOENT);
	CHECK_ERR("PAGE_RESPONSE of an unknown group",
		  respond(c->a, ACCEL, rec.grpid + 1000, IOMMU_PAGE_RESP_SUCCESS), EINVAL);
	CHECK_ERR("PAGE_RESPONSE of group 0", respond(c->a, ACCEL, 0, IOMMU_PAGE_RESP_SUCCESS),
		  EINVAL);
	CHECK_ERR("PAGE_RESPONSE of accel0's group for nic0",
		  respond(c->a, NIC, rec.grpid, IOMMU_PAGE_RESP_SUCCESS), EINVAL);
	CHECK_ERR("PAGE_RESPONSE with code 3", respond(c->a, ACCEL, rec.grpid, 3), EINVAL);
	CHECK_ERR("PAGE_RESPONSE from another context",
		  respond(c->b, ACCEL, rec.grpid, IOMMU_PAGE_RESP_SUCCESS), ENOENT);
	memset(&pr, 0, sizeof(pr));
	pr.argsz = sizeof(pr);
	pr.flags = 1;
	pr.cookie = ACCEL;
	pr.grpid = rec.grpid;
	CHECK_ERR("PAGE_RESPONSE with flags 1", io(c->a, IOMMU_PAGE_RESPONSE, &pr), EINVAL);
	STATUS("after the refused answers", c->a, dma_id, IOMMU_SIM_DMA_PENDING, 0);
	CHECK_OK("PAGE_RESPONSE INVALID", respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_INVALID));
	CHECK_ERR("PAGE_RESPONSE of the answered group",
		  respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_INVALID), EINVAL);
	STATUS("after INVALID", c->a, dma_id, IOMMU_SIM_DMA_ABORTED, 0);

	/* An injected page request: answered like any, nothing waits on it. */
	CHECK_OK("INJECT a recoverable fault",
		 inject(c->a, IOMMU_SIM_FAULT_RECOVERABLE, ACCEL, 0, 0, 0x123000,
			IOMMU_FAULT_PERM_READ, 0));
	READ_ONE(c->a, &rec);
	CHECK_REC("the injected page request", &rec, IOMMU_FAULT_RECORD_RECOVERABLE |
		  IOMMU_FAULT_RECORD_LAST | IOMMU_FAULT_RECORD_STAGE2,
		  IOMMU_FAULT_REASON_NOT_MAPPED, ACCEL, (__u32)id, 0, IOMMU_FAULT_PERM_READ, 0x123000);
	CHECK_ERR("UNREGISTER while it is pending", do_unregister(c->a, ACCEL), EBUSY);
	CHECK_OK("PAGE_RESPONSE SUCCESS", respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_SUCCESS));
	CHECK_ERR("and again", respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_SUCCESS), EINVAL);
	return 0;
}

/* One consumer per device; UNREGISTER waits for the answers. */
static int t_register_rules(struct ctx *c)
{
	unsigned char *mem = pages(1);
	char w[4] = "reg";
	struct iommu_fault_record rec;
	__u64 dma_id;
	long id;

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	CHECK_ERR("REGISTER an unbound cookie", do_register(c->a, ACCEL), ENOENT);
	CHECK_ERR("UNREGISTER an unbound cookie", do_unregister(c->a, ACCEL), ENOENT);
	ACCEL_SETUP(id, NO_PASID, 0);
	CHECK_ERR("UNREGISTER before REGISTER", do_unregister(c->a, ACCEL), ENOENT);
	CHECK_OK("REGISTER", do_register(c->a, ACCEL));
	CHECK_ERR("REGISTER again", do_register(c->a, ACCEL), EBUSY);
	CHECK_ERR("REGISTER A's cookie from B", do_register(c->b, ACCEL), ENOENT);

	DMA_PENDING("a page request", c->a, ACCEL, PR_IOVA, w, 4, 1, NO_PASID, 0, PR_IOVA, &dma_id);
	READ_ONE(c->a, &rec);
	CHECK_ERR("UNREGISTER with a page request pending", do_unregister(c->a, ACCEL), EBUSY);
	CHECK_ERR("REGISTER (still the consumer)", do_register(c->a, ACCEL), EBUSY);
	CHECK_OK("MAP the page", do_map(c->a, id, mem, PR_IOVA, PAGE, RW));
	CHECK_OK("PAGE_RESPONSE SUCCESS", respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_SUCCESS));
	STATUS("after SUCCESS", c->a, dma_id, IOMMU_SIM_DMA_OK, 4);
	CHECK_OK("INJECT an unrecoverable fault", inject_simple(c->a, ACCEL, 0x9000,
							      IOMMU_FAULT_PERM_READ));
	CHECK_OK("UNREGISTER (nothing pending, a record queued)", do_unregister(c->a, ACCEL));
	CHECK_ERR("UNREGISTER again", do_unregister(c->a, ACCEL), ENOENT);
	READ_ONE(c->a, &rec);	/* queued records stay */
	CHECK_REC("the record queued before UNREGISTER", &rec, IOMMU_FAULT_RECORD_STAGE2,
		  IOMMU_FAULT_REASON_NOT_MAPPED, ACCEL, (__u32)id, 0, IOMMU_FAULT_PERM_READ, 0x9000);

	/* Without a consumer: answered INVALID at once, counted, not reported. */
	DMA_NOW("a page request without a consumer", c->a, ACCEL, PR_IOVA + PAGE, w, 4, 1,
		NO_PASID, IOMMU_SIM_DMA_ABORTED, IOMMU_FAULT_REASON_NOT_MAPPED);
	COUNTERS(c->a, 0, 0, 2, 1, 0, 0);

	/* Detach and unbind answer what is pending (INVALID). */
	CHECK_OK("REGISTER again", do_register(c->a, ACCEL));
	DMA_PENDING("a page request", c->a, ACCEL, PR_IOVA + PAGE, w, 4, 1, NO_PASID, 0,
		    PR_IOVA + PAGE, &dma_id);
	READ_ONE(c->a, &rec);
	CHECK_OK("detach accel0 with the request pending", do_detach(c->a, ACCEL, NO_PASID));
	STATUS("after the detach", c->a, dma_id, IOMMU_SIM_DMA_ABORTED, 0);
	CHECK_ERR("PAGE_RESPONSE after the detach",
		  respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_SUCCESS), EINVAL);
	CHECK_OK("UNREGISTER (the detach answered it)", do_unregister(c->a, ACCEL));
	CHECK_OK("REGISTER", do_register(c->a, ACCEL));
	CHECK_OK("attach accel0 again", do_attach(c->a, ACCEL, id, NO_PASID));
	DMA_PENDING("a page request", c->a, ACCEL, PR_IOVA + PAGE, w, 4, 1, NO_PASID, 0,
		    PR_IOVA + PAGE, &dma_id);
	READ_ONE(c->a, &rec);
	CHECK_OK("unbind accel0 with the request pending", do_unbind(c->a, ACCEL));
	STATUS("after the unbind", c->a, dma_id, IOMMU_SIM_DMA_ABORTED, 0);
	/* A fresh bind has no consumer. */
	CHECK_OK("bind accel0 again", do_bind(c->a, "accel0", ACCEL));
	CHECK_ERR("UNREGISTER after re-bind", do_unregister(c->a, ACCEL), ENOENT);
	CHECK_OK("REGISTER after re-bind", do_register(c->a, ACCEL));
	/* Group ids are unique in the context: a late answer to the unbound
	 * device's group cannot answer the new one's. */
	CHECK_OK("attach after re-bind", do_attach(c->a, ACCEL, id, NO_PASID));
	{
		__u32 old = rec.grpid;

		DMA_PENDING("a page request after re-bind", c->a, ACCEL, PR_IOVA + PAGE, w, 4, 1,
			    NO_PASID, 0, PR_IOVA + PAGE, &dma_id);
		READ_ONE(c->a, &rec);
		CHECK(rec.grpid != old, "the re-bound device's group id %u repeats the unbound"
		      " one's", rec.grpid);
		CHECK_ERR("PAGE_RESPONSE of the unbound device's group",
			  respond(c->a, ACCEL, old, IOMMU_PAGE_RESP_SUCCESS), EINVAL);
		STATUS("the new request", c->a, dma_id, IOMMU_SIM_DMA_PENDING, 0);
	}
	munmap(mem, PAGE);
	return 0;
}

/* Devices without a consumer: faults counted, never reported. */
static int t_no_consumer_unreported(struct ctx *c)
{
	unsigned char *mem = pages(1);
	unsigned char data[8] = "nothing";
	struct iommu_fault_record rec;
	long id = do_alloc(c->a);

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	CHECK_OK("IOASID_ALLOC", id);
	CHECK_OK("MAP a read-only page", do_map(c->a, id, mem, 0x500000, PAGE, RO));
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", NIC));
	CHECK_OK("attach nic0", do_attach(c->a, NIC, id, NO_PASID));
	CHECK_OK("bind accel0", do_bind(c->a, "accel0", ACCEL));
	CHECK_OK("attach accel0", do_attach(c->a, ACCEL, id, NO_PASID));
	COUNTERS(c->a, 0, 0, 0, 0, 0, 0);
	DMA_NOW("nic0 reads an unmapped IOVA (no PRI: unrecoverable)", c->a, NIC, 0x600000, data, 8,
		0, NO_PASID, IOMMU_SIM_DMA_FAULT, IOMMU_FAULT_REASON_NOT_MAPPED);
	COUNTERS(c->a, 0, 0, 0, 1, 0, 0);
	DMA_NOW("nic0 writes a read-only page", c->a, NIC, 0x500000, data, 8, 1, NO_PASID,
		IOMMU_SIM_DMA_FAULT, IOMMU_FAULT_REASON_PERMISSION);
	CHECK_OK("INJECT a nic0 fault", inject_simple(c->a, NIC, 0x700000, IOMMU_FAULT_PERM_READ));
	COUNTERS(c->a, 0, 0, 0, 3, 0, 0);
	DMA_NOW("accel0's page request (answered INVALID at once)", c->a, ACCEL, 0x600000, data, 8,
		1, NO_PASID, IOMMU_SIM_DMA_ABORTED, IOMMU_FAULT_REASON_NOT_MAPPED);
	COUNTERS(c->a, 0, 0, 0, 4, 0, 0);
	CHECK_OK("set O_NONBLOCK", set_nonblock(c->a, 1));
	CHECK_ERR("read() of the empty region", rd(c->a, &rec, sizeof(rec)), EAGAIN);
	CHECK_OK("clear O_NONBLOCK", set_nonblock(c->a, 0));
	/* Once nic0 has a consumer its faults are reported, the count stays. */
	CHECK_OK("REGISTER nic0", do_register(c->a, NIC));
	DMA_NOW("nic0 reads an unmapped IOVA", c->a, NIC, 0x600000, data, 8, 0, NO_PASID,
		IOMMU_SIM_DMA_FAULT, IOMMU_FAULT_REASON_NOT_MAPPED);
	READ_ONE(c->a, &rec);
	CHECK_REC("nic0's fault", &rec, IOMMU_FAULT_RECORD_STAGE2, IOMMU_FAULT_REASON_NOT_MAPPED,
		  NIC, (__u32)id, 0, IOMMU_FAULT_PERM_READ, 0x600000);
	CHECK(rec.seq == 1, "the first record has seq %llu (unreported faults take no number)",
	      (unsigned long long)rec.seq);
	COUNTERS(c->a, 0, 0, 1, 4, 0, 0);
	munmap(mem, PAGE);
	return 0;
}

/* An unrecoverable fault: a record without RECOVERABLE, nothing to answer. */
static int t_unrecoverable_record(struct ctx *c)
{
	unsigned char *mem = pages(1);
	unsigned char data[8] = "RO page";
	struct iommu_fault_record rec;
	long id = do_alloc(c->a);

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	memset(mem, 0x5a, PAGE);
	CHECK_OK("IOASID_ALLOC", id);
	CHECK_OK("MAP a read-only page", do_map(c->a, id, mem, 0x500000, PAGE, RO));
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", NIC));
	CHECK_OK("attach nic0", do_attach(c->a, NIC, id, NO_PASID));
	CHECK_OK("REGISTER nic0", do_register(c->a, NIC));
	DMA_NOW("nic0 writes the read-only page", c->a, NIC, 0x500008, data, 8, 1, NO_PASID,
		IOMMU_SIM_DMA_FAULT, IOMMU_FAULT_REASON_PERMISSION);
	CHECK(mem[8] == 0x5a, "the refused write changed memory");
	READ_ONE(c->a, &rec);
	CHECK_REC("the permission fault", &rec, IOMMU_FAULT_RECORD_STAGE2,
		  IOMMU_FAULT_REASON_PERMISSION, NIC, (__u32)id, 0, IOMMU_FAULT_PERM_WRITE, 0x500008);
	CHECK_ERR("PAGE_RESPONSE of its grpid (nothing to answer)",
		  respond(c->a, NIC, rec.grpid, IOMMU_PAGE_RESP_SUCCESS), EINVAL);
	DMA_NOW("nic0 reads an unmapped IOVA", c->a, NIC, 0x600000, data, 8, 0, NO_PASID,
		IOMMU_SIM_DMA_FAULT, IOMMU_FAULT_REASON_NOT_MAPPED);
	READ_ONE(c->a, &rec);
	CHECK_REC("the non-present fault (no PRI)", &rec, IOMMU_FAULT_RECORD_STAGE2,
		  IOMMU_FAULT_REASON_NOT_MAPPED, NIC, (__u32)id, 0, IOMMU_FAULT_PERM_READ, 0x600000);
	DMA_NOW("nic0 writes the MSI window", c->a, NIC, MSI_START, data, 4, 1, NO_PASID,
		IOMMU_SIM_DMA_FAULT, IOMMU_FAULT_REASON_RESERVED);
	READ_ONE(c->a, &rec);
	/* No IOASID was reached: ioasid 0, neither stage flag. */
	CHECK_REC("the reserved-region fault", &rec, 0, IOMMU_FAULT_REASON_RESERVED, NIC, 0, 0,
		  IOMMU_FAULT_PERM_WRITE, MSI_START);
	CHECK_OK("detach nic0", do_detach(c->a, NIC, NO_PASID));
	DMA_NOW("nic0 DMA while detached", c->a, NIC, 0x500000, data, 4, 0, NO_PASID,
		IOMMU_SIM_DMA_FAULT, IOMMU_FAULT_REASON_BLOCKED);
	READ_ONE(c->a, &rec);
	CHECK_REC("the blocked fault", &rec, 0, IOMMU_FAULT_REASON_BLOCKED, NIC, 0, 0,
		  IOMMU_FAULT_PERM_READ, 0x500000);
	NO_RECORD(c->a);
	COUNTERS(c->a, 0, 0, 4, 0, 0, 0);
	munmap(mem, PAGE);
	return 0;
}

/* SIM_INJECT_FAULT: by cookie, RAW by RID (and PASID), and what it refuses. */
static int t_inject_rules(struct ctx *c)
{
	struct iommu_fault_record rec;
	long id;

	ACCEL_SETUP(id, NO_PASID, 1);
	CHECK_OK("attach accel0 PASID 9", do_attach(c->a, ACCEL, id, 9));
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", NIC));
	CHECK_OK("REGISTER nic0", do_register(c->a, NIC));
	CHECK_ERR("INJECT for an unbound cookie", inject_simple(c->a, 0x999, 0, IOMMU_FAULT_PERM_READ),
		  ENOENT);
	CHECK_ERR("INJECT for nic0 (not attached: nowhere to go)",
		  inject_simple(c->a, NIC, 0, IOMMU_FAULT_PERM_READ), ENOENT);
	CHECK_OK("attach nic0", do_attach(c->a, NIC, id, NO_PASID));
	CHECK_ERR("INJECT perm 0", inject_simple(c->a, NIC, 0, 0), EINVAL);
	CHECK_ERR("INJECT perm 0x10", inject_simple(c->a, NIC, 0, 0x10), EINVAL);
	CHECK_ERR("INJECT reason 6", inject(c->a, 0, NIC, 0, 0, 0, IOMMU_FAULT_PERM_READ, 6), EINVAL);
	CHECK_ERR("INJECT RECOVERABLE for nic0 (no PRI)",
		  inject(c->a, IOMMU_SIM_FAULT_RECOVERABLE, NIC, 0, 0, 0, IOMMU_FAULT_PERM_READ, 0),
		  EOPNOTSUPP);
	CHECK_ERR("INJECT with a PASID for nic0",
		  inject(c->a, IOMMU_SIM_FAULT_PASID, NIC, 0, 9, 0, IOMMU_FAULT_PERM_READ, 0),
		  EOPNOTSUPP);
	CHECK_ERR("INJECT RAW from an unknown RID",
		  inject(c->a, IOMMU_SIM_FAULT_RAW, 0, 0x777, 0, 0, IOMMU_FAULT_PERM_READ, 0), ENOENT);
	CHECK_ERR("INJECT RAW of A's nic0 from B (stays within the caller's context)",
		  inject(c->b, IOMMU_SIM_FAULT_RAW, 0, RID_NIC0, 0, 0, IOMMU_FAULT_PERM_READ, 0), ENOENT);
	CHECK_ERR("INJECT RAW accel0 PASID 10 (not attached)",
		  inject(c->a, IOMMU_SIM_FAULT_RAW | IOMMU_SIM_FAULT_PASID, 0, RID_ACCEL0, 10, 0,
			 IOMMU_FAULT_PERM_READ, 0), ENOENT);
	NO_RECORD(c->a);

	CHECK_OK("INJECT RAW nic0's RID",
		 inject(c->a, IOMMU_SIM_FAULT_RAW, 0, RID_NIC0, 0, 0x4000, IOMMU_FAULT_PERM_WRITE,
			IOMMU_FAULT_REASON_PERMISSION));
	READ_ONE(c->a, &rec);
	CHECK_REC("RAW nic0", &rec, IOMMU_FAULT_RECORD_STAGE2, IOMMU_FAULT_REASON_PERMISSION, NIC,
		  (__u32)id, 0, IOMMU_FAULT_PERM_WRITE, 0x4000);
	CHECK_OK("INJECT RAW accel0 PASID 9 RECOVERABLE",
		 inject(c->a, IOMMU_SIM_FAULT_RAW | IOMMU_SIM_FAULT_PASID |
			IOMMU_SIM_FAULT_RECOVERABLE, 0, RID_ACCEL0, 9, 0x5000,
			IOMMU_FAULT_PERM_READ, 0));
	READ_ONE(c->a, &rec);
	CHECK_REC("RAW accel0 PASID 9", &rec, IOMMU_FAULT_RECORD_RECOVERABLE |
		  IOMMU_FAULT_RECORD_LAST | IOMMU_FAULT_RECORD_PASID_VALID | IOMMU_FAULT_RECORD_STAGE2,
		  IOMMU_FAULT_REASON_NOT_MAPPED, ACCEL, (__u32)id, 9, IOMMU_FAULT_PERM_READ, 0x5000);
	CHECK_OK("PAGE_RESPONSE INVALID", respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_INVALID));
	CHECK_OK("INJECT accel0 by cookie with PASID 9",
		 inject(c->a, IOMMU_SIM_FAULT_PASID, ACCEL, 0, 9, 0x6000, IOMMU_FAULT_PERM_WRITE,
			IOMMU_FAULT_REASON_ADDR_SIZE));
	READ_ONE(c->a, &rec);
	CHECK_REC("accel0 PASID 9 by cookie", &rec, IOMMU_FAULT_RECORD_PASID_VALID |
		  IOMMU_FAULT_RECORD_STAGE2, IOMMU_FAULT_REASON_ADDR_SIZE, ACCEL, (__u32)id, 9,
		  IOMMU_FAULT_PERM_WRITE, 0x6000);
	NO_RECORD(c->a);
	return 0;
}

/*
 * An injected fault keeps every permission bit it was injected with (EXEC,
 * PRIV too: 55b0618); a DMA's fault reports WRITE or READ.
 */
static int t_inject_perm_bits(struct ctx *c)
{
	static const __u32 perms[] = {
		IOMMU_FAULT_PERM_READ,
		IOMMU_FAULT_PERM_READ | IOMMU_FAULT_PERM_EXEC,
		IOMMU_FAULT_PERM_EXEC,
		IOMMU_FAULT_PERM_READ | IOMMU_FAULT_PERM_PRIV,
		IOMMU_FAULT_PERM_WRITE | IOMMU_FAULT_PERM_PRIV,
		IOMMU_FAULT_PERM_READ | IOMMU_FAULT_PERM_WRITE,
		0xf,
	};
	unsigned char data[4];
	struct iommu_fault_record rec;
	size_t i;
	long id = do_alloc(c->a);

	CHECK_OK("IOASID_ALLOC", id);
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", NIC));
	CHECK_OK("attach nic0", do_attach(c->a, NIC, id, NO_PASID));
	CHECK_OK("REGISTER nic0", do_register(c->a, NIC));
	for (i = 0; i < sizeof(perms) / sizeof(perms[0]); i++) {
		CHECK_OK("INJECT", inject_simple(c->a, NIC, 0x8000, perms[i]));
		READ_ONE(c->a, &rec);
		CHECK(rec.perm == perms[i], "injected perm 0x%x: the record says perm 0x%x",
		      perms[i], rec.perm);
	}
	DMA_NOW("a DMA write fault", c->a, NIC, 0x8000, data, 4, 1, NO_PASID, IOMMU_SIM_DMA_FAULT,
		IOMMU_FAULT_REASON_NOT_MAPPED);
	READ_ONE(c->a, &rec);
	CHECK(rec.perm == IOMMU_FAULT_PERM_WRITE, "a DMA write's record has perm 0x%x", rec.perm);
	DMA_NOW("a DMA read fault", c->a, NIC, 0x8000, data, 4, 0, NO_PASID, IOMMU_SIM_DMA_FAULT,
		IOMMU_FAULT_REASON_NOT_MAPPED);
	READ_ONE(c->a, &rec);
	CHECK(rec.perm == IOMMU_FAULT_PERM_READ, "a DMA read's record has perm 0x%x", rec.perm);
	return 0;
}

/* FAULT_SET_EVENTFD: the daemon's own duplicate, replaced, removed. */
static int t_eventfd_rules(struct ctx *c)
{
	struct iommu_fault_record recs[8];
	int p[2], efd, keep, other;
	long k;
	long id = do_alloc(c->a);

	CHECK_OK("IOASID_ALLOC", id);
	CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
	CHECK_ERR("SET_EVENTFD of a pipe", set_eventfd(c->a, p[0]), EINVAL);
	close(p[0]);
	close(p[1]);
	CHECK_ERR("SET_EVENTFD of a closed fd", set_eventfd(c->a, p[0]), EBADF);
	CHECK_ERR("SET_EVENTFD fd -2", set_eventfd(c->a, -2), EBADF);
	CHECK_OK("SET_EVENTFD -1 with none set", set_eventfd(c->a, -1));

	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK(efd >= 0, "eventfd: %s", strerror(errno));
	keep = dup(efd);
	c->x = keep;
	CHECK(keep >= 0, "dup: %s", strerror(errno));
	CHECK_OK("SET_EVENTFD", set_eventfd(c->a, efd));
	close(efd);	/* the daemon has its own copy; `keep` watches the same counter */
	other = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);	/* likely efd's number again */
	CHECK(other >= 0, "eventfd: %s", strerror(errno));
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", NIC));
	CHECK_OK("attach nic0", do_attach(c->a, NIC, id, NO_PASID));
	CHECK_OK("REGISTER nic0", do_register(c->a, NIC));
	if (inject_simple(c->a, NIC, 0x1000, IOMMU_FAULT_PERM_READ) != 0 ||
	    inject_simple(c->a, NIC, 0x2000, IOMMU_FAULT_PERM_READ) != 0 ||
	    inject_simple(c->a, NIC, 0x3000, IOMMU_FAULT_PERM_READ) != 0) {
		close(other);
		CHECK(0, "INJECT failed");
	}
	{
		__u64 v1 = efd_take(keep), v2 = efd_take(other);

		if (v1 != 3 || v2 != 0)
			close(other);
		CHECK(v1 == 3, "the registered eventfd (whose fd the caller closed) counted %llu,"
		      " expected 3", (unsigned long long)v1);
		CHECK(v2 == 0, "a new eventfd at the closed fd's number counted %llu",
		      (unsigned long long)v2);
	}
	/* A failed SET_EVENTFD leaves the registered one in place. */
	if (pipe(p) != 0) {
		close(other);
		CHECK(0, "pipe: %s", strerror(errno));
	}
	k = set_eventfd(c->a, p[1]);
	close(p[0]);
	close(p[1]);
	if (k != -EINVAL || inject_simple(c->a, NIC, 0x3800, IOMMU_FAULT_PERM_READ) != 0) {
		close(other);
		CHECK(0, "SET_EVENTFD of a pipe: %s (expected EINVAL), or INJECT failed", resname(k));
	}
	{
		__u64 v1 = efd_take(keep);

		if (v1 != 1)
			close(other);
		CHECK(v1 == 1, "after a failed SET_EVENTFD the registered eventfd counted %llu,"
		      " expected 1", (unsigned long long)v1);
	}
	if (set_eventfd(c->a, other) != 0 ||
	    inject_simple(c->a, NIC, 0x4000, IOMMU_FAULT_PERM_READ) != 0) {
		close(other);
		CHECK(0, "SET_EVENTFD (replace) or INJECT failed");
	}
	{
		__u64 v1 = efd_take(keep), v2 = efd_take(other);

		close(other);
		CHECK(v1 == 0 && v2 == 1, "after replacing the eventfd: old counted %llu, new %llu;"
		      " expected 0 and 1", (unsigned long long)v1, (unsigned long long)v2);
	}
	CHECK_OK("SET_EVENTFD -1", set_eventfd(c->a, -1));
	CHECK_OK("INJECT", inject_simple(c->a, NIC, 0x5000, IOMMU_FAULT_PERM_READ));
	CHECK(efd_take(keep) == 0, "an eventfd counted after SET_EVENTFD -1");
	TRY(read_n(__LINE__, c->a, recs, 6, 8));
	NO_RECORD(c->a);
	return 0;
}

/* 3. mdev faults, routed by parent RID + defPASID --------------------------- */

static int t_mdev_defpasid(struct ctx *c)
{
	unsigned char data[8] = "mdev";
	struct iommu_fault_record rec;
	long x = do_alloc(c->a), y = do_alloc(c->b);

	CHECK(x > 0 && y > 0, "IOASID_ALLOC: %s %s", resname(x), resname(y));
	CHECK_OK("A binds mdev0", do_bind(c->a, "mdev0", MDEV0));
	CHECK_OK("B binds mdev1", do_bind(c->b, "mdev1", MDEV1));
	CHECK_OK("attach mdev0", do_attach(c->a, MDEV0, x, NO_PASID));
	CHECK_OK("attach mdev1", do_attach(c->b, MDEV1, y, NO_PASID));
	CHECK_OK("A REGISTERs mdev0", do_register(c->a, MDEV0));
	CHECK_OK("B REGISTERs mdev1", do_register(c->b, MDEV1));

	DMA_NOW("mdev0 writes an unmapped IOVA (gpu0 has no PRI)", c->a, MDEV0, 0x9000, data, 8, 1,
		NO_PASID, IOMMU_SIM_DMA_FAULT, IOMMU_FAULT_REASON_NOT_MAPPED);
	READ_ONE(c->a, &rec);
	CHECK_REC("mdev0's DMA fault", &rec, IOMMU_FAULT_RECORD_STAGE2,
		  IOMMU_FAULT_REASON_NOT_MAPPED, MDEV0, (__u32)x, 0, IOMMU_FAULT_PERM_WRITE, 0x9000);
	CHECK(rec.pasid == 0, "mdev0's record shows pasid %u (the defPASID is hidden)", rec.pasid);
	CHECK_OK("INJECT by mdev0's cookie",
		 inject(c->a, 0, MDEV0, 0, 0, 0xa000, IOMMU_FAULT_PERM_READ,
			IOMMU_FAULT_REASON_PERMISSION));
	READ_ONE(c->a, &rec);
	CHECK_REC("mdev0's injected fault", &rec, IOMMU_FAULT_RECORD_STAGE2,
		  IOMMU_FAULT_REASON_PERMISSION, MDEV0, (__u32)x, 0, IOMMU_FAULT_PERM_READ, 0xa000);
	CHECK(rec.pasid == 0, "mdev0's record shows pasid %u", rec.pasid);
	NO_RECORD(c->b);

	/* mdev1 shares the parent's RID; its defPASID takes it to B. */
	DMA_NOW("mdev1 reads an unmapped IOVA", c->b, MDEV1, 0xb000, data, 8, 0, NO_PASID,
		IOMMU_SIM_DMA_FAULT, IOMMU_FAULT_REASON_NOT_MAPPED);
	READ_ONE(c->b, &rec);
	CHECK_REC("mdev1's fault, in B", &rec, IOMMU_FAULT_RECORD_STAGE2,
		  IOMMU_FAULT_REASON_NOT_MAPPED, MDEV1, (__u32)y, 0, IOMMU_FAULT_PERM_READ, 0xb000);
	NO_RECORD(c->a);

	CHECK_ERR("INJECT RECOVERABLE for mdev0 (gpu0 has no PRI)",
		  inject(c->a, IOMMU_SIM_FAULT_RECOVERABLE, MDEV0, 0, 0, 0, IOMMU_FAULT_PERM_READ, 0),
		  EOPNOTSUPP);
	CHECK_ERR("INJECT RAW gpu0's RID without PASID (only the mdevs' defPASIDs are attached)",
		  inject(c->a, IOMMU_SIM_FAULT_RAW, 0, RID_GPU0, 0, 0, IOMMU_FAULT_PERM_READ, 0),
		  ENOENT);
	/* Detached, the mdev's route is gone: an injection has nowhere to go. */
	CHECK_OK("detach mdev0", do_detach(c->a, MDEV0, NO_PASID));
	CHECK_ERR("INJECT for the detached mdev0",
		  inject_simple(c->a, MDEV0, 0xc000, IOMMU_FAULT_PERM_READ), ENOENT);
	CHECK_OK("INJECT for mdev1 (still attached)",
		 inject_simple(c->b, MDEV1, 0xc000, IOMMU_FAULT_PERM_READ));
	READ_ONE(c->b, &rec);
	CHECK(rec.cookie == MDEV1 && !(rec.flags & IOMMU_FAULT_RECORD_PASID_VALID),
	      "mdev1's injected fault: %s", rec_str(&rec));
	NO_RECORD(c->a);
	return 0;
}

/* 4. Storms ----------------------------------------------------------------- */

#define STORM		5000
#define OVERFLOW	300	/* injected into a region of depth 16 */
#define STORM_CHUNK	256	/* records per read(): 16 KiB, below any max_read */
#define INJECTORS	4	/* threads injecting at once */

static struct iommu_fault_record storm_recs[STORM];
static unsigned char storm_seen[STORM];

/*
 * Storm fault i: nic0 at IOVA i pages, READ or WRITE, NOT_MAPPED or
 * PERMISSION.  INJECTORS threads inject them at once on one file (thread t
 * the i with i % INJECTORS == t, in increasing order): every ioctl through
 * the VM's CUSE path costs milliseconds of vCPU hand-off, and the daemon
 * serves several requests at a time.
 */
static __u32 storm_perm(__u32 i)
{
	return i % 2 ? IOMMU_FAULT_PERM_WRITE : IOMMU_FAULT_PERM_READ;
}

static __u32 storm_reason(__u32 i)
{
	return i % 3 ? IOMMU_FAULT_REASON_NOT_MAPPED : IOMMU_FAULT_REASON_PERMISSION;
}

struct injector {
	int fd;
	__u32 first, n;
	long err;	/* the first failure, or 0 */
	__u32 failed_at;
};

static void *injector_main(void *arg)
{
	struct injector *in = arg;
	__u32 i;

	for (i = in->first; i < in->n; i += INJECTORS) {
		long r = inject(in->fd, 0, NIC, 0, 0, (__u64)i * PAGE, storm_perm(i),
				storm_reason(i));

		if (r != 0) {
			in->err = r;
			in->failed_at = i;
			break;
		}
	}
	return NULL;
}

static int storm_inject(int line, int fd, __u32 n)
{
	struct injector in[INJECTORS];
	pthread_t t[INJECTORS];
	int k, started = 0;

	for (k = 0; k < INJECTORS; k++) {
		in[k].fd = fd;
		in[k].first = (__u32)k;
		in[k].n = n;
		in[k].err = 0;
		if (pthread_create(&t[k], NULL, injector_main, &in[k]) != 0)
			break;
		started++;
	}
	for (k = 0; k < started; k++)
		pthread_join(t[k], NULL);
	CHECK_LINE(started == INJECTORS, "pthread_create failed");
	for (k = 0; k < INJECTORS; k++)
		CHECK_LINE(in[k].err == 0, "INJECT of storm fault %u (of %u): %s", in[k].failed_at, n,
			   resname(in[k].err));
	return 0;
}

/*
 * recs[0..n) are storm records with seq first_seq, first_seq + 1, ... (none
 * lost among them), each one of the `total` injected faults as injected, none
 * twice, and each injecting thread's faults in the order it made them.
 * With fresh != 0 the record of every fault is expected (after the loop,
 * storm_complete() checks that none is missing).
 */
static int storm_verify(int line, const struct iommu_fault_record *recs, __u32 n, __u32 total,
			__u64 first_seq, __u32 ioasid, int fresh)
{
	long last[INJECTORS];
	__u32 k;
	int t;

	if (fresh)
		memset(storm_seen, 0, sizeof(storm_seen));
	for (t = 0; t < INJECTORS; t++)
		last[t] = -1;
	for (k = 0; k < n; k++) {
		const struct iommu_fault_record *r = &recs[k];
		__u64 i = r->addr / PAGE;
		char what[64];

		CHECK_LINE(r->seq == first_seq + k, "storm record %u has seq %llu, expected %llu"
			   " (consecutive: none lost)", k, (unsigned long long)r->seq,
			   (unsigned long long)(first_seq + k));
		CHECK_LINE(r->addr % PAGE == 0 && i < total, "storm record %u: %s is none of the %u"
			   " injected faults", k, rec_str(r), total);
		CHECK_LINE(!storm_seen[i], "storm fault %llu reported twice (record %u: %s)",
			   (unsigned long long)i, k, rec_str(r));
		storm_seen[i] = 1;
		snprintf(what, sizeof(what), "storm record %u (fault %llu)", k, (unsigned long long)i);
		TRY(check_rec(line, what, r, IOMMU_FAULT_RECORD_STAGE2, storm_reason((__u32)i), NIC,
			      ioasid, 0, storm_perm((__u32)i), i * PAGE));
		t = (int)(i % INJECTORS);
		CHECK_LINE((long)i > last[t], "storm fault %llu reported after fault %ld, which the"
			   " same thread injected later", (unsigned long long)i, last[t]);
		last[t] = (long)i;
	}
	return 0;
}

/* Every one of the `total` faults was seen by storm_verify(). */
static int storm_complete(int line, __u32 total)
{
	__u32 i;

	for (i = 0; i < total; i++)
		CHECK_LINE(storm_seen[i], "storm fault %u was never reported", i);
	return 0;
}

static int nic_setup(struct ctx *c, long *id, int *efd)
{
	*id = do_alloc(c->a);
	CHECK_OK("IOASID_ALLOC", *id);
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", NIC));
	CHECK_OK("attach nic0", do_attach(c->a, NIC, *id, NO_PASID));
	CHECK_OK("REGISTER nic0", do_register(c->a, NIC));
	*efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK(*efd >= 0, "eventfd: %s", strerror(errno));
	c->x = *efd;
	CHECK_OK("SET_EVENTFD", set_eventfd(c->a, *efd));
	return 0;
}

static int t_storm_no_loss(struct ctx *c)
{
	struct iommu_fault_region_info info;
	double t0;
	__u64 counter;
	long id;
	int efd;

	TRY(nic_setup(c, &id, &efd));
	CHECK_OK("FAULT_REGION_INFO", region_info(c->a, 0, 0, 0, &info));
	CHECK(info.depth == 256 && info.timeout_ms == 10000,
	      "a fresh region: depth %u timeout %u ms, expected 256 and 10000", info.depth,
	      info.timeout_ms);
	CHECK_OK("SET_DEPTH 8192", region_info(c->a, IOMMU_FAULT_REGION_SET_DEPTH, 8192, 0, &info));
	CHECK(info.depth == 8192 && info.timeout_ms == 10000,
	      "after SET_DEPTH 8192: depth %u timeout %u", info.depth, info.timeout_ms);
	t0 = now_ms();
	TRY(storm_inject(__LINE__, c->a, STORM));
	printf("note: %u injections by %d threads in %.0f ms\n", STORM, INJECTORS, now_ms() - t0);
	COUNTERS(c->a, STORM, 0, 0, 0, 0, 0);
	counter = efd_take(efd);
	CHECK(counter == STORM, "the eventfd counted %llu for %u records",
	      (unsigned long long)counter, STORM);
	TRY(read_n(__LINE__, c->a, storm_recs, STORM, STORM_CHUNK));
	TRY(storm_verify(__LINE__, storm_recs, STORM, STORM, 1, (__u32)id, 1));
	TRY(storm_complete(__LINE__, STORM));
	COUNTERS(c->a, 0, 0, STORM, 0, 0, 0);
	return 0;
}

#define SMALL_DEPTH	16

static int t_storm_overflow(struct ctx *c)
{
	struct iommu_fault_region_info info;
	struct iommu_fault_record rec;
	char w[4] = "ovf";
	__u64 counter, dma_id;
	long id;
	int efd;
	__u32 i;

	TRY(nic_setup(c, &id, &efd));
	CHECK_OK("bind accel0", do_bind(c->a, "accel0", ACCEL));
	CHECK_OK("attach accel0", do_attach(c->a, ACCEL, id, NO_PASID));
	CHECK_OK("REGISTER accel0", do_register(c->a, ACCEL));
	CHECK_ERR("SET_DEPTH 0", region_info(c->a, IOMMU_FAULT_REGION_SET_DEPTH, 0, 0, &info), EINVAL);
	CHECK_ERR("SET_DEPTH 65537", region_info(c->a, IOMMU_FAULT_REGION_SET_DEPTH,
						 IOMMU_FAULT_REGION_DEPTH_MAX + 1, 0, &info), EINVAL);
	CHECK_OK("SET_DEPTH 16", region_info(c->a, IOMMU_FAULT_REGION_SET_DEPTH, SMALL_DEPTH, 0, &info));
	CHECK(info.depth == SMALL_DEPTH, "depth %u after SET_DEPTH 16", info.depth);

	TRY(storm_inject(__LINE__, c->a, OVERFLOW));
	COUNTERS(c->a, SMALL_DEPTH, OVERFLOW - SMALL_DEPTH, 0, 0, 0, 0);
	counter = efd_take(efd);
	CHECK(counter == SMALL_DEPTH, "the eventfd counted %llu; %u records were queued",
	      (unsigned long long)counter, SMALL_DEPTH);
	CHECK_ERR("SET_DEPTH 8 with 16 waiting",
		  region_info(c->a, IOMMU_FAULT_REGION_SET_DEPTH, 8, 0, &info), EBUSY);
	/* A page request that finds the region full is answered INVALID. */
	DMA_NOW("accel0's page request into the full region", c->a, ACCEL, PR_IOVA, w, 4, 1,
		NO_PASID, IOMMU_SIM_DMA_ABORTED, IOMMU_FAULT_REASON_NOT_MAPPED);
	COUNTERS(c->a, SMALL_DEPTH, OVERFLOW - SMALL_DEPTH + 1, 0, 0, 0, 0);
	CHECK(efd_take(efd) == 0, "the eventfd counted a lost record");

	TRY(read_n(__LINE__, c->a, storm_recs, SMALL_DEPTH, SMALL_DEPTH));
	TRY(storm_verify(__LINE__, storm_recs, SMALL_DEPTH, OVERFLOW, 1, (__u32)id, 1));
	for (i = 0; i < SMALL_DEPTH; i++)
		CHECK(!(storm_recs[i].flags & IOMMU_FAULT_RECORD_LOST_BEFORE),
		      "record %u before the overflow says LOST_BEFORE", i);
	CHECK_OK("INJECT after the overflow", inject_simple(c->a, NIC, 0x1234000,
							     IOMMU_FAULT_PERM_READ));
	READ_ONE(c->a, &rec);
	CHECK_REC("the first record after the overflow", &rec, IOMMU_FAULT_RECORD_STAGE2 |
		  IOMMU_FAULT_RECORD_LOST_BEFORE, IOMMU_FAULT_REASON_NOT_MAPPED, NIC, (__u32)id, 0,
		  IOMMU_FAULT_PERM_READ, 0x1234000);
	CHECK(rec.seq == OVERFLOW + 2, "its seq is %llu, expected %u (the %u lost faults and the lost"
	      " page request took their numbers)", (unsigned long long)rec.seq, OVERFLOW + 2,
	      OVERFLOW - SMALL_DEPTH);
	/* The gap is told once; a page request now has room. */
	DMA_PENDING("accel0's page request with room", c->a, ACCEL, PR_IOVA, w, 4, 1, NO_PASID, 0,
		    PR_IOVA, &dma_id);
	READ_ONE(c->a, &rec);
	CHECK_REC("the next page request", &rec, IOMMU_FAULT_RECORD_RECOVERABLE |
		  IOMMU_FAULT_RECORD_LAST | IOMMU_FAULT_RECORD_STAGE2, IOMMU_FAULT_REASON_NOT_MAPPED,
		  ACCEL, (__u32)id, 0, IOMMU_FAULT_PERM_WRITE, PR_IOVA);
	CHECK(rec.seq == OVERFLOW + 3, "seq %llu, expected %u", (unsigned long long)rec.seq, OVERFLOW + 3);
	CHECK_OK("PAGE_RESPONSE INVALID", respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_INVALID));
	STATUS("after INVALID", c->a, dma_id, IOMMU_SIM_DMA_ABORTED, 0);
	CHECK(efd_take(efd) == 2, "the eventfd did not count the two later records");
	COUNTERS(c->a, 0, OVERFLOW - SMALL_DEPTH + 1, SMALL_DEPTH + 2, 0, 0, 0);
	/* Fill it once more with page requests: the lost ones are aborted. */
	for (i = 0; i < SMALL_DEPTH; i++)
		CHECK_OK("INJECT", inject_simple(c->a, NIC, 0, IOMMU_FAULT_PERM_READ));
	DMA_NOW("accel0's page request into the full region again", c->a, ACCEL, PR_IOVA, w, 4, 1,
		NO_PASID, IOMMU_SIM_DMA_ABORTED, IOMMU_FAULT_REASON_NOT_MAPPED);
	CHECK_OK("SET_DEPTH 64 while full", region_info(c->a, IOMMU_FAULT_REGION_SET_DEPTH, 64, 0,
							&info));
	CHECK(info.depth == 64 && info.pending == SMALL_DEPTH && info.lost == OVERFLOW - SMALL_DEPTH + 2,
	      "after SET_DEPTH 64: depth %u pending %llu lost %llu", info.depth,
	      (unsigned long long)info.pending, (unsigned long long)info.lost);
	return 0;
}

/* 5. read() itself ----------------------------------------------------------- */

static int t_read_nonblock_einval(struct ctx *c)
{
	struct iommu_fault_record recs[2];
	unsigned char buf[256];
	struct pollfd p;
	long id;
	int fd;

	fd = open(dev_path, O_RDWR | O_NONBLOCK);
	CHECK(fd >= 0, "open %s O_NONBLOCK: %s", dev_path, strerror(errno));
	c->x = fd;
	CHECK_ERR("O_NONBLOCK read() of an empty region", rd(fd, recs, REC), EAGAIN);
	CHECK_ERR("O_NONBLOCK read() of 2 records", rd(fd, recs, 2 * REC), EAGAIN);
	CHECK_ERR("read(fd, buf, 100)", rd(fd, buf, 100), EINVAL);
	CHECK_ERR("read(fd, buf, 63)", rd(fd, buf, 63), EINVAL);
	CHECK_ERR("read(fd, buf, 65)", rd(fd, buf, 65), EINVAL);
	CHECK_ERR("read(fd, buf, 100) on a blocking fd (refused, not waiting)",
		  read_bounded(c->a, buf, 100, 5), EINVAL);
	CHECK(rd(fd, buf, 0) == 0, "read(fd, buf, 0): %s", resname(rd(fd, buf, 0)));
	p.fd = fd;
	p.events = POLLIN;
	p.revents = 0;
	CHECK(poll(&p, 1, 0) == 0, "poll() of an empty region: revents 0x%x", p.revents);

	/* One record waiting. */
	id = do_alloc(fd);
	CHECK_OK("IOASID_ALLOC", id);
	CHECK_OK("bind nic0", do_bind(fd, "nic0", NIC));
	CHECK_OK("attach nic0", do_attach(fd, NIC, id, NO_PASID));
	CHECK_OK("REGISTER nic0", do_register(fd, NIC));
	CHECK_OK("INJECT", inject_simple(fd, NIC, 0xd000, IOMMU_FAULT_PERM_READ));
	p.revents = 0;
	CHECK(poll(&p, 1, 0) == 1 && (p.revents & POLLIN),
	      "poll() with a record waiting: revents 0x%x", p.revents);
	CHECK_ERR("read(fd, buf, 100) with a record waiting", rd(fd, buf, 100), EINVAL);
	COUNTERS(fd, 1, 0, 0, 0, 0, 0);
	CHECK(rd(fd, recs, 2 * REC) == REC, "read() of 2 records' room with one waiting");
	CHECK_REC("the record", &recs[0], IOMMU_FAULT_RECORD_STAGE2, IOMMU_FAULT_REASON_NOT_MAPPED,
		  NIC, (__u32)id, 0, IOMMU_FAULT_PERM_READ, 0xd000);
	CHECK_ERR("read() again", rd(fd, recs, REC), EAGAIN);
	p.revents = 0;
	CHECK(poll(&p, 1, 0) == 0, "poll() after reading: revents 0x%x", p.revents);
	/* O_NONBLOCK set later with fcntl() counts too. */
	CHECK_OK("fcntl O_NONBLOCK on a blocking fd", set_nonblock(c->a, 1));
	CHECK_ERR("read() after fcntl(O_NONBLOCK)", rd(c->a, recs, REC), EAGAIN);
	CHECK_OK("clear O_NONBLOCK", set_nonblock(c->a, 0));
	return 0;
}

/*
 * Reads larger than one FUSE_READ (the kernel carries at most 128 KiB, 2048
 * records, per request and splits a larger read() into several requests).
 * What the uAPI promises still holds for the caller: whole records, all the
 * waiting ones that fit, and no waiting while records were returned.
 */
#define BIG		2100	/* > 2048: the kernel splits the read() */
#define FUSE_CHUNK	2048	/* records in one 128 KiB FUSE_READ */

/* nic0 in c->a with n storm faults waiting (depth raised to fit). */
static int fill_region(struct ctx *c, long *id, __u32 n)
{
	struct iommu_fault_region_info info;
	int efd;

	TRY(nic_setup(c, id, &efd));
	CHECK_OK("SET_DEPTH 8192", region_info(c->a, IOMMU_FAULT_REGION_SET_DEPTH, 8192, 0, &info));
	TRY(storm_inject(__LINE__, c->a, n));
	COUNTERS(c->a, n, 0, 0, 0, 0, 0);
	return 0;
}

/*
 * read()s of `room` records into buf with `want` waiting until all are read:
 * each one returns at once (it never waits while records were returned),
 * whole records, oldest first.  A read may come back short: the kernel
 * carries at most 128 KiB per request and the daemon never fills one (its
 * next chunk would wait; 55b0618).
 */
static int big_read(int line, struct ctx *c, unsigned char *buf, __u32 room, __u32 want,
		    __u32 ioasid, const char *what)
{
	__u32 got = 0;
	int reads = 0;

	while (got < want) {
		double t0 = now_ms(), t;
		long r = read_bounded(c->a, buf, (size_t)room * REC, 3);

		t = now_ms() - t0;
		reads++;
		CHECK_LINE(r != -EINTR, "%s: read() %d of %u records' room with %u waiting was"
			   " still waiting after 3 s (interrupted: EINTR)", what, reads, room,
			   want - got);
		CHECK_LINE(r > 0 && r % REC == 0 && r / REC <= (long)(want - got) && t < 2500,
			   "%s: read() %d of %u records' room (%u bytes, buffer at page offset %lu)"
			   " with %u waiting returned %s after %.0f ms; expected whole records at once",
			   what, reads, room, room * (unsigned)REC,
			   (unsigned long)((unsigned long)buf % PAGE), want - got, resname(r), t);
		memcpy(storm_recs + got, buf, (size_t)r);
		got += (__u32)(r / REC);
	}
	if (reads > 1)
		printf("note: %s: %u records in %d read()s of %u records' room\n", what, want,
		       reads, room);
	TRY(storm_verify(line, storm_recs, want, want, 1, ioasid, 1));
	TRY(storm_complete(line, want));
	return 0;
}

static int t_read_large_aligned(struct ctx *c)
{
	unsigned char *buf = pages(64);
	long id;

	CHECK(buf != NULL, "mmap: %s", strerror(errno));
	TRY(fill_region(c, &id, BIG));
	TRY(big_read(__LINE__, c, buf, BIG, BIG, (__u32)id, "page-aligned buffer"));
	COUNTERS(c->a, 0, 0, BIG, 0, 0, 0);
	munmap(buf, 64 * PAGE);
	return 0;
}

/* Exactly one FUSE_READ's worth waiting, more room: the kernel's second
 * request must not wait for records that are not there. */
static int t_read_large_exact_chunk(struct ctx *c)
{
	unsigned char *buf = pages(128);
	long id;

	CHECK(buf != NULL, "mmap: %s", strerror(errno));
	TRY(fill_region(c, &id, FUSE_CHUNK));
	TRY(big_read(__LINE__, c, buf, 2 * FUSE_CHUNK, FUSE_CHUNK, (__u32)id,
		     "blocking fd, 2048 waiting"));
	munmap(buf, 128 * PAGE);
	return 0;
}

/* A record array need not be page-aligned (a stack array is 8-byte aligned):
 * the kernel then splits the read at a page boundary, not a record boundary. */
static int t_read_large_unaligned(struct ctx *c)
{
	unsigned char *buf = pages(64);
	long id;

	CHECK(buf != NULL, "mmap: %s", strerror(errno));
	TRY(fill_region(c, &id, BIG));
	TRY(big_read(__LINE__, c, buf + 8, BIG, BIG, (__u32)id, "buffer 8 bytes past a page"));
	munmap(buf, 64 * PAGE);
	return 0;
}

/* A reader thread blocked in read() on the fault region. */
struct reader {
	int fd;
	long result;
	struct iommu_fault_record recs[4];
	int done[2];	/* a pipe: the thread writes one byte when read() returns */
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	char b = 1;

	r->result = rd(r->fd, r->recs, sizeof(r->recs));
	if (write(r->done[1], &b, 1) != 1)
		r->result = -EPIPE;
	return NULL;
}

/* 1 if the reader has returned within ms, else 0. */
static int reader_done(struct reader *r, int ms)
{
	struct pollfd p = { r->done[0], POLLIN, 0 };

	return poll(&p, 1, ms) == 1;
}

static void on_signal(int sig)
{
	(void)sig;
}

static int t_read_blocking(struct ctx *c)
{
	struct iommu_fault_record rec;
	struct reader r;
	pthread_t t;
	long id;
	int k;

	CHECK(pipe(r.done) == 0, "pipe: %s", strerror(errno));
	r.fd = c->a;
	id = do_alloc(c->a);
	if (id <= 0 || do_bind(c->a, "nic0", NIC) || do_attach(c->a, NIC, id, NO_PASID) ||
	    do_register(c->a, NIC)) {
		close(r.done[0]);
		close(r.done[1]);
		CHECK(0, "nic0 setup failed");
	}
	/* A read() waits for the record. */
	CHECK(pthread_create(&t, NULL, reader_main, &r) == 0, "pthread_create failed");
	sleep_ms(200);
	if (reader_done(&r, 0)) {
		pthread_join(t, NULL);
		close(r.done[0]);
		close(r.done[1]);
		CHECK(0, "read() of an empty region returned at once: %s", resname(r.result));
	}
	k = inject_simple(c->a, NIC, 0xe000, IOMMU_FAULT_PERM_WRITE) == 0;
	if (!reader_done(&r, 5000)) {
		/* Unstick it before failing, if the daemon lets us. */
		inject_simple(c->a, NIC, 0xe000, IOMMU_FAULT_PERM_WRITE);
		reader_done(&r, 5000);
		failf(__LINE__, "the blocked read() did not return within 5 s of the fault%s",
		      k ? "" : " (and INJECT failed)");
		return -1;
	}
	pthread_join(t, NULL);
	CHECK(k, "INJECT failed");
	CHECK(r.result == REC, "the blocked read() returned %s, expected one record",
	      resname(r.result));
	CHECK_REC("the record the blocked read() got", &r.recs[0], IOMMU_FAULT_RECORD_STAGE2,
		  IOMMU_FAULT_REASON_NOT_MAPPED, NIC, (__u32)id, 0, IOMMU_FAULT_PERM_WRITE, 0xe000);
	{
		char b;

		if (read(r.done[0], &b, 1) != 1)
			return -1;
	}

	/* A signal interrupts it (FUSE_INTERRUPT): EINTR, and no record is lost. */
	CHECK(pthread_create(&t, NULL, reader_main, &r) == 0, "pthread_create failed");
	for (k = 0; k < 25 && !reader_done(&r, 200); k++)
		pthread_kill(t, SIGUSR1);
	if (!reader_done(&r, 0)) {
		inject_simple(c->a, NIC, 0xf000, IOMMU_FAULT_PERM_READ);
		reader_done(&r, 5000);
		failf(__LINE__, "SIGUSR1 did not end the blocked read() within 5 s");
		return -1;
	}
	pthread_join(t, NULL);
	close(r.done[0]);
	close(r.done[1]);
	CHECK(r.result == -EINTR, "the interrupted read() returned %s, expected EINTR",
	      resname(r.result));
	CHECK_OK("INJECT", inject_simple(c->a, NIC, 0xf000, IOMMU_FAULT_PERM_READ));
	READ_ONE(c->a, &rec);
	CHECK(rec.addr == 0xf000 && rec.seq == 2,
	      "the record after the interrupted read(): %s, expected addr 0xf000 seq 2",
	      rec_str(&rec));
	COUNTERS(c->a, 0, 0, 2, 0, 0, 0);
	return 0;
}

/* 6. Response timeout ------------------------------------------------------- */

static int t_response_timeout(struct ctx *c)
{
	struct iommu_fault_region_info info;
	struct iommu_fault_record rec;
	struct iommu_sim_dma_status s;
	char w[4] = "tmo";
	double t0, t;
	__u64 dma_id;
	long id;

	ACCEL_SETUP(id, NO_PASID, 1);
	CHECK_OK("SET_TIMEOUT 200 ms", region_info(c->a, IOMMU_FAULT_REGION_SET_TIMEOUT, 0, 200, &info));
	CHECK(info.timeout_ms == 200 && info.depth == 256,
	      "after SET_TIMEOUT 200: timeout %u depth %u", info.timeout_ms, info.depth);
	t0 = now_ms();
	DMA_PENDING("a page request nobody answers", c->a, ACCEL, PR_IOVA, w, 4, 1, NO_PASID, 0,
		    PR_IOVA, &dma_id);
	READ_ONE(c->a, &rec);
	CHECK_OK("SIM_DMA_STATUS", dma_status(c->a, dma_id, &s));
	t = now_ms() - t0;
	CHECK(s.status == IOMMU_SIM_DMA_PENDING || t >= 150,
	      "%.0f ms after the page request (timeout 200 ms): %s", t, st_str(&s));
	sleep_ms(500);
	for (;;) {
		CHECK_OK("SIM_DMA_STATUS", dma_status(c->a, dma_id, &s));
		t = now_ms() - t0;
		if (s.status != IOMMU_SIM_DMA_PENDING || t > 1000)
			break;
		sleep_ms(20);
	}
	CHECK(s.status == IOMMU_SIM_DMA_ABORTED, "%.0f ms after the page request (timeout 200 ms):"
	      " %s, expected ABORTED", t, st_str(&s));
	COUNTERS(c->a, 0, 0, 1, 0, 0, 1);
	CHECK_ERR("PAGE_RESPONSE after the timeout",
		  respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_SUCCESS), EINVAL);
	CHECK_OK("UNREGISTER (nothing pending)", do_unregister(c->a, ACCEL));

	/* Timeout 0: never. */
	CHECK_OK("REGISTER", do_register(c->a, ACCEL));
	CHECK_OK("SET_TIMEOUT 0", region_info(c->a, IOMMU_FAULT_REGION_SET_TIMEOUT, 0, 0, &info));
	CHECK(info.timeout_ms == 0, "timeout %u after SET_TIMEOUT 0", info.timeout_ms);
	DMA_PENDING("a page request with no timeout", c->a, ACCEL, PR_IOVA, w, 4, 1, NO_PASID, 0,
		    PR_IOVA, &dma_id);
	READ_ONE(c->a, &rec);
	sleep_ms(400);
	STATUS("400 ms later, no timeout", c->a, dma_id, IOMMU_SIM_DMA_PENDING, 0);
	COUNTERS(c->a, 0, 0, 2, 0, 0, 1);
	CHECK_OK("PAGE_RESPONSE INVALID", respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_INVALID));
	STATUS("after INVALID", c->a, dma_id, IOMMU_SIM_DMA_ABORTED, 0);
	return 0;
}

/* 7. IOPF mappings ("[RFC PATCH v3 8/8] vfio: Add nested IOPF support",
 * Shenming Lu, May 2021): stage-2 faults the daemon resolves itself ---- */

static __u64 locked(int fd)
{
	struct iommu_stats s;

	return ctx_stats(fd, &s) == 0 ? s.locked_pages : ~0ULL;
}

#define LOCKED(fd, want, when) do { \
	__u64 l_ = locked(fd); \
	CHECK(l_ == (want), "locked_pages %llu %s, expected %llu", (unsigned long long)l_, \
	      (when), (unsigned long long)(want)); \
} while (0)

/*
 * A plain kernel-managed IOASID, mapped IOPF: accel0's first touch of each
 * page pins it, no record, no consumer needed; what cannot be faulted in
 * faults for good.
 */
static int t_iopf_plain(struct ctx *c)
{
	unsigned char *mem = pages(2), *gone;
	char msg[] = "pinned on first touch";
	struct iommu_fault_record rec;
	__u64 base;
	long id, id2;

	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	memset(mem, 0, 2 * PAGE);
	ACCEL_SETUP(id, NO_PASID, 0);
	base = locked(c->a);
	CHECK(base != ~0ULL, "GET_STATS failed");
	CHECK_OK("MAP 2 pages IOPF", do_map(c->a, id, mem, PR_IOVA, 2 * PAGE, RW | IOPF));
	LOCKED(c->a, base, "after an IOPF MAP (pins nothing)");
	DMA_OK("DMA write into the IOPF mapping", c->a, ACCEL, PR_IOVA + 8, msg, sizeof(msg), 1,
	       NO_PASID);
	CHECK(memcmp(mem + 8, msg, sizeof(msg)) == 0, "the bytes did not land");
	COUNTERS(c->a, 0, 0, 0, 0, 1, 0);
	LOCKED(c->a, base + 1, "after the first touch");
	DMA_OK("again", c->a, ACCEL, PR_IOVA + 8, msg, sizeof(msg), 1, NO_PASID);
	COUNTERS(c->a, 0, 0, 0, 0, 1, 0);
	DMA_OK("DMA across into the second page", c->a, ACCEL, PR_IOVA + PAGE - 4, msg, 8, 1,
	       NO_PASID);
	COUNTERS(c->a, 0, 0, 0, 0, 2, 0);
	LOCKED(c->a, base + 2, "after touching both pages");
	CHECK_OK("UNMAP", do_unmap(c->a, id, PR_IOVA, 2 * PAGE));
	LOCKED(c->a, base, "after UNMAP of the IOPF mapping");

	/* A page that cannot be faulted in (its memory is gone) is the host's
	 * fault: unrecoverable, never a page request (55b0618). */
	gone = pages(1);
	CHECK(gone != NULL, "mmap: %s", strerror(errno));
	CHECK_OK("MAP a page IOPF", do_map(c->a, id, gone, 0x900000, PAGE, RW | IOPF));
	munmap(gone, PAGE);
	CHECK_OK("REGISTER accel0", do_register(c->a, ACCEL));
	DMA_NOW("DMA into the IOPF page whose memory is gone", c->a, ACCEL, 0x900000, msg, 8, 1,
		NO_PASID, IOMMU_SIM_DMA_FAULT, IOMMU_FAULT_REASON_NOT_MAPPED);
	READ_ONE(c->a, &rec);
	CHECK_REC("the failed fault-in", &rec, IOMMU_FAULT_RECORD_STAGE2,
		  IOMMU_FAULT_REASON_NOT_MAPPED, ACCEL, (__u32)id, 0, IOMMU_FAULT_PERM_WRITE, 0x900000);
	COUNTERS(c->a, 0, 0, 1, 0, 2, 0);
	LOCKED(c->a, base, "after the failed fault-in");

	/* Only IOPF-capable IOMMUs fault pages in: legacy0 sits behind iommu1. */
	id2 = do_alloc(c->a);
	CHECK_OK("IOASID_ALLOC", id2);
	CHECK_OK("MAP 2 pages IOPF for legacy0", do_map(c->a, id2, mem, PR_IOVA, 2 * PAGE, RW | IOPF));
	CHECK_OK("bind legacy0", do_bind(c->a, "legacy0", NIC));
	CHECK_OK("attach legacy0", do_attach(c->a, NIC, id2, NO_PASID));
	CHECK_OK("REGISTER legacy0", do_register(c->a, NIC));
	DMA_NOW("legacy0 reads the IOPF mapping (iommu1 has no IOPF)", c->a, NIC, PR_IOVA + 8, msg, 8,
		0, NO_PASID, IOMMU_SIM_DMA_FAULT, IOMMU_FAULT_REASON_NOT_MAPPED);
	READ_ONE(c->a, &rec);
	CHECK_REC("legacy0's fault", &rec, IOMMU_FAULT_RECORD_STAGE2, IOMMU_FAULT_REASON_NOT_MAPPED,
		  NIC, (__u32)id2, 0, IOMMU_FAULT_PERM_READ, PR_IOVA + 8);
	COUNTERS(c->a, 0, 0, 2, 0, 2, 0);
	LOCKED(c->a, base, "after legacy0's fault");
	munmap(mem, 2 * PAGE);
	return 0;
}

#define PTE_P		(1ULL << 0)
#define PTE_W		(1ULL << 1)
#define PTE_RW		(PTE_P | PTE_W)
#define TABLES_GPA	0x10000000ULL	/* L4, L3, L2, L1 */
#define DATA_GPA	0x20000000ULL	/* data pages 0-3, mapped IOPF */
#define NEST_IOVA	0x40000000ULL	/* L4[0] L3[1] L2[0] L1[0] */
#define NEST_PASID	5
#define UNMAPPED_GPA	0x30000000ULL

struct nested {
	unsigned char *tables;	/* 4 pages: L4, L3, L2, L1 */
	unsigned char *data;	/* 4 pages */
	long parent, child;
};

static volatile __u64 *pte(struct nested *n, int level, int index)
{
	return (volatile __u64 *)(void *)(n->tables + (4 - level) * PAGE) + index;
}

/*
 * The stage-1 table in this process's memory (as in vm_device_tests), its
 * pages mapped read-only and pinned into the kernel-managed parent; the data
 * pages mapped IOMMU_MAP_DMA_IOPF, before or after the consumer registers.
 * L1[0], L1[1], L1[3] map data pages 0, 1, 3; L1[2] is not present; L1[4]
 * points at a GPA the parent does not map.
 */
static int nested_iopf(struct ctx *c, int register_first)
{
	char hello[] = "nested, pinned by IOPF", back[sizeof(hello)];
	struct iommu_fault_record rec;
	struct nested n;
	__u64 base, dma_id;

	memset(&n, 0, sizeof(n));
	n.tables = pages(4);
	n.data = pages(4);
	CHECK(n.tables && n.data, "mmap: %s", strerror(errno));
	memset(n.tables, 0, 4 * PAGE);
	memset(n.data, 0x33, 4 * PAGE);
	n.parent = do_alloc(c->a);
	CHECK_OK("parent IOASID_ALLOC", n.parent);
	CHECK_OK("MAP the tables (read-only)",
		 do_map(c->a, n.parent, n.tables, TABLES_GPA, 4 * PAGE, RO));
	*pte(&n, 4, 0) = (TABLES_GPA + 1 * PAGE) | PTE_RW;
	*pte(&n, 3, 1) = (TABLES_GPA + 2 * PAGE) | PTE_RW;
	*pte(&n, 2, 0) = (TABLES_GPA + 3 * PAGE) | PTE_RW;
	*pte(&n, 1, 0) = DATA_GPA | PTE_RW;
	*pte(&n, 1, 1) = (DATA_GPA + PAGE) | PTE_RW;
	*pte(&n, 1, 3) = (DATA_GPA + 3 * PAGE) | PTE_RW;
	*pte(&n, 1, 4) = UNMAPPED_GPA | PTE_RW;
	n.child = do_alloc_nested(c->a, n.parent, TABLES_GPA);
	CHECK_OK("nested IOASID_ALLOC", n.child);
	CHECK_OK("bind accel0", do_bind(c->a, "accel0", ACCEL));
	CHECK_OK("attach accel0 PASID 5 -> the child", do_attach(c->a, ACCEL, n.child, NEST_PASID));
	if (register_first)
		CHECK_OK("REGISTER before the IOPF MAP", do_register(c->a, ACCEL));
	base = locked(c->a);
	CHECK(base != ~0ULL, "GET_STATS failed");
	CHECK_OK("MAP the data pages IOPF",
		 do_map(c->a, n.parent, n.data, DATA_GPA, 4 * PAGE, RW | IOPF));
	LOCKED(c->a, base, "after the IOPF MAP (pins nothing)");
	if (!register_first)
		CHECK_OK("REGISTER after the IOPF MAP", do_register(c->a, ACCEL));
	COUNTERS(c->a, 0, 0, 0, 0, 0, 0);

	/* The stage-2 miss on data page 0 is the daemon's: no record. */
	DMA_OK("nested DMA write into an untouched IOPF page", c->a, ACCEL, NEST_IOVA + 0x20, hello,
	       sizeof(hello), 1, NEST_PASID);
	CHECK(memcmp(n.data + 0x20, hello, sizeof(hello)) == 0, "the bytes did not land");
	COUNTERS(c->a, 0, 0, 0, 0, 1, 0);
	LOCKED(c->a, base + 1, "after the first touch of data page 0");
	memset(back, 0, sizeof(back));
	DMA_OK("read it back", c->a, ACCEL, NEST_IOVA + 0x20, back, sizeof(back), 0, NEST_PASID);
	CHECK(memcmp(back, hello, sizeof(hello)) == 0, "read back \"%.22s\"", back);
	COUNTERS(c->a, 0, 0, 0, 0, 1, 0);
	DMA_OK("a write across into data page 1", c->a, ACCEL, NEST_IOVA + PAGE - 4, hello, 8, 1,
	       NEST_PASID);
	COUNTERS(c->a, 0, 0, 0, 0, 2, 0);
	LOCKED(c->a, base + 2, "after touching data pages 0 and 1");

	/* Stage 1 not present: the user's page table, so the user's page request. */
	DMA_PENDING("stage-1 entry not present (L1[2])", c->a, ACCEL, NEST_IOVA + 2 * PAGE + 0x10,
		    hello, 8, 1, NEST_PASID, 0, NEST_IOVA + 2 * PAGE + 0x10, &dma_id);
	READ_ONE(c->a, &rec);
	CHECK_REC("the stage-1 page request", &rec, IOMMU_FAULT_RECORD_RECOVERABLE |
		  IOMMU_FAULT_RECORD_LAST | IOMMU_FAULT_RECORD_PASID_VALID | IOMMU_FAULT_RECORD_STAGE1,
		  IOMMU_FAULT_REASON_NOT_MAPPED, ACCEL, (__u32)n.child, NEST_PASID,
		  IOMMU_FAULT_PERM_WRITE, NEST_IOVA + 2 * PAGE + 0x10);
	/* The guest fixes its table, invalidates, answers; stage 2 then faults
	 * in data page 2 by itself. */
	*pte(&n, 1, 2) = (DATA_GPA + 2 * PAGE) | PTE_RW;
	CHECK_OK("INVALIDATE the page", do_invalidate(c->a, n.child, IOMMU_INV_GRAN_RANGE,
						      IOMMU_INV_CACHE_IOTLB, NEST_PASID,
						      NEST_IOVA + 2 * PAGE, PAGE));
	CHECK_OK("PAGE_RESPONSE SUCCESS", respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_SUCCESS));
	STATUS("after SUCCESS", c->a, dma_id, IOMMU_SIM_DMA_OK, 8);
	CHECK(memcmp(n.data + 2 * PAGE + 0x10, hello, 8) == 0, "the resumed DMA did not land");
	COUNTERS(c->a, 0, 0, 1, 0, 3, 0);
	LOCKED(c->a, base + 3, "after the resumed DMA touched data page 2");

	/* A stage-1 output the parent does not map: the host's fault, reported
	 * (unrecoverable) against the parent. */
	DMA_NOW("stage-1 output unmapped in the parent (L1[4])", c->a, ACCEL, NEST_IOVA + 4 * PAGE,
		back, 4, 0, NEST_PASID, IOMMU_SIM_DMA_FAULT, IOMMU_FAULT_REASON_NOT_MAPPED);
	READ_ONE(c->a, &rec);
	CHECK_REC("the stage-2 fault", &rec, IOMMU_FAULT_RECORD_PASID_VALID |
		  IOMMU_FAULT_RECORD_STAGE2, IOMMU_FAULT_REASON_NOT_MAPPED, ACCEL, (__u32)n.parent,
		  NEST_PASID, IOMMU_FAULT_PERM_READ, NEST_IOVA + 4 * PAGE);
	COUNTERS(c->a, 0, 0, 2, 0, 3, 0);

	CHECK_OK("UNMAP the IOPF data pages", do_unmap(c->a, n.parent, DATA_GPA, 4 * PAGE));
	LOCKED(c->a, base, "after UNMAP of the IOPF pages");
	munmap(n.tables, 4 * PAGE);
	munmap(n.data, 4 * PAGE);
	return 0;
}

static int t_nested_iopf_register_first(struct ctx *c) { return nested_iopf(c, 1); }
static int t_nested_iopf_map_first(struct ctx *c) { return nested_iopf(c, 0); }

/* 8. A client killed with page requests pending ---------------------------- */

/* The child: page requests pending, one reader blocked; then it waits. */
static void killed_child(int up)
{
	static struct reader r;
	static char data[16] = "never lands";
	unsigned char *mem = pages(2);
	struct iommu_sim_dma d1, d2;
	struct iommu_fault_record recs[4];
	pthread_t t;
	char res = 'e';
	int fd = open(dev_path, O_RDWR), efd = eventfd(0, 0);
	long id = fd < 0 ? -1 : do_alloc(fd);
	int bad = fd < 0 || efd < 0 || id <= 0 || mem == NULL;

	bad = bad || do_map(fd, id, mem, 0x100000, 2 * PAGE, RW) != 0 ||
	      do_bind(fd, "accel0", 1) != 0 || do_bind(fd, "nic0", 2) != 0 ||
	      do_attach(fd, 1, id, NO_PASID) != 0 || do_attach(fd, 1, id, 5) != 0 ||
	      do_attach(fd, 2, id, NO_PASID) != 0 ||
	      do_register(fd, 1) != 0 || do_register(fd, 2) != 0 || set_eventfd(fd, efd) != 0 ||
	      do_dma(fd, 1, PR_IOVA, data, 8, 1, NO_PASID, &d1) != 0 ||
	      d1.status != IOMMU_SIM_DMA_PENDING ||
	      do_dma(fd, 1, PR_IOVA + PAGE, data, 8, 0, 5, &d2) != 0 ||
	      d2.status != IOMMU_SIM_DMA_PENDING ||
	      inject(fd, IOMMU_SIM_FAULT_RECOVERABLE, 1, 0, 0, 0x5000, IOMMU_FAULT_PERM_READ, 0) != 0 ||
	      read(fd, recs, sizeof(recs)) != 3 * REC || pipe(r.done) != 0;
	if (!bad) {
		r.fd = fd;	/* and the region is empty now: it blocks */
		bad = pthread_create(&t, NULL, reader_main, &r) != 0;
	}
	if (!bad) {
		sleep_ms(100);
		res = 'k';
	}
	if (write(up, &res, 1) != 1)
		_exit(2);
	for (;;)
		pause();
}

static int t_killed_with_pending(struct ctx *c)
{
	struct iommu_sim_daemon_stats base, live, now;
	struct iommu_fault_record rec;
	unsigned char *mem = pages(1);
	char w[4] = "new", ok = 0;
	int up[2], status = 0, i;
	__u64 dma_id;
	pid_t pid, w_pid = 0;
	long r = 0, id;

	memset(&live, 0, sizeof(live));
	CHECK(mem != NULL, "mmap: %s", strerror(errno));
	CHECK_OK("DAEMON_STATS", daemon_stats(c->a, &base));
	CHECK(pipe(up) == 0, "pipe: %s", strerror(errno));
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(up[0]);
		killed_child(up[1]);
		_exit(0);
	}
	close(up[1]);
	if (read(up[0], &ok, 1) != 1)
		ok = 0;
	close(up[0]);
	if (ok == 'k') {
		r = do_bind(c->a, "accel0", ACCEL);
		daemon_stats(c->a, &live);
	}
	kill(pid, SIGKILL);
	/* Its blocked read() must be answered (FUSE_INTERRUPT) for it to die. */
	for (i = 0; i < 100; i++) {
		w_pid = waitpid(pid, &status, WNOHANG);
		if (w_pid != 0)
			break;
		sleep_ms(50);
	}
	CHECK(w_pid == pid, "the child is not dead 5 s after SIGKILL (its blocked read() never"
	      " answered?)");
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child ended with 0x%x",
	      status);
	CHECK(ok == 'k', "the child could not set up its page requests (see the other tests)");
	CHECK(r == -EBUSY, "binding the live child's accel0: expected EBUSY, got %s", resname(r));
	CHECK(live.contexts == base.contexts + 1, "with the child alive: %s, baseline %s",
	      dstats_str(&live), dstats_str(&base));

	/* The kernel sends RELEASE asynchronously: poll, up to 3 s. */
	for (i = 0; i < 60; i++) {
		r = do_bind(c->a, "accel0", ACCEL);
		if (r != -EBUSY)
			break;
		sleep_ms(50);
	}
	CHECK(r == 0, "accel0 still not bindable 3 s after the child died: %s", resname(r));
	CHECK_OK("bind nic0 (was the child's)", do_bind(c->a, "nic0", NIC));
	CHECK_OK("DAEMON_STATS", daemon_stats(c->a, &now));
	CHECK(now.contexts == base.contexts && now.ioasids == base.ioasids &&
	      now.mappings == base.mappings && now.mapped_bytes == base.mapped_bytes,
	      "after the child's death: %s, baseline %s", dstats_str(&now), dstats_str(&base));

	/* And the device works for its new owner: a fresh consumer, page requests. */
	id = do_alloc(c->a);
	CHECK_OK("IOASID_ALLOC", id);
	CHECK_OK("attach accel0", do_attach(c->a, ACCEL, id, NO_PASID));
	CHECK_OK("REGISTER accel0 (the child's registration is gone)", do_register(c->a, ACCEL));
	DMA_PENDING("a page request in the new owner", c->a, ACCEL, PR_IOVA, w, 4, 1, NO_PASID, 0,
		    PR_IOVA, &dma_id);
	READ_ONE(c->a, &rec);
	CHECK(rec.cookie == ACCEL && rec.seq == 1 && rec.addr == PR_IOVA,
	      "the new owner's first record: %s", rec_str(&rec));
	CHECK_OK("MAP", do_map(c->a, id, mem, PR_IOVA, PAGE, RW));
	CHECK_OK("PAGE_RESPONSE SUCCESS", respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_SUCCESS));
	STATUS("after SUCCESS", c->a, dma_id, IOMMU_SIM_DMA_OK, 4);
	CHECK(memcmp(mem, w, 4) == 0, "the DMA did not land");
	munmap(mem, PAGE);
	return 0;
}

static const struct vm_test tests[] = {
	{ "iopf_epoll_roundtrip", t_iopf_epoll_roundtrip },
	{ "iopf_lazy_mapping", t_iopf_lazy_mapping },
	{ "response_invalid", t_response_invalid },
	{ "response_failure", t_response_failure },
	{ "response_errors", t_response_errors },
	{ "register_rules", t_register_rules },
	{ "no_consumer_unreported", t_no_consumer_unreported },
	{ "unrecoverable_record", t_unrecoverable_record },
	{ "inject_rules", t_inject_rules },
	{ "inject_perm_bits", t_inject_perm_bits },
	{ "eventfd_rules", t_eventfd_rules },
	{ "mdev_defpasid", t_mdev_defpasid },
	{ "storm_no_loss", t_storm_no_loss },
	{ "storm_overflow", t_storm_overflow },
	{ "read_nonblock_einval", t_read_nonblock_einval },
	{ "read_large_aligned", t_read_large_aligned },
	{ "read_large_exact_chunk", t_read_large_exact_chunk },
	{ "read_large_unaligned", t_read_large_unaligned },
	{ "read_blocking", t_read_blocking },
	{ "response_timeout", t_response_timeout },
	{ "iopf_plain", t_iopf_plain },
	{ "nested_iopf_register_first", t_nested_iopf_register_first },
	{ "nested_iopf_map_first", t_nested_iopf_map_first },
	{ "killed_with_pending", t_killed_with_pending },
};

int main(int argc, char **argv)
{
	struct sigaction sa;

	vm_start(argc, argv);
	/* No SA_RESTART: SIGALRM bounds a read(), SIGUSR1 interrupts one. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	/* TCG is slow: say which tests the time goes to. */
	return run_tests(tests, sizeof(tests) / sizeof(tests[0]), RUN_NOTE_SLOW);
}
