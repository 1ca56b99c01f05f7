/*
 * vm_tests.c - end-to-end tests of /dev/iommu through the real kernel CUSE
 * path (tier 3).  Runs inside the QEMU guest (scripts/vm/tier3.sh) as an
 * ordinary client: it includes only the uAPI header and libc.
 *
 * Output: one line per test, "PASS name" or "FAIL name: reason", then
 * "N passed, M failed" (vm_harness.h).  Exit status 0 only if nothing failed.
 * Usage: vm_tests [DEVICE]   (default /dev/iommu)
 */
#define _DEFAULT_SOURCE		/* mmap flags, nanosleep */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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

#define IOVA_BASE	0x100000ULL
#define BUF_SIZE	(64 * PAGE)

static char *buf;		/* BUF_SIZE bytes of ordinary anonymous memory */

/* ---------------------------------------------------------------------------
 * Helpers of this file (the shared ones are in vm_ioctls.h)
 * ------------------------------------------------------------------------- */

static int stats_equal(const struct iommu_sim_daemon_stats *a,
		       const struct iommu_sim_daemon_stats *b)
{
	return a->contexts == b->contexts && a->ioasids == b->ioasids &&
	       a->mappings == b->mappings && a->mapped_bytes == b->mapped_bytes;
}

/* ---------------------------------------------------------------------------
 * The tests.  Each gets two fresh contexts (struct ctx, vm_harness.h), which
 * the runner closes afterwards whatever happened.
 * ------------------------------------------------------------------------- */

static int t_two_contexts(struct ctx *c)
{
	struct iommu_sim_daemon_stats s;
	long ia, ib;

	CHECK(c->a != c->b, "two opens returned the same fd");
	CHECK_OK("GET_API_VERSION on A", io_val(c->a, IOMMU_GET_API_VERSION, 0));
	CHECK_OK("GET_API_VERSION on B", io_val(c->b, IOMMU_GET_API_VERSION, 0));
	ia = do_alloc(c->a);
	CHECK_OK("IOASID_ALLOC on A", ia);
	ib = do_alloc(c->b);
	CHECK_OK("IOASID_ALLOC on B", ib);
	CHECK_OK("DAEMON_STATS", daemon_stats(c->a, &s));
	CHECK(s.contexts >= 2 && s.ioasids >= 2,
	      "stats with two open contexts: %s", dstats_str(&s));
	CHECK_OK("FREE on A", do_free(c->a, ia));
	CHECK_OK("FREE on B", do_free(c->b, ib));
	return 0;
}

static int t_api_version(struct ctx *c)
{
	long v = io_val(c->a, IOMMU_GET_API_VERSION, 0);

	CHECK(v == IOMMU_API_VERSION, "GET_API_VERSION: expected %d, got %s",
	      IOMMU_API_VERSION, resname(v));
	return 0;
}

static int t_check_extension(struct ctx *c)
{
	long r;

	r = io_val(c->a, IOMMU_CHECK_EXTENSION, IOMMU_EXT_MAP_TYPE1V2);
	CHECK(r == 1, "CHECK_EXTENSION(MAP_TYPE1V2): expected 1, got %s", resname(r));
	r = io_val(c->a, IOMMU_CHECK_EXTENSION, 0x7fff1234UL);
	CHECK(r == 0, "CHECK_EXTENSION(unknown 0x7fff1234): expected 0, got %s", resname(r));
	r = io_val(c->a, IOMMU_CHECK_EXTENSION, 0);
	CHECK(r == 0, "CHECK_EXTENSION(0): expected 0, got %s", resname(r));
	return 0;
}

static int t_alloc_map_unmap_free(struct ctx *c)
{
	struct iommu_sim_daemon_stats s0, s1, s2;
	__u64 got = 0;
	long id;

	memset(buf, 0xa5, 16 * PAGE);	/* real, populated memory */
	CHECK_OK("DAEMON_STATS", daemon_stats(c->a, &s0));
	id = do_alloc(c->a);
	CHECK_OK("IOASID_ALLOC", id);
	CHECK_OK("MAP_DMA 64 KiB", do_map(c->a, id, buf, IOVA_BASE, 16 * PAGE, RW));
	CHECK_OK("DAEMON_STATS", daemon_stats(c->a, &s1));
	CHECK(s1.ioasids == s0.ioasids + 1 && s1.mappings == s0.mappings + 1 &&
	      s1.mapped_bytes == s0.mapped_bytes + 16 * PAGE,
	      "stats after alloc+map: %s, before: %s", dstats_str(&s1), dstats_str(&s0));
	CHECK_OK("UNMAP_DMA", do_unmap_size(c->a, id, IOVA_BASE, 16 * PAGE, &got));
	CHECK(got == 16 * PAGE, "UNMAP_DMA reported %llu bytes, expected %llu",
	      (unsigned long long)got, 16 * PAGE);
	CHECK_OK("IOASID_FREE", do_free(c->a, id));
	CHECK_OK("DAEMON_STATS", daemon_stats(c->a, &s2));
	CHECK(stats_equal(&s0, &s2), "stats after free: %s, before: %s",
	      dstats_str(&s2), dstats_str(&s0));
	return 0;
}

static int t_argsz_too_small(struct ctx *c)
{
	struct iommu_ioasid_alloc a = alloc_arg();
	struct iommu_map_dma m;
	struct iommu_unmap_dma u;
	struct iommu_sim_daemon_stats s;
	long id = do_alloc(c->a);

	CHECK_OK("IOASID_ALLOC", id);
	a.argsz = 4;
	CHECK_ERR("ALLOC argsz 4", io(c->a, IOMMU_IOASID_ALLOC, &a), EINVAL);
	a.argsz = 0;
	CHECK_ERR("ALLOC argsz 0", io(c->a, IOMMU_IOASID_ALLOC, &a), EINVAL);
	m = map_arg(id, buf, IOVA_BASE, PAGE, RW);
	m.argsz = sizeof(m) - 8;
	CHECK_ERR("MAP_DMA argsz sizeof-8", io(c->a, IOMMU_MAP_DMA, &m), EINVAL);
	u = unmap_arg(id, IOVA_BASE, PAGE);
	u.argsz = sizeof(u) - 1;
	CHECK_ERR("UNMAP_DMA argsz sizeof-1", io(c->a, IOMMU_UNMAP_DMA, &u), EINVAL);
	/* STATS is all output: its minimum is the header (argsz, flags). */
	memset(&s, 0, sizeof(s));
	s.argsz = 4;
	CHECK_ERR("DAEMON_STATS argsz 4", io(c->a, IOMMU_SIM_DAEMON_STATS, &s), EINVAL);
	return 0;
}

/*
 * An older client knows a shorter struct: the daemon accepts any argsz from
 * the command's minimum up and writes back only argsz bytes (docs/uapi.md).
 */
static int t_argsz_shorter_output(struct ctx *c)
{
	struct iommu_sim_daemon_stats s;
	long id = do_alloc(c->a);

	CHECK_OK("IOASID_ALLOC", id);
	memset(&s, 0xee, sizeof(s));
	s.argsz = 16;		/* up to ioasids */
	s.flags = 0;
	CHECK_OK("DAEMON_STATS argsz 16", io(c->a, IOMMU_SIM_DAEMON_STATS, &s));
	CHECK(s.contexts == 2 && s.ioasids == 1,
	      "the fields inside argsz: contexts %u, ioasids %u (expected 2, 1)",
	      s.contexts, s.ioasids);
	CHECK(s.mappings == 0xeeeeeeeeeeeeeeeeULL && s.mapped_bytes == 0xeeeeeeeeeeeeeeeeULL,
	      "bytes past argsz were written: mappings 0x%llx",
	      (unsigned long long)s.mappings);
	memset(&s, 0xee, sizeof(s));
	s.argsz = 8;		/* the header only */
	s.flags = 0;
	CHECK_OK("DAEMON_STATS argsz 8", io(c->a, IOMMU_SIM_DAEMON_STATS, &s));
	CHECK(s.contexts == 0xeeeeeeeeu, "bytes past argsz 8 were written: contexts %u",
	      s.contexts);
	return 0;
}

static int t_argsz_larger_zero_tail(struct ctx *c)
{
	struct { struct iommu_ioasid_alloc a; unsigned char tail[24]; } big_a;
	struct { struct iommu_map_dma m; unsigned char tail[64]; } big_m;
	__u64 got = 0;
	long id;

	memset(&big_a, 0, sizeof(big_a));
	big_a.a.argsz = sizeof(big_a);
	id = io(c->a, IOMMU_IOASID_ALLOC, &big_a);
	CHECK_OK("ALLOC with argsz +24 zero bytes", id);
	memset(&big_m, 0, sizeof(big_m));
	big_m.m = map_arg(id, buf, IOVA_BASE, PAGE, RW);
	big_m.m.argsz = sizeof(big_m);
	CHECK_OK("MAP_DMA with argsz +64 zero bytes", io(c->a, IOMMU_MAP_DMA, &big_m));
	CHECK_OK("UNMAP_DMA", do_unmap_size(c->a, id, IOVA_BASE, PAGE, &got));
	CHECK(got == PAGE, "UNMAP_DMA reported %llu bytes, expected %llu",
	      (unsigned long long)got, PAGE);
	CHECK_OK("FREE", do_free(c->a, id));
	return 0;
}

static int t_argsz_larger_nonzero_tail(struct ctx *c)
{
	struct { struct iommu_ioasid_alloc a; unsigned char tail[24]; } big_a;
	struct { struct iommu_map_dma m; unsigned char tail[64]; } big_m;
	struct iommu_sim_daemon_stats s0, s1;
	long id = do_alloc(c->a);

	CHECK_OK("IOASID_ALLOC", id);
	CHECK_OK("DAEMON_STATS", daemon_stats(c->a, &s0));
	memset(&big_a, 0, sizeof(big_a));
	big_a.a.argsz = sizeof(big_a);
	big_a.tail[23] = 1;	/* the very last byte */
	CHECK_ERR("ALLOC, last trailing byte 1", io(c->a, IOMMU_IOASID_ALLOC, &big_a), E2BIG);
	memset(&big_m, 0, sizeof(big_m));
	big_m.m = map_arg(id, buf, IOVA_BASE, PAGE, RW);
	big_m.m.argsz = sizeof(big_m);
	big_m.tail[0] = 0x80;	/* the first byte past the known struct */
	CHECK_ERR("MAP_DMA, first trailing byte 0x80", io(c->a, IOMMU_MAP_DMA, &big_m), E2BIG);
	CHECK_OK("DAEMON_STATS", daemon_stats(c->a, &s1));
	CHECK(stats_equal(&s0, &s1), "a failed command changed the stats: %s -> %s",
	      dstats_str(&s0), dstats_str(&s1));
	return 0;
}

static int t_argsz_over_max(struct ctx *c)
{
	/* Zero-filled and large enough that only the argsz rule can object. */
	char *p = pages(4);
	struct iommu_ioasid_alloc *a = (void *)p;
	long id;

	CHECK(p != NULL, "mmap: %s", strerror(errno));
	a->argsz = IOMMU_ARGSZ_MAX;
	id = io(c->a, IOMMU_IOASID_ALLOC, a);
	CHECK_OK("ALLOC argsz IOMMU_ARGSZ_MAX (zero tail)", id);
	CHECK_OK("FREE", do_free(c->a, id));
	a->argsz = IOMMU_ARGSZ_MAX + 1;
	CHECK_ERR("ALLOC argsz IOMMU_ARGSZ_MAX+1", io(c->a, IOMMU_IOASID_ALLOC, a), E2BIG);
	a->argsz = 0xffffffffu;
	CHECK_ERR("ALLOC argsz 0xffffffff", io(c->a, IOMMU_IOASID_ALLOC, a), E2BIG);
	munmap(p, 4 * PAGE);
	return 0;
}

/*
 * Flag bits no header defines.  Bit 31 is used for the commands whose flags
 * are growing (ALLOC, MAP, UNMAP); FREE and STATS take no flags at all.
 */
static int t_unknown_flags(struct ctx *c)
{
	struct iommu_ioasid_alloc a = alloc_arg();
	struct iommu_ioasid_free f;
	struct iommu_map_dma m;
	struct iommu_unmap_dma u;
	struct iommu_sim_daemon_stats s;
	long id = do_alloc(c->a);

	CHECK_OK("IOASID_ALLOC", id);
	a.flags = 1u << 31;
	CHECK_ERR("ALLOC flags bit 31", io(c->a, IOMMU_IOASID_ALLOC, &a), EINVAL);
	f = free_arg(id);
	f.flags = 1;
	CHECK_ERR("FREE flags bit 0", io(c->a, IOMMU_IOASID_FREE, &f), EINVAL);
	m = map_arg(id, buf, IOVA_BASE, PAGE, RW);
	m.flags |= 1u << 31;
	CHECK_ERR("MAP_DMA flags bit 31", io(c->a, IOMMU_MAP_DMA, &m), EINVAL);
	u = unmap_arg(id, IOVA_BASE, PAGE);
	u.flags = 1u << 31;
	CHECK_ERR("UNMAP_DMA flags bit 31", io(c->a, IOMMU_UNMAP_DMA, &u), EINVAL);
	memset(&s, 0, sizeof(s));
	s.argsz = sizeof(s);
	s.flags = 1;
	CHECK_ERR("DAEMON_STATS flags bit 0", io(c->a, IOMMU_SIM_DAEMON_STATS, &s), EINVAL);
	CHECK_OK("FREE (still there after the failed FREE)", do_free(c->a, id));
	return 0;
}

static int t_reserved_nonzero(struct ctx *c)
{
	struct iommu_ioasid_free f;
	struct iommu_map_dma m;
	struct iommu_unmap_dma u;
	long id = do_alloc(c->a);

	CHECK_OK("IOASID_ALLOC", id);
	f = free_arg(id);
	f.__reserved = 1;
	CHECK_ERR("FREE __reserved 1", io(c->a, IOMMU_IOASID_FREE, &f), EINVAL);
	m = map_arg(id, buf, IOVA_BASE, PAGE, RW);
	m.__reserved = 0x100;
	CHECK_ERR("MAP_DMA __reserved 0x100", io(c->a, IOMMU_MAP_DMA, &m), EINVAL);
	u = unmap_arg(id, IOVA_BASE, PAGE);
	u.__reserved = 1;
	CHECK_ERR("UNMAP_DMA __reserved 1", io(c->a, IOMMU_UNMAP_DMA, &u), EINVAL);
	CHECK_OK("FREE", do_free(c->a, id));
	return 0;
}

static int t_unknown_command(struct ctx *c)
{
	static const struct { unsigned long cmd; const char *name; } cmds[] = {
		{ _IO(IOMMU_TYPE, 0xcf), "_IO(';', 0xcf) (free /dev/iommu number)" },
		{ _IO(IOMMU_TYPE, 0xcf), "_IO(';', 0xcf) (last free /dev/iommu number)" },
		{ _IO(IOMMU_TYPE, 0xdf), "_IO(';', 0xdf) (free simulation number)" },
		{ _IO(IOMMU_TYPE, 0x64), "_IO(';', 0x64) (VFIO's range)" },
		{ _IO('x', 0x01), "_IO('x', 1) (another type)" },
		{ _IOWR(IOMMU_TYPE, IOMMU_NR_IOASID_ALLOC, struct iommu_ioasid_alloc),
		  "_IOWR form of IOASID_ALLOC's number" },
		{ _IOR(IOMMU_TYPE, IOMMU_NR_GET_API_VERSION, int),
		  "_IOR form of GET_API_VERSION's number" },
	};
	unsigned char zero[64];
	size_t i;

	memset(zero, 0, sizeof(zero));
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		CHECK_ERR(cmds[i].name, io(c->a, cmds[i].cmd, zero), ENOTTY);
	return 0;
}

static int t_null_argument(struct ctx *c)
{
	CHECK_ERR("IOASID_ALLOC(NULL)", io(c->a, IOMMU_IOASID_ALLOC, NULL), EFAULT);
	CHECK_ERR("IOASID_FREE(NULL)", io(c->a, IOMMU_IOASID_FREE, NULL), EFAULT);
	CHECK_ERR("MAP_DMA(NULL)", io(c->a, IOMMU_MAP_DMA, NULL), EFAULT);
	CHECK_ERR("UNMAP_DMA(NULL)", io(c->a, IOMMU_UNMAP_DMA, NULL), EFAULT);
	CHECK_ERR("DAEMON_STATS(NULL)", io(c->a, IOMMU_SIM_DAEMON_STATS, NULL), EFAULT);
	return 0;
}

static int t_map_misaligned(struct ctx *c)
{
	long id = do_alloc(c->a);

	CHECK_OK("IOASID_ALLOC", id);
	CHECK_ERR("MAP iova+1", do_map(c->a, id, buf, IOVA_BASE + 1, PAGE, RW), EINVAL);
	CHECK_ERR("MAP iova+2048", do_map(c->a, id, buf, IOVA_BASE + 2048, PAGE, RW), EINVAL);
	CHECK_ERR("MAP vaddr+8", do_map(c->a, id, buf + 8, IOVA_BASE, PAGE, RW), EINVAL);
	CHECK_ERR("MAP size 4097", do_map(c->a, id, buf, IOVA_BASE, PAGE + 1, RW), EINVAL);
	CHECK_ERR("MAP size 512", do_map(c->a, id, buf, IOVA_BASE, 512, RW), EINVAL);
	return 0;
}

static int t_map_size_zero(struct ctx *c)
{
	long id = do_alloc(c->a);

	CHECK_OK("IOASID_ALLOC", id);
	CHECK_ERR("MAP size 0", do_map(c->a, id, buf, IOVA_BASE, 0, RW), EINVAL);
	return 0;
}

static int t_map_wrap(struct ctx *c)
{
	long id = do_alloc(c->a);
	struct iommu_map_dma m;

	CHECK_OK("IOASID_ALLOC", id);
	CHECK_ERR("MAP iova 2^64-4K size 8K (wraps)",
		  do_map(c->a, id, buf, 0xfffffffffffff000ULL, 2 * PAGE, RW), EINVAL);
	CHECK_ERR("MAP iova 2^48 (outside the aperture)",
		  do_map(c->a, id, buf, 1ULL << 48, PAGE, RW), EINVAL);
	CHECK_ERR("MAP iova 2^48-4K size 8K (crosses the aperture end)",
		  do_map(c->a, id, buf, (1ULL << 48) - PAGE, 2 * PAGE, RW), EINVAL);
	m = map_arg(id, buf, IOVA_BASE, 2 * PAGE, RW);
	m.vaddr = 0xfffffffffffff000ULL;
	CHECK_ERR("MAP vaddr 2^64-4K size 8K (wraps)", io(c->a, IOMMU_MAP_DMA, &m), EINVAL);
	/* The last page of the aperture is fine. */
	CHECK_OK("MAP iova 2^48-4K size 4K", do_map(c->a, id, buf, (1ULL << 48) - PAGE, PAGE, RW));
	return 0;
}

static int t_map_no_permission(struct ctx *c)
{
	long id = do_alloc(c->a);
	struct iommu_map_dma m;

	CHECK_OK("IOASID_ALLOC", id);
	m = map_arg(id, buf, IOVA_BASE, PAGE, RW);
	m.flags = 0;
	CHECK_ERR("MAP flags 0", io(c->a, IOMMU_MAP_DMA, &m), EINVAL);
	m.flags = IOMMU_MAP_DMA_READ;
	CHECK_OK("MAP READ only", io(c->a, IOMMU_MAP_DMA, &m));
	m.flags = IOMMU_MAP_DMA_WRITE;
	m.iova += PAGE;
	CHECK_OK("MAP WRITE only", io(c->a, IOMMU_MAP_DMA, &m));
	return 0;
}

static int t_map_overlap(struct ctx *c)
{
	struct iommu_sim_daemon_stats s0, s1;
	long id = do_alloc(c->a);

	CHECK_OK("IOASID_ALLOC", id);
	CHECK_OK("MAP [1M, 1M+16K)", do_map(c->a, id, buf, IOVA_BASE, 4 * PAGE, RW));
	CHECK_OK("DAEMON_STATS", daemon_stats(c->a, &s0));
	CHECK_ERR("MAP the same range", do_map(c->a, id, buf, IOVA_BASE, 4 * PAGE, RW), EEXIST);
	CHECK_ERR("MAP [1M+8K, 1M+24K)",
		  do_map(c->a, id, buf, IOVA_BASE + 2 * PAGE, 4 * PAGE, RW), EEXIST);
	CHECK_ERR("MAP [1M-4K, 1M+4K)",
		  do_map(c->a, id, buf, IOVA_BASE - PAGE, 2 * PAGE, RW), EEXIST);
	CHECK_ERR("MAP [1M-4K, 1M+20K) (covers it)",
		  do_map(c->a, id, buf, IOVA_BASE - PAGE, 6 * PAGE, RW), EEXIST);
	CHECK_ERR("MAP [1M+4K, 1M+8K) (inside it)",
		  do_map(c->a, id, buf, IOVA_BASE + PAGE, PAGE, RW), EEXIST);
	CHECK_OK("DAEMON_STATS", daemon_stats(c->a, &s1));
	CHECK(stats_equal(&s0, &s1), "failed MAPs changed the stats: %s -> %s",
	      dstats_str(&s0), dstats_str(&s1));
	CHECK_OK("MAP [1M+16K, 1M+20K) (adjacent)",
		  do_map(c->a, id, buf, IOVA_BASE + 4 * PAGE, PAGE, RW));
	CHECK_OK("MAP [1M-4K, 1M) (adjacent)",
		  do_map(c->a, id, buf, IOVA_BASE - PAGE, PAGE, RW));
	return 0;
}

static int t_unmap_split(struct ctx *c)
{
	__u64 got = 0;
	long id = do_alloc(c->a);

	CHECK_OK("IOASID_ALLOC", id);
	CHECK_OK("MAP [1M, 1M+16K)", do_map(c->a, id, buf, IOVA_BASE, 4 * PAGE, RW));
	CHECK_ERR("UNMAP [1M, 1M+4K) (head)",
		  do_unmap(c->a, id, IOVA_BASE, PAGE), EINVAL);
	CHECK_ERR("UNMAP [1M+4K, 1M+8K) (middle)",
		  do_unmap(c->a, id, IOVA_BASE + PAGE, PAGE), EINVAL);
	CHECK_ERR("UNMAP [1M+8K, 1M+32K) (tail and beyond)",
		  do_unmap(c->a, id, IOVA_BASE + 2 * PAGE, 6 * PAGE), EINVAL);
	CHECK_OK("UNMAP the whole mapping",
		 do_unmap_size(c->a, id, IOVA_BASE, 4 * PAGE, &got));
	CHECK(got == 4 * PAGE, "UNMAP reported %llu bytes, expected %llu (a failed"
	      " split must remove nothing)", (unsigned long long)got, 4 * PAGE);
	return 0;
}

static int t_unmap_ranges(struct ctx *c)
{
	__u64 got = 1;
	long id = do_alloc(c->a);

	CHECK_OK("IOASID_ALLOC", id);
	CHECK_OK("UNMAP an empty range", do_unmap_size(c->a, id, IOVA_BASE, PAGE, &got));
	CHECK(got == 0, "UNMAP of nothing reported %llu bytes", (unsigned long long)got);
	CHECK_OK("MAP 4K at 1M", do_map(c->a, id, buf, IOVA_BASE, PAGE, RW));
	CHECK_OK("MAP 8K at 1M+8K", do_map(c->a, id, buf, IOVA_BASE + 2 * PAGE, 2 * PAGE, RW));
	CHECK_OK("MAP 4K at 1M+64K", do_map(c->a, id, buf, IOVA_BASE + 16 * PAGE, PAGE, RW));
	CHECK_OK("UNMAP [1M, 1M+16K)", do_unmap_size(c->a, id, IOVA_BASE, 4 * PAGE, &got));
	CHECK(got == 3 * PAGE, "UNMAP over two mappings reported %llu bytes, expected %llu",
	      (unsigned long long)got, 3 * PAGE);
	CHECK_ERR("UNMAP size 0", do_unmap(c->a, id, IOVA_BASE, 0), EINVAL);
	CHECK_ERR("UNMAP iova+1", do_unmap(c->a, id, IOVA_BASE + 1, PAGE), EINVAL);
	CHECK_ERR("UNMAP size 4K+1", do_unmap(c->a, id, IOVA_BASE, PAGE + 1), EINVAL);
	CHECK_ERR("UNMAP iova 2^64-4K size 8K (wraps)",
		  do_unmap(c->a, id, 0xfffffffffffff000ULL, 2 * PAGE), EINVAL);
	CHECK_OK("UNMAP the last one", do_unmap_size(c->a, id, IOVA_BASE + 16 * PAGE, PAGE, &got));
	CHECK(got == PAGE, "UNMAP reported %llu bytes, expected %llu",
	      (unsigned long long)got, PAGE);
	return 0;
}

static int t_unmap_all(struct ctx *c)
{
	struct iommu_unmap_dma u;
	long id = do_alloc(c->a);

	CHECK_OK("IOASID_ALLOC", id);
	CHECK_OK("MAP 4K", do_map(c->a, id, buf, IOVA_BASE, PAGE, RW));
	CHECK_OK("MAP 8K", do_map(c->a, id, buf, IOVA_BASE + 0x100000, 2 * PAGE, RW));
	CHECK_OK("MAP 12K", do_map(c->a, id, buf, 0x7f0000000000ULL, 3 * PAGE, RW));
	u = unmap_arg(id, IOVA_BASE, 0);
	u.flags = IOMMU_UNMAP_DMA_ALL;
	CHECK_ERR("UNMAP_ALL with iova != 0", io(c->a, IOMMU_UNMAP_DMA, &u), EINVAL);
	u = unmap_arg(id, 0, PAGE);
	u.flags = IOMMU_UNMAP_DMA_ALL;
	CHECK_ERR("UNMAP_ALL with size != 0", io(c->a, IOMMU_UNMAP_DMA, &u), EINVAL);
	u = unmap_arg(id, 0, 0);
	u.flags = IOMMU_UNMAP_DMA_ALL;
	CHECK_OK("UNMAP_ALL", io(c->a, IOMMU_UNMAP_DMA, &u));
	CHECK(u.size == 6 * PAGE, "UNMAP_ALL reported %llu bytes, expected %llu",
	      (unsigned long long)u.size, 6 * PAGE);
	u = unmap_arg(id, 0, 0);
	u.flags = IOMMU_UNMAP_DMA_ALL;
	CHECK_OK("UNMAP_ALL again", io(c->a, IOMMU_UNMAP_DMA, &u));
	CHECK(u.size == 0, "second UNMAP_ALL reported %llu bytes, expected 0",
	      (unsigned long long)u.size);
	return 0;
}

static int t_unknown_ioasid(struct ctx *c)
{
	struct iommu_unmap_dma u;
	long id = do_alloc(c->a);

	CHECK_OK("IOASID_ALLOC", id);
	CHECK_ERR("FREE 0x7fffffff", do_free(c->a, 0x7fffffff), ENOENT);
	CHECK_ERR("MAP into 0x7fffffff", do_map(c->a, 0x7fffffff, buf, IOVA_BASE, PAGE, RW), ENOENT);
	CHECK_ERR("UNMAP from 0x7fffffff", do_unmap(c->a, 0x7fffffff, IOVA_BASE, PAGE), ENOENT);
	CHECK_OK("FREE", do_free(c->a, id));
	CHECK_ERR("FREE again", do_free(c->a, id), ENOENT);
	CHECK_ERR("MAP into a freed IOASID", do_map(c->a, id, buf, IOVA_BASE, PAGE, RW), ENOENT);
	u = unmap_arg(id, 0, 0);
	u.flags = IOMMU_UNMAP_DMA_ALL;
	CHECK_ERR("UNMAP_ALL from a freed IOASID", io(c->a, IOMMU_UNMAP_DMA, &u), ENOENT);
	return 0;
}

static int t_vaddr_not_mapped(struct ctx *c)
{
	char *p = pages(3);
	long id = do_alloc(c->a);

	CHECK(p != NULL, "mmap: %s", strerror(errno));
	CHECK_OK("IOASID_ALLOC", id);
	memset(p, 1, 3 * PAGE);
	CHECK(munmap(p + PAGE, PAGE) == 0, "munmap: %s", strerror(errno));
	CHECK_ERR("MAP 3 pages with a hole in the middle",
		  do_map(c->a, id, p, IOVA_BASE, 3 * PAGE, RW), EFAULT);
	CHECK_ERR("MAP the hole", do_map(c->a, id, p + PAGE, IOVA_BASE, PAGE, RW), EFAULT);
	CHECK_ERR("MAP a never-mapped low address",
		  do_map(c->a, id, (void *)0x1000, IOVA_BASE, PAGE, RW), EFAULT);
	CHECK(mprotect(p + 2 * PAGE, PAGE, PROT_NONE) == 0, "mprotect: %s", strerror(errno));
	CHECK_ERR("MAP a PROT_NONE page (not readable)",
		  do_map(c->a, id, p + 2 * PAGE, IOVA_BASE, PAGE, RW), EFAULT);
	CHECK_OK("MAP the first page (still mapped)", do_map(c->a, id, p, IOVA_BASE, PAGE, RW));
	munmap(p, 3 * PAGE);
	return 0;
}

static int t_isolation(struct ctx *c)
{
	struct iommu_unmap_dma u;
	__u64 got = 0;
	long id = do_alloc(c->a);

	CHECK_OK("IOASID_ALLOC on A", id);
	CHECK_OK("MAP on A", do_map(c->a, id, buf, IOVA_BASE, 2 * PAGE, RW));
	CHECK_ERR("B frees A's IOASID", do_free(c->b, id), ENOENT);
	CHECK_ERR("B maps into A's IOASID",
		  do_map(c->b, id, buf, IOVA_BASE + 0x10000, PAGE, RW), ENOENT);
	CHECK_ERR("B unmaps from A's IOASID",
		  do_unmap(c->b, id, IOVA_BASE, 2 * PAGE), ENOENT);
	u = unmap_arg(id, 0, 0);
	u.flags = IOMMU_UNMAP_DMA_ALL;
	CHECK_ERR("B unmaps all of A's IOASID", io(c->b, IOMMU_UNMAP_DMA, &u), ENOENT);
	CHECK_OK("A unmaps", do_unmap_size(c->a, id, IOVA_BASE, 2 * PAGE, &got));
	CHECK(got == 2 * PAGE, "A's mapping was touched by B: UNMAP reported %llu bytes",
	      (unsigned long long)got);
	CHECK_OK("A frees", do_free(c->a, id));
	return 0;
}

/*
 * A child opens the device, allocates and maps, then dies without closing.
 * The kernel releases its file; the daemon must drop the context and all it
 * held.
 */
static int reclaim_setup(void *unused)
{
	int fd = open(dev_path, O_RDWR);
	long id1 = fd < 0 ? -1 : do_alloc(fd);
	long id2 = fd < 0 ? -1 : do_alloc(fd);

	(void)unused;
	return id1 >= 0 && id2 >= 0 &&
	       do_map(fd, id1, buf, IOVA_BASE, 16 * PAGE, RW) == 0 &&
	       do_map(fd, id2, buf, IOVA_BASE, 16 * PAGE, RW) == 0 ? 0 : -1;
}

static int reclaim(struct ctx *c, enum leave_how how)
{
	struct iommu_sim_daemon_stats base, mid, now;
	struct leaver child;
	long r = 0;
	int i;

	memset(&mid, 0, sizeof(mid));
	CHECK_OK("DAEMON_STATS", daemon_stats(c->a, &base));
	TRY(leaver_start(&child, how, reclaim_setup, NULL));
	if (child.set_up)
		r = daemon_stats(c->a, &mid);
	leaver_end(&child);
	CHECK(child.set_up, "the child could not open/alloc/map (see other tests)");
	CHECK_OK("DAEMON_STATS while the child lives", r);
	CHECK(mid.contexts == base.contexts + 1 && mid.ioasids == base.ioasids + 2 &&
	      mid.mappings == base.mappings + 2 &&
	      mid.mapped_bytes == base.mapped_bytes + 32 * PAGE,
	      "stats while the child lives: %s, baseline %s", dstats_str(&mid),
	      dstats_str(&base));
	/* The kernel sends RELEASE asynchronously: poll, up to 3 s. */
	for (i = 0; i < 60; i++) {
		CHECK_OK("DAEMON_STATS", daemon_stats(c->a, &now));
		if (stats_equal(&now, &base))
			return 0;
		sleep_ms(50);
	}
	CHECK(0, "not reclaimed 3 s after the child died: %s, baseline %s",
	      dstats_str(&now), dstats_str(&base));
	return -1;
}

static int t_exit_without_close(struct ctx *c) { return reclaim(c, LEAVE_EXIT); }
static int t_sigkill_reclaim(struct ctx *c) { return reclaim(c, LEAVE_KILL); }

/*
 * Several processes at once, each with its own context, each looping
 * alloc, map, unmap, free: the daemon's worker threads serve them in
 * parallel (the VM has two vCPUs).  Every call must succeed and nothing may
 * be left behind.
 */
#define CONC_CHILDREN	4
#define CONC_ROUNDS	40

static int conc_child(int n)
{
	int fd = open(dev_path, O_RDWR), i;

	if (fd < 0)
		return 10;
	for (i = 0; i < CONC_ROUNDS; i++) {
		__u64 got = 0;
		long id = do_alloc(fd);
		__u64 iova = IOVA_BASE + (__u64)(n * CONC_ROUNDS + i) * 4 * PAGE;

		if (id < 0)
			return 11;
		if (do_map(fd, id, buf + (i % 8) * PAGE, iova, 4 * PAGE, RW) < 0)
			return 12;
		if (do_unmap_size(fd, id, iova, 4 * PAGE, &got) < 0 || got != 4 * PAGE)
			return 13;
		if (do_free(fd, id) < 0)
			return 14;
	}
	close(fd);
	return 0;
}

static int t_concurrent_clients(struct ctx *c)
{
	struct iommu_sim_daemon_stats base, now;
	pid_t pids[CONC_CHILDREN];
	int i, status, bad = 0;

	CHECK_OK("DAEMON_STATS", daemon_stats(c->a, &base));
	for (i = 0; i < CONC_CHILDREN; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(conc_child(i));
	}
	for (i = 0; i < CONC_CHILDREN; i++) {
		if (pids[i] < 0) {
			failf(__LINE__, "fork client %d: %s", i, strerror(errno));
			bad = 1;
			continue;
		}
		waitpid(pids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			failf(__LINE__, "client %d failed (status 0x%x: 10 open, 11 alloc,"
			      " 12 map, 13 unmap, 14 free)", i, status);
			bad = 1;
		}
	}
	if (bad)
		return -1;
	for (i = 0; i < 60; i++) {
		CHECK_OK("DAEMON_STATS", daemon_stats(c->a, &now));
		if (stats_equal(&now, &base))
			return 0;
		sleep_ms(50);
	}
	CHECK(0, "left behind: %s, baseline %s", dstats_str(&now), dstats_str(&base));
	return -1;
}

/* The caller may drop the memory behind a mapping; unmapping the IOVA range
 * is still fine (the daemon holds no reference to the caller's pages). */
static int t_unmap_after_munmap(struct ctx *c)
{
	char *p = pages(4);
	__u64 got = 0;
	long id = do_alloc(c->a);

	CHECK(p != NULL, "mmap: %s", strerror(errno));
	CHECK_OK("IOASID_ALLOC", id);
	memset(p, 3, 4 * PAGE);
	CHECK_OK("MAP", do_map(c->a, id, p, IOVA_BASE, 4 * PAGE, RW));
	CHECK(munmap(p, 4 * PAGE) == 0, "munmap: %s", strerror(errno));
	CHECK_OK("UNMAP after munmap", do_unmap_size(c->a, id, IOVA_BASE, 4 * PAGE, &got));
	CHECK(got == 4 * PAGE, "UNMAP reported %llu bytes", (unsigned long long)got);
	CHECK_OK("FREE", do_free(c->a, id));
	return 0;
}

/*
 * The daemon fetches the caller's struct through the kernel; it must ask for
 * exactly argsz bytes.  Structs that end exactly where an inaccessible page
 * begins must work; one whose argsz reaches into that page must get EFAULT.
 * Layout: [rw][rw][PROT_NONE].
 */
static int t_struct_at_page_end(struct ctx *c)
{
	char *p = pages(3);
	char *end;
	struct iommu_ioasid_alloc *a;
	struct iommu_ioasid_free *f;
	struct iommu_map_dma *m;
	struct iommu_unmap_dma *u;
	struct iommu_sim_daemon_stats *s;
	long id;

	CHECK(p != NULL, "mmap: %s", strerror(errno));
	CHECK(mprotect(p + 2 * PAGE, PAGE, PROT_NONE) == 0, "mprotect: %s", strerror(errno));
	end = p + 2 * PAGE;

	a = (void *)(end - sizeof(*a));
	*a = alloc_arg();
	id = io(c->a, IOMMU_IOASID_ALLOC, a);
	CHECK_OK("ALLOC, struct ends at the page end", id);

	m = (void *)(end - sizeof(*m));
	*m = map_arg(id, buf, IOVA_BASE, PAGE, RW);
	CHECK_OK("MAP_DMA, struct ends at the page end", io(c->a, IOMMU_MAP_DMA, m));

	s = (void *)(end - sizeof(*s));
	memset(s, 0, sizeof(*s));
	s->argsz = sizeof(*s);
	CHECK_OK("DAEMON_STATS, struct ends at the page end", io(c->a, IOMMU_SIM_DAEMON_STATS, s));
	CHECK(s->mappings >= 1, "DAEMON_STATS wrote back %s", dstats_str(s));

	/* Crossing from one readable page into the next is fine too. */
	m = (void *)(end - PAGE - 16);
	*m = map_arg(id, buf, IOVA_BASE + PAGE, PAGE, RW);
	CHECK_OK("MAP_DMA, struct straddles two pages", io(c->a, IOMMU_MAP_DMA, m));

	u = (void *)(end - sizeof(*u));
	*u = unmap_arg(id, IOVA_BASE, 2 * PAGE);
	CHECK_OK("UNMAP_DMA, struct ends at the page end", io(c->a, IOMMU_UNMAP_DMA, u));
	CHECK(u->size == 2 * PAGE, "UNMAP_DMA wrote back size %llu, expected %llu",
	      (unsigned long long)u->size, 2 * PAGE);

	/* argsz claims 8 more bytes than fit before the PROT_NONE page. */
	m = (void *)(end - sizeof(*m));
	*m = map_arg(id, buf, IOVA_BASE, PAGE, RW);
	m->argsz = sizeof(*m) + 8;
	CHECK_ERR("MAP_DMA, argsz reaches into a PROT_NONE page", io(c->a, IOMMU_MAP_DMA, m), EFAULT);

	f = (void *)(end - sizeof(*f));
	*f = free_arg(id);
	CHECK_OK("FREE, struct ends at the page end", io(c->a, IOMMU_IOASID_FREE, f));
	munmap(p, 3 * PAGE);
	return 0;
}

/* The daemon survived everything above and still serves a fresh open. */
static int t_still_serving(struct ctx *c)
{
	int fd = open(dev_path, O_RDWR);
	long v;

	(void)c;
	CHECK(fd >= 0, "open %s: %s", dev_path, strerror(errno));
	v = io_val(fd, IOMMU_GET_API_VERSION, 0);
	close(fd);
	CHECK(v == IOMMU_API_VERSION, "GET_API_VERSION: %s", resname(v));
	return 0;
}

static const struct vm_test tests[] = {
	{ "two_contexts", t_two_contexts },
	{ "api_version", t_api_version },
	{ "check_extension", t_check_extension },
	{ "alloc_map_unmap_free", t_alloc_map_unmap_free },
	{ "argsz_too_small", t_argsz_too_small },
	{ "argsz_shorter_output", t_argsz_shorter_output },
	{ "argsz_larger_zero_tail", t_argsz_larger_zero_tail },
	{ "argsz_larger_nonzero_tail", t_argsz_larger_nonzero_tail },
	{ "argsz_over_max", t_argsz_over_max },
	{ "unknown_flags", t_unknown_flags },
	{ "reserved_nonzero", t_reserved_nonzero },
	{ "unknown_command", t_unknown_command },
	{ "null_argument", t_null_argument },
	{ "map_misaligned", t_map_misaligned },
	{ "map_size_zero", t_map_size_zero },
	{ "map_wrap", t_map_wrap },
	{ "map_no_permission", t_map_no_permission },
	{ "map_overlap", t_map_overlap },
	{ "unmap_split", t_unmap_split },
	{ "unmap_ranges", t_unmap_ranges },
	{ "unmap_all", t_unmap_all },
	{ "unknown_ioasid", t_unknown_ioasid },
	{ "vaddr_not_mapped", t_vaddr_not_mapped },
	{ "isolation", t_isolation },
	{ "exit_without_close", t_exit_without_close },
	{ "sigkill_reclaim", t_sigkill_reclaim },
	{ "concurrent_clients", t_concurrent_clients },
	{ "unmap_after_munmap", t_unmap_after_munmap },
	{ "struct_at_page_end", t_struct_at_page_end },
	{ "still_serving", t_still_serving },
};

int main(int argc, char **argv)
{
	vm_start(argc, argv);
	buf = pages(BUF_SIZE / PAGE);
	if (!buf) {
		perror("mmap");
		return 1;
	}
	memset(buf, 0x5a, BUF_SIZE);
	return run_tests(tests, sizeof(tests) / sizeof(tests[0]), 0);
}
