/*
 * libcuse-iommu-fd.so: gives an unmodified, dynamically linked program the
 * file descriptors the iommufd uAPI answers with -- FAULT_QUEUE_ALLOC's
 * fault fd, the selftest's CREATE_ACCESS access fd -- from cuse-iommu.
 *
 *   LD_PRELOAD=libcuse-iommu-fd.so program ...
 *
 * A CUSE daemon cannot put a file into its caller's table, so this wraps
 * ioctl(): when one of those commands goes to a cuse-iommu device (its
 * object node, <device path>-object, exists beside it), it opens the
 * object node, asks for the open file's token and sends the command inside
 * CUSE_IOMMUFD_OBJECT_FD_CALL, which binds the new object to that file
 * and writes its number where upstream writes the new fd.  Everything else
 * goes to the real ioctl() untouched.  See docs/iommufd.md, "File
 * descriptors".  C, with only libc and the uapi header: it runs inside
 * other people's programs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cuse-iommu-iommufd.h"
#include "object_node_path.h"

typedef int (*ioctl_fn)(int, unsigned long, ...);

static int real_ioctl(int fd, unsigned long request, void *arg)
{
	static ioctl_fn next;

	if (!next)
		next = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
	if (!next) {
		errno = ENOSYS;
		return -1;
	}
	return next(fd, request, arg);
}

/*
 * Does this command answer with a new fd?  TEST_CMD's op is read without
 * trusting arg: a bad pointer is the daemon's to answer (EFAULT), not a
 * crash here.
 */
static int answers_fd(unsigned long request, void *arg)
{
	struct iovec local, remote;
	__u32 op = 0;

	if (request == IOMMU_FAULT_QUEUE_ALLOC)
		return 1;
	if (request != IOMMU_TEST_CMD || !arg)
		return 0;
	local.iov_base = &op;
	local.iov_len = sizeof(op);
	remote.iov_base = (char *)arg + offsetof(struct iommu_test_cmd, op);
	remote.iov_len = sizeof(op);
	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != sizeof(op))
		return 0;
	return op == IOMMU_TEST_OP_CREATE_ACCESS;
}

static int object_fd_call(int fd, unsigned long request, void *arg, const char *node)
{
	struct cuse_iommufd_object_fd_call call;
	__u64 token = 0;
	int object_fd, rc, saved;

	/* CLOEXEC, as the kernel's get_unused_fd_flags(O_CLOEXEC). */
	object_fd = open(node, O_RDWR | O_CLOEXEC);
	if (object_fd < 0)
		return -1;
	if (real_ioctl(object_fd, CUSE_IOMMUFD_OBJECT_TOKEN, &token)) {
		saved = errno;
		close(object_fd);
		errno = saved;
		return -1;
	}
	memset(&call, 0, sizeof(call));
	call.size = sizeof(call);
	call.cmd = (__u32)request;
	call.object_fd = object_fd;
	call.object_token = token;
	call.arg = (uintptr_t)arg;
	rc = real_ioctl(fd, CUSE_IOMMUFD_OBJECT_FD_CALL, &call);
	if (rc < 0) {
		saved = errno;
		close(object_fd);
		errno = saved;
	}
	return rc;
}

int ioctl(int fd, unsigned long request, ...)
{
	char node[PATH_MAX];
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (answers_fd(request, arg) && cuse_iommu_object_node_of(fd, node, sizeof(node)) == 0)
		return object_fd_call(fd, request, arg, node);
	return real_ioctl(fd, request, arg);
}
