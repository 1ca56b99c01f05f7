/*
 * nested_sva.c - nesting: a stage-1 page table in our own memory.
 *
 * With nesting, the IOMMU translates in two stages.  Stage 2 is a
 * kernel-managed IOASID filled with MAP_DMA, as in quickstart: for a VM it
 * is "guest-physical address -> host memory".  Stage 1 is a page table the
 * *user* writes, in the IOMMU's own format, in memory that stage 2 maps: for
 * a VM it is the guest's table -- with SVA (shared virtual addressing), a
 * guest process's own page table, so the device uses the process's pointers
 * as I/O addresses.  The kernel never parses or copies stage 1; the IOMMU
 * walks it.  Editing it is therefore free, but the IOMMU caches what it
 * walked (the IOTLB), and the user must say when an entry changed.
 *
 * This program plays the guest.  It builds an x86-64 4-level table that maps
 * its own virtual addresses (SVA-style: the device will DMA to the very
 * pointer values this program uses) onto "guest-physical" addresses of a
 * parent IOASID, then:
 *
 *   IOMMU_DEVICE_GET_INFO      can accel0's IOMMU nest with x86-64 tables?
 *   IOMMU_IOASID_ALLOC         the parent (stage 2), MAP_DMA tables + data
 *   IOMMU_IOASID_ALLOC         a USER_PGTABLE child rooted at the table
 *     (IOMMU_IOASID_USER_PGTABLE, parent, X86_64, user_pgd)
 *   IOMMU_DEVICE_ATTACH        accel0, PASID 7 only, to the child
 *   IOMMU_SIM_DMA (PASID 7)    DMA through both stages
 *   a stage-1 page request     DMA to a page whose entry is not present:
 *                              fill in the entry, IOMMU_PAGE_RESPONSE SUCCESS
 *   IOMMU_INVALIDATE_CACHE     after retargeting an entry, DMA still sees the
 *                              old page until we invalidate
 *
 * Exit status: 0 only if every check held.
 */
#define _DEFAULT_SOURCE		/* MAP_ANONYMOUS, MAP_NORESERVE */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cuse-iommu.h"

#define PAGE		4096ULL
#define SZ_2M		(2ULL << 20)
#define TABLES_GPA	0x10000000ULL	/* L4, L3, L2, L1: four pages */
#define DATA_GPA	0x20000000ULL	/* data pages 0, 1, 2 */
#define DATA_PAGES	3
#define ACCEL		0xacce1		/* accel0's cookie */
#define PASID		7

/* x86-64 page-table entry bits the model reads (docs/uapi.md) */
#define PTE_PRESENT	(1ULL << 0)	/* present (and readable) */
#define PTE_WRITE	(1ULL << 1)	/* writable */

static int failures;

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

static int call(int fd, unsigned long cmd, void *arg, const char *name)
{
	int r = ioctl(fd, cmd, arg);

	if (r < 0)
		check(0, "%s failed: %s", name, strerror(errno));
	return r;
}

/* ---- the stage-1 table, in our memory ------------------------------------ */

struct guest {
	int fd;
	int parent, child;	/* IOASIDs: stage 2, stage 1 */
	unsigned char *tables;	/* 4 pages: L4 (the root), L3, L2, L1 */
	unsigned char *region;	/* 4 MiB reserved so that ... */
	unsigned char *data;	/* ... the data pages sit in one 2 MiB-aligned block */
};

/* Entry `index` of the table at `level` (4: the root .. 1: the last). */
static volatile __u64 *pte(struct guest *g, int level, unsigned index)
{
	return (volatile __u64 *)(void *)(g->tables + (4 - level) * PAGE) + index;
}

/* Which entry of the level-N table an address uses: bits 47:39, 38:30, 29:21, 20:12. */
static unsigned pt_index(__u64 va, int level)
{
	return (unsigned)((va >> (12 + 9 * (level - 1))) & 511);
}

/* Our pointer to data page n, as the device will use it: an I/O address. */
static __u64 va_of(struct guest *g, int n)
{
	return (__u64)(unsigned long)(g->data + n * PAGE);
}

/*
 * Build the path root -> L3 -> L2 -> L1 for our data block.  Each table
 * pointer and each page is a *guest-physical* address: an IOVA of the
 * parent, which maps it to our memory.  Data page 0 gets an entry; page 1
 * does not (the device will fault on it); page 2 is kept for later.
 */
static void build_stage1(struct guest *g)
{
	__u64 va = va_of(g, 0);

	memset(g->tables, 0, 4 * PAGE);
	*pte(g, 4, pt_index(va, 4)) = (TABLES_GPA + 1 * PAGE) | PTE_PRESENT | PTE_WRITE;
	*pte(g, 3, pt_index(va, 3)) = (TABLES_GPA + 2 * PAGE) | PTE_PRESENT | PTE_WRITE;
	*pte(g, 2, pt_index(va, 2)) = (TABLES_GPA + 3 * PAGE) | PTE_PRESENT | PTE_WRITE;
	*pte(g, 1, pt_index(va_of(g, 0), 1)) = (DATA_GPA + 0 * PAGE) | PTE_PRESENT | PTE_WRITE;
	printf("  L4[%u] -> L3[%u] -> L2[%u] -> L1[%u] = data page 0 (GPA 0x%llx);\n"
	       "  L1[%u] (data page 1) is left not present\n",
	       pt_index(va, 4), pt_index(va, 3), pt_index(va, 2), pt_index(va, 1),
	       (unsigned long long)DATA_GPA, pt_index(va_of(g, 1), 1));
}

/* ---- uAPI helpers ------------------------------------------------------- */

/* The capability `id` in a GET_INFO answer, or NULL. */
static const struct iommu_info_cap_header *find_cap(const void *answer, __u16 id)
{
	const struct iommu_device_info *info = answer;
	__u32 off = (info->flags & IOMMU_DEVICE_INFO_CAPS) ? info->cap_offset : 0;

	while (off) {
		const struct iommu_info_cap_header *h =
			(const void *)((const char *)answer + off);

		if (h->id == id)
			return h;
		off = h->next;
	}
	return NULL;
}

static int can_nest(int fd)
{
	static __u64 answer[IOMMU_ARGSZ_MAX / 8];	/* room for the whole chain */
	struct iommu_device_info *info = (void *)answer;
	const struct iommu_info_cap_nesting *nest;
	const struct iommu_info_cap_pasid *pasid;

	memset(answer, 0, sizeof(answer));
	info->argsz = sizeof(answer);
	info->cookie = ACCEL;
	if (call(fd, IOMMU_DEVICE_GET_INFO, info, "DEVICE_GET_INFO") < 0)
		return 0;
	nest = (const void *)find_cap(answer, IOMMU_DEVICE_INFO_CAP_NESTING);
	pasid = (const void *)find_cap(answer, IOMMU_DEVICE_INFO_CAP_PASID);
	return check(nest && (nest->flags & IOMMU_NESTING_SUPPORTED) &&
		     (nest->pgtable_formats & (1u << IOMMU_PGTABLE_FORMAT_X86_64)) &&
		     pasid && pasid->pasid_width > 0 &&
		     (info->flags & IOMMU_DEVICE_INFO_PASID) && (info->flags & IOMMU_DEVICE_INFO_PRI),
		     "accel0's IOMMU nests (%s), walks x86-64 tables, has %u-bit PASIDs; accel0 "
		     "can use PASIDs and PRI", nest && (nest->flags & IOMMU_NESTING_HARDWARE) ?
		     "in hardware" : "in software", pasid ? pasid->pasid_width : 0);
}

static int map(int fd, int ioasid, void *buf, __u64 iova, __u64 size, __u32 prot)
{
	struct iommu_map_dma m;

	memset(&m, 0, sizeof(m));
	m.argsz = sizeof(m);
	m.flags = prot;
	m.ioasid = (__u32)ioasid;
	m.vaddr = (__u64)(unsigned long)buf;
	m.iova = iova;
	m.size = size;
	return call(fd, IOMMU_MAP_DMA, &m, "MAP_DMA");
}

/* accel0 does DMA with PASID 7: returns the struct filled by the daemon. */
static int dma(struct guest *g, __u64 iova, void *data, __u64 len, int write,
	       struct iommu_sim_dma *d)
{
	memset(d, 0, sizeof(*d));
	d->argsz = sizeof(*d);
	d->flags = IOMMU_SIM_DMA_PASID | (write ? IOMMU_SIM_DMA_WRITE : 0);
	d->pasid = PASID;
	d->cookie = ACCEL;
	d->iova = iova;
	d->length = len;
	d->data = (__u64)(unsigned long)data;
	return call(g->fd, IOMMU_SIM_DMA, d, "SIM_DMA");
}

/* Read 16 bytes at iova through both stages into out (NUL-terminated). */
static int dma_read16(struct guest *g, __u64 iova, char out[17])
{
	struct iommu_sim_dma d;

	memset(out, 0, 17);
	if (dma(g, iova, out, 16, 0, &d) < 0 || d.status != IOMMU_SIM_DMA_OK) {
		check(0, "a DMA read of 0x%llx did not complete (status %u)",
		      (unsigned long long)iova, d.status);
		return -1;
	}
	return 0;
}

/* ---- the steps ---------------------------------------------------------- */

static int setup(struct guest *g)
{
	struct iommu_device_bind bind;
	struct iommu_ioasid_alloc alloc;
	struct iommu_device_attach att;
	struct iommu_device_fault reg;

	printf("\nnested_sva: 1. accel0 and what its IOMMU can do\n");
	memset(&bind, 0, sizeof(bind));
	bind.argsz = sizeof(bind);
	strcpy(bind.name, "accel0");
	bind.cookie = ACCEL;
	if (call(g->fd, IOMMU_DEVICE_BIND, &bind, "DEVICE_BIND") < 0 || !can_nest(g->fd))
		return -1;

	printf("\nnested_sva: 2. stage 2: a kernel-managed parent mapping our tables and data\n");
	memset(&alloc, 0, sizeof(alloc));
	alloc.argsz = sizeof(alloc);
	g->parent = call(g->fd, IOMMU_IOASID_ALLOC, &alloc, "IOASID_ALLOC (parent)");
	if (g->parent < 0 ||
	    /* The tables read-only: the IOMMU only reads them (as a guest's tables). */
	    map(g->fd, g->parent, g->tables, TABLES_GPA, 4 * PAGE, IOMMU_MAP_DMA_READ) < 0 ||
	    map(g->fd, g->parent, g->data, DATA_GPA, DATA_PAGES * PAGE,
		IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE) < 0)
		return -1;
	printf("  IOASID %d: GPA 0x%llx = our 4 table pages, GPA 0x%llx = our %d data pages\n",
	       g->parent, (unsigned long long)TABLES_GPA, (unsigned long long)DATA_GPA, DATA_PAGES);

	printf("\nnested_sva: 3. stage 1: our own x86-64 table, mapping our pointers\n");
	build_stage1(g);
	memset(&alloc, 0, sizeof(alloc));
	alloc.argsz = sizeof(alloc);
	alloc.flags = IOMMU_IOASID_USER_PGTABLE;
	alloc.parent_ioasid = (__u32)g->parent;
	alloc.pgtable_format = IOMMU_PGTABLE_FORMAT_X86_64;
	alloc.user_pgd = TABLES_GPA;		/* the root, as a parent IOVA */
	g->child = call(g->fd, IOMMU_IOASID_ALLOC, &alloc, "IOASID_ALLOC (USER_PGTABLE)");
	if (g->child < 0)
		return -1;
	printf("  IOASID %d: user-managed, rooted at GPA 0x%llx, nested in IOASID %d\n",
	       g->child, (unsigned long long)TABLES_GPA, g->parent);

	printf("\nnested_sva: 4. attach accel0's PASID %d to the child, and take its faults\n",
	       PASID);
	memset(&att, 0, sizeof(att));
	att.argsz = sizeof(att);
	att.flags = IOMMU_ATTACH_PASID;		/* one PASID, not the whole device */
	att.cookie = ACCEL;
	att.ioasid = (__u32)g->child;
	att.pasid = PASID;
	memset(&reg, 0, sizeof(reg));
	reg.argsz = sizeof(reg);
	reg.cookie = ACCEL;
	if (call(g->fd, IOMMU_DEVICE_ATTACH, &att, "DEVICE_ATTACH (PASID)") < 0 ||
	    call(g->fd, IOMMU_DEVICE_FAULT_REGISTER, &reg, "DEVICE_FAULT_REGISTER") < 0)
		return -1;
	printf("  DMA tagged with PASID %d now walks our table, then the parent.\n", PASID);
	return 0;
}

static void dma_through_both_stages(struct guest *g)
{
	static const char msg[] = "via stage 1+2";
	struct iommu_sim_dma d;

	printf("\nnested_sva: 5. accel0 writes \"%s\" to %p -- our own pointer\n", msg,
	       (void *)(g->data + 0x10));
	if (dma(g, va_of(g, 0) + 0x10, (void *)msg, sizeof(msg), 1, &d) == 0)
		check(d.status == IOMMU_SIM_DMA_OK && memcmp(g->data + 0x10, msg, sizeof(msg)) == 0,
		      "it landed in data page 0: \"%s\"", (char *)g->data + 0x10);
}

/* Wait for one fault record (poll() on the fd) and read it. */
static int read_record(struct guest *g, struct iommu_fault_record *rec)
{
	struct pollfd p;

	p.fd = g->fd;
	p.events = POLLIN;
	p.revents = 0;
	if (poll(&p, 1, 5000) != 1) {
		check(0, "no fault record within 5 s");
		return -1;
	}
	if (read(g->fd, rec, sizeof(*rec)) != (ssize_t)sizeof(*rec)) {
		check(0, "read(/dev/iommu): %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void stage1_page_request(struct guest *g)
{
	static const char msg[] = "after the fault";
	struct iommu_sim_dma d;
	struct iommu_sim_dma_status st;
	struct iommu_fault_record rec;
	struct iommu_page_response resp;
	const __u32 want = IOMMU_FAULT_RECORD_RECOVERABLE | IOMMU_FAULT_RECORD_STAGE1 |
			   IOMMU_FAULT_RECORD_PASID_VALID;

	printf("\nnested_sva: 6. accel0 writes to %p, whose stage-1 entry is not present\n",
	       (void *)(g->data + PAGE + 0x20));
	if (dma(g, va_of(g, 1) + 0x20, (void *)msg, sizeof(msg), 1, &d) < 0 ||
	    !check(d.status == IOMMU_SIM_DMA_PENDING,
		   "the DMA stalls (PENDING): the IOMMU sent a page request"))
		return;
	if (read_record(g, &rec) < 0)
		return;
	check((rec.flags & want) == want && rec.ioasid == (__u32)g->child && rec.pasid == PASID &&
	      rec.addr == va_of(g, 1) + 0x20,
	      "the record: a STAGE1 page request of PASID %u in IOASID %u at 0x%llx", rec.pasid,
	      rec.ioasid, (unsigned long long)rec.addr);

	/* The guest's page-fault handler: fill in the entry, then "retry". */
	*pte(g, 1, pt_index(va_of(g, 1), 1)) = (DATA_GPA + 1 * PAGE) | PTE_PRESENT | PTE_WRITE;
	printf("  we fill in L1[%u] = data page 1 and answer SUCCESS\n",
	       pt_index(va_of(g, 1), 1));
	memset(&resp, 0, sizeof(resp));
	resp.argsz = sizeof(resp);
	resp.cookie = ACCEL;
	resp.grpid = rec.grpid;
	resp.code = IOMMU_PAGE_RESP_SUCCESS;
	if (call(g->fd, IOMMU_PAGE_RESPONSE, &resp, "PAGE_RESPONSE") < 0)
		return;
	memset(&st, 0, sizeof(st));
	st.argsz = sizeof(st);
	st.dma_id = d.dma_id;
	if (call(g->fd, IOMMU_SIM_DMA_STATUS, &st, "SIM_DMA_STATUS") == 0)
		check(st.status == IOMMU_SIM_DMA_OK &&
		      memcmp(g->data + PAGE + 0x20, msg, sizeof(msg)) == 0,
		      "the DMA resumed and completed: data page 1 holds \"%s\"",
		      (char *)g->data + PAGE + 0x20);
}

static void iotlb_staleness(struct guest *g)
{
	struct iommu_invalidate_cache inv;
	char got[17];
	__u64 va = va_of(g, 0) + 0x100;

	printf("\nnested_sva: 7. retarget an entry: the IOTLB keeps the old translation\n");
	memcpy(g->data + 0x100, "OLD: data page 0", 16);
	memcpy(g->data + 2 * PAGE + 0x100, "NEW: data page 2", 16);
	if (dma_read16(g, va, got) < 0)
		return;
	check(strcmp(got, "OLD: data page 0") == 0, "a read of %p gives \"%s\"",
	      (void *)(g->data + 0x100), got);

	*pte(g, 1, pt_index(va, 1)) = (DATA_GPA + 2 * PAGE) | PTE_PRESENT | PTE_WRITE;
	printf("  we point L1[%u] at data page 2 -- and tell nobody\n", pt_index(va, 1));
	if (dma_read16(g, va, got) < 0)
		return;
	check(strcmp(got, "OLD: data page 0") == 0,
	      "the device still reads \"%s\": a stale IOTLB entry, as on hardware", got);

	memset(&inv, 0, sizeof(inv));
	inv.argsz = sizeof(inv);
	inv.ioasid = (__u32)g->child;
	inv.granularity = IOMMU_INV_GRAN_RANGE;	/* one PASID, one range */
	inv.cache = IOMMU_INV_CACHE_IOTLB;
	inv.pasid = PASID;
	inv.addr = va & ~(PAGE - 1);
	inv.size = PAGE;
	if (call(g->fd, IOMMU_INVALIDATE_CACHE, &inv, "INVALIDATE_CACHE") < 0)
		return;
	printf("  IOMMU_INVALIDATE_CACHE: IOASID %d, PASID %d, [0x%llx, +4K)\n", g->child, PASID,
	       (unsigned long long)inv.addr);
	if (dma_read16(g, va, got) == 0)
		check(strcmp(got, "NEW: data page 2") == 0,
		      "after the invalidation the device reads \"%s\"", got);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/iommu";
	struct guest g;
	unsigned long aligned;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("nested_sva: two-stage translation through a page table this program writes\n");
	memset(&g, 0, sizeof(g));
	g.fd = open(path, O_RDWR);
	if (g.fd < 0) {
		printf("nested_sva: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	g.tables = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	/* 4 MiB of address space (not memory: only touched pages get some) so
	 * that a 2 MiB-aligned block fits inside: one L1 table covers it. */
	g.region = mmap(NULL, 2 * SZ_2M, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (g.tables == MAP_FAILED || g.region == MAP_FAILED) {
		printf("nested_sva: mmap: %s\n", strerror(errno));
		return 1;
	}
	aligned = ((unsigned long)g.region + SZ_2M - 1) & ~(unsigned long)(SZ_2M - 1);
	g.data = (unsigned char *)aligned;
	memset(g.data, 0, DATA_PAGES * PAGE);

	if (setup(&g) == 0) {
		dma_through_both_stages(&g);
		stage1_page_request(&g);
		iotlb_staleness(&g);
	}

	close(g.fd);	/* unbinds accel0, frees the child, then the parent */
	munmap(g.tables, 4 * PAGE);
	munmap(g.region, 2 * SZ_2M);
	if (failures) {
		printf("\nnested_sva: FAILED: %d check(s) were wrong\n", failures);
		return 1;
	}
	printf("\nnested_sva: OK: DMA walked our table, a stage-1 fault was served, and the\n"
	       "nested_sva: stale translation lasted exactly until IOMMU_INVALIDATE_CACHE\n");
	return 0;
}
