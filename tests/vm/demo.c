/*
 * demo.c - what /dev/iommu is for, in one short run (scripts/run.sh with no
 * program): bind a device, give it an address space, map this program's
 * memory, let the device DMA into it, then let it fault on a page nobody
 * mapped, answer the page request and watch the DMA finish.  Each step is
 * one line of plain text.  Exit status 0 only if every step did what it
 * should.
 * Usage: vm_demo [DEVICE]   (default /dev/iommu)
 */
#define _DEFAULT_SOURCE		/* MAP_ANONYMOUS */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cuse-iommu.h"

#define PAGE		4096ULL
#define IOVA		0x40000000ULL	/* page 0 mapped up front, page 1 on demand */
#define COOKIE		0xacce1		/* our name for accel0 */

static int fd;

/* ioctl() or say which step failed and why. */
static int call(unsigned long cmd, void *arg, const char *step)
{
	int r = ioctl(fd, cmd, arg);

	if (r < 0)
		printf("demo: FAILED: %s: %s\n", step, strerror(errno));
	return r;
}

static int map_page(int ioasid, void *mem, __u64 iova)
{
	struct iommu_map_dma map;

	memset(&map, 0, sizeof(map));
	map.argsz = sizeof(map);
	map.flags = IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE;
	map.ioasid = (__u32)ioasid;
	map.vaddr = (__u64)(unsigned long)mem;
	map.iova = iova;
	map.size = PAGE;
	return call(IOMMU_MAP_DMA, &map, "IOMMU_MAP_DMA");
}

/* accel0 writes text at iova: SIM_DMA, the device side of the simulation. */
static int device_writes(const char *text, __u64 iova, struct iommu_sim_dma *dma)
{
	memset(dma, 0, sizeof(*dma));
	dma->argsz = sizeof(*dma);
	dma->flags = IOMMU_SIM_DMA_WRITE;
	dma->cookie = COOKIE;
	dma->iova = iova;
	dma->length = strlen(text) + 1;
	dma->data = (__u64)(unsigned long)text;
	return call(IOMMU_SIM_DMA, dma, "IOMMU_SIM_DMA");
}

static int setup(int *ioasid)
{
	struct iommu_device_bind bind;
	struct iommu_ioasid_alloc alloc;
	struct iommu_device_attach attach;
	struct iommu_device_fault consumer;

	memset(&bind, 0, sizeof(bind));
	bind.argsz = sizeof(bind);
	strcpy(bind.name, "accel0");
	bind.cookie = COOKIE;
	if (call(IOMMU_DEVICE_BIND, &bind, "IOMMU_DEVICE_BIND") < 0)
		return -1;
	memset(&alloc, 0, sizeof(alloc));
	alloc.argsz = sizeof(alloc);
	*ioasid = call(IOMMU_IOASID_ALLOC, &alloc, "IOMMU_IOASID_ALLOC");
	if (*ioasid < 0)
		return -1;
	memset(&attach, 0, sizeof(attach));
	attach.argsz = sizeof(attach);
	attach.cookie = COOKIE;
	attach.ioasid = (__u32)*ioasid;
	if (call(IOMMU_DEVICE_ATTACH, &attach, "IOMMU_DEVICE_ATTACH") < 0)
		return -1;
	/* Without a consumer a page request is refused at once. */
	memset(&consumer, 0, sizeof(consumer));
	consumer.argsz = sizeof(consumer);
	consumer.cookie = COOKIE;
	if (call(IOMMU_DEVICE_FAULT_REGISTER, &consumer, "IOMMU_DEVICE_FAULT_REGISTER") < 0)
		return -1;
	printf("demo: 1. bound accel0 (a PCI device with PRI), gave it I/O address space %d,\n"
	       "demo:    and became the consumer of its page faults.\n", *ioasid);
	return 0;
}

/* The fault: read its record, map the page, answer SUCCESS, see the DMA end. */
static int serve_fault(int ioasid, char *mem, const struct iommu_sim_dma *dma, const char *text)
{
	struct iommu_fault_record rec;
	struct iommu_page_response resp;
	struct iommu_sim_dma_status st;

	if (read(fd, &rec, sizeof(rec)) != sizeof(rec)) {
		printf("demo: FAILED: reading the fault record: %s\n", strerror(errno));
		return -1;
	}
	printf("demo: 4. read(/dev/iommu) gives the record: a %s at 0x%llx, page request group %u.\n",
	       rec.perm & IOMMU_FAULT_PERM_WRITE ? "write" : "read", (unsigned long long)rec.addr,
	       rec.grpid);
	if (map_page(ioasid, mem + PAGE, IOVA + PAGE) < 0)
		return -1;
	memset(&resp, 0, sizeof(resp));
	resp.argsz = sizeof(resp);
	resp.cookie = COOKIE;
	resp.grpid = rec.grpid;
	resp.code = IOMMU_PAGE_RESP_SUCCESS;
	if (call(IOMMU_PAGE_RESPONSE, &resp, "IOMMU_PAGE_RESPONSE") < 0)
		return -1;
	memset(&st, 0, sizeof(st));
	st.argsz = sizeof(st);
	st.dma_id = dma->dma_id;
	if (call(IOMMU_SIM_DMA_STATUS, &st, "IOMMU_SIM_DMA_STATUS") < 0)
		return -1;
	printf("demo: 5. mapped that page, answered SUCCESS: the DMA resumed and is %s;\n"
	       "demo:    the page now reads \"%s\".\n",
	       st.status == IOMMU_SIM_DMA_OK ? "done" : "NOT done", mem + PAGE);
	return st.status == IOMMU_SIM_DMA_OK && strcmp(mem + PAGE, text) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/iommu";
	const char *first = "hello from accel0", *second = "written after a page fault";
	struct iommu_sim_dma dma;
	char *mem;
	int ioasid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open(dev, O_RDWR);
	mem = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || mem == MAP_FAILED) {
		printf("demo: FAILED: opening %s: %s\n", dev, strerror(errno));
		return 1;
	}
	printf("demo: opened %s (uAPI version %d): a private context of the daemon.\n", dev,
	       ioctl(fd, IOMMU_GET_API_VERSION));
	if (setup(&ioasid) < 0 || map_page(ioasid, mem, IOVA) < 0)
		return 1;
	printf("demo: 2. mapped one page of this program's memory at I/O address 0x%llx.\n",
	       (unsigned long long)IOVA);
	if (device_writes(first, IOVA, &dma) < 0)
		return 1;
	printf("demo: 3. accel0 wrote there by DMA, through the modelled page table;\n"
	       "demo:    this program's memory now reads \"%s\".\n", mem);
	if (dma.status != IOMMU_SIM_DMA_OK || strcmp(mem, first) != 0)
		return 1;
	printf("demo:    Next, accel0 writes at 0x%llx, which nobody mapped.\n",
	       (unsigned long long)(IOVA + PAGE));
	if (device_writes(second, IOVA + PAGE, &dma) < 0)
		return 1;
	if (dma.status != IOMMU_SIM_DMA_PENDING) {
		printf("demo: FAILED: the DMA did not stall on a page request (status %u)\n", dma.status);
		return 1;
	}
	if (serve_fault(ioasid, mem, &dma, second) < 0)
		return 1;
	close(fd);
	printf("demo: 6. closed the file: the daemon released the device, the mapping and the\n"
	       "demo:    address space.  Every step went through the kernel's CUSE driver.\n");
	return 0;
}
