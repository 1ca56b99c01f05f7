/*
 * demo.c - a walk through /dev/iommu for people, run in the VM by
 * scripts/vm/demo.sh: open, version, alloc, map, unmap, free, each step
 * explained.  Exit status 0 only if every step did what it should.
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

#define BUF_SIZE	(16 * 4096)
#define IOVA		0x40000000ULL

static int fail(const char *step)
{
	printf("demo: FAILED: %s: %s\n", step, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/iommu";
	struct iommu_ioasid_alloc alloc;
	struct iommu_map_dma map;
	struct iommu_unmap_dma unmap;
	struct iommu_ioasid_free release;
	int fd, version, ioasid;
	char *buf;

	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("demo: 1. Open %s. Each open is a private context: its address\n"
	       "demo:    spaces are invisible to every other open.\n", dev);
	fd = open(dev, O_RDWR);
	if (fd < 0)
		return fail("open");
	printf("demo:    -> file descriptor %d.\n", fd);

	printf("demo: 2. Ask which version of the interface the daemon speaks.\n");
	version = ioctl(fd, IOMMU_GET_API_VERSION, 0);
	if (version < 0)
		return fail("IOMMU_GET_API_VERSION");
	printf("demo:    -> version %d (this program was built for version %d).\n",
	       version, IOMMU_API_VERSION);
	if (version != IOMMU_API_VERSION) {
		printf("demo: FAILED: version mismatch\n");
		return 1;
	}
	printf("demo:    Does it follow VFIO type1v2 map/unmap rules? %s.\n",
	       ioctl(fd, IOMMU_CHECK_EXTENSION, IOMMU_EXT_MAP_TYPE1V2) == 1 ? "yes" : "no");

	printf("demo: 3. Allocate an I/O address space (IOASID): the addresses a\n"
	       "demo:    device will use for DMA.\n");
	memset(&alloc, 0, sizeof(alloc));
	alloc.argsz = sizeof(alloc);
	ioasid = ioctl(fd, IOMMU_IOASID_ALLOC, &alloc);
	if (ioasid < 0)
		return fail("IOMMU_IOASID_ALLOC");
	printf("demo:    -> IOASID %d.\n", ioasid);

	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return fail("mmap");
	memset(buf, 0, BUF_SIZE);
	printf("demo: 4. Map %d KiB of this program's memory (at %p) at I/O address\n"
	       "demo:    0x%llx, readable and writable by a device.\n",
	       BUF_SIZE / 1024, (void *)buf, (unsigned long long)IOVA);
	memset(&map, 0, sizeof(map));
	map.argsz = sizeof(map);
	map.flags = IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE;
	map.ioasid = ioasid;
	map.vaddr = (__u64)(unsigned long)buf;
	map.iova = IOVA;
	map.size = BUF_SIZE;
	if (ioctl(fd, IOMMU_MAP_DMA, &map) < 0)
		return fail("IOMMU_MAP_DMA");
	printf("demo:    -> mapped.\n");

	printf("demo:    Mapping an overlapping range again must be refused: ");
	if (ioctl(fd, IOMMU_MAP_DMA, &map) == 0 || errno != EEXIST) {
		printf("it was not.\n");
		return fail("second IOMMU_MAP_DMA");
	}
	printf("refused (EEXIST).\n");

	printf("demo: 5. Unmap the range; the daemon says how much it removed.\n");
	memset(&unmap, 0, sizeof(unmap));
	unmap.argsz = sizeof(unmap);
	unmap.ioasid = ioasid;
	unmap.iova = IOVA;
	unmap.size = BUF_SIZE;
	if (ioctl(fd, IOMMU_UNMAP_DMA, &unmap) < 0)
		return fail("IOMMU_UNMAP_DMA");
	printf("demo:    -> %llu bytes unmapped.\n", (unsigned long long)unmap.size);
	if (unmap.size != BUF_SIZE) {
		printf("demo: FAILED: expected %d bytes\n", BUF_SIZE);
		return 1;
	}

	printf("demo: 6. Free the address space and close the file.\n");
	memset(&release, 0, sizeof(release));
	release.argsz = sizeof(release);
	release.ioasid = ioasid;
	if (ioctl(fd, IOMMU_IOASID_FREE, &release) < 0)
		return fail("IOMMU_IOASID_FREE");
	close(fd);
	munmap(buf, BUF_SIZE);
	printf("demo:    -> done: every step went through the kernel's CUSE driver\n"
	       "demo:       to the cuse-iommu daemon and back.\n");
	return 0;
}
