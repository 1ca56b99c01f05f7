/*
 * iommufd_topology.c - a simulated device's DMA and I/O page fault through
 * a nested page table, on the iommufd profile (cuse-iommu --abi iommufd).
 *
 * What a VMM does for a guest with a vIOMMU (VT-d, scalable mode) whose
 * device does shared virtual addressing, with upstream iommufd's uAPI:
 *
 *   open /dev/iommu               one iommufd context
 *   IOMMU_IOAS_ALLOC              the guest's physical address space (GPA)
 *   IOMMU_IOAS_MAP                guest RAM into it: here, 8 pages of ours
 *                                 at GPA 0x10000000 (4 page-table pages)
 *                                 and 0x20000000 (4 data pages)
 *   CUSE_IOMMUFD_DEVICE_BIND      claim "accel0" (PASID- and PRI-capable):
 *                                 cuse-iommu's stand-in for VFIO cdev's
 *                                 VFIO_DEVICE_BIND_IOMMUFD; gives its dev_id
 *   IOMMU_HWPT_ALLOC NEST_PARENT  stage 2: GPA -> our memory
 *   IOMMU_FAULT_QUEUE_ALLOC       a fault queue and its fd
 *   IOMMU_HWPT_ALLOC VTD_S1       stage 1: the guest's VT-d first-level
 *                                 (x86-64) table, faults to the queue
 *   CUSE_IOMMUFD_DEVICE_ATTACH    accel0's PASID 1 -> the nested table
 *   CUSE_IOMMUFD_DEVICE_DMA       the device does DMA (the "workload")
 *   read()/write() of the fault fd: a page request and its answer
 *   IOMMU_HWPT_INVALIDATE         the guest's IOTLB flush
 *   teardown
 *   CUSE_IOMMUFD_DEVICE_BIND      "vmdev0", a software mdev: an emulated
 *                                 device, whose dev_id is an iommufd access
 *   CUSE_IOMMUFD_DEVICE_PIN       its vendor driver pins a guest page
 *                                 (vfio_pin_pages), copies through the
 *                                 IOAS (vfio_dma_rw), and loses the pin
 *                                 when the IOAS unmaps under it
 *   close
 *
 * The fault queue's fd is an open file of the daemon's object node, which
 * the fd helper opens for us: run it as
 *   LD_PRELOAD=/usr/lib/cuse-iommu/libcuse-iommu-fd.so example_iommufd_topology
 * (without it IOMMU_FAULT_QUEUE_ALLOC fails with EOPNOTSUPP, and so do we).
 * It includes only cuse-iommu-iommufd.h and libc.  docs/guide.md walks
 * through it.
 * Usage: example_iommufd_topology [DEVICE]   (default /dev/iommu)
 * Exit status: 0 only if every check held.
 */
#define _DEFAULT_SOURCE		/* MAP_ANONYMOUS */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cuse-iommu-iommufd.h"

#define PAGE		4096ULL
#define TABLES_GPA	0x10000000ULL	/* L4, L3, L2, L1 of the guest's table */
#define DATA_GPA	0x20000000ULL	/* four data pages */
#define IOVA		0x40000000ULL	/* L4[0] L3[1] L2[0] L1[0] */
#define PASID		1
#define PTE_RW		3ULL		/* present | writable */

static int checks, failures;

static void step(const char *fmt, ...)
{
	static int n;
	va_list ap;

	printf("\niommufd_topology: step %d: ", ++n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static int check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("  [%s] ", ok ? "ok" : "WRONG");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	checks++;
	if (!ok)
		failures++;
	return ok;
}

/* An ioctl that must succeed; says which one failed and why if not. */
static int call(int fd, unsigned long cmd, void *arg, const char *name)
{
	int r = ioctl(fd, cmd, arg);

	if (r < 0)
		check(0, "%s failed: %s", name, strerror(errno));
	return r;
}

static int finish(void)
{
	printf("\niommufd example: %d passed, %d failed\n", checks - failures, failures);
	printf("iommufd_topology: %s\n", failures ? "FAILED" : "OK");
	return failures ? 1 : 0;
}

/* ----------------------------------------------------------------------- */

static __u64 *tables;		/* our memory behind TABLES_GPA */
static char *data;		/* our memory behind DATA_GPA */

/* Entry `index` of table `level` (0: L4 .. 3: L1). */
static __u64 *pte(int level, int index)
{
	return &tables[level * 512 + index];
}

static int ioas_map(int fd, __u32 ioas, void *va, __u64 gpa, __u64 len)
{
	struct iommu_ioas_map map;

	memset(&map, 0, sizeof(map));
	map.size = sizeof(map);
	map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	map.ioas_id = ioas;
	map.user_va = (__u64)(unsigned long)va;
	map.length = len;
	map.iova = gpa;
	return call(fd, IOMMU_IOAS_MAP, &map, "IOMMU_IOAS_MAP");
}

static int hwpt_alloc(int fd, struct iommu_hwpt_alloc *alloc, const char *what)
{
	alloc->size = sizeof(*alloc);
	return call(fd, IOMMU_HWPT_ALLOC, alloc, what);
}

static int dma(int fd, __u32 dev_id, __u64 iova, void *buf, __u64 len, int write,
	       struct cuse_iommufd_device_dma *out)
{
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	out->flags = CUSE_IOMMUFD_DMA_PASID | (write ? CUSE_IOMMUFD_DMA_WRITE : 0);
	out->dev_id = dev_id;
	out->pasid = PASID;
	out->iova = iova;
	out->length = len;
	out->data = (__u64)(unsigned long)buf;
	return call(fd, CUSE_IOMMUFD_DEVICE_DMA, out, "CUSE_IOMMUFD_DEVICE_DMA");
}

/* The guest's IOTLB flush of one stage-1 page. */
static int invalidate(int fd, __u32 nested, __u64 iova)
{
	struct iommu_hwpt_vtd_s1_invalidate entry = { iova, 1, IOMMU_VTD_INV_FLAGS_LEAF, 0 };
	struct iommu_hwpt_invalidate inv;

	memset(&inv, 0, sizeof(inv));
	inv.size = sizeof(inv);
	inv.hwpt_id = nested;
	inv.data_uptr = (__u64)(unsigned long)&entry;
	inv.data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1;
	inv.entry_len = sizeof(entry);
	inv.entry_num = 1;
	if (call(fd, IOMMU_HWPT_INVALIDATE, &inv, "IOMMU_HWPT_INVALIDATE") < 0)
		return -1;
	return check(inv.entry_num == 1, "HWPT_INVALIDATE handled %u of 1 entries", inv.entry_num) ? 0 : -1;
}

static int destroy(int fd, __u32 id)
{
	struct iommu_destroy d = { sizeof(d), id };

	return call(fd, IOMMU_DESTROY, &d, "IOMMU_DESTROY");
}

/* The page fault round trip: the DMA stalls on a page the guest has not
 * mapped; we read the request, map the page, flush, answer SUCCESS. */
static void serve_page_fault(int fd, int fault_fd, __u32 dev_id, __u32 nested)
{
	struct cuse_iommufd_device_dma d;
	struct cuse_iommufd_dma_status status;
	struct iommu_hwpt_pgfault fault;
	struct iommu_hwpt_page_response response;
	struct pollfd pfd = { fault_fd, POLLIN, 0 };
	char got[32] = "";
	ssize_t n;

	step("the device reads IOVA 0x%llx: L1[1] is not present, so it faults", IOVA + PAGE);
	strcpy(data + PAGE, "after the fault");
	if (dma(fd, dev_id, IOVA + PAGE, got, 16, 0, &d) < 0)
		return;
	if (!check(d.out_status == CUSE_IOMMUFD_DMA_PENDING, "the DMA is stalled (status %u, dma_id %llu)",
		   d.out_status, (unsigned long long)d.out_dma_id))
		return;
	check(poll(&pfd, 1, 5000) == 1 && (pfd.revents & POLLIN), "poll() on the fault fd says POLLIN");
	n = read(fault_fd, &fault, sizeof(fault));
	if (!check(n == (ssize_t)sizeof(fault), "read() gave one 40-byte iommu_hwpt_pgfault (%zd)", n))
		return;
	printf("  fault: dev_id %u pasid %u grpid %u perm 0x%x addr 0x%llx flags 0x%x cookie %u\n",
	       fault.dev_id, fault.pasid, fault.grpid, fault.perm, (unsigned long long)fault.addr,
	       fault.flags, fault.cookie);
	check(fault.dev_id == dev_id && fault.pasid == PASID && (fault.flags & IOMMU_PGFAULT_FLAGS_PASID_VALID) &&
	      fault.addr == IOVA + PAGE && fault.perm == IOMMU_PGFAULT_PERM_READ,
	      "the request: a read of PASID %d at 0x%llx by accel0", PASID, IOVA + PAGE);

	step("the guest maps the page (L1[1] -> data page 1), flushes, answers SUCCESS");
	*pte(3, 1) = (DATA_GPA + PAGE) | PTE_RW;
	invalidate(fd, nested, IOVA + PAGE);
	response.cookie = fault.cookie;
	response.code = IOMMUFD_PAGE_RESP_SUCCESS;
	n = write(fault_fd, &response, sizeof(response));
	check(n == (ssize_t)sizeof(response), "write() of the response took %zd bytes", n);

	memset(&status, 0, sizeof(status));
	status.size = sizeof(status);
	status.dma_id = d.out_dma_id;
	if (call(fd, CUSE_IOMMUFD_DEVICE_DMA_STATUS, &status, "CUSE_IOMMUFD_DEVICE_DMA_STATUS") < 0)
		return;
	check(status.out_status == CUSE_IOMMUFD_DMA_OK && status.out_bytes_done == 16,
	      "the DMA resumed and completed: %llu bytes", (unsigned long long)status.out_bytes_done);
	check(strcmp(got, "after the fault") == 0, "the device read \"%s\" from data page 1", got);
}

/* The IOTLB keeps the old translation until the guest flushes it. */
static void stale_until_invalidated(int fd, __u32 dev_id, __u32 nested)
{
	struct cuse_iommufd_device_dma d;
	char got[8] = "";

	step("the guest points L1[0] at data page 2 without flushing");
	strcpy(data + 2 * PAGE, "NEW");
	*pte(3, 0) = (DATA_GPA + 2 * PAGE) | PTE_RW;
	if (dma(fd, dev_id, IOVA, got, 4, 0, &d) == 0)
		check(strcmp(got, "OLD") == 0, "the device still reads \"%s\": the IOTLB is stale", got);
	step("IOMMU_HWPT_INVALIDATE of that page");
	invalidate(fd, nested, IOVA);
	if (dma(fd, dev_id, IOVA, got, 4, 0, &d) == 0)
		check(strcmp(got, "NEW") == 0, "after the invalidation the device reads \"%s\"", got);
}

static int pin(int fd, unsigned long cmd, __u32 dev_id, __u64 iova, __u32 flags)
{
	struct cuse_iommufd_device_pin p = { sizeof(p), flags, dev_id, 1, iova };

	return ioctl(fd, cmd, &p);
}

/* A software mdev on the same IOAS: no IOMMU, no page table; its vendor
 * driver pins guest pages and copies through the IOAS.  Ends by unmapping
 * the data pages, which drops its pin. */
static void emulated_device(int fd, __u32 ioas)
{
	struct cuse_iommufd_device_bind bind;
	struct cuse_iommufd_device_attach attach;
	struct cuse_iommufd_device_unbind unbind;
	struct cuse_iommufd_device_dma d;
	struct iommu_ioas_unmap unmap = { sizeof(unmap), ioas, DATA_GPA, 4 * PAGE };
	const __u64 gpa = DATA_GPA + 2 * PAGE;
	char got[9] = "";

	step("bind vmdev0, a software mdev: an emulated device on the IOAS");
	memset(&bind, 0, sizeof(bind));
	bind.size = sizeof(bind);
	strcpy(bind.name, "vmdev0");
	if (call(fd, CUSE_IOMMUFD_DEVICE_BIND, &bind, "CUSE_IOMMUFD_DEVICE_BIND (vmdev0)") < 0)
		return;
	memset(&attach, 0, sizeof(attach));
	attach.size = sizeof(attach);
	attach.dev_id = bind.out_dev_id;
	attach.pt_id = ioas;
	if (call(fd, CUSE_IOMMUFD_DEVICE_ATTACH, &attach, "CUSE_IOMMUFD_DEVICE_ATTACH (vmdev0)") < 0)
		return;
	check(attach.pt_id == ioas, "vmdev0 (dev_id %u) is on IOAS %u itself: no page table", bind.out_dev_id,
	      attach.pt_id);

	step("its vendor driver pins GPA 0x%llx and writes there; reads across the end of guest RAM", gpa);
	check(pin(fd, CUSE_IOMMUFD_DEVICE_PIN, bind.out_dev_id, gpa, CUSE_IOMMUFD_PIN_WRITE) == 0,
	      "CUSE_IOMMUFD_DEVICE_PIN of one page");
	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	d.flags = CUSE_IOMMUFD_DMA_WRITE;
	d.dev_id = bind.out_dev_id;
	d.iova = gpa + 16;
	d.length = 7;
	d.data = (__u64)(unsigned long)"vmdev0";
	if (call(fd, CUSE_IOMMUFD_DEVICE_DMA, &d, "CUSE_IOMMUFD_DEVICE_DMA (vmdev0)") == 0)
		check(d.out_status == CUSE_IOMMUFD_DMA_OK && strcmp(data + 2 * PAGE + 16, "vmdev0") == 0,
		      "data page 2 holds \"%s\"", data + 2 * PAGE + 16);
	memcpy(data + 4 * PAGE - 4, "end", 4);
	d.flags = 0;
	d.iova = DATA_GPA + 4 * PAGE - 4;
	d.length = 8;
	d.data = (__u64)(unsigned long)got;
	if (call(fd, CUSE_IOMMUFD_DEVICE_DMA, &d, "CUSE_IOMMUFD_DEVICE_DMA (vmdev0, read)") == 0)
		check(d.out_status == CUSE_IOMMUFD_DMA_FAULT && d.out_fault_reason == CUSE_IOMMUFD_FAULT_NOT_MAPPED &&
			      d.out_bytes_done == 4 && strcmp(got, "end") == 0,
		      "it read \"%s\" (%llu bytes), then NOT_MAPPED at 0x%llx", got,
		      (unsigned long long)d.out_bytes_done, (unsigned long long)d.out_fault_addr);

	step("unmap the data pages: the driver's pin goes with them (its dma_unmap)");
	call(fd, IOMMU_IOAS_UNMAP, &unmap, "IOMMU_IOAS_UNMAP");
	check(pin(fd, CUSE_IOMMUFD_DEVICE_UNPIN, bind.out_dev_id, gpa, 0) < 0 && errno == EINVAL,
	      "CUSE_IOMMUFD_DEVICE_UNPIN finds no pin: EINVAL");
	memset(&unbind, 0, sizeof(unbind));
	unbind.size = sizeof(unbind);
	unbind.dev_id = bind.out_dev_id;
	call(fd, CUSE_IOMMUFD_DEVICE_UNBIND, &unbind, "CUSE_IOMMUFD_DEVICE_UNBIND (vmdev0)");
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/iommu";
	struct iommu_ioas_alloc ioas = { sizeof(ioas), 0, 0 };
	struct cuse_iommufd_device_bind bind;
	struct iommu_hwpt_alloc parent, nested;
	struct iommu_hwpt_vtd_s1 s1 = { 0, TABLES_GPA, 48, 0 };
	struct iommu_fault_alloc fault_alloc = { sizeof(fault_alloc), 0, 0, 0 };
	struct cuse_iommufd_device_attach attach;
	struct cuse_iommufd_device_unbind unbind;
	struct cuse_iommufd_device_dma d;
	int fd;

	fd = open(path, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "iommufd_topology: open %s: %s\n", path, strerror(errno));
		return 1;
	}
	tables = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	data = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (tables == MAP_FAILED || data == MAP_FAILED)
		return 1;
	memset(tables, 0, 4 * PAGE);
	memset(data, 0, 4 * PAGE);

	step("an IOAS for guest memory: tables at GPA 0x%llx, data at 0x%llx", TABLES_GPA, DATA_GPA);
	if (call(fd, IOMMU_IOAS_ALLOC, &ioas, "IOMMU_IOAS_ALLOC") < 0 ||
	    ioas_map(fd, ioas.out_ioas_id, tables, TABLES_GPA, 4 * PAGE) < 0 ||
	    ioas_map(fd, ioas.out_ioas_id, data, DATA_GPA, 4 * PAGE) < 0)
		return finish();

	step("bind accel0 (CUSE_IOMMUFD_DEVICE_BIND)");
	memset(&bind, 0, sizeof(bind));
	bind.size = sizeof(bind);
	strcpy(bind.name, "accel0");
	if (call(fd, CUSE_IOMMUFD_DEVICE_BIND, &bind, "CUSE_IOMMUFD_DEVICE_BIND") < 0)
		return finish();
	printf("  accel0 is dev_id %u\n", bind.out_dev_id);

	step("stage 2 (NEST_PARENT), a fault queue, stage 1 (VTD_S1 with FAULT_ID)");
	memset(&parent, 0, sizeof(parent));
	parent.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
	parent.dev_id = bind.out_dev_id;
	parent.pt_id = ioas.out_ioas_id;
	if (hwpt_alloc(fd, &parent, "IOMMU_HWPT_ALLOC (parent)") < 0)
		return finish();
	if (ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fault_alloc) < 0) {
		check(0, "IOMMU_FAULT_QUEUE_ALLOC: %s%s", strerror(errno),
		      errno == EOPNOTSUPP ? " (run under LD_PRELOAD=libcuse-iommu-fd.so)" : "");
		return finish();
	}
	check(fault_alloc.out_fault_fd > 2, "a fault queue: id %u, fd %u", fault_alloc.out_fault_id,
	      fault_alloc.out_fault_fd);
	*pte(0, 0) = (TABLES_GPA + 1 * PAGE) | PTE_RW;	/* L4[0] -> L3 */
	*pte(1, 1) = (TABLES_GPA + 2 * PAGE) | PTE_RW;	/* L3[1] -> L2 */
	*pte(2, 0) = (TABLES_GPA + 3 * PAGE) | PTE_RW;	/* L2[0] -> L1 */
	*pte(3, 0) = DATA_GPA | PTE_RW;			/* L1[0] -> data page 0 */
	memset(&nested, 0, sizeof(nested));
	nested.flags = IOMMU_HWPT_FAULT_ID_VALID;
	nested.dev_id = bind.out_dev_id;
	nested.pt_id = parent.out_hwpt_id;
	nested.data_type = IOMMU_HWPT_DATA_VTD_S1;
	nested.data_len = sizeof(s1);
	nested.data_uptr = (__u64)(unsigned long)&s1;
	nested.fault_id = fault_alloc.out_fault_id;
	if (hwpt_alloc(fd, &nested, "IOMMU_HWPT_ALLOC (VTD_S1)") < 0)
		return finish();

	step("attach accel0's PASID %d to the nested page table", PASID);
	memset(&attach, 0, sizeof(attach));
	attach.size = sizeof(attach);
	attach.flags = CUSE_IOMMUFD_ATTACH_PASID;
	attach.dev_id = bind.out_dev_id;
	attach.pasid = PASID;
	attach.pt_id = nested.out_hwpt_id;
	if (call(fd, CUSE_IOMMUFD_DEVICE_ATTACH, &attach, "CUSE_IOMMUFD_DEVICE_ATTACH") < 0)
		return finish();

	step("the device writes \"OLD\" at IOVA 0x%llx: both stages translate it", IOVA);
	if (dma(fd, bind.out_dev_id, IOVA, "OLD", 4, 1, &d) == 0)
		check(d.out_status == CUSE_IOMMUFD_DMA_OK && strcmp(data, "OLD") == 0,
		      "data page 0 holds \"%s\"", data);

	serve_page_fault(fd, (int)fault_alloc.out_fault_fd, bind.out_dev_id, nested.out_hwpt_id);
	stale_until_invalidated(fd, bind.out_dev_id, nested.out_hwpt_id);

	step("teardown: detach, destroy, close the fault fd, unbind");
	attach.pt_id = 0;
	call(fd, CUSE_IOMMUFD_DEVICE_DETACH, &attach, "CUSE_IOMMUFD_DEVICE_DETACH");
	destroy(fd, nested.out_hwpt_id);
	check(ioctl(fd, IOMMU_DESTROY, &(struct iommu_destroy){ sizeof(struct iommu_destroy),
							   fault_alloc.out_fault_id }) < 0 && errno == EBUSY,
	      "the fault queue is busy while its fd is open");
	close((int)fault_alloc.out_fault_fd);
	destroy(fd, fault_alloc.out_fault_id);
	destroy(fd, parent.out_hwpt_id);
	memset(&unbind, 0, sizeof(unbind));
	unbind.size = sizeof(unbind);
	unbind.dev_id = bind.out_dev_id;
	call(fd, CUSE_IOMMUFD_DEVICE_UNBIND, &unbind, "CUSE_IOMMUFD_DEVICE_UNBIND");

	emulated_device(fd, ioas.out_ioas_id);
	destroy(fd, ioas.out_ioas_id);
	close(fd);
	return finish();
}
