/*
 * vm_hostile_tests.c - end-to-end tests of /dev/iommu against hostile but
 * ordinary clients (issue 9), through the real kernel CUSE path (tier 3):
 * a process that reuses a dead mapping owner's pid, an eventfd whose
 * counter is at its maximum, ioctl arguments and DMA memory registered with
 * userfaultfd and never served, SIGTERM with calls stuck in client memory,
 * page requests left unanswered (PRI credits, the daemon's memory), a
 * thousand pending requests, and clients SIGKILLed at any moment.
 *
 * Each test says what hostile behaviour it models and what a kernel driver
 * (VFIO, iommufd) does about it.  Many describe what the daemon is being
 * changed to do and fail on a daemon that does not do it yet.  None may hang:
 * every test runs in its own process (RUN_ISOLATED, vm_harness.h), every
 * call that could wait on the daemon is made by a child process the test
 * watches from outside (struct watch) with a deadline, and the tests that
 * can wedge a daemon for good (the saturated eventfd, DMA through
 * userfaultfd memory, SIGTERM) each start a private daemon instance
 * (/dev/iommu-*) and kill it afterwards, so the daemon under /dev/iommu
 * stays usable for the rest of the run.
 *
 * Runs inside the QEMU guest (scripts/vm/tier3.sh) as root (userfaultfd,
 * /proc/sys/kernel/ns_last_pid), last of the VM clients.  It includes only
 * the uAPI header, libc and Linux headers.  It assumes the daemon's default
 * topology (docs/topology.md) and that it is the daemon's only client; the
 * private instances run /bin/cuse-iommu (or $CUSE_IOMMU_DAEMON).  Where the
 * kernel has no CUSE (scripts/fuse-tier.sh), $CUSE_IOMMU_FUSE_ROOT names a
 * directory in which each private instance serves its device as the file
 * of a FUSE mount of its own (cuse-iommu --mount), unmounted by cleanup().
 *
 * Output: one line per test, "PASS name" or "FAIL name: reason", then
 * "N passed, M failed" (vm_harness.h).  Exit status 0 only if nothing failed.
 * Usage: vm_hostile_tests [DEVICE]   (default /dev/iommu)
 */
#define _DEFAULT_SOURCE		/* mmap flags, nanosleep, syscall, madvise */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "cuse-iommu.h"
#include "vm_ioctls.h"
#include "vm_harness.h"

/* Cookies: recognisable in a record. */
#define NIC		0x41c00000ULL	/* nic0: plain DMA, no PASID, no PRI */
#define ACCEL		0xacce1000ULL	/* accel0: PASID and PRI behind an IOPF IOMMU */

#define CALL_LIMIT_MS	1000	/* "each call completes within 1 s" */
#define REAP_LIMIT_MS	3000	/* "a SIGKILLed process is reaped within 3 s" */

/* ---------------------------------------------------------------------------
 * The processes a test starts
 * ------------------------------------------------------------------------- */

/*
 * Every process a test starts is noted here.  cleanup() -- the runner's
 * run_cleanup, called in the test's process after the test whatever
 * happened -- SIGKILLs the clients, then the private daemons (a daemon's
 * death ends every call still waiting on it: the kernel aborts the CUSE
 * connection), and reaps them all within a bound.
 */
#define MAX_KIDS	64

static struct kid {
	pid_t pid;
	int daemon;
} kids[MAX_KIDS];
static int nkids;

static void note_kid(pid_t pid, int daemon)
{
	int i;

	for (i = 0; i < nkids && kids[i].pid > 0; i++)
		;	/* a slot a reaped process left, or a new one */
	if (pid > 0 && i < MAX_KIDS) {
		kids[i].pid = pid;
		kids[i].daemon = daemon;
		if (i == nkids)
			nkids++;
	}
}

/* reap_within() for a noted process: once reaped, cleanup() leaves it alone. */
static int reap_kid(pid_t pid, long ms, int *status)
{
	int i, reaped = reap_within(pid, ms, status);

	for (i = 0; reaped && i < nkids; i++)
		if (kids[i].pid == pid)
			kids[i].pid = 0;
	return reaped;
}

static int kill_kid(pid_t pid, long ms)
{
	kill(pid, SIGKILL);
	return reap_kid(pid, ms, NULL);
}

/* The FUSE mounts of private daemons (CUSE_IOMMU_FUSE_ROOT): a daemon killed
 * leaves its mount behind, disconnected; cleanup() detaches it. */
#define MAX_MOUNTS	8
static char mounts[MAX_MOUNTS][256];
static int nmounts;

static void unmount_private(void)
{
	int i;

	for (i = 0; i < nmounts; i++) {
		umount2(mounts[i], MNT_DETACH);	/* EINVAL: its daemon unmounted it */
		rmdir(mounts[i]);
	}
	nmounts = 0;
}

static void cleanup(void)
{
	double deadline = now_ms() + REAP_LIMIT_MS;
	int i, left = 0;

	for (i = 0; i < nkids; i++)
		if (kids[i].pid > 0 && !kids[i].daemon)
			kill(kids[i].pid, SIGKILL);
	for (i = 0; i < nkids; i++)
		if (kids[i].pid > 0 && kids[i].daemon)
			kill(kids[i].pid, SIGKILL);
	for (i = 0; i < nkids; i++) {
		long ms = (long)(deadline - now_ms());

		if (kids[i].pid > 0 && !reap_within(kids[i].pid, ms > 0 ? ms : 0, NULL))
			left++;
	}
	if (left)
		printf("note: %d of the test's processes were not reaped %d ms after SIGKILL\n",
		       left, REAP_LIMIT_MS);
	nkids = 0;
	unmount_private();
}

/* ---------------------------------------------------------------------------
 * Watched children
 * ------------------------------------------------------------------------- */

/*
 * A child process whose calls the test watches from outside.  The child
 * notes each call it makes (what, since when) in memory it shares with the
 * test, so the test tells a call that is slow or never returns from one that
 * failed, and never has to make a call to the daemon that might not return.
 * v[] and t[] carry whatever else a child reports; go is the test's answer.
 */
enum { W_RUNNING, W_DONE, W_FAILED };

struct watch {
	volatile int state;		/* W_RUNNING, W_DONE, W_FAILED */
	volatile int stop;		/* the test asks the child to finish */
	volatile int go;		/* how far the test lets the child go */
	pid_t pid;
	volatile double since;		/* start of the call in progress; 0: none */
	volatile double worst_ms;	/* the slowest completed call */
	volatile long calls;		/* calls completed */
	volatile long v[16];		/* results the child reports */
	volatile double t[8];		/* times the child reports (now_ms()) */
	char call[96];			/* the call in progress, or the last one */
	char worst[96];			/* the slowest call */
	char text[64];			/* bytes the child reports */
	char why[400];			/* W_FAILED: what went wrong */
};

typedef void (*child_fn)(struct watch *w, void *arg);

/* A fresh watch in memory shared with the children forked afterwards. */
static struct watch *watch_new(void)
{
	return shared_pages((sizeof(struct watch) + PAGE - 1) / PAGE);
}

/* Child side: a call begins, a call ends. */
static void w_begin(struct watch *w, const char *what)
{
	snprintf(w->call, sizeof(w->call), "%s", what);
	w->since = now_ms();
}

static void w_end(struct watch *w)
{
	double ms = now_ms() - w->since;

	if (ms > w->worst_ms) {
		memcpy(w->worst, w->call, sizeof(w->worst));
		w->worst_ms = ms;
	}
	w->calls++;
	w->since = 0;
}

/* An ioctl, watched: io() between w_begin() and w_end(). */
static long w_io(struct watch *w, const char *what, int fd, unsigned long cmd, void *arg)
{
	long r;

	w_begin(w, what);
	r = io(fd, cmd, arg);
	w_end(w);
	return r;
}

/* The child failed: say why (the first reason counts). */
static void w_fail(struct watch *w, const char *fmt, ...)
{
	va_list ap;

	if (w->state != W_RUNNING)
		return;
	va_start(ap, fmt);
	vsnprintf(w->why, sizeof(w->why), fmt, ap);
	va_end(ap);
	w->state = W_FAILED;
}

/* In a child: a watched call that must succeed, else the child fails. */
#define W_MUST(w, what, expr) do { \
	long r_; \
	w_begin(w, what); \
	r_ = (expr); \
	w_end(w); \
	if (r_ < 0) { w_fail(w, "%s: %s", (what), errname(-r_)); return; } \
} while (0)

/* In a child: wait (at most ms) until the test sets go to at least `step`. */
static int w_wait_go(struct watch *w, int step, long ms)
{
	double deadline = now_ms() + ms;

	while (w->go < step && !w->stop)
		if (now_ms() > deadline)
			return -1;
		else
			sleep_ms(5);
	return 0;
}

/* Forks a child that runs fn(w, arg) and exits; -1 if fork failed. */
static pid_t spawn(struct watch *w, child_fn fn, void *arg)
{
	pid_t pid;

	memset((void *)w, 0, sizeof(*w));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		w->pid = getpid();
		fn(w, arg);
		if (w->state == W_RUNNING)
			w->state = W_DONE;
		_exit(0);
	}
	w->pid = pid;
	note_kid(pid, 0);
	return pid;
}

/* 1 if the process has ended (without reaping it). */
static int has_ended(pid_t pid, int *status)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return 1;	/* reaped already */
	if (si.si_pid != pid)
		return 0;
	*status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	return 1;
}

/* "IOASID_ALLOC waiting for 1234 ms", or "12 calls, slowest 3 ms (GET_API_VERSION)". */
static const char *watch_str(const struct watch *w)
{
	static char s[2][200];
	static int i;
	double since = w->since;

	i = (i + 1) % 2;
	if (since != 0)
		snprintf(s[i], sizeof(s[i]), "%s waiting for %.0f ms", w->call, now_ms() - since);
	else
		snprintf(s[i], sizeof(s[i]), "%ld calls, slowest %.0f ms (%s)", w->calls,
			 w->worst_ms, w->worst[0] ? w->worst : "-");
	return s[i];
}

/*
 * Test side: the child has not failed, has not died, none of its calls took
 * more than limit_ms and none is waiting longer.
 */
static int watch_ok(int line, const char *who, struct watch *w, double limit_ms)
{
	double since = w->since, now = now_ms();
	int status = 0;

	CHECK_LINE(w->state != W_FAILED, "%s: %s", who, w->why);
	CHECK_LINE(since == 0 || now - since <= limit_ms,
		   "%s: %s has not returned after %.0f ms (expected within %.0f ms)", who,
		   w->call, now - since, limit_ms);
	CHECK_LINE(w->worst_ms <= limit_ms, "%s: %s took %.0f ms (expected within %.0f ms)",
		   who, w->worst, w->worst_ms, limit_ms);
	/* Ended while still running (state read again: it may have just finished). */
	CHECK_LINE(w->state != W_RUNNING || !has_ended(w->pid, &status) || w->state != W_RUNNING,
		   "%s died (%s %d) during %s", who, status > 128 ? "signal" : "exit",
		   status > 128 ? status - 128 : status, w->call);
	return 0;
}

#define WATCH_OK(who, w, limit) TRY(watch_ok(__LINE__, who, w, limit))

/* A reason without its "line N: " prefix, to quote it in another. */
static const char *strip_line(const char *reason)
{
	const char *colon = strncmp(reason, "line ", 5) == 0 ? strstr(reason, ": ") : NULL;

	return colon ? colon + 2 : reason;
}

/*
 * Waits (at most ms) until the child is done, with watch_ok() on it all
 * along -- and on `other` (a prober), if given, whose state a failure also
 * tells.
 */
static int watch_done(int line, const char *who, struct watch *w, double ms, double limit_ms,
		      const char *other_who, struct watch *other)
{
	double deadline = now_ms() + ms;

	for (;;) {
		if (watch_ok(line, who, w, limit_ms) != 0) {
			if (other) {
				size_t n = strlen(why);

				snprintf(why + n, sizeof(why) - n, "; meanwhile %s: %s", other_who,
					 watch_str(other));
			}
			return -1;
		}
		if (other)
			TRY(watch_ok(line, other_who, other, limit_ms));
		if (w->state == W_DONE)
			return 0;
		CHECK_LINE(now_ms() < deadline, "%s: not done %.0f ms after it started (%s)", who,
			   ms, watch_str(w));
		sleep_ms(10);
	}
}

#define WATCH_DONE(who, w, ms, limit, other_who, other) \
	TRY(watch_done(__LINE__, who, w, ms, limit, other_who, other))

/* Waits (at most ms) until the child reports v[i] >= val, with watch_ok(). */
static int watch_until(int line, const char *who, struct watch *w, int i, long val, double ms,
		       double limit_ms)
{
	double deadline = now_ms() + ms;

	while (w->v[i] < val) {
		TRY(watch_ok(line, who, w, limit_ms));
		CHECK_LINE(w->state != W_DONE, "%s ended before it was ready", who);
		CHECK_LINE(now_ms() < deadline, "%s: not ready within %.0f ms (%s)", who, ms,
			   watch_str(w));
		sleep_ms(10);
	}
	return 0;
}

#define WATCH_UNTIL(who, w, i, val, ms, limit) \
	TRY(watch_until(__LINE__, who, w, i, val, ms, limit))

/* Lets time pass while the prober keeps calling; fails as soon as it stalls. */
static int watch_for(int line, const char *who, struct watch *w, double ms, double limit_ms)
{
	double end = now_ms() + ms;

	while (now_ms() < end) {
		TRY(watch_ok(line, who, w, limit_ms));
		sleep_ms(20);
	}
	return watch_ok(line, who, w, limit_ms);
}

#define WATCH_FOR(who, w, ms, limit) TRY(watch_for(__LINE__, who, w, ms, limit))

/*
 * A prober: an innocent client in its own process, with its own open of the
 * device, that makes ordinary calls (GET_API_VERSION, IOASID_ALLOC,
 * IOASID_FREE) until stopped.  Whatever a hostile client does, each of them
 * must return within CALL_LIMIT_MS: in the kernel, a process never waits on
 * another process's memory or eventfd.
 */
static void prober_main(struct watch *w, void *arg)
{
	const char *dev = arg;
	int fd;

	w_begin(w, "open");
	fd = open(dev, O_RDWR);
	w_end(w);
	if (fd < 0) {
		w_fail(w, "open %s: %s", dev, strerror(errno));
		return;
	}
	while (!w->stop) {
		struct iommu_ioasid_alloc a = alloc_arg();
		struct iommu_ioasid_free f;
		long v, id;

		v = w_io(w, "GET_API_VERSION", fd, IOMMU_GET_API_VERSION, NULL);
		if (v != IOMMU_API_VERSION) {
			w_fail(w, "GET_API_VERSION: %s", resname(v));
			return;
		}
		id = w_io(w, "IOASID_ALLOC", fd, IOMMU_IOASID_ALLOC, &a);
		if (id <= 0) {
			w_fail(w, "IOASID_ALLOC: %s", resname(id));
			return;
		}
		f = free_arg((__u32)id);
		W_MUST(w, "IOASID_FREE", io(fd, IOMMU_IOASID_FREE, &f));
		sleep_ms(20);
	}
	/* No close(): a daemon that stopped answering would hold us in it. */
}

/* Starts a prober on dev and waits for its first calls. */
static int prober_start(int line, const char *dev, struct watch **w)
{
	*w = watch_new();
	CHECK_LINE(*w != NULL, "mmap: %s", strerror(errno));
	CHECK_LINE(spawn(*w, prober_main, (void *)dev) > 0, "fork: %s", strerror(errno));
	while ((*w)->calls < 4) {
		TRY(watch_ok(line, "the prober (another client)", *w, CALL_LIMIT_MS));
		CHECK_LINE((*w)->state == W_RUNNING, "the prober stopped: %s", (*w)->why);
		sleep_ms(10);
	}
	return 0;
}

#define PROBER_START(dev, w) TRY(prober_start(__LINE__, dev, w))
#define PROBER "another client (prober)"

/* ---------------------------------------------------------------------------
 * Private daemon instances
 * ------------------------------------------------------------------------- */

/*
 * `cuse-iommu --name NAME --control none --foreground`: /dev/NAME with the
 * default topology, for a test that may wedge its daemon for good.  Its
 * output goes to /tmp/NAME.log.  cleanup() SIGKILLs it.  Under
 * CUSE_IOMMU_FUSE_ROOT it serves ROOT/NAME/NAME instead (--mount ROOT/NAME).
 */
struct daemon {
	pid_t pid;
	char dev[256];
	char log[64];
};

static const char *fuse_root(void)
{
	const char *env = getenv("CUSE_IOMMU_FUSE_ROOT");

	return env && *env ? env : NULL;
}

static const char *daemon_binary(void)
{
	const char *env = getenv("CUSE_IOMMU_DAEMON");

	return env && *env ? env : "/bin/cuse-iommu";
}

static int daemon_start(int line, const char *name, struct daemon *d)
{
	struct stat st;
	double deadline;
	int status;
	char mountdir[256] = "";

	if (fuse_root()) {
		CHECK_LINE(nmounts < MAX_MOUNTS, "more than %d private mounts", MAX_MOUNTS);
		snprintf(mountdir, sizeof(mountdir), "%s/%s", fuse_root(), name);
		CHECK_LINE(mkdir(mountdir, 0700) == 0, "mkdir %s: %s", mountdir, strerror(errno));
		snprintf(mounts[nmounts++], sizeof(mounts[0]), "%s", mountdir);
		snprintf(d->dev, sizeof(d->dev), "%s/%s", mountdir, name);
	} else {
		snprintf(d->dev, sizeof(d->dev), "/dev/%s", name);
	}
	snprintf(d->log, sizeof(d->log), "/tmp/%s.log", name);
	step("starting a private daemon for %s", d->dev);
	CHECK_LINE(stat(d->dev, &st) != 0, "%s exists before its daemon starts", d->dev);
	fflush(stdout);
	d->pid = fork();
	CHECK_LINE(d->pid >= 0, "fork: %s", strerror(errno));
	if (d->pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		if (*mountdir)
			execl(daemon_binary(), "cuse-iommu", "--name", name, "--control", "none",
			      "--foreground", "--mount", mountdir, (char *)NULL);
		else
			execl(daemon_binary(), "cuse-iommu", "--name", name, "--control", "none",
			      "--foreground", (char *)NULL);
		_exit(127);
	}
	note_kid(d->pid, 1);
	deadline = now_ms() + 10000;
	while (stat(d->dev, &st) != 0 || !(*mountdir ? S_ISREG(st.st_mode) : S_ISCHR(st.st_mode))) {
		CHECK_LINE(!reap_kid(d->pid, 0, &status), "%s %s exited (%s) before %s appeared"
			   " (its output: %s)", daemon_binary(), name, status_str(status), d->dev,
			   d->log);
		CHECK_LINE(now_ms() < deadline, "%s did not appear within 10 s of starting %s",
			   d->dev, daemon_binary());
		sleep_ms(20);
	}
	return 0;
}

#define DAEMON_START(name, d) TRY(daemon_start(__LINE__, name, d))

/* ---------------------------------------------------------------------------
 * Memory nobody can fault in
 * ------------------------------------------------------------------------- */

/*
 * Registers [p, p+len) with a new userfaultfd (MISSING mode) that nobody
 * serves: from then on, touching a page that is not present blocks whoever
 * touches it -- a thread of this process, the kernel copying an ioctl
 * argument for it, another process reading it with process_vm_readv --
 * until the userfaultfd goes away with this process (or, for this process's
 * own accesses, a signal arrives).  The fd, or -errno.
 */
static int uffd_register(void *p, size_t len)
{
	struct uffdio_api api;
	struct uffdio_register reg;
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC), e;

	if (fd < 0)
		return -errno;
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (unsigned long)p;
	reg.range.len = len;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(fd, UFFDIO_API, &api) != 0 || ioctl(fd, UFFDIO_REGISTER, &reg) != 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* n fresh pages registered with uffd_register(); NULL (errno set) on failure. */
static void *uffd_pages(size_t n)
{
	void *p = pages(n);
	int fd;

	if (!p)
		return NULL;
	fd = uffd_register(p, n * PAGE);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	return p;	/* the fd stays open for the life of the process */
}

/*
 * A thread making one call that may never return (its argument or its
 * memory is userfaultfd memory).  It reports in the watch: v[slot] 1 when
 * it starts, v[slot + 1] its result, v[slot + 2] 1 when it returned, t[tslot]
 * when.  Not a watched call: it is allowed to block.
 */
struct stuck_call {
	struct watch *w;
	int fd;
	unsigned long cmd;
	void *arg;
	int slot, tslot;
};

static void *stuck_main(void *p)
{
	struct stuck_call *s = p;
	long r;

	s->w->v[s->slot] = 1;
	r = io(s->fd, s->cmd, s->arg);
	s->w->t[s->tslot] = now_ms();
	s->w->v[s->slot + 1] = r;
	s->w->v[s->slot + 2] = 1;
	return NULL;
}

static int start_stuck(struct stuck_call *s, struct watch *w, int fd, unsigned long cmd,
		       void *arg, int slot, int tslot)
{
	pthread_t t;

	s->w = w;
	s->fd = fd;
	s->cmd = cmd;
	s->arg = arg;
	s->slot = slot;
	s->tslot = tslot;
	if (pthread_create(&t, NULL, stuck_main, s) != 0)
		return -1;
	pthread_detach(t);
	while (!w->v[slot])
		sleep_ms(1);
	return 0;
}

/* ---------------------------------------------------------------------------
 * The daemon as a process
 * ------------------------------------------------------------------------- */

/* The pid of the daemon serving /dev/iommu: the one process whose
 * /proc/PID/comm is "cuse-iommu" (or, among several, $IOMMU_DAEMON_PID). */
static pid_t main_daemon_pid(void)
{
	const char *env = getenv("IOMMU_DAEMON_PID");
	pid_t found = 0, want = env ? (pid_t)atoi(env) : 0;
	int matches = 0;
	struct dirent *e;
	DIR *d = opendir("/proc");

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char path[64], comm[32] = "";
		pid_t pid = (pid_t)atoi(e->d_name);
		FILE *f;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && strcmp(comm, "cuse-iommu\n") == 0) {
			matches++;
			if (!found || pid == want)
				found = pid;
		}
		fclose(f);
	}
	closedir(d);
	return matches == 1 || found == want ? found : 0;
}

/* VmRSS of pid in KiB, or -1. */
static long vm_rss_kib(pid_t pid)
{
	char path[64], line[128];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Waits (at most ms) until the daemon's counters are `base` again. */
static int back_to(int line, int fd, const struct iommu_sim_daemon_stats *base, long ms,
		   const char *after)
{
	struct iommu_sim_daemon_stats now;
	double deadline = now_ms() + ms;
	long r;

	for (;;) {
		r = daemon_stats(fd, &now);
		CHECK_LINE(r == 0, "SIM_DAEMON_STATS %s: %s", after, resname(r));
		if (now.contexts == base->contexts && now.ioasids == base->ioasids &&
		    now.mappings == base->mappings && now.mapped_bytes == base->mapped_bytes)
			return 0;
		CHECK_LINE(now_ms() < deadline, "%ld ms %s the daemon holds %s; expected the"
			   " baseline %s (not reclaimed)", ms, after, dstats_str(&now),
			   dstats_str(base));
		sleep_ms(50);
	}
}

/* ===========================================================================
 * 1. Pid reuse
 * ======================================================================== */

/*
 * A process that exits leaves its pid number free, and an unrelated later
 * process may get it (pid wrap; here forced with ns_last_pid).  The daemon
 * must not take that process for the dead one: a mapping's pages, an
 * identity IOASID and a locked-memory charge belong to the process that
 * made them.  VFIO and iommufd hold the owner's mm and the pinned pages
 * themselves, never a pid number; once the owner is gone, a DMA through
 * its mapping reaches nothing (here: SIM_DMA fails with EFAULT, as
 * docs/uapi.md says for an owner that "exited").
 */
#define FIXED_VA	0x3e5500000000UL	/* A: both processes' buffer */
#define REUSE_IOVA	0x10000000ULL		/* X */
#define OLD_TEXT	"OLD: the first owner's page"
#define NEW_TEXT	"NEW: an unrelated process's page"
#define BAD_TEXT	"BAD: a device wrote here"

/* A page at FIXED_VA holding text; NULL if the address was taken. */
static char *fixed_page(const char *text)
{
	void *p = mmap((void *)FIXED_VA, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (p != (void *)FIXED_VA) {
		munmap(p, PAGE);
		return NULL;
	}
	strcpy(p, text);
	return p;
}

struct reuse {
	int fd;		/* shared by the test, C1 and C2 */
	long ioasid;	/* kernel-managed: C1 maps into it */
	int identity;	/* C1 allocates an identity IOASID instead */
};

enum { R_READY, R_IOASID, R_INTACT, R_STATS, R_LOCKED, R_DONE };

/* C1, the first owner: its page at A, mapped at X (or an identity IOASID). */
static void first_owner(struct watch *w, void *arg)
{
	struct reuse *r = arg;
	char *p = fixed_page(OLD_TEXT);

	if (!p) {
		w_fail(w, "mmap at 0x%lx: %s", FIXED_VA, strerror(errno));
		return;
	}
	if (r->identity) {
		long id;

		w_begin(w, "IOASID_ALLOC IDENTITY");
		id = do_alloc_flags(r->fd, IOMMU_IOASID_IDENTITY);
		w_end(w);
		if (id <= 0) {
			w_fail(w, "IOASID_ALLOC IDENTITY: %s", resname(id));
			return;
		}
		w->v[R_IOASID] = id;
	} else {
		W_MUST(w, "MAP_DMA", do_map(r->fd, (__u32)r->ioasid, p, REUSE_IOVA, PAGE, RW));
	}
	w->v[R_READY] = 1;
	if (w_wait_go(w, 1, 20000) != 0)
		w_fail(w, "never told to exit");
}

/* C2, the unrelated process with C1's pid: its own page at A. */
static void pid_heir(struct watch *w, void *arg)
{
	struct reuse *r = arg;
	struct iommu_stats s;
	char *p = fixed_page(NEW_TEXT);

	if (!p) {
		w_fail(w, "mmap at 0x%lx: %s", FIXED_VA, strerror(errno));
		return;
	}
	w->v[R_READY] = 1;
	if (w_wait_go(w, 1, 20000) != 0) {
		w_fail(w, "never asked to look");
		return;
	}
	w->v[R_INTACT] = strcmp(p, NEW_TEXT) == 0;
	memcpy(w->text, p, sizeof(w->text) - 1);
	memset(&s, 0, sizeof(s));
	s.argsz = sizeof(s);
	w->v[R_STATS] = w_io(w, "GET_STATS", r->fd, IOMMU_GET_STATS, &s);
	w->v[R_LOCKED] = (long)s.locked_pages;
	w->v[R_DONE] = 1;
}

/*
 * Forks a child that gets pid `want` (ns_last_pid = want - 1, then fork; a
 * few tries: another fork may come between).  The child runs fn like
 * spawn().  The pid, or -1 with why set.
 */
static pid_t spawn_as(int line, pid_t want, struct watch *w, child_fn fn, void *arg)
{
	int tries;
	pid_t pid = -1;

	for (tries = 0; tries < 10; tries++) {
		char num[32];
		int f = open("/proc/sys/kernel/ns_last_pid", O_WRONLY), n;

		if (f < 0) {
			failf(line, "cannot test: open /proc/sys/kernel/ns_last_pid: %s",
			      strerror(errno));
			return -1;
		}
		n = snprintf(num, sizeof(num), "%d", (int)want - 1);
		if (write(f, num, (size_t)n) != n) {
			failf(line, "cannot test: write ns_last_pid: %s", strerror(errno));
			close(f);
			return -1;
		}
		close(f);
		memset((void *)w, 0, sizeof(*w));
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			if (getpid() != want)
				_exit(0);
			w->pid = want;
			fn(w, arg);
			if (w->state == W_RUNNING)
				w->state = W_DONE;
			_exit(0);
		}
		if (pid == want) {
			w->pid = pid;
			note_kid(pid, 0);
			return pid;
		}
		if (pid > 0)
			reap_within(pid, 1000, NULL);
	}
	failf(line, "cannot test: could not make a child reuse pid %d through ns_last_pid in %d"
	      " tries (the last got %d)", (int)want, tries, (int)pid);
	return -1;
}

/* The first owner runs, is checked alive, then exits and is reaped: its pid. */
static pid_t owner_lives_and_dies(int line, struct ctx *c, struct reuse *r, struct watch *w,
				  __u64 iova, long *identity_id)
{
	struct iommu_sim_dma d;
	char back[64];
	pid_t pid;
	long k;

	step("the first owner sets up");
	pid = spawn(w, first_owner, r);
	CHECK_LINE(pid > 0, "fork: %s", strerror(errno));
	TRY(watch_until(line, "the first owner", w, R_READY, 1, 5000, 5000));
	if (r->identity) {
		*identity_id = w->v[R_IOASID];
		k = do_attach(c->a, NIC, (__u32)*identity_id, NO_PASID);
		CHECK_LINE(k == 0, "attach nic0 to the first owner's identity IOASID: %s",
			   resname(k));
	}
	/* Alive, the owner is reached: the setup works. */
	memset(back, 0, sizeof(back));
	k = do_dma(c->a, NIC, iova, back, sizeof(OLD_TEXT), 0, NO_PASID, &d);
	CHECK_LINE(k == 0 && d.status == IOMMU_SIM_DMA_OK && strcmp(back, OLD_TEXT) == 0,
		   "a DMA read through the live owner's %s: %s, status %u, \"%.30s\"",
		   r->identity ? "identity IOASID" : "mapping", resname(k), d.status, back);
	w->go = 1;
	CHECK_LINE(reap_kid(pid, REAP_LIMIT_MS, NULL), "the first owner did not exit");
	CHECK_LINE(w->state == W_DONE, "the first owner: %s", w->why);
	return pid;
}

/* C1 maps its page, exits; C2 gets its pid and a page at the same address. */
static int t_pid_reuse_mapping(struct ctx *c)
{
	struct watch *w1 = watch_new(), *w2 = watch_new();
	struct reuse r;
	struct iommu_sim_dma d;
	char back[64], msg[sizeof(why)] = "";
	pid_t old;
	long id, rd, wr;
	int n = 0;

	CHECK(w1 && w2, "mmap: %s", strerror(errno));
	id = do_alloc(c->a);
	CHECK_OK("IOASID_ALLOC", id);
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", NIC));
	CHECK_OK("attach nic0", do_attach(c->a, NIC, (__u32)id, NO_PASID));
	r.fd = c->a;
	r.ioasid = id;
	r.identity = 0;
	old = owner_lives_and_dies(__LINE__, c, &r, w1, REUSE_IOVA, NULL);
	if (old < 0)
		return -1;

	step("a new process takes pid %d", (int)old);
	if (spawn_as(__LINE__, old, w2, pid_heir, &r) < 0)
		return -1;
	WATCH_UNTIL("the new process", w2, R_READY, 1, 5000, 5000);

	/* The device reads and writes X: the owner is gone. */
	step("DMA through the dead owner's mapping");
	memset(back, 0, sizeof(back));
	rd = do_dma(c->a, NIC, REUSE_IOVA, back, sizeof(NEW_TEXT), 0, NO_PASID, &d);
	if (rd != -EFAULT)
		n += snprintf(msg + n, sizeof(msg) - n, "DMA read of X: expected EFAULT, got %s"
			      "%s%.32s%s; ", resname(rd), rd == 0 ? " returning \"" : "",
			      rd == 0 ? back : "", rd == 0 ? "\"" : "");
	wr = do_dma(c->a, NIC, REUSE_IOVA, BAD_TEXT, sizeof(BAD_TEXT), 1, NO_PASID, &d);
	if (wr != -EFAULT)
		n += snprintf(msg + n, sizeof(msg) - n, "DMA write of X: expected EFAULT, got %s; ",
			      resname(wr));
	w2->go = 1;
	WATCH_UNTIL("the new process", w2, R_DONE, 1, 5000, 5000);
	if (!w2->v[R_INTACT])
		n += snprintf(msg + n, sizeof(msg) - n, "the new process's page now holds \"%.32s\""
			      " (expected \"%s\"); ", w2->text, NEW_TEXT);
	if (w2->v[R_STATS] != 0 || w2->v[R_LOCKED] != 0)
		n += snprintf(msg + n, sizeof(msg) - n, "its GET_STATS: %s, locked_pages %ld"
			      " (expected 0: it never mapped anything); ", resname(w2->v[R_STATS]),
			      w2->v[R_LOCKED]);
	CHECK(n == 0, "pid %d reused: %s(the daemon took the new process for the dead owner)",
	      (int)old, msg);
	return 0;
}

/* C1 allocates an identity IOASID, exits; C2 gets its pid, a marker at A. */
static int t_pid_reuse_identity(struct ctx *c)
{
	struct watch *w1 = watch_new(), *w2 = watch_new();
	struct reuse r;
	struct iommu_sim_dma d;
	char back[64];
	long identity = 0, rd;
	pid_t old;

	CHECK(w1 && w2, "mmap: %s", strerror(errno));
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", NIC));
	r.fd = c->a;
	r.ioasid = 0;
	r.identity = 1;
	old = owner_lives_and_dies(__LINE__, c, &r, w1, FIXED_VA, &identity);
	if (old < 0)
		return -1;

	step("a new process takes pid %d", (int)old);
	if (spawn_as(__LINE__, old, w2, pid_heir, &r) < 0)
		return -1;
	WATCH_UNTIL("the new process", w2, R_READY, 1, 5000, 5000);
	step("DMA through the dead owner's identity IOASID");
	memset(back, 0, sizeof(back));
	rd = do_dma(c->a, NIC, FIXED_VA, back, sizeof(NEW_TEXT), 0, NO_PASID, &d);
	CHECK(rd == -EFAULT, "pid %d reused: a DMA read of IOVA 0x%lx through the dead owner's"
	      " identity IOASID: expected EFAULT, got %s%s%.32s%s", (int)old, FIXED_VA,
	      resname(rd), rd == 0 ? " returning \"" : "", rd == 0 ? back : "",
	      rd == 0 ? "\" (the new process's memory)" : "");
	return 0;
}

/* ===========================================================================
 * 2. Page requests left unanswered: PRI credits and the daemon's memory
 * ======================================================================== */

/*
 * A PCIe function has a finite Outstanding Page Request Allocation: it never
 * has more page requests in flight than its credits, and the IOMMU driver
 * never holds more of its stalled work.  The daemon models that with
 * IOMMU_DEVICE_INFO_CAP_PRI: at max_requests outstanding (or DMAs held),
 * SIM_DMA and a recoverable SIM_INJECT_FAULT fail with EBUSY, so a client
 * that never answers cannot make the daemon hold unbounded memory.
 */
#define PR_IOVA		0x40000000ULL	/* nothing is ever mapped from here */

/* accel0 in c->a: bound, attached (RID) to a fresh IOASID, page requests
 * reported to c->a and never timed out. */
static int pri_setup(int line, struct ctx *c)
{
	struct iommu_fault_region_info info;
	long id = do_alloc(c->a), r;

	CHECK_LINE(id > 0, "IOASID_ALLOC: %s", resname(id));
	r = do_bind(c->a, "accel0", ACCEL);
	CHECK_LINE(r == 0, "bind accel0: %s", resname(r));
	r = do_attach(c->a, ACCEL, (__u32)id, NO_PASID);
	CHECK_LINE(r == 0, "attach accel0: %s", resname(r));
	r = do_register(c->a, ACCEL);
	CHECK_LINE(r == 0, "REGISTER accel0: %s", resname(r));
	r = region_info(c->a, IOMMU_FAULT_REGION_SET_TIMEOUT, 0, 0, &info);
	CHECK_LINE(r == 0, "SET_TIMEOUT 0: %s", resname(r));
	return 0;
}

/* Up to n records (poll()ed first, 1 s): how many, -errno, or -ETIMEDOUT. */
static long read_records(int fd, struct iommu_fault_record *recs, size_t n)
{
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t r;

	if (poll(&p, 1, 1000) != 1)
		return -ETIMEDOUT;
	r = read(fd, recs, n * sizeof(*recs));
	return r < 0 ? -(long)errno : (long)(r / (ssize_t)sizeof(*recs));
}

static long pri_cap(int fd, struct iommu_info_cap_pri *cap)
{
	memset(cap, 0, sizeof(*cap));
	return do_get_cap(fd, ACCEL, IOMMU_DEVICE_INFO_CAP_PRI, cap, sizeof(*cap));
}

/* The cap says outstanding/held; `when` names the moment. */
static int pri_counts(int line, int fd, __u32 outstanding, __u32 held, const char *when)
{
	struct iommu_info_cap_pri cap;
	long r = pri_cap(fd, &cap);

	CHECK_LINE(r == 0, "accel0's IOMMU_DEVICE_INFO_CAP_PRI %s: %s", when,
		   r == -ENOENT ? "not in the GET_INFO chain" : resname(r));
	CHECK_LINE(cap.outstanding == outstanding && cap.held_dmas == held,
		   "CAP_PRI %s: outstanding %u, held_dmas %u; expected %u and %u", when,
		   cap.outstanding, cap.held_dmas, outstanding, held);
	return 0;
}

#define PRI_COUNTS(fd, o, h, when) TRY(pri_counts(__LINE__, fd, o, h, when))

/* GET_INFO shows the credits: accel0 (PRI) has the cap, nic0 does not. */
static int t_pri_cap_reported(struct ctx *c)
{
	struct iommu_info_cap_pri cap;
	long r;

	CHECK_OK("bind accel0", do_bind(c->a, "accel0", ACCEL));
	CHECK_OK("bind nic0", do_bind(c->a, "nic0", NIC));
	r = pri_cap(c->a, &cap);
	CHECK(r == 0, "accel0 (PRI): IOMMU_DEVICE_INFO_CAP_PRI %s",
	      r == -ENOENT ? "is not in the GET_INFO chain" : resname(r));
	CHECK(cap.header.version >= 1 && cap.max_requests == IOMMU_PRI_REQUESTS_DEFAULT &&
	      cap.outstanding == 0 && cap.held_dmas == 0 && cap.__reserved == 0,
	      "accel0's CAP_PRI: version %u max_requests %u outstanding %u held_dmas %u reserved"
	      " %u; expected version >= 1, %u, 0, 0, 0", cap.header.version, cap.max_requests,
	      cap.outstanding, cap.held_dmas, cap.__reserved, IOMMU_PRI_REQUESTS_DEFAULT);
	memset(&cap, 0, sizeof(cap));
	r = do_get_cap(c->a, NIC, IOMMU_DEVICE_INFO_CAP_PRI, &cap, sizeof(cap));
	CHECK(r == -ENOENT, "nic0 (no PRI): CAP_PRI lookup gave %s, expected no such capability",
	      resname(r));
	return 0;
}

/*
 * max_requests DMAs stall on page requests; the next SIM_DMA and a
 * recoverable injection are refused with EBUSY; answering one request frees
 * nothing until its DMA is reaped (the daemon still holds it); then one more
 * DMA is accepted.
 */
static int t_pri_credits(struct ctx *c)
{
	struct iommu_info_cap_pri cap;
	struct iommu_fault_record rec;
	struct iommu_sim_dma d;
	struct iommu_sim_dma_status s;
	static __u64 ids[IOMMU_PRI_REQUESTS_MAX];
	char data[8];
	__u32 max, i;
	long r;

	TRY(pri_setup(__LINE__, c));
	max = pri_cap(c->a, &cap) == 0 ? cap.max_requests : IOMMU_PRI_REQUESTS_DEFAULT;
	CHECK(max >= 1 && max <= IOMMU_PRI_REQUESTS_MAX, "CAP_PRI max_requests %u", max);
	step("%u DMAs stall on page requests", max);
	for (i = 0; i < max; i++) {
		r = do_dma(c->a, ACCEL, PR_IOVA + i * PAGE, data, sizeof(data), 0, NO_PASID, &d);
		CHECK(r == 0 && d.status == IOMMU_SIM_DMA_PENDING, "DMA %u of %u to an unmapped"
		      " IOVA: %s, status %u; expected PENDING", i + 1, max, resname(r), d.status);
		ids[i] = d.dma_id;
	}
	r = do_dma(c->a, ACCEL, PR_IOVA + max * PAGE, data, sizeof(data), 0, NO_PASID, &d);
	CHECK(r == -EBUSY, "SIM_DMA with %u page requests outstanding (max_requests): expected"
	      " EBUSY, got %s%s", max, resname(r), r == 0 && d.status == IOMMU_SIM_DMA_PENDING ?
	      " and one more stalled DMA held (no PRI credits)" : "");
	r = inject(c->a, IOMMU_SIM_FAULT_RECOVERABLE, ACCEL, 0, 0, PR_IOVA, IOMMU_FAULT_PERM_READ, 0);
	CHECK(r == -EBUSY, "a recoverable SIM_INJECT_FAULT with %u page requests outstanding:"
	      " expected EBUSY, got %s", max, resname(r));
	PRI_COUNTS(c->a, max, max, "at the limit");

	/* Answer the first request: its DMA ends, but is held until reaped. */
	r = read_records(c->a, &rec, 1);
	CHECK(r == 1 && (rec.flags & IOMMU_FAULT_RECORD_RECOVERABLE),
	      "read() of the first page request: %s",
	      r == -ETIMEDOUT ? "no record within 1 s" : resname(r));
	i = (__u32)((rec.addr - PR_IOVA) / PAGE);
	CHECK(i < max, "the first record is at 0x%llx, none of the DMAs'",
	      (unsigned long long)rec.addr);
	CHECK_OK("PAGE_RESPONSE INVALID", respond(c->a, ACCEL, rec.grpid, IOMMU_PAGE_RESP_INVALID));
	PRI_COUNTS(c->a, max - 1, max, "after one answer (its DMA not reaped yet)");
	r = do_dma(c->a, ACCEL, PR_IOVA + max * PAGE, data, sizeof(data), 0, NO_PASID, &d);
	CHECK(r == -EBUSY, "SIM_DMA with %u DMAs held (one answered, not reaped): expected EBUSY,"
	      " got %s", max, resname(r));
	r = dma_status(c->a, ids[i], &s);
	CHECK(r == 0 && s.status == IOMMU_SIM_DMA_ABORTED, "SIM_DMA_STATUS of the answered DMA:"
	      " %s, status %u; expected ABORTED", resname(r), s.status);
	PRI_COUNTS(c->a, max - 1, max - 1, "after reaping it");
	r = do_dma(c->a, ACCEL, PR_IOVA + max * PAGE, data, sizeof(data), 0, NO_PASID, &d);
	CHECK(r == 0 && d.status == IOMMU_SIM_DMA_PENDING, "SIM_DMA with a credit free again: %s,"
	      " status %u; expected PENDING", resname(r), d.status);
	PRI_COUNTS(c->a, max, max, "at the limit again");
	return 0;
}

/*
 * A stalled DMA may carry up to 1 MiB (a write's data is read at the start).
 * One client that asks again and again, never answering, must not make the
 * daemon grow past what the credits hold (16 DMAs: 16 MiB): its RSS grows
 * by less than 48 MiB (without credits, 96 DMAs grew it by 95 MiB).  The
 * bound is on growth, not size: a sanitizer build starts far above 64 MiB.
 */
#define BIG_DMA		IOMMU_SIM_DMA_MAX	/* 1 MiB */
#define BIG_TRIES	96
#define RSS_GROWTH_KIB	(48L * 1024)

static int t_pri_memory_bounded(struct ctx *c)
{
	unsigned char *buf = pages(BIG_DMA / PAGE);
	struct iommu_sim_dma d;
	long before, after, r;
	int i, pending = 0, busy = 0;
	pid_t daemon = main_daemon_pid();

	CHECK(buf != NULL, "mmap: %s", strerror(errno));
	CHECK(daemon > 0, "cannot find the daemon's pid (/proc/*/comm \"cuse-iommu\")");
	memset(buf, 0xa5, BIG_DMA);
	TRY(pri_setup(__LINE__, c));
	before = vm_rss_kib(daemon);
	CHECK(before > 0, "cannot read VmRSS of pid %d", (int)daemon);
	step("%d DMA writes of 1 MiB into unmapped IOVAs", BIG_TRIES);
	for (i = 0; i < BIG_TRIES; i++) {
		r = do_dma(c->a, ACCEL, PR_IOVA + (__u64)i * 2 * BIG_DMA, buf, BIG_DMA, 1, NO_PASID,
			   &d);
		if (r == 0 && d.status == IOMMU_SIM_DMA_PENDING)
			pending++;
		else if (r == -EBUSY)
			busy++;
		else
			CHECK(0, "1 MiB DMA %d: %s, status %u; expected PENDING or EBUSY", i + 1,
			      resname(r), d.status);
	}
	after = vm_rss_kib(daemon);
	CHECK(after > 0 && after - before < RSS_GROWTH_KIB, "the daemon's VmRSS is %ld KiB after %d"
	      " DMAs of 1 MiB (%d held PENDING, %d refused EBUSY), %ld KiB before; expected it to"
	      " grow by less than %ld KiB", after, BIG_TRIES, pending, busy, before, RSS_GROWTH_KIB);
	CHECK(busy > 0, "all %d DMAs of 1 MiB were held PENDING (no EBUSY), yet VmRSS stayed at %ld"
	      " KiB", BIG_TRIES, after);
	return 0;
}

/* ===========================================================================
 * 3. SIGKILL at any moment
 * ======================================================================== */

/*
 * A client can die at any instruction: between two calls, in the middle of
 * one (the kernel then interrupts the request), blocked in read().  Each
 * round's child does random work and is SIGKILLed once it has made a random
 * number of calls and a random 0-5 ms more have passed.  Whatever
 * it held -- bound devices, IOASIDs, mappings, page requests, consumers --
 * goes with its file, as the kernel's release() tears it all down, and its
 * process is always reaped.
 */
#define KILL_ROUNDS	50
#define KILL_MAX_CALLS	30	/* the child has made 0..30 calls, */
#define KILL_MAX_US	5000	/* then 0..5 ms more pass before the SIGKILL */

/* The child: random work on its own open until the SIGKILL. */
static void random_work(struct watch *w, void *arg)
{
	unsigned seed = *(unsigned *)arg;
	unsigned char *buf = pages(4);
	struct iommu_fault_region_info info;
	struct iommu_fault_record rec;
	struct iommu_sim_dma d;
	long ids[4] = { 0, 0, 0, 0 }, id;
	int nids = 0, fd;

	srand(seed);
	fd = open(dev_path, O_RDWR);
	w->calls++;
	if (fd < 0 || !buf)
		return;
	memset(buf, 0x5a, 4 * PAGE);
	for (;;) {
		__u64 cookie = 1 + (__u64)(rand() % 2);		/* 1 nic0, 2 accel0 */
		__u64 iova = (__u64)(rand() % 16) * PAGE;
		int op = rand() % 19;	/* 0..8 twice as likely as a read() */

		id = nids ? ids[rand() % nids] : 0;
		switch (op < 18 ? op / 2 : 9) {
		case 0:	do_bind(fd, cookie == 1 ? "nic0" : "accel0", cookie); break;
		case 1:	if (nids < 4 && (id = do_alloc(fd)) > 0)
				ids[nids++] = id;
			break;
		case 2:	do_map(fd, (__u32)id, buf + (rand() % 4) * PAGE, iova, PAGE, RW); break;
		case 3:	do_attach(fd, cookie, (__u32)id, NO_PASID); break;
		case 4:	do_dma(fd, cookie, iova, buf, 64, rand() % 2, NO_PASID, &d); break;
		case 5:	inject(fd, cookie == 2 && rand() % 2 ? IOMMU_SIM_FAULT_RECOVERABLE : 0,
			       cookie, 0, 0, iova, IOMMU_FAULT_PERM_READ, 0);
			break;
		case 6:	do_register(fd, cookie); break;
		case 7:	do_unmap(fd, (__u32)id, iova, PAGE); break;
		case 8:	region_info(fd, IOMMU_FAULT_REGION_SET_TIMEOUT, 0, 0, &info); break;
		default: w->v[2] = 1;	/* in read(): it may wait for the SIGKILL */
			if (read(fd, &rec, sizeof(rec)) < 0)
				w->v[1]++;
			w->v[2] = 0;
			break;
		}
		w->calls++;
	}
}

static int t_sigkill_any_moment(struct ctx *c)
{
	struct iommu_sim_daemon_stats base;
	struct watch *w = watch_new();
	unsigned seed = 20240909;
	long calls_max = 0, calls_sum = 0, r;
	int round, none = 0;

	CHECK(w != NULL, "mmap: %s", strerror(errno));
	CHECK_OK("SIM_DAEMON_STATS", daemon_stats(c->a, &base));
	srand(seed);
	for (round = 0; round < KILL_ROUNDS; round++) {
		unsigned child_seed = seed + (unsigned)round;
		long after = rand() % (KILL_MAX_CALLS + 1), delay = rand() % (KILL_MAX_US + 1);
		struct timespec ts = { 0, delay * 1000L };
		double until = now_ms() + 500;
		pid_t pid;

		step("round %d of %d: SIGKILL after %ld calls and %ld us", round + 1, KILL_ROUNDS,
		     after, delay);
		pid = spawn(w, random_work, &child_seed);
		CHECK(pid > 0, "fork: %s", strerror(errno));
		while (w->calls < after && !w->v[2] && now_ms() < until)
			sleep_ms(1);
		nanosleep(&ts, NULL);
		CHECK(kill_kid(pid, REAP_LIMIT_MS), "round %d (seed %u, after %ld calls and %ld us):"
		      " the child was not reaped %d ms after SIGKILL (in its call %ld)", round + 1,
		      child_seed, after, delay, REAP_LIMIT_MS, w->calls + 1);
		calls_sum += w->calls;
		if (w->calls > calls_max)
			calls_max = w->calls;
		none += w->calls == 0;
	}
	printf("note: %d clients SIGKILLed at random: %ld calls made in all, at most %ld by one,"
	       " %d killed before their open returned\n", KILL_ROUNDS, calls_sum, calls_max, none);
	r = io(c->a, IOMMU_GET_API_VERSION, NULL);
	CHECK(r == IOMMU_API_VERSION, "GET_API_VERSION after the rounds: %s", resname(r));
	TRY(back_to(__LINE__, c->a, &base, 5000, "after the last SIGKILL"));
	return 0;
}

/* ===========================================================================
 * 4. Memory registered with userfaultfd
 * ======================================================================== */

/*
 * userfaultfd lets a process make its own memory fault forever.  In the
 * kernel, copying such memory (an ioctl argument, pages to pin) stalls only
 * the thread that touches it -- the caller -- interruptibly, and a SIGKILL
 * always ends it.  The daemon must likewise never wait on a client's memory
 * while holding what another client's call needs, and a stuck caller must
 * stay killable.
 */
enum { U_READY = 0, U_ALLOC = 1, U_STATS = 4, U_MAP = 7, U_DMA_W = 10, U_DMA_R = 13 };
enum { T_ALLOC, T_STATS, T_MAP, T_DMA_W, T_DMA_R, T_SIGNAL };

/*
 * 4(a): two threads call with their argument struct in userfaultfd memory
 * (IOASID_ALLOC reads it, GET_STATS writes it back); then another thread of
 * the same process makes ordinary calls on the same file, watched.  With
 * the unrestricted CUSE retry the kernel copies the argument in the
 * caller's own thread, so only that thread waits; a daemon that reads
 * arguments itself must keep it so (never waiting on them with anything
 * held that others need).
 */
static void uffd_arg_client(struct watch *w, void *arg)
{
	static struct stuck_call s1, s2;
	const char *dev = arg;
	unsigned char *bad = uffd_pages(2);
	struct iommu_ioasid_alloc a = alloc_arg();
	struct iommu_stats st;
	int fd = open(dev, O_RDWR);
	long id;

	if (fd < 0 || !bad) {
		w_fail(w, "setup: open %s or userfaultfd: %s", dev, strerror(errno));
		return;
	}
	if (start_stuck(&s1, w, fd, IOMMU_IOASID_ALLOC, bad, U_ALLOC, T_ALLOC) != 0 ||
	    start_stuck(&s2, w, fd, IOMMU_GET_STATS, bad + PAGE, U_STATS, T_STATS) != 0) {
		w_fail(w, "pthread_create failed");
		return;
	}
	sleep_ms(300);
	W_MUST(w, "GET_API_VERSION (same process, another thread)",
	     io(fd, IOMMU_GET_API_VERSION, NULL));
	id = w_io(w, "IOASID_ALLOC (same process, another thread)", fd, IOMMU_IOASID_ALLOC, &a);
	if (id <= 0) {
		w_fail(w, "IOASID_ALLOC (same process, another thread): %s", resname(id));
		return;
	}
	W_MUST(w, "GET_STATS (same process, another thread)", ctx_stats(fd, &st));
	W_MUST(w, "IOASID_FREE (same process, another thread)", do_free(fd, (__u32)id));
	w->v[U_READY] = 1;
	for (;;)
		pause();
}

/* What a stuck call did, for a message: "still waiting" or its result. */
static const char *stuck_str(const struct watch *w, int slot)
{
	static char s[2][64];
	static int i;

	i = (i + 1) % 2;
	if (!w->v[slot + 2])
		return "still waiting";
	snprintf(s[i], sizeof(s[i]), "returned %s", resname(w->v[slot + 1]));
	return s[i];
}

/* 4(a) and (b): while the calls are stuck, another client's calls and the
 * same process's other calls each return within 1 s; then SIGKILL reaps the
 * client within 3 s. */
static int t_uffd_arg_others_unaffected(struct ctx *c)
{
	struct watch *p, *u = watch_new();
	pid_t pid;

	(void)c;
	CHECK(u != NULL, "mmap: %s", strerror(errno));
	PROBER_START(dev_path, &p);
	step("a client calls with its arguments in userfaultfd memory");
	pid = spawn(u, uffd_arg_client, (void *)dev_path);
	CHECK(pid > 0, "fork: %s", strerror(errno));
	WATCH_UNTIL("the client's other thread", u, U_READY, 1, 5000, CALL_LIMIT_MS);
	WATCH_FOR(PROBER, p, 1000, CALL_LIMIT_MS);
	printf("note: calls with their argument in userfaultfd memory: IOASID_ALLOC %s,"
	       " GET_STATS %s\n", stuck_str(u, U_ALLOC), stuck_str(u, U_STATS));
	/* (b) SIGKILL ends it, whatever its threads wait on. */
	step("SIGKILL the client");
	CHECK(kill_kid(pid, REAP_LIMIT_MS), "the client was not reaped %d ms after SIGKILL"
	      " (IOASID_ALLOC %s, GET_STATS %s)", REAP_LIMIT_MS, stuck_str(u, U_ALLOC),
	      stuck_str(u, U_STATS));
	WATCH_FOR(PROBER, p, 300, CALL_LIMIT_MS);
	return 0;
}

/*
 * 4(c): a signal with a handler (no SA_RESTART) reaches the thread whose
 * GET_STATS argument lies in userfaultfd memory: the call returns -1
 * (EFAULT, the argument could not be read) within 2 s.  This asks more than
 * the 6.1 kernel itself gives: its copy_from_user faulting on userfaultfd
 * memory ends only on a fatal signal (a kernel-mode fault retries while the
 * signal is not fatal), so a daemon that lets the kernel copy the argument
 * (the unrestricted CUSE retry) cannot pass; one that reads the argument
 * itself can answer the FUSE_INTERRUPT the signal sends it.
 */
static void on_signal(int sig)
{
	(void)sig;
}

static void uffd_signal_client(struct watch *w, void *arg)
{
	static struct stuck_call s;
	const char *dev = arg;
	unsigned char *bad = uffd_pages(1);
	struct sigaction sa;
	pthread_t t;
	double deadline;
	int fd = open(dev, O_RDWR);

	if (fd < 0 || !bad) {
		w_fail(w, "setup: open %s or userfaultfd: %s", dev, strerror(errno));
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	s.w = w;
	s.fd = fd;
	s.cmd = IOMMU_GET_STATS;
	s.arg = bad;
	s.slot = U_STATS;
	s.tslot = T_STATS;
	if (pthread_create(&t, NULL, stuck_main, &s) != 0) {
		w_fail(w, "pthread_create failed");
		return;
	}
	sleep_ms(300);
	w->t[T_SIGNAL] = now_ms();
	deadline = w->t[T_SIGNAL] + 2000;
	while (!w->v[U_STATS + 2] && now_ms() < deadline) {
		pthread_kill(t, SIGUSR1);
		sleep_ms(100);
	}
	w->v[U_READY] = 1;
	for (;;)
		pause();
}

static int t_uffd_arg_signal(struct ctx *c)
{
	struct watch *u = watch_new();
	pid_t pid;
	long r;

	(void)c;
	CHECK(u != NULL, "mmap: %s", strerror(errno));
	step("SIGUSR1 to a thread whose GET_STATS argument is userfaultfd memory");
	pid = spawn(u, uffd_signal_client, (void *)dev_path);
	CHECK(pid > 0, "fork: %s", strerror(errno));
	WATCH_UNTIL("the client", u, U_READY, 1, 5000, CALL_LIMIT_MS);
	CHECK(u->v[U_STATS + 2], "GET_STATS with its argument in userfaultfd memory still waits"
	      " 2 s after SIGUSR1 (a handler, no SA_RESTART); expected -1 (EFAULT)");
	r = u->v[U_STATS + 1];
	CHECK(r == -EFAULT, "GET_STATS with its argument in userfaultfd memory, interrupted by"
	      " SIGUSR1: returned %s %.0f ms after the signal; expected EFAULT", resname(r),
	      u->t[T_STATS] - u->t[T_SIGNAL]);
	CHECK(kill_kid(pid, REAP_LIMIT_MS), "the client was not reaped %d ms after SIGKILL",
	      REAP_LIMIT_MS);
	return 0;
}

/*
 * 4(d): the memory a call makes the daemon touch is userfaultfd memory --
 * MAP_DMA's [vaddr, vaddr+size) (probed, pinned), SIM_DMA's @data (read for
 * a write DMA, written for a read DMA).  The caller may wait; nobody else
 * may, and a SIGKILL ends the caller.  A private daemon: today's one waits
 * on that memory with its lock held, for good.
 */
#define DMA_IOVA	0x100000ULL

static void uffd_dma_client(struct watch *w, void *arg)
{
	static struct stuck_call s1, s2, s3;
	static struct iommu_map_dma m;
	static struct iommu_sim_dma dw, dr;
	const char *dev = arg;
	unsigned char *bad = uffd_pages(3), *good = pages(1);
	int fd = open(dev, O_RDWR);
	long id;

	if (fd < 0 || !bad || !good) {
		w_fail(w, "setup: open %s or userfaultfd: %s", dev, strerror(errno));
		return;
	}
	memset(good, 0x11, PAGE);
	w_begin(w, "IOASID_ALLOC");
	id = do_alloc(fd);
	w_end(w);
	if (id <= 0) {
		w_fail(w, "IOASID_ALLOC: %s", resname(id));
		return;
	}
	W_MUST(w, "MAP_DMA (ordinary memory)", do_map(fd, (__u32)id, good, DMA_IOVA, PAGE, RW));
	W_MUST(w, "bind nic0", do_bind(fd, "nic0", NIC));
	W_MUST(w, "attach nic0", do_attach(fd, NIC, (__u32)id, NO_PASID));
	m = map_arg((__u32)id, bad, DMA_IOVA + PAGE, PAGE, RW);
	dma_arg(&dw, NIC, DMA_IOVA, bad + PAGE, 64, 1, NO_PASID);
	dma_arg(&dr, NIC, DMA_IOVA, bad + 2 * PAGE, 64, 0, NO_PASID);
	if (start_stuck(&s1, w, fd, IOMMU_MAP_DMA, &m, U_MAP, T_MAP) != 0 ||
	    start_stuck(&s2, w, fd, IOMMU_SIM_DMA, &dw, U_DMA_W, T_DMA_W) != 0 ||
	    start_stuck(&s3, w, fd, IOMMU_SIM_DMA, &dr, U_DMA_R, T_DMA_R) != 0) {
		w_fail(w, "pthread_create failed");
		return;
	}
	sleep_ms(300);
	w->v[U_READY] = 1;
	for (;;)
		pause();
}

static int t_uffd_dma_memory(struct ctx *c)
{
	static struct daemon d;
	struct watch *p, *u = watch_new();
	char others[sizeof(why)], calls[200];
	int others_ok, reaped;
	pid_t pid;

	(void)c;
	CHECK(u != NULL, "mmap: %s", strerror(errno));
	DAEMON_START("iommu-uffd-dma", &d);
	PROBER_START(d.dev, &p);
	step("MAP_DMA and SIM_DMA of userfaultfd memory on %s", d.dev);
	pid = spawn(u, uffd_dma_client, d.dev);
	CHECK(pid > 0, "fork: %s", strerror(errno));
	WATCH_UNTIL("the client", u, U_READY, 1, 5000, CALL_LIMIT_MS);
	/* Both halves are checked, and told together: others unaffected, the
	 * client killable. */
	others_ok = watch_for(__LINE__, PROBER, p, 1000, CALL_LIMIT_MS) == 0;
	memcpy(others, why, sizeof(others));
	snprintf(calls, sizeof(calls), "the client's MAP_DMA of userfaultfd memory %s, its DMA"
		 " write from it %s, its DMA read into it %s", stuck_str(u, U_MAP),
		 stuck_str(u, U_DMA_W), stuck_str(u, U_DMA_R));
	step("SIGKILL the client");
	reaped = kill_kid(pid, REAP_LIMIT_MS);
	CHECK(others_ok && reaped, "%s%s%s (%s)", others_ok ? "" : strip_line(others),
	      others_ok || reaped ? "" : "; and ",
	      reaped ? "" : "the client was not reaped 3 s after SIGKILL", calls);
	printf("note: %s\n", calls);
	WATCH_FOR(PROBER " after the SIGKILL", p, 300, CALL_LIMIT_MS);
	return 0;
}

/*
 * 4(e): an owner maps populated pages, then drops them (MADV_DONTNEED) and
 * registers them with userfaultfd: the device's DMA through that mapping,
 * started by another process, must not wait on the owner -- it comes back
 * within 1 s, EFAULT (the owner's memory cannot be reached).  A kernel
 * driver holds the pinned pages themselves and never faults on the owner's
 * behalf.  A private daemon: today's one waits with its lock held until the
 * owner dies.
 */
enum { O_READY, O_DMA_R = 4 };

struct owner_arg {
	int fd;
	long ioasid;
};

static void uffd_owner(struct watch *w, void *arg)
{
	struct owner_arg *o = arg;
	unsigned char *buf = pages(1);
	int uffd;

	if (!buf) {
		w_fail(w, "mmap: %s", strerror(errno));
		return;
	}
	memset(buf, 0x77, PAGE);
	W_MUST(w, "MAP_DMA", do_map(o->fd, (__u32)o->ioasid, buf, DMA_IOVA, PAGE, RW));
	if (madvise(buf, PAGE, MADV_DONTNEED) != 0) {
		w_fail(w, "MADV_DONTNEED: %s", strerror(errno));
		return;
	}
	uffd = uffd_register(buf, PAGE);	/* stays open: the page stays missing */
	if (uffd < 0) {
		w_fail(w, "userfaultfd: %s", strerror(-uffd));
		return;
	}
	w->v[O_READY] = 1;
	for (;;)
		pause();
}

static void dma_reader(struct watch *w, void *arg)
{
	struct owner_arg *o = arg;
	struct iommu_sim_dma d;
	char back[64];

	w_begin(w, "SIM_DMA read through the owner's userfaultfd page");
	w->v[O_DMA_R] = do_dma(o->fd, NIC, DMA_IOVA, back, sizeof(back), 0, NO_PASID, &d);
	w_end(w);
	w->v[O_DMA_R + 1] = d.status;
}

static int t_uffd_owner_memory(struct ctx *c)
{
	static struct daemon dm;
	static struct owner_arg o;
	struct watch *u = watch_new(), *s = watch_new();
	pid_t owner, reader;
	long r;

	(void)c;
	CHECK(u && s, "mmap: %s", strerror(errno));
	DAEMON_START("iommu-uffd-owner", &dm);
	o.fd = open(dm.dev, O_RDWR);	/* never closed: _exit() does it */
	CHECK(o.fd >= 0, "open %s: %s", dm.dev, strerror(errno));
	o.ioasid = do_alloc(o.fd);
	CHECK_OK("IOASID_ALLOC", o.ioasid);
	CHECK_OK("bind nic0", do_bind(o.fd, "nic0", NIC));
	CHECK_OK("attach nic0", do_attach(o.fd, NIC, (__u32)o.ioasid, NO_PASID));
	step("the owner maps a page, drops it and registers it with userfaultfd");
	owner = spawn(u, uffd_owner, &o);
	CHECK(owner > 0, "fork: %s", strerror(errno));
	WATCH_UNTIL("the owner", u, O_READY, 1, 5000, CALL_LIMIT_MS);
	step("another process's DMA through the owner's mapping");
	reader = spawn(s, dma_reader, &o);
	CHECK(reader > 0, "fork: %s", strerror(errno));
	WATCH_DONE("the DMA through the owner's mapping (another process's SIM_DMA)", s, 3000,
		   CALL_LIMIT_MS, NULL, NULL);
	r = s->v[O_DMA_R];
	CHECK(r == -EFAULT, "a DMA read through a mapping whose owner's page is missing and"
	      " userfaultfd-registered: %s (status %ld); expected EFAULT", resname(r),
	      s->v[O_DMA_R + 1]);
	CHECK(kill_kid(owner, REAP_LIMIT_MS), "the owner was not reaped %d ms after SIGKILL",
	      REAP_LIMIT_MS);
	return 0;
}

/* ===========================================================================
 * 5. Thousands of pending requests
 * ======================================================================== */

/*
 * One process with a thousand threads blocked in read() of their own empty
 * fault regions, and 64 more stuck with userfaultfd arguments: the daemon
 * keeps serving everyone else (a blocked read holds no worker thread), and
 * when the process is killed, every request is answered, the process reaped
 * and the thousand contexts reclaimed.
 */
#define READERS		1000
#define UFFD_STUCK	64

enum { K_READY, K_OPENED, K_OPEN_FAILED, K_OPEN_ERRNO, K_READ_RETURNED, K_READ_RESULT,
       K_STUCK };

static pthread_mutex_t k_lock = PTHREAD_MUTEX_INITIALIZER;
static struct watch *k_watch;

static void k_count(int i, long add)
{
	pthread_mutex_lock(&k_lock);
	k_watch->v[i] += add;
	pthread_mutex_unlock(&k_lock);
}

static void *reader_main(void *arg)
{
	struct iommu_fault_record rec;
	int fd = open(dev_path, O_RDWR);
	ssize_t r;

	(void)arg;
	if (fd < 0) {
		k_watch->v[K_OPEN_ERRNO] = errno;
		k_count(K_OPEN_FAILED, 1);
		return NULL;
	}
	k_count(K_OPENED, 1);
	r = read(fd, &rec, sizeof(rec));	/* an empty region: waits */
	k_watch->v[K_READ_RESULT] = r < 0 ? -errno : r;
	k_count(K_READ_RETURNED, 1);
	return NULL;
}

static void *uffd_stats_main(void *arg)
{
	struct stuck_call *s = arg;

	k_count(K_STUCK, 1);
	io(s->fd, s->cmd, s->arg);
	return NULL;
}

static void thousand_client(struct watch *w, void *arg)
{
	static struct stuck_call s;
	struct rlimit rl = { READERS + UFFD_STUCK + 64, READERS + UFFD_STUCK + 64 };
	pthread_attr_t attr;
	pthread_t t;
	int i;

	(void)arg;
	k_watch = w;
	s.fd = open(dev_path, O_RDWR);
	s.cmd = IOMMU_GET_STATS;
	s.arg = uffd_pages(1);
	if (s.fd < 0 || !s.arg || setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		w_fail(w, "setup: open, userfaultfd or RLIMIT_NOFILE: %s", strerror(errno));
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (i = 0; i < READERS + UFFD_STUCK; i++)
		if (pthread_create(&t, &attr, i < READERS ? reader_main : uffd_stats_main,
				   &s) != 0) {
			w_fail(w, "pthread_create of thread %d: failed", i + 1);
			return;
		}
	w->v[K_READY] = 1;
	for (;;)
		pause();
}

static int t_thousand_pending(struct ctx *c)
{
	struct iommu_sim_daemon_stats base, live;
	struct watch *p, *k = watch_new();
	double deadline, t0;
	pid_t pid;

	CHECK(k != NULL, "mmap: %s", strerror(errno));
	CHECK_OK("SIM_DAEMON_STATS", daemon_stats(c->a, &base));
	step("%d threads open and block in read(), %d stuck in userfaultfd", READERS, UFFD_STUCK);
	t0 = now_ms();
	pid = spawn(k, thousand_client, NULL);
	CHECK(pid > 0, "fork: %s", strerror(errno));
	deadline = now_ms() + 20000;
	while (!k->v[K_READY] || k->v[K_OPENED] + k->v[K_OPEN_FAILED] < READERS ||
	       k->v[K_STUCK] < UFFD_STUCK) {
		CHECK(k->state == W_RUNNING, "the client: %s", k->why);
		CHECK(now_ms() < deadline, "20 s after it started, the client's threads have opened"
		      " %ld files (%ld failed) and %ld of %d are stuck in userfaultfd",
		      k->v[K_OPENED], k->v[K_OPEN_FAILED], k->v[K_STUCK], UFFD_STUCK);
		sleep_ms(20);
	}
	CHECK(k->v[K_OPEN_FAILED] == 0, "%ld of %d opens failed (the last: %s)",
	      k->v[K_OPEN_FAILED], READERS, strerror((int)k->v[K_OPEN_ERRNO]));
	sleep_ms(500);
	printf("note: %d reader threads opened their files in %.1f s\n", READERS,
	       (now_ms() - t0) / 1000);
	CHECK(k->v[K_READ_RETURNED] == 0, "%ld blocking read()s of empty regions returned (the"
	      " last: %s)", k->v[K_READ_RETURNED], resname(k->v[K_READ_RESULT]));
	CHECK_OK("SIM_DAEMON_STATS", daemon_stats(c->a, &live));
	CHECK(live.contexts == base.contexts + READERS + 1, "with the client's %d files open: %s,"
	      " baseline %s", READERS + 1, dstats_str(&live), dstats_str(&base));

	PROBER_START(dev_path, &p);
	WATCH_FOR(PROBER, p, 2000, CALL_LIMIT_MS);
	step("SIGKILL the client with %d reads pending", READERS);
	t0 = now_ms();
	CHECK(kill_kid(pid, 5000), "the client with %d reads pending was not reaped 5 s after"
	      " SIGKILL", READERS);
	printf("note: reaped %.1f s after SIGKILL\n", (now_ms() - t0) / 1000);
	WATCH_OK(PROBER, p, CALL_LIMIT_MS);
	CHECK(kill_kid(p->pid, REAP_LIMIT_MS), "the prober was not reaped after SIGKILL");
	TRY(back_to(__LINE__, c->a, &base, 10000, "after the client was reaped"));
	return 0;
}

/* ===========================================================================
 * 6. Tests that may wedge a daemon for good: private instances
 * ======================================================================== */

/* (4(d) and 4(e) above also run on private instances.) */

/*
 * A client's eventfd whose counter is at its maximum (0xfffffffffffffffe; a
 * blocking eventfd, as most programs make it): a write of 1 to it would
 * block.  The kernel's eventfd_signal() never blocks; it saturates.  Every
 * INJECT must return within 1 s, another client's calls too, the eventfd
 * stays readable and the records readable with read(); once the client has
 * read the eventfd, the next fault makes it readable again.
 */
#define EFD_MAX		0xfffffffffffffffeULL
#define EFD_FAULTS	4

static void eventfd_client(struct watch *w, void *arg)
{
	const char *dev = arg;
	struct iommu_fault_record recs[2 * EFD_FAULTS];
	struct pollfd pfd;
	__u64 max = EFD_MAX, v = 0;
	char what[96];
	int fd, efd, i;
	long id, r;

	w_begin(w, "open");
	fd = open(dev, O_RDWR);
	w_end(w);
	efd = eventfd(0, EFD_CLOEXEC);
	if (fd < 0 || efd < 0) {
		w_fail(w, "open %s or eventfd: %s", dev, strerror(errno));
		return;
	}
	w_begin(w, "IOASID_ALLOC");
	id = do_alloc(fd);
	w_end(w);
	if (id <= 0) {
		w_fail(w, "IOASID_ALLOC: %s", resname(id));
		return;
	}
	W_MUST(w, "bind nic0", do_bind(fd, "nic0", NIC));
	W_MUST(w, "attach nic0", do_attach(fd, NIC, (__u32)id, NO_PASID));
	W_MUST(w, "REGISTER nic0", do_register(fd, NIC));
	if (write(efd, &max, sizeof(max)) != (ssize_t)sizeof(max)) {
		w_fail(w, "write(eventfd, 0xfffffffffffffffe): %s", strerror(errno));
		return;
	}
	W_MUST(w, "FAULT_SET_EVENTFD", set_eventfd(fd, efd));
	for (i = 0; i < EFD_FAULTS; i++) {
		snprintf(what, sizeof(what), "INJECT %d of %d (the eventfd counter at its maximum)",
			 i + 1, EFD_FAULTS);
		W_MUST(w, what, inject_simple(fd, NIC, (__u64)(i + 1) * PAGE, IOMMU_FAULT_PERM_READ));
	}
	pfd.fd = efd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) != 1) {
		w_fail(w, "the eventfd is not readable after %d faults", EFD_FAULTS);
		return;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
		w_fail(w, "fcntl O_NONBLOCK: %s", strerror(errno));
		return;
	}
	w_begin(w, "read() of the fault region");
	r = read(fd, recs, sizeof(recs));
	if (r < 0)
		r = -errno;
	w_end(w);
	if (r != EFD_FAULTS * (long)sizeof(recs[0])) {
		w_fail(w, "read() of the fault region: %s; expected the %d records (%ld bytes)",
		       resname(r), EFD_FAULTS, EFD_FAULTS * (long)sizeof(recs[0]));
		return;
	}
	if (read(efd, &v, sizeof(v)) != (ssize_t)sizeof(v) || v == 0) {
		w_fail(w, "read() of the eventfd: %s, counter %llu", strerror(errno),
		       (unsigned long long)v);
		return;
	}
	if (poll(&pfd, 1, 0) != 0) {
		w_fail(w, "the eventfd is still readable after read() reset it");
		return;
	}
	W_MUST(w, "INJECT after the eventfd was read",
	     inject_simple(fd, NIC, 0x100 * PAGE, IOMMU_FAULT_PERM_READ));
	if (poll(&pfd, 1, 1000) != 1)
		w_fail(w, "the eventfd did not become readable again within 1 s of a new fault");
}

static int t_eventfd_saturated(struct ctx *c)
{
	static struct daemon d;
	struct watch *p, *a = watch_new();

	(void)c;
	CHECK(a != NULL, "mmap: %s", strerror(errno));
	DAEMON_START("iommu-eventfd", &d);
	PROBER_START(d.dev, &p);
	step("faults signalled to an eventfd at its maximum, on %s", d.dev);
	CHECK(spawn(a, eventfd_client, d.dev) > 0, "fork: %s", strerror(errno));
	WATCH_DONE("the client with the saturated eventfd", a, 10000, CALL_LIMIT_MS, PROBER, p);
	WATCH_FOR(PROBER, p, 300, CALL_LIMIT_MS);
	return 0;
}

/*
 * SIGTERM stops the daemon within a second even with calls stuck in client
 * memory; afterwards the stuck client is reaped (its calls fail; SIGKILL if
 * needed) within 3 s.  Two kinds of stuck call, each against its own
 * instance: an IOASID_ALLOC whose argument is userfaultfd memory (today the
 * kernel's copy of it waits, in the client's thread), and a MAP_DMA whose
 * range is (today the daemon's probe of it waits, in a daemon worker).  A
 * daemon that will not stop is a machine that will not shut down.
 */
struct term_arg {
	const char *dev;
	int dma_memory;		/* 0: the argument is userfaultfd memory; 1: the range */
};

static void sigterm_client(struct watch *w, void *arg)
{
	static struct stuck_call s;
	static struct iommu_map_dma m;
	const struct term_arg *t = arg;
	unsigned char *bad = uffd_pages(1);
	int fd = open(t->dev, O_RDWR), r;
	long id;

	if (fd < 0 || !bad) {
		w_fail(w, "setup: open %s or userfaultfd: %s", t->dev, strerror(errno));
		return;
	}
	w_begin(w, "IOASID_ALLOC");
	id = do_alloc(fd);
	w_end(w);
	if (id <= 0) {
		w_fail(w, "IOASID_ALLOC: %s", resname(id));
		return;
	}
	m = map_arg((__u32)id, bad, DMA_IOVA, PAGE, RW);
	r = t->dma_memory ? start_stuck(&s, w, fd, IOMMU_MAP_DMA, &m, U_MAP, T_MAP)
			  : start_stuck(&s, w, fd, IOMMU_IOASID_ALLOC, bad, U_ALLOC, T_ALLOC);
	if (r != 0) {
		w_fail(w, "pthread_create failed");
		return;
	}
	sleep_ms(300);
	w->v[U_READY] = 1;
	for (;;)
		pause();
}

static int sigterm_stuck(const char *name, int dma_memory)
{
	static struct daemon d;
	static struct term_arg t;
	struct watch *u = watch_new();
	const char *what = dma_memory ? "MAP_DMA (its range in userfaultfd memory)" :
				       "IOASID_ALLOC (its argument in userfaultfd memory)";
	int slot = dma_memory ? U_MAP : U_ALLOC, status = 0;
	double t0;
	pid_t pid;

	CHECK(u != NULL, "mmap: %s", strerror(errno));
	DAEMON_START(name, &d);
	t.dev = d.dev;
	t.dma_memory = dma_memory;
	step("a client with its %s stuck on %s", what, d.dev);
	pid = spawn(u, sigterm_client, &t);
	CHECK(pid > 0, "fork: %s", strerror(errno));
	WATCH_UNTIL("the client", u, U_READY, 1, 5000, CALL_LIMIT_MS);
	step("SIGTERM the daemon");
	t0 = now_ms();
	kill(d.pid, SIGTERM);
	CHECK(reap_kid(d.pid, 1000, &status), "the daemon did not exit within 1 s of SIGTERM,"
	      " with the client's %s %s", what, stuck_str(u, slot));
	printf("note: the daemon exited (%s) %.0f ms after SIGTERM; the client's %s %s\n",
	       status_str(status), now_ms() - t0, what, stuck_str(u, slot));
	step("SIGKILL the stuck client");
	CHECK(kill_kid(pid, REAP_LIMIT_MS), "the client (its %s %s) was not reaped %d ms after"
	      " SIGKILL, once its daemon had exited", what, stuck_str(u, slot), REAP_LIMIT_MS);
	return 0;
}

static int t_sigterm_stuck_argument(struct ctx *c)
{
	(void)c;
	return sigterm_stuck("iommu-term-arg", 0);
}

static int t_sigterm_stuck_dma_memory(struct ctx *c)
{
	(void)c;
	return sigterm_stuck("iommu-term-dma", 1);
}

/* ---------------------------------------------------------------------------
 * The order: the daemon under /dev/iommu first, from the tests least likely
 * to upset it; then the private instances, which may be wedged for good.
 * ------------------------------------------------------------------------- */

static const struct vm_test tests[] = {
	{ "pid_reuse_mapping_owner", t_pid_reuse_mapping },
	{ "pid_reuse_identity_ioasid", t_pid_reuse_identity },
	{ "pri_cap_reported", t_pri_cap_reported },
	{ "pri_credits_ebusy", t_pri_credits },
	{ "pri_memory_bounded", t_pri_memory_bounded },
	{ "sigkill_any_moment", t_sigkill_any_moment },
	{ "uffd_arg_others_unaffected", t_uffd_arg_others_unaffected },
	{ "uffd_arg_signal_efault", t_uffd_arg_signal },
	{ "thousand_pending_requests", t_thousand_pending },
	{ "uffd_dma_memory", t_uffd_dma_memory },
	{ "uffd_owner_memory_efault", t_uffd_owner_memory },
	{ "eventfd_saturated", t_eventfd_saturated },
	{ "sigterm_stuck_argument", t_sigterm_stuck_argument },
	{ "sigterm_stuck_dma_memory", t_sigterm_stuck_dma_memory },
};

int main(int argc, char **argv)
{
	double t0 = now_ms();
	int rc;

	vm_start(argc, argv);
	signal(SIGPIPE, SIG_IGN);	/* a relay pipe the runner closed: EPIPE, not death */
	run_cleanup = cleanup;
	run_deadline_s = 30;
	rc = run_tests(tests, sizeof(tests) / sizeof(tests[0]), RUN_NOTE_SLOW | RUN_ISOLATED);
	printf("note: vm_hostile_tests took %.1f s\n", (now_ms() - t0) / 1000);
	return rc;
}
