/*
 * ioctl_bench.c - cost of /dev/iommu ioctls through the real kernel CUSE
 * path, run inside the QEMU guest (scripts/vm/bench.sh).
 *
 * Under TCG absolute times mean little; the ratios to the null ioctl
 * (GET_API_VERSION: no argument, one round trip) are what to compare;
 * struct_read_refused is the floor of a struct command (its argument read
 * from the caller's memory, then refused).
 * Each case runs for about BENCH_SECONDS in all, after a short warm-up.
 * Output: "bench: <name> <us> us  ratio <x.xx>" per case.
 *
 * fault_roundtrip is an I/O page fault served end to end by one thread:
 * accel0 DMAs to an unmapped IOVA (SIM_DMA returns PENDING), the consumer
 * wakes on its eventfd (epoll), read()s the page request, maps the page,
 * answers SUCCESS, and SIM_DMA_STATUS says the DMA is done.  Each step is
 * reported too (fault_*); the UNMAP that readies the next iteration is not
 * counted.
 * Usage: ioctl_bench [DEVICE]   (default /dev/iommu)
 */
#define _DEFAULT_SOURCE		/* MAP_ANONYMOUS, clock_gettime */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cuse-iommu.h"

#define BENCH_SECONDS	1.5	/* per case, over all rounds */
#define ROUNDS		9	/* odd: each figure is the median round's */
#define WARMUP		20
#define BATCH		16	/* iterations between clock reads */

static int fd;
static __u32 ioasid;
static char *page;

/* The page-fault round trip: accel0 attached to ioasid, its faults reported
 * to fd, which signals efd; ep waits on efd. */
#define ACCEL_COOKIE	0xacce1ULL
#define FAULT_IOVA	0x40000000ULL
static int efd = -1, ep = -1;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* An iteration that went wrong without a failing system call. */
static int fail(int err)
{
	errno = err;
	return -1;
}

/*
 * One iteration of each case; 0 on success.  Cases made of two ioctls add
 * the time of each to split[0] and split[1], to tell them apart.
 */
static int op_version(double *split)
{
	(void)split;
	return ioctl(fd, IOMMU_GET_API_VERSION, 0) == IOMMU_API_VERSION ? 0 : -1;
}

/*
 * The floor of every struct command: the daemon reads the argument from
 * the caller's memory (one process_vm_readv) and refuses it at once
 * (argsz 0: EINVAL).  Its ratio is what reading an argument costs; no
 * struct command can come in under it.
 */
static int op_read_refused(double *split)
{
	struct iommu_ioasid_alloc a;

	(void)split;
	memset(&a, 0, sizeof(a));	/* argsz 0 */
	if (ioctl(fd, IOMMU_IOASID_ALLOC, &a) == 0)
		return fail(EPROTO);
	return errno == EINVAL ? 0 : -1;
}

static int op_map_unmap(double *split)
{
	struct iommu_map_dma m;
	struct iommu_unmap_dma u;
	double t0, t1;
	int r;

	memset(&m, 0, sizeof(m));
	m.argsz = sizeof(m);
	m.flags = IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE;
	m.ioasid = ioasid;
	m.vaddr = (__u64)(unsigned long)page;
	m.iova = 0x100000;
	m.size = 4096;
	memset(&u, 0, sizeof(u));
	u.argsz = sizeof(u);
	u.ioasid = ioasid;
	u.iova = 0x100000;
	u.size = 4096;
	t0 = now();
	if (ioctl(fd, IOMMU_MAP_DMA, &m) < 0)
		return -1;
	t1 = now();
	r = ioctl(fd, IOMMU_UNMAP_DMA, &u);
	split[0] += t1 - t0;
	split[1] += now() - t1;
	return r < 0 || u.size != 4096 ? -1 : 0;
}

static int op_alloc_free(double *split)
{
	struct iommu_ioasid_alloc a;
	struct iommu_ioasid_free f;
	double t0, t1;
	int id, r;

	memset(&a, 0, sizeof(a));
	a.argsz = sizeof(a);
	memset(&f, 0, sizeof(f));
	f.argsz = sizeof(f);
	t0 = now();
	id = ioctl(fd, IOMMU_IOASID_ALLOC, &a);
	if (id < 0)
		return -1;
	t1 = now();
	f.ioasid = id;
	r = ioctl(fd, IOMMU_IOASID_FREE, &f);
	split[0] += t1 - t0;
	split[1] += now() - t1;
	return r;
}


/* The steps of op_fault_roundtrip, in split[]. */
enum { F_INJECT, F_WAKE, F_READ, F_MAP, F_RESPOND, F_DONE, F_STEPS };

static int op_fault_roundtrip(double *split)
{
	struct iommu_sim_dma d;
	struct iommu_fault_record rec;
	struct iommu_map_dma m;
	struct iommu_page_response pr;
	struct iommu_sim_dma_status st;
	struct iommu_unmap_dma u;
	struct epoll_event ev;
	__u64 counter;
	double t[F_STEPS + 1];
	char data[8] = "fault!";
	int k;

	memset(&d, 0, sizeof(d));
	d.argsz = sizeof(d);
	d.flags = IOMMU_SIM_DMA_WRITE;
	d.cookie = ACCEL_COOKIE;
	d.iova = FAULT_IOVA;
	d.length = sizeof(data);
	d.data = (__u64)(unsigned long)data;
	memset(&m, 0, sizeof(m));
	m.argsz = sizeof(m);
	m.flags = IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE;
	m.ioasid = ioasid;
	m.vaddr = (__u64)(unsigned long)page;
	m.iova = FAULT_IOVA;
	m.size = 4096;
	memset(&pr, 0, sizeof(pr));
	pr.argsz = sizeof(pr);
	pr.cookie = ACCEL_COOKIE;
	pr.code = IOMMU_PAGE_RESP_SUCCESS;
	memset(&st, 0, sizeof(st));
	st.argsz = sizeof(st);
	memset(&u, 0, sizeof(u));
	u.argsz = sizeof(u);
	u.ioasid = ioasid;
	u.iova = FAULT_IOVA;
	u.size = 4096;

	t[F_INJECT] = now();
	if (ioctl(fd, IOMMU_SIM_DMA, &d) < 0)
		return -1;
	if (d.status != IOMMU_SIM_DMA_PENDING)
		return fail(EPROTO);	/* not a page request */
	t[F_WAKE] = now();
	k = epoll_wait(ep, &ev, 1, 1000);
	if (k <= 0)
		return k < 0 ? -1 : fail(ETIMEDOUT);
	if (read(efd, &counter, sizeof(counter)) != (ssize_t)sizeof(counter))
		return -1;
	t[F_READ] = now();
	if (read(fd, &rec, sizeof(rec)) != (ssize_t)sizeof(rec))
		return -1;
	if (!(rec.flags & IOMMU_FAULT_RECORD_RECOVERABLE) || rec.addr != FAULT_IOVA)
		return fail(EPROTO);
	t[F_MAP] = now();
	if (ioctl(fd, IOMMU_MAP_DMA, &m) < 0)
		return -1;
	t[F_RESPOND] = now();
	pr.grpid = rec.grpid;
	if (ioctl(fd, IOMMU_PAGE_RESPONSE, &pr) < 0)
		return -1;
	t[F_DONE] = now();
	st.dma_id = d.dma_id;
	if (ioctl(fd, IOMMU_SIM_DMA_STATUS, &st) < 0)
		return -1;
	t[F_STEPS] = now();
	if (st.status != IOMMU_SIM_DMA_OK || st.bytes_done != sizeof(data))
		return fail(EPROTO);
	for (k = 0; k < F_STEPS; k++)
		split[k] += t[k + 1] - t[k];
	/* Not timed: the next iteration faults on the same IOVA again. */
	return ioctl(fd, IOMMU_UNMAP_DMA, &u) < 0 || u.size != 4096 ? -1 : 0;
}

#define MAX_PARTS	F_STEPS

enum case_kind {
	ONE_IOCTL,	/* reported whole */
	PAIR,		/* two ioctls: the pair, per ioctl, and each one */
	STEPS,		/* the sum of its timed steps (set-up excluded), and each step */
};

struct bench_case {
	const char *name;
	int (*op)(double *split);
	enum case_kind kind;
	const char *part[MAX_PARTS];	/* PAIR, STEPS: names of the timed parts */
	double split[MAX_PARTS];	/* the op's scratch: seconds per part */
	double seconds;		/* accumulated over the rounds */
	long iterations;
	double us[ROUNDS];	/* per iteration, in each round */
	double part_us[MAX_PARTS][ROUNDS];
};

static struct bench_case cases[] = {
	/* The floor comes first. */
	{ .name = "get_api_version", .op = op_version, .kind = ONE_IOCTL },
	{ .name = "struct_read_refused", .op = op_read_refused, .kind = ONE_IOCTL },
	{ .name = "map_unmap_4k", .op = op_map_unmap, .kind = PAIR,
	  .part = { "map_dma_4k", "unmap_dma_4k" } },
	{ .name = "ioasid_alloc_free", .op = op_alloc_free, .kind = PAIR,
	  .part = { "ioasid_alloc", "ioasid_free" } },
	{ .name = "fault_roundtrip", .op = op_fault_roundtrip, .kind = STEPS,
	  .part = { "fault_inject_sim_dma", "fault_wake_epoll", "fault_read_record", "fault_map_dma",
		    "fault_page_response", "fault_dma_status" } },
};
#define NCASES	(sizeof(cases) / sizeof(cases[0]))

/* Round r of c: run it for about seconds and keep the round's figures per
 * iteration.  -1 if an ioctl failed. */
static int run_case(struct bench_case *c, int r, double seconds)
{
	double t0, t;
	long n = 0;
	int i;

	memset(c->split, 0, sizeof(c->split));
	t0 = now();
	do {
		for (i = 0; i < BATCH; i++)
			if (c->op(c->split) < 0) {
				printf("bench: %s failed: %s\n", c->name, strerror(errno));
				return -1;
			}
		n += BATCH;
		t = now();
	} while (t - t0 < seconds);
	c->iterations += n;
	c->seconds += t - t0;
	c->us[r] = (t - t0) * 1e6 / n;
	for (i = 0; i < MAX_PARTS; i++)
		c->part_us[i][r] = c->split[i] * 1e6 / n;
	return 0;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of a case's rounds: a round the host disturbed (another
 * process, a migration, the TCG translation cache) moves it little. */
static double median(const double *rounds)
{
	double sorted[ROUNDS];

	memcpy(sorted, rounds, sizeof(sorted));
	qsort(sorted, ROUNDS, sizeof(sorted[0]), by_value);
	return sorted[ROUNDS / 2];
}

/*
 * The cases take turns, ROUNDS times, instead of running one after another:
 * the host (TCG, or a native run's shared cores) drifts, and taking turns
 * spreads that drift over every case alike, so the ratios stay comparable;
 * each figure is then its case's median round.
 */
static int measure_all(void)
{
	size_t k;
	int r, i;

	for (k = 0; k < NCASES; k++) {
		for (i = 0; i < WARMUP; i++)
			if (cases[k].op(cases[k].split) < 0) {
				printf("bench: %s failed: %s\n", cases[k].name, strerror(errno));
				return -1;
			}
	}
	for (r = 0; r < ROUNDS; r++)
		for (k = 0; k < NCASES; k++)
			if (run_case(&cases[k], r, BENCH_SECONDS / ROUNDS) < 0)
				return -1;
	for (k = 0; k < NCASES; k++)
		printf("bench: (%s: %ld iterations in %.2f s)\n", cases[k].name,
		       cases[k].iterations, cases[k].seconds);
	return 0;
}


static void report(const char *name, double us, double floor)
{
	printf("bench: %s %.1f us  ratio %.2f\n", name, us, us / floor);
}

/* accel0 bound, attached to ioasid, its faults reported to fd; fd signals
 * efd, which ep watches.  0, or -1 with a message. */
static int fault_setup(void)
{
	struct iommu_device_bind b;
	struct iommu_device_attach at;
	struct iommu_device_fault f;
	struct iommu_fault_eventfd e;
	struct epoll_event ev;

	memset(&b, 0, sizeof(b));
	b.argsz = sizeof(b);
	strcpy(b.name, "accel0");
	b.cookie = ACCEL_COOKIE;
	memset(&at, 0, sizeof(at));
	at.argsz = sizeof(at);
	at.cookie = ACCEL_COOKIE;
	at.ioasid = ioasid;
	memset(&f, 0, sizeof(f));
	f.argsz = sizeof(f);
	f.cookie = ACCEL_COOKIE;
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	memset(&e, 0, sizeof(e));
	e.argsz = sizeof(e);
	e.fd = efd;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	if (ioctl(fd, IOMMU_DEVICE_BIND, &b) < 0 || ioctl(fd, IOMMU_DEVICE_ATTACH, &at) < 0 ||
	    ioctl(fd, IOMMU_DEVICE_FAULT_REGISTER, &f) < 0 || efd < 0 || ep < 0 ||
	    ioctl(fd, IOMMU_FAULT_SET_EVENTFD, &e) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) < 0) {
		printf("bench: setting up accel0's page faults: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/iommu";
	struct iommu_ioasid_alloc a;
	char name[64];
	double floor;
	size_t k;
	int id, j;

	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open(dev, O_RDWR);
	if (fd < 0) {
		printf("bench: open %s: %s\n", dev, strerror(errno));
		return 1;
	}
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return 1;
	page[0] = 1;	/* populated, like a real DMA buffer */
	memset(&a, 0, sizeof(a));
	a.argsz = sizeof(a);
	id = ioctl(fd, IOMMU_IOASID_ALLOC, &a);
	if (id < 0) {
		printf("bench: IOASID_ALLOC: %s\n", strerror(errno));
		return 1;
	}
	ioasid = id;
	if (fault_setup() < 0)
		return 1;

	if (measure_all() < 0)
		return 1;
	floor = median(cases[0].us);
	for (k = 0; k < NCASES; k++) {
		struct bench_case *c = &cases[k];
		double pair = median(c->us), sums[ROUNDS];
		int r;

		if (c->kind == ONE_IOCTL) {
			report(c->name, pair, floor);
			continue;
		}
		if (c->kind == STEPS) {
			for (r = 0; r < ROUNDS; r++)
				for (sums[r] = 0, j = 0; j < MAX_PARTS && c->part[j]; j++)
					sums[r] += c->part_us[j][r];
			report(c->name, median(sums), floor);
			for (j = 0; j < MAX_PARTS && c->part[j]; j++)
				report(c->part[j], median(c->part_us[j]), floor);
			continue;
		}
		snprintf(name, sizeof(name), "%s_pair", c->name);
		report(name, pair, floor);
		snprintf(name, sizeof(name), "%s_per_ioctl", c->name);
		report(name, pair / 2, floor);
		for (j = 0; j < 2; j++)
			report(c->part[j], median(c->part_us[j]), floor);
	}
	close(fd);
	return 0;
}
