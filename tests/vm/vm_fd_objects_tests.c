/*
 * End-to-end tests of the iommufd profile's fd objects (docs/iommufd.md,
 * "File descriptors") through the real /dev/iommu and /dev/iommu-object in
 * the QEMU guest: an unmodified, dynamically linked program, run under
 * LD_PRELOAD=libcuse-iommu-fd.so, gets real fault-queue and access file
 * descriptors -- poll() woken by a fault, read() and write() of records,
 * close() ending the object, fork()ed children sharing the open file.
 *
 * Uses only cuse-iommu-iommufd.h and libc (it never names the helper's
 * private commands).  Prints "PASS name" / "FAIL name: reason" per test,
 * then "N passed, M failed".  Run by scripts/test.sh's iommufd tier.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cuse-iommu-iommufd.h"

#define PAGE 4096UL
#define APERTURE ((uint64_t)MOCK_APERTURE_START)

static char why[512];

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		int n_ = snprintf(why, sizeof(why), "line %d: ", __LINE__); \
		snprintf(why + n_, sizeof(why) - n_, __VA_ARGS__); \
		return -1; \
	} \
} while (0)

static long io(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) == 0 ? 0 : -errno;
}

/* A context with an IOAS, a mock device on it and a fault queue. */
struct setup {
	int fd;
	uint32_t ioas, stdev, hwpt, idev;
	uint32_t fault_id;
	int fault_fd;
};

static int make_setup(struct setup *s)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	struct iommu_test_cmd m = { .size = sizeof(m), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_fault_alloc f = { .size = sizeof(f) };
	long r;

	s->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	CHECK(s->fd >= 0, "open /dev/iommu: %s", strerror(errno));
	CHECK((r = io(s->fd, IOMMU_IOAS_ALLOC, &a)) == 0, "IOAS_ALLOC: %s", strerror((int)-r));
	s->ioas = a.out_ioas_id;
	m.id = s->ioas;
	CHECK((r = io(s->fd, IOMMU_TEST_CMD, &m)) == 0, "MOCK_DOMAIN: %s", strerror((int)-r));
	s->stdev = m.mock_domain.out_stdev_id;
	s->hwpt = m.mock_domain.out_hwpt_id;
	s->idev = m.mock_domain.out_idev_id;
	CHECK((r = io(s->fd, IOMMU_FAULT_QUEUE_ALLOC, &f)) == 0, "FAULT_QUEUE_ALLOC: %s", strerror((int)-r));
	s->fault_id = f.out_fault_id;
	s->fault_fd = (int)f.out_fault_fd;
	return 0;
}

/* The mock device onto a nested page table reporting to the fault queue. */
static int nest_device(struct setup *s)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_alloc parent = {
		.size = sizeof(parent), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
		.dev_id = s->idev, .pt_id = s->ioas,
	};
	struct iommu_hwpt_alloc nested = {
		.size = sizeof(nested), .flags = IOMMU_HWPT_FAULT_ID_VALID, .dev_id = s->idev,
		.data_type = IOMMU_HWPT_DATA_SELFTEST, .data_len = sizeof(data),
		.data_uptr = (uintptr_t)&data, .fault_id = s->fault_id,
	};
	struct iommu_test_cmd r = { .size = sizeof(r), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };
	long e;

	CHECK((e = io(s->fd, IOMMU_HWPT_ALLOC, &parent)) == 0, "parent HWPT_ALLOC: %s", strerror((int)-e));
	nested.pt_id = parent.out_hwpt_id;
	CHECK((e = io(s->fd, IOMMU_HWPT_ALLOC, &nested)) == 0, "nested HWPT_ALLOC: %s", strerror((int)-e));
	r.id = s->stdev;
	r.mock_domain_replace.pt_id = nested.out_hwpt_id;
	CHECK((e = io(s->fd, IOMMU_TEST_CMD, &r)) == 0, "MOCK_DOMAIN_REPLACE: %s", strerror((int)-e));
	return 0;
}

static long trigger(struct setup *s, uint64_t addr)
{
	struct iommu_test_cmd t = {
		.size = sizeof(t), .op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = { .dev_id = s->idev, .pasid = 1, .grpid = 2,
				  .perm = IOMMU_PGFAULT_PERM_READ, .addr = addr },
	};

	return io(s->fd, IOMMU_TEST_CMD, &t);
}

static void *poll_fault_fd(void *arg)
{
	struct pollfd p = { .fd = *(int *)arg, .events = POLLIN };

	return (void *)(intptr_t)(poll(&p, 1, 10000) == 1 && (p.revents & POLLIN));
}

static int test_fault_fd_is_a_real_fd(void)
{
	struct setup s;
	struct stat st;
	int flags;

	if (make_setup(&s))
		return -1;
	CHECK(s.fault_fd > 2 && fstat(s.fault_fd, &st) == 0 && S_ISCHR(st.st_mode),
	      "out_fault_fd %d is no open character device", s.fault_fd);
	flags = fcntl(s.fault_fd, F_GETFD);
	CHECK(flags >= 0 && (flags & FD_CLOEXEC), "the fault fd is not close-on-exec");
	close(s.fault_fd);
	close(s.fd);
	return 0;
}

static int test_poll_read_write(void)
{
	struct iommu_hwpt_pgfault fault = { 0 };
	struct iommu_hwpt_page_response response = { .code = IOMMUFD_PAGE_RESP_SUCCESS };
	struct iommu_destroy d = { .size = sizeof(d) };
	struct pollfd p;
	pthread_t poller;
	void *woken = NULL;
	long r;

	struct setup s;
	if (make_setup(&s) || nest_device(&s))
		return -1;
	p.fd = s.fault_fd;
	p.events = POLLIN;
	CHECK(poll(&p, 1, 0) == 0, "POLLIN with nothing queued");
	CHECK(read(s.fault_fd, &fault, sizeof(fault)) == 0, "read with nothing queued is not 0");
	CHECK(pthread_create(&poller, NULL, poll_fault_fd, &s.fault_fd) == 0, "pthread_create");
	usleep(200 * 1000);  /* the poller waits in poll() */
	CHECK((r = trigger(&s, 0xdeadb000)) == 0, "TRIGGER_IOPF: %s", strerror((int)-r));
	pthread_join(poller, &woken);
	CHECK(woken, "poll() was not woken by the fault");
	CHECK(read(s.fault_fd, &fault, sizeof(fault) - 1) < 0 && errno == ESPIPE, "a short read is not ESPIPE");
	CHECK(read(s.fault_fd, &fault, sizeof(fault)) == sizeof(fault), "read: %s", strerror(errno));
	CHECK(fault.addr == 0xdeadb000 && fault.dev_id == s.idev && fault.cookie == 1,
	      "record: addr %#llx dev %u cookie %u", (unsigned long long)fault.addr, fault.dev_id, fault.cookie);
	response.cookie = fault.cookie + 7;
	CHECK(write(s.fault_fd, &response, sizeof(response)) < 0 && errno == EINVAL, "an unknown cookie was taken");
	response.cookie = fault.cookie;
	CHECK(write(s.fault_fd, &response, sizeof(response)) == sizeof(response), "write: %s", strerror(errno));
	d.id = s.fault_id;
	CHECK(io(s.fd, IOMMU_DESTROY, &d) == -EBUSY, "the queue went while its fd is open");
	close(s.fault_fd);
	close(s.fd);
	return 0;
}

static int test_close_then_destroy(void)
{
	struct iommu_destroy d = { .size = sizeof(d) };
	long r;

	struct setup s;
	if (make_setup(&s))
		return -1;
	d.id = s.fault_id;
	CHECK(io(s.fd, IOMMU_DESTROY, &d) == -EBUSY, "the queue went while its fd is open");
	close(s.fault_fd);
	CHECK((r = io(s.fd, IOMMU_DESTROY, &d)) == 0, "DESTROY after close: %s", strerror((int)-r));
	close(s.fd);
	return 0;
}

/* A fork()ed child holds the same open file: the queue lives until both close. */
static int test_forked_child_shares_the_file(void)
{
	struct iommu_destroy d = { .size = sizeof(d) };
	int status = 0;
	pid_t child;

	struct setup s;
	if (make_setup(&s))
		return -1;
	child = fork();
	CHECK(child >= 0, "fork");
	if (child == 0) {
		close(s.fault_fd);
		_exit(0);
	}
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status), "child");
	d.id = s.fault_id;
	CHECK(io(s.fd, IOMMU_DESTROY, &d) == -EBUSY, "the child's close ended the parent's fd");
	close(s.fault_fd);
	CHECK(io(s.fd, IOMMU_DESTROY, &d) == 0, "the last close did not end the fd's hold");
	close(s.fd);
	return 0;
}

static int test_access_fd_close_destroys_it(void)
{
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_CREATE_ACCESS,
				    .create_access = { .flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES } };
	struct iommu_test_cmd p = { .size = sizeof(p), .op = IOMMU_TEST_OP_ACCESS_PAGES };
	struct iommu_test_cmd rw = { .size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW };
	struct iommu_ioas_map m = { .size = sizeof(m) };
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	struct iommu_destroy d = { .size = sizeof(d) };
	char *buf, text[16] = { 0 };
	long r;

	struct setup s;
	if (make_setup(&s))
		return -1;
	/* An IOAS of its own: nothing but the access uses it. */
	CHECK((r = io(s.fd, IOMMU_IOAS_ALLOC, &a)) == 0, "IOAS_ALLOC: %s", strerror((int)-r));
	buf = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	CHECK(buf != MAP_FAILED, "mmap");
	strcpy(buf + 100, "through access");
	m.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	m.ioas_id = a.out_ioas_id;
	m.user_va = (uintptr_t)buf;
	m.length = 2 * PAGE;
	m.iova = APERTURE;
	CHECK((r = io(s.fd, IOMMU_IOAS_MAP, &m)) == 0, "IOAS_MAP: %s", strerror((int)-r));
	c.id = a.out_ioas_id;
	CHECK((r = io(s.fd, IOMMU_TEST_CMD, &c)) == 0, "CREATE_ACCESS: %s", strerror((int)-r));
	CHECK(c.create_access.out_access_fd > 2 && fcntl((int)c.create_access.out_access_fd, F_GETFD) >= 0,
	      "out_access_fd %u is not open", c.create_access.out_access_fd);
	rw.id = c.create_access.out_access_fd;
	rw.access_rw.iova = APERTURE + 100;
	rw.access_rw.length = 14;
	rw.access_rw.uptr = (uintptr_t)text;
	CHECK((r = io(s.fd, IOMMU_TEST_CMD, &rw)) == 0 && strcmp(text, "through access") == 0,
	      "ACCESS_RW: %s, '%s'", strerror((int)-r), text);
	p.id = c.create_access.out_access_fd;
	p.access_pages.iova = APERTURE;
	p.access_pages.length = PAGE;
	p.access_pages.uptr = (uintptr_t)buf;
	CHECK((r = io(s.fd, IOMMU_TEST_CMD, &p)) == 0, "ACCESS_PAGES: %s", strerror((int)-r));
	d.id = a.out_ioas_id;
	CHECK(io(s.fd, IOMMU_DESTROY, &d) == -EBUSY, "the IOAS went under its access");
	close((int)c.create_access.out_access_fd);
	CHECK(io(s.fd, IOMMU_TEST_CMD, &rw) == -EBADFD, "the access outlived its fd");
	CHECK((r = io(s.fd, IOMMU_DESTROY, &d)) == 0, "DESTROY after the access's close: %s", strerror((int)-r));
	munmap(buf, 2 * PAGE);
	close(s.fault_fd);
	close(s.fd);
	return 0;
}

/* Closing /dev/iommu first leaves a fault fd that reads nothing, and no crash. */
static int test_fault_fd_outliving_its_context(void)
{
	struct iommu_hwpt_pgfault fault;

	struct setup s;
	if (make_setup(&s) || nest_device(&s))
		return -1;
	CHECK(trigger(&s, 0x1000) == 0, "TRIGGER_IOPF");
	close(s.fd);
	CHECK(read(s.fault_fd, &fault, sizeof(fault)) == 0, "an orphan fault fd read something");
	close(s.fault_fd);
	return 0;
}

struct test {
	const char *name;
	int (*fn)(void);
};

/* argv[1]: the summary line's label (the static build runs under the
 * launcher as "static fd objects"). */
int main(int argc, char **argv)
{
	static const struct test tests[] = {
		{ "fault_fd_is_a_real_fd", test_fault_fd_is_a_real_fd },
		{ "poll_read_write", test_poll_read_write },
		{ "close_then_destroy", test_close_then_destroy },
		{ "forked_child_shares_the_file", test_forked_child_shares_the_file },
		{ "access_fd_close_destroys_it", test_access_fd_close_destroys_it },
		{ "fault_fd_outliving_its_context", test_fault_fd_outliving_its_context },
	};
	int passed = 0, failed = 0;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		why[0] = 0;
		if (tests[i].fn() == 0) {
			printf("PASS %s\n", tests[i].name);
			passed++;
		} else {
			printf("FAIL %s: %s\n", tests[i].name, why);
			failed++;
		}
	}
	printf("%s: %d passed, %d failed\n", argc > 1 ? argv[1] : "fd objects", passed, failed);
	return failed ? 1 : 0;
}
