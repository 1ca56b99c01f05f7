/*
 * cuse-iommu-fd-launch: gives a program that cannot take an LD_PRELOAD (a
 * static binary) the file descriptors the iommufd uAPI answers with --
 * FAULT_QUEUE_ALLOC's fault fd, the selftest's CREATE_ACCESS access fd --
 * from cuse-iommu.
 *
 *   cuse-iommu-fd-launch [--] PROGRAM [ARGS...]
 *
 * It starts PROGRAM under a seccomp filter that hands those two ioctl()s
 * to the launcher (seccomp user notification), and lets every other system
 * call through untouched.  For each one, on a cuse-iommu device (its object
 * node, <device path>-object, exists beside it), the launcher does what
 * libcuse-iommu-fd.so does inside a program, from outside:
 *
 *   1. takes a copy of the program's device fd (pidfd_getfd) and reads the
 *      command's struct from the program's memory;
 *   2. opens the object node and asks the open file's token;
 *   3. installs that open file in the program (SECCOMP_IOCTL_NOTIF_ADDFD,
 *      close-on-exec, as the kernel's fds): the program's new fd number;
 *   4. sends the command inside CUSE_IOMMUFD_OBJECT_FD_CALL with the token
 *      and that number, on its copy of the device fd (one open file: the
 *      same context) -- the daemon binds the new object to the file and
 *      writes the number where upstream writes the new fd;
 *   5. writes the struct back into the program and answers the ioctl with
 *      the command's result.
 *
 * A command that fails after step 3 leaves the program an unbound object
 * node fd (the launcher cannot close another process's fd); it is inert.
 * The launcher lives as long as PROGRAM: a descendant that outlives it
 * gets ENOSYS for those two commands.  It needs what a debugger needs of
 * its child (ptrace access: pidfd_getfd, process_vm_readv/writev) and
 * Linux 5.9.  See docs/iommufd.md, "File descriptors".  C, libc only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cuse-iommu-iommufd.h"
#include "object_node_path.h"

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "cuse-iommu-fd-launch: add this architecture's AUDIT_ARCH"
#endif

#define ARGSZ_MAX 4096	/* the daemon answers a larger struct E2BIG */

static int sys_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
static int sys_pidfd_getfd(int pidfd, int fd) { return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0); }

static void die(const char *what)
{
	fprintf(stderr, "cuse-iommu-fd-launch: %s: %s\n", what, strerror(errno));
	exit(125);
}

/* ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC or IOMMU_TEST_CMD, ...) of the native
 * ABI goes to the launcher; everything else is allowed. */
static int install_filter(void)
{
#define LOW(n) (offsetof(struct seccomp_data, args[n]))
#define HIGH(n) (offsetof(struct seccomp_data, args[n]) + 4)
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 0, 7),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, HIGH(1)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, LOW(1)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IOMMU_FAULT_QUEUE_ALLOC, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IOMMU_TEST_CMD, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	};
	struct sock_fprog prog = { sizeof(code) / sizeof(code[0]), code };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
#undef LOW
#undef HIGH
}

/* The thread group of a thread: pidfd_open and process_vm_* want it. */
static pid_t tgid_of(pid_t tid)
{
	char path[64], line[128];
	pid_t tgid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

static int peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

static int poke(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec local = { (void *)buf, len }, remote = { (void *)(uintptr_t)addr, len };

	return process_vm_writev(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

/* One intercepted ioctl, whose device is `device` (the launcher's copy)
 * and whose struct is `buf` (`size` bytes read from the program).  Returns
 * the ioctl's result: >= 0, or -errno. */
static long fd_call(int listener, const struct seccomp_notif *n, pid_t tgid, int device, const char *node,
		    void *buf, __u32 size)
{
	struct seccomp_notif_addfd addfd;
	struct cuse_iommufd_object_fd_call call;
	__u64 token = 0;
	int object, target_fd;
	long rc;

	object = open(node, O_RDWR | O_CLOEXEC);
	if (object < 0)
		return -errno;
	if (ioctl(object, CUSE_IOMMUFD_OBJECT_TOKEN, &token)) {
		rc = -errno;
		close(object);
		return rc;
	}
	memset(&addfd, 0, sizeof(addfd));
	addfd.id = n->id;
	addfd.srcfd = (__u32)object;
	addfd.newfd_flags = O_CLOEXEC;
	target_fd = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd);
	if (target_fd < 0) {
		rc = errno == ENOENT ? -EINTR : -errno;	/* the call went away meanwhile */
		close(object);
		return rc;
	}
	memset(&call, 0, sizeof(call));
	call.size = sizeof(call);
	call.cmd = (__u32)n->data.args[1];
	call.object_fd = target_fd;
	call.object_token = token;
	call.arg = (uintptr_t)buf;
	rc = ioctl(device, CUSE_IOMMUFD_OBJECT_FD_CALL, &call) < 0 ? -errno : 0;
	close(object);	/* the program's copy keeps the open file */
	if (rc == 0 && poke(tgid, n->data.args[2], buf, size))
		rc = -EFAULT;
	return rc;
}

/* Answers one notification: CONTINUE unless it is one of ours on a
 * cuse-iommu device. */
static void handle(int listener, const struct seccomp_notif *n)
{
	struct seccomp_notif_resp resp;
	unsigned char buf[ARGSZ_MAX];
	char node[PATH_MAX];
	pid_t tgid = tgid_of(n->pid);
	int pidfd = -1, device = -1, ours = 0;
	__u32 size = 0, op = 0;
	long rc = 0;

	memset(&resp, 0, sizeof(resp));
	resp.id = n->id;
	if (tgid > 0 && (pidfd = sys_pidfd_open(tgid)) >= 0 &&
	    (device = sys_pidfd_getfd(pidfd, (int)n->data.args[0])) >= 0 &&
	    cuse_iommu_object_node_of(device, node, sizeof(node)) == 0) {
		if (peek(tgid, n->data.args[2], &size, sizeof(size))) {
			ours = 1, rc = -EFAULT;
		} else if (size > ARGSZ_MAX) {
			ours = 1, rc = -E2BIG;
		} else if (size < sizeof(__u32) || peek(tgid, n->data.args[2], buf, size)) {
			ours = 1, rc = size < sizeof(__u32) ? -EINVAL : -EFAULT;
		} else if (n->data.args[1] == IOMMU_FAULT_QUEUE_ALLOC) {
			ours = 1;
		} else if (size >= offsetof(struct iommu_test_cmd, op) + sizeof(op)) {
			memcpy(&op, buf + offsetof(struct iommu_test_cmd, op), sizeof(op));
			ours = op == IOMMU_TEST_OP_CREATE_ACCESS;
		}
		if (ours && rc == 0)
			rc = fd_call(listener, n, tgid, device, node, buf, size);
	}
	if (device >= 0)
		close(device);
	if (pidfd >= 0)
		close(pidfd);
	if (!ours) {
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;	/* not ours: the ioctl runs as it is */
	} else if (rc < 0) {
		resp.error = (__s32)rc;
	} else {
		resp.val = rc;
	}
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) && errno != ENOENT)
		fprintf(stderr, "cuse-iommu-fd-launch: SECCOMP_IOCTL_NOTIF_SEND: %s\n", strerror(errno));
}

/* The child: filter, hand the listener to the parent, exec. */
static void run_child(char **argv, int to_parent, int from_parent)
{
	int listener = install_filter();
	char go;

	if (listener < 0)
		die("seccomp user notification");
	if (write(to_parent, &listener, sizeof(listener)) != sizeof(listener) ||
	    read(from_parent, &go, 1) != 1)
		die("handing over the listener");
	close(listener);
	close(to_parent);
	close(from_parent);
	execvp(argv[0], argv);
	die(argv[0]);
}

int main(int argc, char **argv)
{
	int up[2], down[2], child_listener, listener, pidfd, status;
	struct seccomp_notif n;
	pid_t child;

	if (argc > 1 && strcmp(argv[1], "--") == 0)
		argv++, argc--;
	if (argc < 2) {
		fprintf(stderr, "usage: cuse-iommu-fd-launch [--] PROGRAM [ARGS...]\n");
		return 2;
	}
	if (pipe2(up, O_CLOEXEC) || pipe2(down, O_CLOEXEC))
		die("pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0)
		run_child(argv + 1, up[1], down[0]);
	close(up[1]);
	close(down[0]);
	if (read(up[0], &child_listener, sizeof(child_listener)) != sizeof(child_listener))
		die("the child's listener");
	pidfd = sys_pidfd_open(child);
	if (pidfd < 0 || (listener = sys_pidfd_getfd(pidfd, child_listener)) < 0)
		die("taking the listener");
	if (write(down[1], "g", 1) != 1)
		die("starting the child");
	close(up[0]);
	close(down[1]);
	for (;;) {
		struct pollfd fds[2] = { { listener, POLLIN, 0 }, { pidfd, POLLIN, 0 } };

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (fds[0].revents & POLLIN) {
			memset(&n, 0, sizeof(n));
			if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &n) == 0)
				handle(listener, &n);
			continue;	/* answer everything before looking at the exit */
		}
		if (fds[1].revents & POLLIN)
			break;
	}
	if (waitpid(child, &status, 0) < 0)
		die("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
