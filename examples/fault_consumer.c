/*
 * fault_consumer.c - resolve I/O page faults as they arrive: map lazily.
 *
 * A device that supports PCIe PRI (here "accel0") does not need its memory
 * mapped up front.  When its DMA hits an unmapped page, the IOMMU stalls the
 * DMA and sends a *page request*; whoever owns the address space maps the
 * page and answers, and the DMA goes on.  Through /dev/iommu:
 *
 *   IOMMU_DEVICE_FAULT_REGISTER   this context becomes the device's fault
 *                                 consumer (its records come here)
 *   IOMMU_FAULT_SET_EVENTFD       an eventfd counts every record queued
 *   epoll on the eventfd AND on the /dev/iommu fd   (either wakes us; a real
 *                                 VMM would use one, e.g. the eventfd as an
 *                                 irqfd, and poll() the fd in a thread)
 *   read(fd)                      whole 64-byte struct iommu_fault_record
 *   IOMMU_MAP_DMA                 map the page the record names
 *   IOMMU_PAGE_RESPONSE SUCCESS   "retry": the stalled DMA resumes
 *
 * The program makes accel0 write 3 pages (starting mid-page, so 4 pages are
 * touched) into an address space where nothing is mapped, then serves the 4
 * page requests one by one, and finally checks that every byte landed.
 *
 * Usage: example_fault_consumer [--serve SECONDS] [DEVICE]  (default /dev/iommu)
 *   --serve: afterwards, go on serving accel0's page requests for SECONDS
 *   with 4 more window pages, IOVA 0x40004000-0x40007fff, so that DMAs made
 *   from outside (iommuctl dma accel0 ...) stall and resume the same way;
 *   `kill -USR1 PID` ends it early.
 * Exit status: 0 only if every check held.
 */
#define _DEFAULT_SOURCE		/* MAP_ANONYMOUS, eventfd, epoll */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
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

#define PAGE		4096ULL
#define IOVA		0x40000000ULL	/* the DMA's window; mapped page by page */
#define OFFSET		0x200ULL	/* the DMA starts this far into the first page */
#define DMA_LEN		(3 * PAGE)	/* so it touches 4 pages */
#define WINDOW_PAGES	4		/* what the program's own DMA touches */
#define SERVE_PAGES	4		/* more, for DMAs from outside (--serve) */
#define ACCEL_COOKIE	0xacce1
#define WAIT_MS		5000		/* give up on a record after this long */

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

/* ---- setting up: device, address space, consumer, eventfd, epoll ------ */

struct consumer {
	int fd;			/* /dev/iommu */
	int ioasid;
	int efd;		/* the eventfd the daemon signals */
	int ep;			/* epoll on efd and fd */
	unsigned char *window;	/* our memory behind IOVA.., mapped lazily */
	int mapped[WINDOW_PAGES + SERVE_PAGES];
	unsigned may_map;	/* window pages a page request may ask for now */
	int serving;		/* --serve: requests come from outside */
};

static int setup_device(struct consumer *c)
{
	struct iommu_device_bind bind;
	struct iommu_ioasid_alloc alloc;
	struct iommu_device_attach attach;
	struct iommu_device_fault reg;

	memset(&bind, 0, sizeof(bind));
	bind.argsz = sizeof(bind);
	strcpy(bind.name, "accel0");	/* PRI-capable, behind an IOPF-capable IOMMU */
	bind.cookie = ACCEL_COOKIE;
	if (call(c->fd, IOMMU_DEVICE_BIND, &bind, "DEVICE_BIND accel0") < 0)
		return -1;

	memset(&alloc, 0, sizeof(alloc));
	alloc.argsz = sizeof(alloc);
	c->ioasid = call(c->fd, IOMMU_IOASID_ALLOC, &alloc, "IOASID_ALLOC");
	if (c->ioasid < 0)
		return -1;

	memset(&attach, 0, sizeof(attach));
	attach.argsz = sizeof(attach);
	attach.cookie = ACCEL_COOKIE;
	attach.ioasid = (__u32)c->ioasid;
	if (call(c->fd, IOMMU_DEVICE_ATTACH, &attach, "DEVICE_ATTACH") < 0)
		return -1;

	/* Without a consumer, a page request is answered INVALID at once and
	 * the DMA ends ABORTED: registering is what makes faults recoverable. */
	memset(&reg, 0, sizeof(reg));
	reg.argsz = sizeof(reg);
	reg.cookie = ACCEL_COOKIE;
	if (call(c->fd, IOMMU_DEVICE_FAULT_REGISTER, &reg, "DEVICE_FAULT_REGISTER") < 0)
		return -1;
	printf("  accel0 bound (cookie 0x%x), attached to the empty IOASID %d, and this\n"
	       "  context registered as its fault consumer.\n", ACCEL_COOKIE, c->ioasid);
	return 0;
}

static int setup_notification(struct consumer *c)
{
	struct iommu_fault_eventfd set;
	struct epoll_event ev;

	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->efd < 0) {
		check(0, "eventfd: %s", strerror(errno));
		return -1;
	}
	memset(&set, 0, sizeof(set));
	set.argsz = sizeof(set);
	set.fd = c->efd;	/* the daemon takes its own duplicate */
	if (call(c->fd, IOMMU_FAULT_SET_EVENTFD, &set, "FAULT_SET_EVENTFD") < 0)
		return -1;

	c->ep = epoll_create1(EPOLL_CLOEXEC);
	if (c->ep < 0) {
		check(0, "epoll_create1: %s", strerror(errno));
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = c->efd;
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, c->efd, &ev) != 0) {
		check(0, "epoll_ctl(eventfd): %s", strerror(errno));
		return -1;
	}
	ev.data.fd = c->fd;	/* /dev/iommu polls readable while records wait */
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		check(0, "epoll_ctl(/dev/iommu): %s", strerror(errno));
		return -1;
	}
	printf("  an eventfd is registered, and one epoll watches both it and /dev/iommu.\n");
	return 0;
}

/* ---- the consumer loop -------------------------------------------------- */

/* Wait until the eventfd or the fd is readable.  Returns 1, or 0 on timeout
 * or a signal. */
static int wait_for_records(struct consumer *c, int timeout_ms)
{
	struct epoll_event evs[2];
	int n, i;

	n = epoll_wait(c->ep, evs, 2, timeout_ms);
	for (i = 0; i < n; i++) {
		if (evs[i].data.fd == c->efd) {
			__u64 count = 0;

			/* Reading an eventfd returns its counter and resets it. */
			if (read(c->efd, &count, sizeof(count)) == sizeof(count))
				printf("  epoll: the eventfd says %llu new record(s)\n",
				       (unsigned long long)count);
		} else {
			printf("  epoll: /dev/iommu is readable\n");
		}
	}
	return n > 0;
}

/* Map the page a page request asked for, from our window. */
static int map_faulting_page(struct consumer *c, __u64 addr)
{
	struct iommu_map_dma map;
	__u64 page = addr & ~(PAGE - 1);
	unsigned idx = (unsigned)((page - IOVA) / PAGE);

	if (page < IOVA || idx >= c->may_map || c->mapped[idx]) {
		printf("  a page request for 0x%llx: outside our window (IOVA 0x%llx, %u pages)\n",
		       (unsigned long long)addr, (unsigned long long)IOVA, c->may_map);
		return -1;
	}
	memset(&map, 0, sizeof(map));
	map.argsz = sizeof(map);
	map.flags = IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE;
	map.ioasid = (__u32)c->ioasid;
	map.vaddr = (__u64)(unsigned long)(c->window + idx * PAGE);
	map.iova = page;
	map.size = PAGE;
	if (call(c->fd, IOMMU_MAP_DMA, &map, "MAP_DMA") < 0)
		return -1;
	c->mapped[idx] = 1;
	printf("  mapped IOVA 0x%llx -> window page %u\n", (unsigned long long)page, idx);
	return 0;
}

static int answer(struct consumer *c, __u32 grpid, __u32 code)
{
	struct iommu_page_response resp;

	memset(&resp, 0, sizeof(resp));
	resp.argsz = sizeof(resp);
	resp.cookie = ACCEL_COOKIE;
	resp.grpid = grpid;
	resp.code = code;
	return call(c->fd, IOMMU_PAGE_RESPONSE, &resp, "PAGE_RESPONSE");
}

/* Read every record waiting and serve it.  Returns how many were served. */
static int serve_records(struct consumer *c)
{
	struct iommu_fault_record recs[8];
	ssize_t n;
	int i, served = 0;

	/* read() sizes are multiples of 64; it returns the records waiting
	 * (never blocks once one is there) -- oldest first. */
	n = read(c->fd, recs, sizeof(recs));
	if (n < 0) {
		check(0, "read(/dev/iommu): %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < (int)(n / (ssize_t)sizeof(recs[0])); i++) {
		const struct iommu_fault_record *r = &recs[i];

		printf("  record seq %llu: %s fault at 0x%llx by cookie 0x%llx, group %u\n",
		       (unsigned long long)r->seq,
		       (r->perm & IOMMU_FAULT_PERM_WRITE) ? "write" : "read",
		       (unsigned long long)r->addr, (unsigned long long)r->cookie, r->grpid);
		if (c->serving && !(r->flags & IOMMU_FAULT_RECORD_RECOVERABLE)) {
			printf("  (not a page request: there is nothing to answer)\n");
			continue;
		}
		if (!check((r->flags & IOMMU_FAULT_RECORD_RECOVERABLE) &&
			   r->reason == IOMMU_FAULT_REASON_NOT_MAPPED &&
			   r->cookie == ACCEL_COOKIE && r->ioasid == (__u32)c->ioasid,
			   "it is a page request (RECOVERABLE, NOT_MAPPED) in IOASID %u",
			   r->ioasid))
			return -1;
		if (map_faulting_page(c, r->addr) < 0) {
			answer(c, r->grpid, IOMMU_PAGE_RESP_INVALID);	/* abort the DMA */
			printf("  answered group %u INVALID: the DMA aborts\n", r->grpid);
			if (c->serving)
				continue;	/* someone else's mistake, not ours */
			check(0, "the page request is one this DMA should make");
			return -1;
		}
		if (answer(c, r->grpid, IOMMU_PAGE_RESP_SUCCESS) < 0)
			return -1;
		printf("  answered group %u SUCCESS: the DMA retries the page\n", r->grpid);
		served++;
	}
	return served;
}

/* Where is the stalled DMA now?  Returns its IOMMU_SIM_DMA_* status. */
static int dma_status(struct consumer *c, __u64 dma_id, __u64 *bytes_done)
{
	struct iommu_sim_dma_status st;

	memset(&st, 0, sizeof(st));
	st.argsz = sizeof(st);
	st.dma_id = dma_id;
	if (call(c->fd, IOMMU_SIM_DMA_STATUS, &st, "SIM_DMA_STATUS") < 0)
		return -1;
	*bytes_done = st.bytes_done;
	return (int)st.status;
}

/* ---- main ---------------------------------------------------------------- */

static int run(struct consumer *c, const unsigned char *src)
{
	struct iommu_sim_dma dma;
	__u64 done = 0;
	int status, requests = 0;

	printf("\nfault_consumer: accel0 writes %llu bytes at IOVA 0x%llx; nothing is mapped\n",
	       (unsigned long long)DMA_LEN, (unsigned long long)(IOVA + OFFSET));
	memset(&dma, 0, sizeof(dma));
	dma.argsz = sizeof(dma);
	dma.flags = IOMMU_SIM_DMA_WRITE;
	dma.cookie = ACCEL_COOKIE;
	dma.iova = IOVA + OFFSET;
	dma.length = DMA_LEN;
	dma.data = (__u64)(unsigned long)src;
	if (call(c->fd, IOMMU_SIM_DMA, &dma, "SIM_DMA") < 0)
		return -1;
	if (!check(dma.status == IOMMU_SIM_DMA_PENDING,
		   "the DMA stalled at 0x%llx (PENDING, dma_id %llu): a page request is out",
		   (unsigned long long)dma.fault_addr, (unsigned long long)dma.dma_id))
		return -1;

	status = IOMMU_SIM_DMA_PENDING;
	while (status == IOMMU_SIM_DMA_PENDING) {
		int n;

		if (!wait_for_records(c, WAIT_MS)) {
			check(0, "no page request within %d ms", WAIT_MS);
			return -1;
		}
		n = serve_records(c);
		if (n < 0)
			return -1;
		requests += n;
		/* PAGE_RESPONSE resumes the DMA before it returns: by now the DMA
		 * has either finished or stalled on its next page, whose page
		 * request is already queued (and will wake the epoll). */
		status = dma_status(c, dma.dma_id, &done);
		if (status == IOMMU_SIM_DMA_PENDING)
			printf("  the DMA moved on: %llu bytes done, stalled again\n",
			       (unsigned long long)done);
	}
	check(status == IOMMU_SIM_DMA_OK && done == DMA_LEN,
	      "the DMA completed: status %d, %llu of %llu bytes", status,
	      (unsigned long long)done, (unsigned long long)DMA_LEN);
	check(requests == WINDOW_PAGES, "%d page requests served, one per page touched (%d)",
	      requests, WINDOW_PAGES);
	check(memcmp(c->window + OFFSET, src, DMA_LEN) == 0,
	      "every byte the device wrote is in our window, at offset 0x%llx",
	      (unsigned long long)OFFSET);
	check(c->window[OFFSET - 1] == 0 && c->window[OFFSET + DMA_LEN] == 0,
	      "and nothing around it changed");
	return 0;
}

/* --serve: what ends it early.  The handler only has to interrupt epoll_wait. */
static volatile sig_atomic_t stop_serving;

static void on_sigusr1(int sig)
{
	(void)sig;
	stop_serving = 1;
}

/* --serve: answer page requests of DMAs made from outside for SECONDS, with
 * the rest of the window. */
static void serve(struct consumer *c, unsigned seconds)
{
	time_t end = time(NULL) + (time_t)seconds;
	int n, served = 0;

	c->serving = 1;
	c->may_map = WINDOW_PAGES + SERVE_PAGES;
	printf("\nfault_consumer: serving accel0's page requests for %u s; IOVA 0x%llx-0x%llx\n"
	       "fault_consumer: is mapped as the device touches it.  Try, from another shell:\n"
	       "fault_consumer:   iommuctl dma accel0 0x%llx 13 --write-text 'hello, lazily'\n"
	       "fault_consumer: kill -USR1 %d ends it early.\n", seconds,
	       (unsigned long long)(IOVA + WINDOW_PAGES * PAGE),
	       (unsigned long long)(IOVA + (WINDOW_PAGES + SERVE_PAGES) * PAGE - 1),
	       (unsigned long long)(IOVA + WINDOW_PAGES * PAGE + 0x100), (int)getpid());
	while (!stop_serving && time(NULL) < end) {
		if (!wait_for_records(c, 1000))
			continue;	/* a quiet second, or SIGUSR1 */
		n = serve_records(c);
		if (n < 0)
			break;
		served += n;
	}
	printf("fault_consumer: done serving: %d page request(s) from outside mapped and answered\n",
	       served);
}

static void show_counters(struct consumer *c)
{
	struct iommu_fault_region_info info;

	memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info);
	if (call(c->fd, IOMMU_FAULT_REGION_INFO, &info, "FAULT_REGION_INFO") < 0)
		return;
	printf("\nfault_consumer: the fault region: %llu delivered, %llu pending, %llu lost,"
	       " %llu timed out\n", (unsigned long long)info.delivered,
	       (unsigned long long)info.pending, (unsigned long long)info.lost,
	       (unsigned long long)info.timeouts);
	check(info.delivered == WINDOW_PAGES && info.pending == 0 && info.lost == 0 &&
	      info.timeouts == 0, "every record was read, none lost or timed out");
}

int main(int argc, char **argv)
{
	const char *path = "/dev/iommu";
	unsigned serve_seconds = 0;
	struct consumer c;
	unsigned char *src;
	__u64 i;
	int a;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--serve") == 0 && a + 1 < argc)
			serve_seconds = (unsigned)atoi(argv[++a]);
		else if (argv[a][0] != '-')
			path = argv[a];
		else {
			printf("usage: %s [--serve SECONDS] [DEVICE]\n", argv[0]);
			return 2;
		}
	}
	if (serve_seconds) {
		struct sigaction stop = { .sa_handler = on_sigusr1 };

		sigaction(SIGUSR1, &stop, NULL);	/* before anyone can send it */
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("fault_consumer: serve accel0's page requests with epoll, mapping lazily\n\n");
	memset(&c, 0, sizeof(c));
	c.efd = c.ep = -1;
	c.may_map = WINDOW_PAGES;
	c.fd = open(path, O_RDWR);
	if (c.fd < 0) {
		printf("fault_consumer: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	c.window = mmap(NULL, (WINDOW_PAGES + SERVE_PAGES) * PAGE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	src = mmap(NULL, DMA_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c.window == MAP_FAILED || src == MAP_FAILED) {
		printf("fault_consumer: mmap: %s\n", strerror(errno));
		return 1;
	}
	memset(c.window, 0, (WINDOW_PAGES + SERVE_PAGES) * PAGE);
	for (i = 0; i < DMA_LEN; i++)	/* the "packet" the device writes */
		src[i] = (unsigned char)(i * 13 + 7);

	if (setup_device(&c) == 0 && setup_notification(&c) == 0 && run(&c, src) == 0) {
		show_counters(&c);
		if (serve_seconds && !failures)
			serve(&c, serve_seconds);
	}

	/* Closing the file unbinds accel0, frees the IOASID and its mappings,
	 * answers anything still pending INVALID and drops the eventfd. */
	close(c.fd);
	if (c.ep >= 0)
		close(c.ep);
	if (c.efd >= 0)
		close(c.efd);
	if (failures) {
		printf("\nfault_consumer: FAILED: %d check(s) were wrong\n", failures);
		return 1;
	}
	printf("\nfault_consumer: OK: %d page requests resolved by mapping on demand\n",
	       WINDOW_PAGES);
	return 0;
}
