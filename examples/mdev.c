/*
 * mdev.c - two mediated devices on one parent, each in its own address space.
 *
 * An mdev (a slice of a device, like a vGPU) has no PCI requester ID of its
 * own: its DMA leaves through its parent -- here gpu0 -- carrying the
 * parent's RID.  The IOMMU tells mdev0 from mdev1 by a PASID the host picks
 * when the mdev is bound (the RFC's "defPASID").  The user never sees it: it
 * binds "mdev0", attaches it whole to an IOASID, and that is all.
 *
 *   IOMMU_DEVICE_BIND mdev0, mdev1      (and gpu0 itself can then not be
 *                                        bound: parent and mdevs exclude
 *                                        each other)
 *   IOMMU_DEVICE_GET_INFO               MDEV is set, PASID is not
 *   IOMMU_IOASID_ALLOC x2, MAP_DMA      the SAME IOVA in both, backed by
 *                                        different buffers
 *   IOMMU_DEVICE_ATTACH                 mdev0 -> A, mdev1 -> B
 *   IOMMU_SIM_DMA                       each mdev's write lands in its own
 *                                        buffer: routed by defPASID
 *   IOMMU_GET_STATS.locked_pages        one page mapped into both address
 *                                        spaces is charged once
 *
 * Usage: example_mdev [--hold SECONDS] [DEVICE]   (default /dev/iommu)
 *   --hold: before closing, keep both mdevs attached for SECONDS, so that
 *   `iommuctl dump` can show the defPASIDs the user never sees;
 *   `kill -USR1 PID` ends the hold early.
 * Exit status: 0 only if every check held.
 */
#define _DEFAULT_SOURCE		/* MAP_ANONYMOUS */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cuse-iommu.h"

#define PAGE		4096ULL
#define IOVA		0x100000ULL	/* each mdev's private buffer, in both IOASIDs */
#define SHARED_IOVA	0x200000ULL	/* one page mapped into both IOASIDs */
#define MDEV0		0x100		/* cookies */
#define MDEV1		0x101
#define GPU0		0x200

static int failures;

/* SIGUSR1 only has to interrupt the hold's sleep(); nothing to do here. */
static void end_hold(int sig)
{
	(void)sig;
}

static int check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("  [%s] ", ok ? "ok" : "WRONG");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok)
		failures++;
	return ok;
}

/* The ioctl's result (>= 0) or -errno: some calls here are meant to fail. */
static int try_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static int call(int fd, unsigned long cmd, void *arg, const char *name)
{
	int r = ioctl(fd, cmd, arg);

	if (r < 0)
		check(0, "%s failed: %s", name, strerror(errno));
	return r;
}

static int bind_device(int fd, const char *name, __u64 cookie)
{
	struct iommu_device_bind bind;

	memset(&bind, 0, sizeof(bind));
	bind.argsz = sizeof(bind);
	strncpy(bind.name, name, sizeof(bind.name) - 1);
	bind.cookie = cookie;
	return try_ioctl(fd, IOMMU_DEVICE_BIND, &bind);
}

static int alloc_ioasid(int fd)
{
	struct iommu_ioasid_alloc alloc;

	memset(&alloc, 0, sizeof(alloc));
	alloc.argsz = sizeof(alloc);
	return call(fd, IOMMU_IOASID_ALLOC, &alloc, "IOASID_ALLOC");
}

static int map(int fd, int ioasid, void *buf, __u64 iova)
{
	struct iommu_map_dma m;

	memset(&m, 0, sizeof(m));
	m.argsz = sizeof(m);
	m.flags = IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE;
	m.ioasid = (__u32)ioasid;
	m.vaddr = (__u64)(unsigned long)buf;
	m.iova = iova;
	m.size = PAGE;
	return call(fd, IOMMU_MAP_DMA, &m, "MAP_DMA");
}

static int unmap(int fd, int ioasid, __u64 iova)
{
	struct iommu_unmap_dma u;

	memset(&u, 0, sizeof(u));
	u.argsz = sizeof(u);
	u.ioasid = (__u32)ioasid;
	u.iova = iova;
	u.size = PAGE;
	return call(fd, IOMMU_UNMAP_DMA, &u, "UNMAP_DMA");
}

static int attach(int fd, __u64 cookie, int ioasid)
{
	struct iommu_device_attach a;

	memset(&a, 0, sizeof(a));
	a.argsz = sizeof(a);
	a.flags = 0;	/* an mdev always attaches whole: no IOMMU_ATTACH_PASID */
	a.cookie = cookie;
	a.ioasid = (__u32)ioasid;
	return call(fd, IOMMU_DEVICE_ATTACH, &a, "DEVICE_ATTACH");
}

/* The device writes len bytes of data at iova.  Returns the DMA status. */
static int device_write(int fd, __u64 cookie, __u64 iova, const void *data, __u64 len)
{
	struct iommu_sim_dma d;

	memset(&d, 0, sizeof(d));
	d.argsz = sizeof(d);
	d.flags = IOMMU_SIM_DMA_WRITE;
	d.cookie = cookie;
	d.iova = iova;
	d.length = len;
	d.data = (__u64)(unsigned long)data;
	if (call(fd, IOMMU_SIM_DMA, &d, "SIM_DMA") < 0)
		return -1;
	return (int)d.status;
}

static int device_read(int fd, __u64 cookie, __u64 iova, void *data, __u64 len)
{
	struct iommu_sim_dma d;

	memset(&d, 0, sizeof(d));
	d.argsz = sizeof(d);
	d.cookie = cookie;
	d.iova = iova;
	d.length = len;
	d.data = (__u64)(unsigned long)data;
	if (call(fd, IOMMU_SIM_DMA, &d, "SIM_DMA") < 0)
		return -1;
	return (int)d.status;
}

static __u64 locked_pages(int fd)
{
	struct iommu_stats s;

	memset(&s, 0, sizeof(s));
	s.argsz = sizeof(s);
	if (call(fd, IOMMU_GET_STATS, &s, "GET_STATS") < 0)
		return ~0ULL;
	return s.locked_pages;
}

/* ---- the steps ------------------------------------------------------------ */

static int bind_both(int fd)
{
	struct iommu_device_info info;
	int r;

	printf("\nmdev: 1. bind mdev0 and mdev1, two mdevs of gpu0\n");
	if (!check(bind_device(fd, "mdev0", MDEV0) == 0 && bind_device(fd, "mdev1", MDEV1) == 0,
		   "both bound (cookies 0x%x and 0x%x)", MDEV0, MDEV1))
		return -1;

	memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info);	/* just the struct: we only want the flags */
	info.cookie = MDEV0;
	if (call(fd, IOMMU_DEVICE_GET_INFO, &info, "DEVICE_GET_INFO") < 0)
		return -1;
	check((info.flags & IOMMU_DEVICE_INFO_MDEV) && !(info.flags & IOMMU_DEVICE_INFO_PASID),
	      "GET_INFO says mdev0 is an MDEV and offers no PASIDs to the user (flags 0x%x)",
	      info.flags);

	r = bind_device(fd, "gpu0", GPU0);
	check(r == -EBUSY, "binding their parent gpu0 now is refused: %s",
	      r ? strerror(-r) : "it succeeded");
	return 0;
}

static int attach_each(int fd, int a, int b, unsigned char *buf_a, unsigned char *buf_b)
{
	printf("\nmdev: 2. IOASID %d for mdev0, IOASID %d for mdev1; both map IOVA 0x%llx,\n"
	       "mdev:    but to different buffers of ours\n", a, b, (unsigned long long)IOVA);
	if (map(fd, a, buf_a, IOVA) < 0 || map(fd, b, buf_b, IOVA) < 0)
		return -1;
	if (attach(fd, MDEV0, a) < 0 || attach(fd, MDEV1, b) < 0)
		return -1;
	printf("  mdev0 -> IOASID %d, mdev1 -> IOASID %d\n", a, b);
	return 0;
}

static void dma_lands_apart(int fd, unsigned char *buf_a, unsigned char *buf_b)
{
	static const char m0[] = "written by mdev0", m1[] = "written by mdev1";
	struct iommu_sim_dma d;
	int r;

	printf("\nmdev: 3. both write to the same IOVA 0x%llx\n", (unsigned long long)IOVA);
	check(device_write(fd, MDEV0, IOVA, m0, sizeof(m0)) == IOMMU_SIM_DMA_OK &&
	      device_write(fd, MDEV1, IOVA, m1, sizeof(m1)) == IOMMU_SIM_DMA_OK,
	      "both DMAs completed");
	check(memcmp(buf_a, m0, sizeof(m0)) == 0, "buffer A holds \"%s\"", (char *)buf_a);
	check(memcmp(buf_b, m1, sizeof(m1)) == 0, "buffer B holds \"%s\"", (char *)buf_b);
	printf("  Both DMAs left gpu0 with the same requester ID; the IOMMU told them\n"
	       "  apart by each mdev's defPASID, which we never had to know.\n");

	/* The user cannot tag an mdev's DMA with a PASID: its PASID is the host's. */
	memset(&d, 0, sizeof(d));
	d.argsz = sizeof(d);
	d.flags = IOMMU_SIM_DMA_WRITE | IOMMU_SIM_DMA_PASID;
	d.cookie = MDEV0;
	d.pasid = 1;
	d.iova = IOVA;
	d.length = 1;
	d.data = (__u64)(unsigned long)m0;
	r = try_ioctl(fd, IOMMU_SIM_DMA, &d);
	check(r == -EOPNOTSUPP, "a DMA from mdev0 with a PASID of our choosing is refused: %s",
	      r ? strerror(-r) : "it succeeded");
}

static void shared_accounting(int fd, int a, int b, unsigned char *shared)
{
	static const char note[] = "left by mdev0 for mdev1";
	char back[sizeof(note)];
	__u64 before, once, twice, after_a, after_b;

	printf("\nmdev: 4. one page of ours mapped into BOTH address spaces\n");
	before = locked_pages(fd);
	printf("  locked pages charged to us so far: %llu (buffers A and B)\n",
	       (unsigned long long)before);
	if (map(fd, a, shared, SHARED_IOVA) < 0)
		return;
	once = locked_pages(fd);
	if (map(fd, b, shared, SHARED_IOVA) < 0)
		return;
	twice = locked_pages(fd);
	check(once == before + 1, "mapped into IOASID %d: %llu locked pages (one more)", a,
	      (unsigned long long)once);
	check(twice == once,
	      "mapped into IOASID %d as well: still %llu -- the same page is charged once", b,
	      (unsigned long long)twice);

	memset(back, 0, sizeof(back));
	check(device_write(fd, MDEV0, SHARED_IOVA, note, sizeof(note)) == IOMMU_SIM_DMA_OK &&
	      device_read(fd, MDEV1, SHARED_IOVA, back, sizeof(back)) == IOMMU_SIM_DMA_OK &&
	      memcmp(back, note, sizeof(note)) == 0,
	      "mdev1 reads what mdev0 wrote into the shared page: \"%s\"", back);

	unmap(fd, a, SHARED_IOVA);
	after_a = locked_pages(fd);
	unmap(fd, b, SHARED_IOVA);
	after_b = locked_pages(fd);
	check(after_a == once && after_b == before,
	      "unmapped from A: %llu (B still uses it); from B too: %llu (given back)",
	      (unsigned long long)after_a, (unsigned long long)after_b);
}

int main(int argc, char **argv)
{
	const char *path = "/dev/iommu";
	unsigned hold = 0;
	unsigned char *mem;
	int fd, a, b, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--hold") == 0 && i + 1 < argc)
			hold = (unsigned)atoi(argv[++i]);
		else if (argv[i][0] != '-')
			path = argv[i];
		else {
			printf("usage: %s [--hold SECONDS] [DEVICE]\n", argv[0]);
			return 2;
		}
	}
	if (hold) {
		struct sigaction end = { .sa_handler = end_hold };

		sigaction(SIGUSR1, &end, NULL);	/* installed before anyone can send it */
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("mdev: two mdevs of gpu0, separate address spaces, shared accounting\n");
	fd = open(path, O_RDWR);
	if (fd < 0) {
		printf("mdev: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	mem = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		printf("mdev: mmap: %s\n", strerror(errno));
		return 1;
	}
	memset(mem, 0, 3 * PAGE);	/* page 0: buffer A, 1: buffer B, 2: shared */

	if (bind_both(fd) == 0) {
		a = alloc_ioasid(fd);
		b = alloc_ioasid(fd);
		if (a > 0 && b > 0 && attach_each(fd, a, b, mem, mem + PAGE) == 0) {
			dma_lands_apart(fd, mem, mem + PAGE);
			shared_accounting(fd, a, b, mem + 2 * PAGE);
		}
	}
	if (hold) {
		printf("\nmdev: holding for %u s with both mdevs attached: look with iommuctl dump;\n"
		       "mdev: kill -USR1 %d ends the hold early.\n", hold, (int)getpid());
		sleep(hold);	/* returns early when SIGUSR1 arrives */
	}

	close(fd);	/* unbinds both mdevs: their defPASIDs go back to gpu0 */
	munmap(mem, 3 * PAGE);
	if (failures) {
		printf("\nmdev: FAILED: %d check(s) were wrong\n", failures);
		return 1;
	}
	printf("\nmdev: OK: two mdevs on one parent kept apart, one shared page charged once\n");
	return 0;
}
