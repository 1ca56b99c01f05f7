/*
 * The reporting harness and test runner shared by the VM test clients
 * (vm_tests, vm_device_tests, vm_fault_tests, vm_load, vm_hostile_tests).
 *
 * A test is a function of two fresh contexts (struct ctx) that returns 0, or
 * -1 with the reason in `why`: the CHECK macros do both.  run_tests() prints
 * "PASS name" or "FAIL name: reason" for each test, then "N passed, M
 * failed", and returns the exit status: 0 only if nothing failed.  The host
 * (scripts/vm/guest.sh) reads that last line, so keep its format.
 *
 * Strict C99; only cuse-iommu.h + libc.  Everything is static: each client
 * is one translation unit.
 */
#ifndef VM_HARNESS_H
#define VM_HARNESS_H

#ifndef _DEFAULT_SOURCE
#error "define _DEFAULT_SOURCE before the first #include (mmap flags, nanosleep)"
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vm_ioctls.h"

static const char *dev_path = "/dev/iommu";	/* argv[1] overrides it */
static char why[512];		/* the failing test's reason */

/* ---------------------------------------------------------------------------
 * Reporting
 * ------------------------------------------------------------------------- */

static inline void failf(int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(why, sizeof(why), "line %d: ", line);

	va_start(ap, fmt);
	vsnprintf(why + n, sizeof(why) - n, fmt, ap);
	va_end(ap);
}

/* Every errno some command or read() of /dev/iommu is expected to give. */
static inline const char *errname(long e)
{
	static char other[32];

	switch (e) {
	case 0:		return "success";
	case EINVAL:	return "EINVAL";
	case E2BIG:	return "E2BIG";
	case ENOTTY:	return "ENOTTY";
	case EFAULT:	return "EFAULT";
	case ENOENT:	return "ENOENT";
	case EEXIST:	return "EEXIST";
	case ENOSPC:	return "ENOSPC";
	case EPERM:	return "EPERM";
	case ENOMEM:	return "ENOMEM";
	case EIO:	return "EIO";
	case ENOSYS:	return "ENOSYS";
	case ENODEV:	return "ENODEV";
	case ENXIO:	return "ENXIO";
	case EBUSY:	return "EBUSY";
	case EBADF:	return "EBADF";
	case EAGAIN:	return "EAGAIN";
	case EINTR:	return "EINTR";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ERANGE:	return "ERANGE";
	case EADDRINUSE: return "EADDRINUSE";
	}
	snprintf(other, sizeof(other), "errno %ld", e);
	return other;
}

/* "success (result 3)" for a success, "EINVAL" for a failure. */
static inline const char *resname(long r)
{
	static char s[48];

	if (r < 0)
		return errname(-r);
	snprintf(s, sizeof(s), "success (result %ld)", r);
	return s;
}

/* Each CHECK returns -1 from the function with a reason; the runner prints it. */
#define CHECK(cond, ...) do { \
	if (!(cond)) { failf(__LINE__, __VA_ARGS__); return -1; } \
} while (0)

/* expr is an io()-style result: >= 0 success, -errno failure. */
#define CHECK_OK(what, expr) do { \
	long r_ = (expr); \
	CHECK(r_ >= 0, "%s: expected success, got %s", (what), errname(-r_)); \
} while (0)

#define CHECK_ERR(what, expr, err) do { \
	long r_ = (expr); \
	CHECK(r_ == -(long)(err), "%s: expected %s, got %s", (what), \
	      errname(err), resname(r_)); \
} while (0)

/* CHECK in a helper that reports its caller's line (a parameter `line`). */
#define CHECK_LINE(cond, ...) do { \
	if (!(cond)) { failf(line, __VA_ARGS__); return -1; } \
} while (0)

/* A helper that CHECKs returns non-zero with `why` set: pass it on. */
#define TRY(expr) do { if ((expr) != 0) return -1; } while (0)

/* The daemon's counters as text; four calls may share one printf. */
static inline const char *dstats_str(const struct iommu_sim_daemon_stats *s)
{
	static char str[4][96];
	static int i;

	i = (i + 1) % 4;
	snprintf(str[i], sizeof(str[i]),
		 "{contexts %u, ioasids %u, mappings %llu, bytes %llu}",
		 s->contexts, s->ioasids, (unsigned long long)s->mappings,
		 (unsigned long long)s->mapped_bytes);
	return str[i];
}

/* ---------------------------------------------------------------------------
 * Time and memory
 * ------------------------------------------------------------------------- */

static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static inline double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* An anonymous private read-write mapping of n pages (page-aligned), or NULL. */
static inline void *pages(size_t n)
{
	void *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* n pages of anonymous memory shared with the children forked afterwards
 * (MAP_SHARED): what one process writes there the others see.  Or NULL. */
static inline void *shared_pages(size_t n)
{
	void *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* ---------------------------------------------------------------------------
 * Children, bounded in time
 * ------------------------------------------------------------------------- */

/*
 * waitpid() that gives up: 1 if pid was reaped within ms (its status in
 * *status, if not NULL), else 0.  A process whose call the daemon never
 * answers cannot be reaped, even after SIGKILL (the kernel waits for the
 * answer uninterruptibly), so tests never wait for a child without a bound.
 */
static inline int reap_within(pid_t pid, long ms, int *status)
{
	double deadline = now_ms() + ms;
	int st = 0;

	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR)) {
			if (status)
				*status = st;
			return w == pid;
		}
		if (now_ms() >= deadline)
			return 0;
		sleep_ms(10);
	}
}

/* SIGKILL pid and reap it within ms: 1 if it was reaped. */
static inline int kill_reap(pid_t pid, long ms)
{
	if (pid <= 0)
		return 1;
	kill(pid, SIGKILL);
	return reap_within(pid, ms, NULL);
}

/* "exit 3", "signal 9", for a wait status. */
static inline const char *status_str(int status)
{
	static char s[32];

	if (WIFEXITED(status))
		snprintf(s, sizeof(s), "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(s, sizeof(s), "signal %d", WTERMSIG(status));
	else
		snprintf(s, sizeof(s), "status 0x%x", status);
	return s;
}

/* ---------------------------------------------------------------------------
 * A child that leaves its state behind (the reclaim tests)
 * ------------------------------------------------------------------------- */

/*
 * leaver_start() forks a child that runs setup(arg) -- open the device, bind,
 * map, ... -- and reports whether it returned 0; then it waits.
 * leaver_end() makes it go without cleaning up anything: LEAVE_EXIT tells it
 * to _exit(), LEAVE_KILL SIGKILLs it; either way it is reaped.  In between,
 * the parent can look at what the living child holds.
 */
enum leave_how { LEAVE_EXIT, LEAVE_KILL };

struct leaver {
	pid_t pid;
	int go;			/* write end: "exit now" (LEAVE_EXIT) */
	enum leave_how how;
	int set_up;		/* setup() returned 0 in the child */
};

/* 0, or -1 with `why` set if the child could not be started. */
static inline int leaver_start(struct leaver *l, enum leave_how how,
			       int (*setup)(void *), void *arg)
{
	int up[2], down[2];
	char r = 'e';

	l->how = how;
	l->set_up = 0;
	CHECK(pipe(up) == 0, "pipe: %s", strerror(errno));
	CHECK(pipe(down) == 0, "pipe: %s", strerror(errno));
	l->pid = fork();
	CHECK(l->pid >= 0, "fork: %s", strerror(errno));
	if (l->pid == 0) {
		if (setup(arg) == 0)
			r = 'k';
		if (write(up[1], &r, 1) != 1)
			_exit(2);
		if (how == LEAVE_EXIT) {
			if (read(down[0], &r, 1) != 1)
				_exit(2);
			_exit(0);	/* no close, no unbind, no free, no unmap */
		}
		for (;;)
			pause();
	}
	close(up[1]);
	close(down[0]);
	if (read(up[0], &r, 1) == 1 && r == 'k')
		l->set_up = 1;
	close(up[0]);
	l->go = down[1];
	return 0;
}

static inline void leaver_end(struct leaver *l)
{
	char go = 'g';
	int status;

	if (l->how == LEAVE_KILL || write(l->go, &go, 1) != 1)
		kill(l->pid, SIGKILL);
	close(l->go);
	waitpid(l->pid, &status, 0);
}

/* ---------------------------------------------------------------------------
 * The runner
 * ------------------------------------------------------------------------- */

/*
 * What a test gets: two fresh contexts (two opens of the device), and a slot
 * `x` for a test's own extra open.  The runner closes all three afterwards
 * whatever happened; closing unbinds and frees everything, so a test need
 * not clean up after itself.
 */
struct ctx {
	int a, b, x;
};

struct vm_test {
	const char *name;
	int (*fn)(struct ctx *);
};

/* run_tests() flags */
#define RUN_NOTE_SLOW	1	/* "note: NAME took S s" after a test over 5 s */
#define RUN_ISOLATED	2	/* each test in its own process, bounded in time */

/*
 * Where a test is: step("...") before each phase that might never end, so
 * that a test killed at its deadline (RUN_ISOLATED) says where it stopped.
 */
static char step_local[160];
static char *run_step = step_local;	/* shared with the runner under RUN_ISOLATED */

static inline void step(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(run_step, sizeof(step_local), fmt, ap);
	va_end(ap);
}

/*
 * The kernel releases a closed context asynchronously, and with it the
 * IOASIDs and devices it held, so the previous test's contexts may still be
 * alive in the daemon when the next test starts.  Wait (up to 3 s) until only
 * this test's two fresh contexts remain, so that counts compare and no test
 * meets the previous one's devices.  This assumes we are the daemon's only
 * client, as in the VM.  If it never settles, say so once and stop waiting.
 */
static int settle_gave_up;	/* settle() waited in vain once: it waits no more */

static inline void settle(int fd)
{
	struct iommu_sim_daemon_stats s;
	int i;

	for (i = 0; !settle_gave_up && i < 60; i++) {
		if (daemon_stats(fd, &s) < 0)
			return;
		if (s.contexts == 2 && s.ioasids == 0 && s.mappings == 0 &&
		    s.mapped_bytes == 0)
			return;
		sleep_ms(50);
	}
	if (!settle_gave_up)
		printf("note: closed contexts still held 3 s later: %s\n", dstats_str(&s));
	settle_gave_up = 1;
}

/* Takes the device path from the command line; call first in main(). */
static inline void vm_start(int argc, char **argv)
{
	if (argc > 1)
		dev_path = argv[1];
	/* Line-buffered even if the console is not a tty, so a hang shows where. */
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* Runs one test in fresh contexts; 1 if it passed, else 0 with `why` set. */
static inline int run_one(const struct vm_test *t)
{
	struct ctx c;
	int ok;

	why[0] = '\0';
	c.x = -1;
	c.a = open(dev_path, O_RDWR);
	c.b = open(dev_path, O_RDWR);
	if (c.a < 0 || c.b < 0) {
		snprintf(why, sizeof(why), "open %s: %s", dev_path, strerror(errno));
		ok = 0;
	} else {
		settle(c.a);
		ok = t->fn(&c) == 0;
	}
	if (c.a >= 0)
		close(c.a);
	if (c.b >= 0)
		close(c.b);
	if (c.x >= 0)
		close(c.x);
	return ok;
}

/* ---------------------------------------------------------------------------
 * Isolated tests (RUN_ISOLATED)
 * ------------------------------------------------------------------------- */

/*
 * Under RUN_ISOLATED each test runs in a child process that the runner only
 * watches: a test still running after run_deadline_s is killed and reported,
 * and the runner never calls the daemon itself, so a daemon that stops
 * answering fails the test instead of hanging the program.  The child's
 * output reaches stdout through a pipe the runner copies: a descendant stuck
 * for good (a call the daemon never answers cannot even be SIGKILLed) then
 * holds that pipe, not the program's stdout, which guest.sh reads to its end.
 * run_cleanup, if set, runs in the test's process after the test, whatever
 * happened (to kill what the test started).  After a failed test the runner
 * checks, from another child, that the daemon still answers; if it does not,
 * the remaining tests are reported as not run.
 */
static unsigned run_deadline_s = 30;
static void (*run_cleanup)(void);

struct isolated_result {
	char ok, gave_up;
	char why[sizeof(why)];
};

static inline void isolated_child(const struct vm_test *t, int out, int res)
{
	struct isolated_result r;

	dup2(out, STDOUT_FILENO);
	dup2(out, STDERR_FILENO);
	close(out);
	memset(&r, 0, sizeof(r));
	r.ok = (char)run_one(t);
	if (run_cleanup)
		run_cleanup();
	r.gave_up = (char)settle_gave_up;
	memcpy(r.why, why, sizeof(r.why));
	fflush(stdout);
	/* One write below PIPE_BUF: the runner gets all of it or nothing. */
	if (write(res, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(2);
	_exit(0);
}

/* Copies what the child printed to stdout; 0 once the pipe is at its end. */
static inline int relay_output(int fd)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0)
		return n < 0 && errno == EINTR;
	fwrite(buf, 1, (size_t)n, stdout);
	fflush(stdout);
	return 1;
}

/* Runs one test in a child process; 1 if it passed, else 0 with `why` set. */
static inline int run_isolated(const struct vm_test *t)
{
	struct isolated_result r;
	int out[2], res[2], status = 0, reaped, timed_out = 0;
	size_t got = 0;
	double deadline;
	pid_t pid;

	why[0] = '\0';
	run_step[0] = '\0';
	if (pipe(out) != 0 || pipe(res) != 0) {
		snprintf(why, sizeof(why), "pipe: %s", strerror(errno));
		return 0;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		snprintf(why, sizeof(why), "fork: %s", strerror(errno));
		close(out[0]), close(out[1]), close(res[0]), close(res[1]);
		return 0;
	}
	if (pid == 0) {
		close(out[0]);
		close(res[0]);
		isolated_child(t, out[1], res[1]);
	}
	close(out[1]);
	close(res[1]);
	deadline = now_ms() + run_deadline_s * 1000.0;
	while (got < sizeof(r)) {
		struct pollfd p[2] = { { out[0], POLLIN, 0 }, { res[0], POLLIN, 0 } };
		double left = deadline - now_ms();
		ssize_t k;

		if (left <= 0) {
			timed_out = 1;
			break;
		}
		if (poll(p, 2, left > 1000 ? 1000 : (int)left + 1) <= 0)
			continue;
		if ((p[0].revents & (POLLIN | POLLHUP)) && !relay_output(out[0])) {
			close(out[0]);
			out[0] = -1;	/* poll() skips a negative fd */
		}
		if (p[1].revents & (POLLIN | POLLHUP)) {
			k = read(res[0], (char *)&r + got, sizeof(r) - got);
			if (k <= 0 && !(k < 0 && errno == EINTR))
				break;	/* the child died without a verdict */
			if (k > 0)
				got += (size_t)k;
		}
	}
	close(res[0]);
	if (got < sizeof(r))
		kill(pid, SIGKILL);
	reaped = reap_within(pid, 3000, &status);
	/* What the child printed last (it has exited, or is killed). */
	while (out[0] >= 0) {
		struct pollfd p = { out[0], POLLIN, 0 };

		if (poll(&p, 1, 100) <= 0 || !relay_output(out[0]))
			break;
	}
	if (out[0] >= 0)
		close(out[0]);
	if (got == sizeof(r)) {
		memcpy(why, r.why, sizeof(why));
		why[sizeof(why) - 1] = '\0';
		settle_gave_up |= r.gave_up;
		return r.ok;
	}
	if (timed_out)
		snprintf(why, sizeof(why), "did not finish within %u s%s%s%s; killed%s",
			 run_deadline_s, run_step[0] ? " (last step: " : "", run_step,
			 run_step[0] ? ")" : "",
			 reaped ? "" : ", and not reaped 3 s later (stuck in a call the"
			 " daemon never answers)");
	else
		snprintf(why, sizeof(why), "the test's process ended (%s) without a verdict%s%s%s",
			 reaped ? status_str(status) : "not reaped",
			 run_step[0] ? " (last step: " : "", run_step, run_step[0] ? ")" : "");
	return 0;
}

/*
 * 1 if the daemon serving dev_path answers an open, GET_API_VERSION and an
 * IOASID_ALLOC within ms.  A child asks, so a daemon that stopped answering
 * leaves that child stuck, not the runner.
 */
static inline int daemon_answers(long ms)
{
	int status = 0;
	pid_t pid = fork();

	if (pid < 0)
		return 0;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		int fd;

		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		fd = open(dev_path, O_RDWR);
		_exit(fd >= 0 && ioctl(fd, IOMMU_GET_API_VERSION) == IOMMU_API_VERSION &&
		      do_alloc(fd) > 0 ? 0 : 1);
	}
	if (reap_within(pid, ms, &status))
		return WIFEXITED(status) && WEXITSTATUS(status) == 0;
	kill_reap(pid, 500);
	return 0;
}

/* Runs the n tests in order and reports them; returns main()'s exit status. */
static inline int run_tests(const struct vm_test *tests, size_t n, int flags)
{
	const char *gone_after = NULL;	/* RUN_ISOLATED: the daemon stopped answering */
	int passed = 0, failed = 0;
	size_t i;

	if (flags & RUN_ISOLATED) {
		char *shared = shared_pages(1);

		if (shared)
			run_step = shared;
	}
	for (i = 0; i < n; i++) {
		double t0 = now_ms(), ms;
		int ok;

		if (gone_after) {
			printf("FAIL %s: not run: %s stopped answering after %s\n", tests[i].name,
			       dev_path, gone_after);
			failed++;
			continue;
		}
		ok = (flags & RUN_ISOLATED) ? run_isolated(&tests[i]) : run_one(&tests[i]);
		ms = now_ms() - t0;

		if ((flags & RUN_NOTE_SLOW) && ms > 5000)	/* TCG is slow */
			printf("note: %s took %.1f s\n", tests[i].name, ms / 1000);
		if (ok) {
			printf("PASS %s\n", tests[i].name);
			passed++;
		} else {
			printf("FAIL %s: %s\n", tests[i].name, why);
			failed++;
			if ((flags & RUN_ISOLATED) && !daemon_answers(3000)) {
				gone_after = tests[i].name;
				printf("note: %s no longer answers (open, GET_API_VERSION, IOASID_ALLOC"
				       " within 3 s); the remaining tests are not run\n", dev_path);
			}
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif /* VM_HARNESS_H */
