/*
 * quickstart.c - the smallest complete round trip through /dev/iommu.
 *
 * What a VFIO-style user (a VMM, a DPDK-like driver) does to let a device
 * reach its memory, in the order it does it:
 *
 *   open /dev/iommu            one private context per open
 *   IOMMU_DEVICE_BIND          claim a device (here: "nic0") and name it by
 *                              a cookie of our choosing
 *   IOMMU_IOASID_ALLOC         create an I/O address space (IOASID)
 *   IOMMU_MAP_DMA              put a buffer of ours into it at an I/O
 *                              virtual address (IOVA)
 *   IOMMU_DEVICE_ATTACH        make the device's DMA go through that IOASID
 *   IOMMU_SIM_DMA              make the (simulated) device do DMA; the bytes
 *                              land in -- or come from -- our own buffer
 *   DETACH, UNMAP, FREE, UNBIND, close
 *
 * The device is simulated by the daemon (docs/topology.md); IOMMU_SIM_DMA
 * stands in for "the NIC received a packet".  Everything else is the uAPI a
 * real kernel would offer.
 *
 * Build: part of the CMake tree (target example_quickstart).  It includes
 * only cuse-iommu.h and libc.  Run it where /dev/iommu is served, e.g. in
 * the VM: scripts/run.sh --shell, then example_quickstart.
 * Usage: example_quickstart [--hold SECONDS] [DEVICE]   (default /dev/iommu)
 *   --hold: keep everything set up for SECONDS before tearing it down, so
 *   that `iommuctl dump` (or dma, fault, ...) can look at the live context;
 *   `kill -USR1 PID` ends the hold early (the teardown still runs).
 * Exit status: 0 only if every check below held.
 */
#define _DEFAULT_SOURCE		/* MAP_ANONYMOUS */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cuse-iommu.h"

#define PAGE		4096ULL		/* the uAPI's page size */
#define BUF_PAGES	2
#define IOVA		0x100000ULL	/* where the device will see our buffer */
#define NIC_COOKIE	0x11		/* our name for nic0 from bind on */

static int failures;

/* SIGUSR1 only has to interrupt the hold's sleep(); nothing to do here. */
static void end_hold(int sig)
{
	(void)sig;
}

/* Print one numbered step in plain words. */
static void step(const char *fmt, ...)
{
	static int n;
	va_list ap;

	printf("\nquickstart: step %d: ", ++n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Report a check: "ok" or "WRONG", and count the wrong ones. */
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

/* An ioctl that must succeed; prints the errno if it does not. */
static int call(int fd, unsigned long cmd, void *arg, const char *name)
{
	int r = ioctl(fd, cmd, arg);

	if (r < 0)
		check(0, "%s failed: %s", name, strerror(errno));
	return r;
}

/* ----------------------------------------------------------------------- */

static int bind_device(int fd, const char *name, __u64 cookie)
{
	struct iommu_device_bind bind;

	memset(&bind, 0, sizeof(bind));
	bind.argsz = sizeof(bind);	/* every struct starts with argsz, flags */
	strncpy(bind.name, name, sizeof(bind.name) - 1);
	bind.cookie = cookie;
	return call(fd, IOMMU_DEVICE_BIND, &bind, "IOMMU_DEVICE_BIND");
}

/* A kernel-managed IOASID: we fill it with MAP_DMA.  Returns its id. */
static int alloc_ioasid(int fd)
{
	struct iommu_ioasid_alloc alloc;

	memset(&alloc, 0, sizeof(alloc));
	alloc.argsz = sizeof(alloc);
	alloc.flags = 0;		/* 0 = kernel-managed */
	return call(fd, IOMMU_IOASID_ALLOC, &alloc, "IOMMU_IOASID_ALLOC");
}

static int map_buffer(int fd, int ioasid, void *buf, __u64 iova, __u64 size)
{
	struct iommu_map_dma map;

	memset(&map, 0, sizeof(map));
	map.argsz = sizeof(map);
	map.flags = IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE;	/* the device's rights */
	map.ioasid = (__u32)ioasid;
	map.vaddr = (__u64)(unsigned long)buf;
	map.iova = iova;
	map.size = size;
	return call(fd, IOMMU_MAP_DMA, &map, "IOMMU_MAP_DMA");
}

static int attach_device(int fd, __u64 cookie, int ioasid)
{
	struct iommu_device_attach attach;

	memset(&attach, 0, sizeof(attach));
	attach.argsz = sizeof(attach);
	attach.flags = 0;		/* the whole device (its requester ID) */
	attach.cookie = cookie;
	attach.ioasid = (__u32)ioasid;
	return call(fd, IOMMU_DEVICE_ATTACH, &attach, "IOMMU_DEVICE_ATTACH");
}

/*
 * Make the device do DMA: write == 1 means the device writes memory (with
 * the bytes in data), 0 means it reads memory into data.  A translation
 * fault is not an ioctl error: the call succeeds and dma->status says
 * what happened.
 */
static int device_dma(int fd, __u64 cookie, __u64 iova, void *data, __u64 len,
		      int write, struct iommu_sim_dma *dma)
{
	memset(dma, 0, sizeof(*dma));
	dma->argsz = sizeof(*dma);
	dma->flags = write ? IOMMU_SIM_DMA_WRITE : 0;
	dma->cookie = cookie;
	dma->iova = iova;
	dma->length = len;
	dma->data = (__u64)(unsigned long)data;
	return call(fd, IOMMU_SIM_DMA, dma, "IOMMU_SIM_DMA");
}

static const char *reason_name(__u32 reason)
{
	switch (reason) {
	case IOMMU_FAULT_REASON_BLOCKED:	return "BLOCKED";
	case IOMMU_FAULT_REASON_NOT_MAPPED:	return "NOT_MAPPED";
	case IOMMU_FAULT_REASON_PERMISSION:	return "PERMISSION";
	case IOMMU_FAULT_REASON_RESERVED:	return "RESERVED";
	case IOMMU_FAULT_REASON_ADDR_SIZE:	return "ADDR_SIZE";
	}
	return "?";
}

/* ----------------------------------------------------------------------- */

static void teardown(int fd, int ioasid)
{
	struct iommu_device_detach detach;
	struct iommu_unmap_dma unmap;
	struct iommu_ioasid_free release;
	struct iommu_device_unbind unbind;

	step("tear down in reverse order: detach, unmap, free, unbind");
	memset(&detach, 0, sizeof(detach));
	detach.argsz = sizeof(detach);
	detach.cookie = NIC_COOKIE;
	if (call(fd, IOMMU_DEVICE_DETACH, &detach, "IOMMU_DEVICE_DETACH") == 0)
		printf("  nic0 is detached: its DMA is blocked again.\n");

	memset(&unmap, 0, sizeof(unmap));
	unmap.argsz = sizeof(unmap);
	unmap.ioasid = (__u32)ioasid;
	unmap.iova = IOVA;
	unmap.size = BUF_PAGES * PAGE;
	if (call(fd, IOMMU_UNMAP_DMA, &unmap, "IOMMU_UNMAP_DMA") == 0)
		check(unmap.size == BUF_PAGES * PAGE,
		      "UNMAP_DMA wrote back how much it removed: %llu bytes",
		      (unsigned long long)unmap.size);

	memset(&release, 0, sizeof(release));
	release.argsz = sizeof(release);
	release.ioasid = (__u32)ioasid;
	call(fd, IOMMU_IOASID_FREE, &release, "IOMMU_IOASID_FREE");

	memset(&unbind, 0, sizeof(unbind));
	unbind.argsz = sizeof(unbind);
	unbind.cookie = NIC_COOKIE;
	if (call(fd, IOMMU_DEVICE_UNBIND, &unbind, "IOMMU_DEVICE_UNBIND") == 0)
		printf("  nic0 is free for any other user again.\n");
}

int main(int argc, char **argv)
{
	const char *path = "/dev/iommu";
	unsigned hold = 0;
	const char hello[] = "hello from nic0";
	char from_device[sizeof(hello)], to_device[] = "a reply for nic0", back[32];
	struct iommu_sim_dma dma;
	unsigned char *buf;
	int fd, version, ioasid, i;

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
	printf("quickstart: a device doing DMA into this program's memory through /dev/iommu\n");

	step("open %s: every open is its own private context", path);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		printf("quickstart: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	version = ioctl(fd, IOMMU_GET_API_VERSION);
	check(version == IOMMU_API_VERSION, "the daemon speaks API version %d (we were built for %d)",
	      version, IOMMU_API_VERSION);

	step("bind the device \"nic0\"; from now on we call it cookie 0x%x", NIC_COOKIE);
	if (bind_device(fd, "nic0", NIC_COOKIE) < 0)
		return 1;
	printf("  nic0's IOMMU group now belongs to this context; its DMA is blocked\n"
	       "  until we attach it somewhere.\n");

	step("allocate an I/O address space (IOASID)");
	ioasid = alloc_ioasid(fd);
	if (ioasid < 0)
		return 1;
	printf("  IOASID %d: empty for now -- the device can reach nothing through it.\n", ioasid);

	step("map %d pages of our memory at IOVA 0x%llx", BUF_PAGES, (unsigned long long)IOVA);
	buf = mmap(NULL, BUF_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (buf == MAP_FAILED) {
		printf("quickstart: mmap: %s\n", strerror(errno));
		return 1;
	}
	memset(buf, 0, BUF_PAGES * PAGE);
	if (map_buffer(fd, ioasid, buf, IOVA, BUF_PAGES * PAGE) < 0)
		return 1;
	printf("  IOVA 0x%llx..0x%llx -> this process's %p (pinned and charged to\n"
	       "  our RLIMIT_MEMLOCK, as VFIO would).\n", (unsigned long long)IOVA,
	       (unsigned long long)(IOVA + BUF_PAGES * PAGE - 1), (void *)buf);

	step("attach nic0 to IOASID %d", ioasid);
	if (attach_device(fd, NIC_COOKIE, ioasid) < 0)
		return 1;
	printf("  nic0's DMA is now translated through IOASID %d.\n", ioasid);

	step("nic0 writes \"%s\" to IOVA 0x%llx (IOMMU_SIM_DMA)", hello,
	     (unsigned long long)(IOVA + 0x40));
	if (device_dma(fd, NIC_COOKIE, IOVA + 0x40, (void *)hello, sizeof(hello), 1, &dma) == 0) {
		check(dma.status == IOMMU_SIM_DMA_OK && dma.bytes_done == sizeof(hello),
		      "the DMA completed: status %u, %llu bytes", dma.status,
		      (unsigned long long)dma.bytes_done);
		memcpy(from_device, buf + 0x40, sizeof(from_device));
		check(memcmp(from_device, hello, sizeof(hello)) == 0,
		      "the device wrote \"%s\" into our buffer at offset 0x40", from_device);
	}

	step("we put \"%s\" in our second page; nic0 reads it back", to_device);
	memcpy(buf + PAGE, to_device, sizeof(to_device));
	memset(back, 0, sizeof(back));
	if (device_dma(fd, NIC_COOKIE, IOVA + PAGE, back, sizeof(to_device), 0, &dma) == 0)
		check(dma.status == IOMMU_SIM_DMA_OK &&
		      memcmp(back, to_device, sizeof(to_device)) == 0,
		      "the device read \"%s\" from IOVA 0x%llx", back,
		      (unsigned long long)(IOVA + PAGE));

	step("nic0 writes to IOVA 0x900000, which nobody mapped");
	if (device_dma(fd, NIC_COOKIE, 0x900000, (void *)hello, 4, 1, &dma) == 0)
		check(dma.status == IOMMU_SIM_DMA_FAULT &&
		      dma.fault_reason == IOMMU_FAULT_REASON_NOT_MAPPED && dma.bytes_done == 0,
		      "the IOMMU stopped it: a translation fault, reason %s at 0x%llx",
		      reason_name(dma.fault_reason), (unsigned long long)dma.fault_addr);

	if (hold) {
		printf("\nquickstart: holding everything for %u s: nic0 is bound and attached, IOVA\n"
		       "quickstart: 0x%llx is mapped.  Look with iommuctl (e.g. iommuctl dump);\n"
		       "quickstart: kill -USR1 %d ends the hold early.\n",
		       hold, (unsigned long long)IOVA, (int)getpid());
		sleep(hold);	/* returns early when SIGUSR1 arrives */
	}
	teardown(fd, ioasid);
	close(fd);
	munmap(buf, BUF_PAGES * PAGE);

	if (failures) {
		printf("\nquickstart: FAILED: %d check(s) were wrong\n", failures);
		return 1;
	}
	printf("\nquickstart: OK: the device's DMA went through the IOMMU into our memory and back\n");
	return 0;
}
