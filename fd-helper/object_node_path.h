/*
 * Where the object node of a cuse-iommu device is: shared by the LD_PRELOAD
 * helper and the launcher (C, libc only).
 */
#ifndef CUSE_IOMMU_FD_HELPER_OBJECT_NODE_PATH_H
#define CUSE_IOMMU_FD_HELPER_OBJECT_NODE_PATH_H

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The object node (<device path>-object) beside the device this process's
 * `fd` is open on, into node[size]: 0 if it exists as a character device
 * (then fd is a cuse-iommu device of the iommufd profile), else -1.
 */
static inline int cuse_iommu_object_node_of(int fd, char *node, size_t size)
{
	static const char suffix[] = "-object";
	char link[64];
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, node, size - sizeof(suffix));
	if (n <= 0 || (size_t)n >= size - sizeof(suffix))
		return -1;
	memcpy(node + n, suffix, sizeof(suffix));
	return stat(node, &st) == 0 && S_ISCHR(st.st_mode) ? 0 : -1;
}

#endif
