/*
 * ioctl_bench.c - cost of /dev/iommu ioctls through the real kernel CUSE
 * path, run inside the QEMU guest (scripts/vm/bench.sh).
 *
 * Under TCG absolute times mean little; the ratios to the null ioctl
 * (GET_API_VERSION: no argument, one round trip) are what to compare.
 * Each case runs for about BENCH_SECONDS in all, after a short warm-up.
 * Output: "bench: <name> <us> us  ratio <x.xx>" per case.
 * Usage: ioctl_bench [DEVICE]   (default /dev/iommu)
 */
#define _DEFAULT_SOURCE		/* MAP_ANONYMOUS, clock_gettime */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cuse-iommu.h"

#define BENCH_SECONDS	1.5	/* per case, over all rounds */
#define ROUNDS		5
#define WARMUP		20
#define BATCH		16	/* iterations between clock reads */

static int fd;
static __u32 ioasid;
static char *page;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
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

struct bench_case {
	const char *name;
	int (*op)(double *split);
	const char *part[2];	/* the two ioctls of a pair, or NULL */
	double seconds;		/* accumulated over the rounds */
	double split[2];
	long iterations;
};

static struct bench_case cases[] = {
	/* The floor comes first. */
	{ "get_api_version", op_version, { NULL, NULL }, 0, { 0, 0 }, 0 },
	{ "map_unmap_4k", op_map_unmap, { "map_dma_4k", "unmap_dma_4k" }, 0, { 0, 0 }, 0 },
	{ "ioasid_alloc_free", op_alloc_free, { "ioasid_alloc", "ioasid_free" }, 0, { 0, 0 }, 0 },
};
#define NCASES	(sizeof(cases) / sizeof(cases[0]))

/* Run c for about seconds; add to its totals.  -1 if an ioctl failed. */
static int run_case(struct bench_case *c, double seconds)
{
	double t0 = now(), t;
	int i;

	do {
		for (i = 0; i < BATCH; i++)
			if (c->op(c->split) < 0) {
				printf("bench: %s failed: %s\n", c->name, strerror(errno));
				return -1;
			}
		c->iterations += BATCH;
		t = now();
	} while (t - t0 < seconds);
	c->seconds += t - t0;
	return 0;
}

/*
 * The cases take turns, ROUNDS times, instead of running one after another:
 * the host under TCG is shared and its load drifts, and taking turns spreads
 * that drift over every case alike, so the ratios stay comparable.
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
		cases[k].split[0] = cases[k].split[1] = 0;
	}
	for (r = 0; r < ROUNDS; r++)
		for (k = 0; k < NCASES; k++)
			if (run_case(&cases[k], BENCH_SECONDS / ROUNDS) < 0)
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

	if (measure_all() < 0)
		return 1;
	floor = cases[0].seconds * 1e6 / cases[0].iterations;
	for (k = 0; k < NCASES; k++) {
		struct bench_case *c = &cases[k];
		double pair = c->seconds * 1e6 / c->iterations;

		if (!c->part[0]) {
			report(c->name, pair, floor);
			continue;
		}
		snprintf(name, sizeof(name), "%s_pair", c->name);
		report(name, pair, floor);
		snprintf(name, sizeof(name), "%s_per_ioctl", c->name);
		report(name, pair / 2, floor);
		for (j = 0; j < 2; j++)
			report(c->part[j], c->split[j] * 1e6 / c->iterations, floor);
	}
	close(fd);
	return 0;
}
