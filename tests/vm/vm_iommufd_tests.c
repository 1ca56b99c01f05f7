/*
 * End-to-end tests of the iommufd profile (`cuse-iommu --abi iommufd`)
 * through the real /dev/iommu in the QEMU guest, with what the kernel's own
 * selftest does not try: hostile memory.  A client whose memory is
 * userfaultfd memory nobody serves must stall only itself, never another
 * client; attaching a domain over such memory must fail, not hang.
 *
 * Uses only cuse-iommu-iommufd.h and libc.  Prints "PASS name" or "FAIL
 * name: reason" per test, then "N passed, M failed" (scripts/test.sh's
 * selftests tier reads that line).  Run as root (userfaultfd), by
 * scripts/vm/run-program.sh --abi iommufd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
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

/* ioctl() as a value: >= 0, or -errno. */
static long io(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) == 0 ? 0 : -errno;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int open_iommu(void)
{
	return open("/dev/iommu", O_RDWR | O_CLOEXEC);
}

static long ioas_alloc(int fd, uint32_t *id)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	long r = io(fd, IOMMU_IOAS_ALLOC, &a);

	*id = a.out_ioas_id;
	return r;
}

/* MOCK_DOMAIN on pt: the mock device's id and its page table's. */
static long mock_domain(int fd, uint32_t pt, uint32_t *stdev, uint32_t *hwpt)
{
	struct iommu_test_cmd t;
	long r;

	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	t.op = IOMMU_TEST_OP_MOCK_DOMAIN;
	t.id = pt;
	r = io(fd, IOMMU_TEST_CMD, &t);
	*stdev = t.mock_domain.out_stdev_id;
	*hwpt = t.mock_domain.out_hwpt_id;
	return r;
}

static long map_fixed(int fd, uint32_t ioas, void *p, uint64_t len, uint64_t iova)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = (uintptr_t)p,
		.length = len,
		.iova = iova,
	};
	return io(fd, IOMMU_IOAS_MAP, &m);
}

static long unmap(int fd, uint32_t ioas, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = iova, .length = len };

	return io(fd, IOMMU_IOAS_UNMAP, &u);
}

static long check_refs(int fd, void *p, uint64_t len, uint32_t refs)
{
	struct iommu_test_cmd t;

	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	t.op = IOMMU_TEST_OP_MD_CHECK_REFS;
	t.check_refs.uptr = (uintptr_t)p;
	t.check_refs.length = len;
	t.check_refs.refs = refs;
	return io(fd, IOMMU_TEST_CMD, &t);
}

static long check_map(int fd, uint32_t hwpt, uint64_t iova, void *p, uint64_t len)
{
	struct iommu_test_cmd t;

	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	t.op = IOMMU_TEST_OP_MD_CHECK_MAP;
	t.id = hwpt;
	t.check_map.iova = iova;
	t.check_map.length = len;
	t.check_map.uptr = (uintptr_t)p;
	return io(fd, IOMMU_TEST_CMD, &t);
}

static void *pages(size_t n)
{
	void *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * n fresh pages registered with a userfaultfd (MISSING mode) nobody
 * serves: touching them blocks whoever touches them until this process
 * goes.  NULL on failure.
 */
static void *uffd_pages(size_t n)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	void *p = pages(n);
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);

	if (!p || fd < 0 || ioctl(fd, UFFDIO_API, &api) != 0)
		return NULL;
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)p;
	reg.range.len = n * PAGE;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(fd, UFFDIO_REGISTER, &reg) != 0)
		return NULL;
	return p;	/* the fd stays open for the life of the process */
}

/* Map, check the domain and the pins, unmap: the daemon's basic path. */
static int test_map_through_domain(void)
{
	uint32_t ioas, stdev, hwpt;
	char *buf = pages(4);
	int fd = open_iommu();

	CHECK(fd >= 0 && buf, "open or mmap failed");
	memset(buf, 1, 4 * PAGE);
	CHECK(ioas_alloc(fd, &ioas) == 0, "IOAS_ALLOC");
	CHECK(mock_domain(fd, ioas, &stdev, &hwpt) == 0, "MOCK_DOMAIN");
	CHECK(map_fixed(fd, ioas, buf, 4 * PAGE, APERTURE) == 0, "IOAS_MAP");
	CHECK(check_map(fd, hwpt, APERTURE, buf, 4 * PAGE) == 0, "MD_CHECK_MAP");
	CHECK(check_refs(fd, buf, 4 * PAGE, 1) == 0, "MD_CHECK_REFS after the map");
	CHECK(unmap(fd, ioas, APERTURE, 4 * PAGE) == 0, "IOAS_UNMAP");
	CHECK(check_refs(fd, buf, 4 * PAGE, 0) == 0, "MD_CHECK_REFS after the unmap");
	close(fd);
	return 0;
}

/*
 * A child maps userfaultfd memory into an IOAS with a domain: the daemon
 * probes it (the kernel would pin it) and that call blocks.  Meanwhile
 * this process, on its own fd, maps and unmaps 100 times: none of it may
 * wait on the stuck child.  Killing the child ends its call; the daemon
 * goes on.
 */
static int test_stuck_client_stalls_only_itself(void)
{
	uint32_t ioas, stdev, hwpt;
	char *buf = pages(1);
	int fd = open_iommu(), status, i;
	pid_t child;
	double start, took;

	CHECK(fd >= 0 && buf, "open or mmap failed");
	child = fork();
	if (child == 0) {
		int cfd = open_iommu();
		void *stuck = uffd_pages(2);
		uint32_t cioas, cstdev, chwpt;

		if (cfd < 0 || !stuck || ioas_alloc(cfd, &cioas) || mock_domain(cfd, cioas, &cstdev, &chwpt))
			_exit(2);
		map_fixed(cfd, cioas, stuck, 2 * PAGE, APERTURE);	/* blocks */
		_exit(3);
	}
	CHECK(child > 0, "fork failed");
	usleep(500 * 1000);	/* the child is in its call by now */
	CHECK(waitpid(child, &status, WNOHANG) == 0, "the child's call did not block (status %d)", status);
	CHECK(ioas_alloc(fd, &ioas) == 0, "IOAS_ALLOC");
	CHECK(mock_domain(fd, ioas, &stdev, &hwpt) == 0, "MOCK_DOMAIN");
	start = now_s();
	for (i = 0; i < 100; i++) {
		CHECK(map_fixed(fd, ioas, buf, PAGE, APERTURE) == 0, "IOAS_MAP %d", i);
		CHECK(unmap(fd, ioas, APERTURE, PAGE) == 0, "IOAS_UNMAP %d", i);
	}
	took = now_s() - start;
	CHECK(waitpid(child, &status, WNOHANG) == 0, "the child's call ended while it should block");
	kill(child, SIGKILL);
	CHECK(waitpid(child, &status, 0) == child && WIFSIGNALED(status), "the child did not die of SIGKILL");
	CHECK(took < 30, "200 calls beside a stuck client took %.1f s", took);
	CHECK(map_fixed(fd, ioas, buf, PAGE, APERTURE) == 0, "IOAS_MAP after the child went");
	close(fd);
	return 0;
}

/*
 * Lazily mapped userfaultfd memory (no domain yet: nothing is touched),
 * then a domain: its attach pins, finds the memory unreadable and fails
 * with EFAULT -- promptly, without waiting on the userfaultfd.
 */
static int test_attach_over_unservable_memory_fails(void)
{
	uint32_t ioas, stdev, hwpt;
	void *stuck = uffd_pages(2);
	int fd = open_iommu();
	double start;
	long r;

	CHECK(fd >= 0 && stuck, "open or userfaultfd failed");
	CHECK(ioas_alloc(fd, &ioas) == 0, "IOAS_ALLOC");
	CHECK(map_fixed(fd, ioas, stuck, 2 * PAGE, APERTURE) == 0, "a lazy IOAS_MAP touches nothing");
	start = now_s();
	r = mock_domain(fd, ioas, &stdev, &hwpt);
	CHECK(r == -EFAULT, "MOCK_DOMAIN over unservable memory: %ld", r);
	CHECK(now_s() - start < 10, "it took %.1f s", now_s() - start);
	CHECK(unmap(fd, ioas, 0, UINT64_MAX) == 0, "IOAS_UNMAP of all");
	CHECK(mock_domain(fd, ioas, &stdev, &hwpt) == 0, "MOCK_DOMAIN once the area went");
	close(fd);
	return 0;
}

/*
 * This program is static: no LD_PRELOAD helper can reach it, so the
 * commands that answer an fd must fail plainly (docs/iommufd.md, "File
 * descriptors"), never with a made-up number.
 */
static int test_fd_commands_without_the_helper(void)
{
	struct iommu_fault_alloc f = { .size = sizeof(f), .out_fault_fd = 12345 };
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_CREATE_ACCESS };
	struct iommu_destroy d = { .size = sizeof(d), .id = 2 };
	uint32_t ioas;
	int fd = open_iommu();

	CHECK(fd >= 0, "open: %s", strerror(errno));
	CHECK(ioas_alloc(fd, &ioas) == 0, "IOAS_ALLOC");
	CHECK(io(fd, IOMMU_FAULT_QUEUE_ALLOC, &f) == -EOPNOTSUPP, "FAULT_QUEUE_ALLOC without the helper");
	CHECK(f.out_fault_fd == 12345, "an fd number was written back");
	c.id = ioas;
	CHECK(io(fd, IOMMU_TEST_CMD, &c) == -EOPNOTSUPP, "CREATE_ACCESS without the helper");
	CHECK(io(fd, IOMMU_DESTROY, &d) == -ENOENT, "an object was made");
	close(fd);
	return 0;
}

struct test {
	const char *name;
	int (*fn)(void);
};

int main(void)
{
	static const struct test tests[] = {
		{ "map_through_domain", test_map_through_domain },
		{ "stuck_client_stalls_only_itself", test_stuck_client_stalls_only_itself },
		{ "attach_over_unservable_memory_fails", test_attach_over_unservable_memory_fails },
		{ "fd_commands_without_the_helper", test_fd_commands_without_the_helper },
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
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
