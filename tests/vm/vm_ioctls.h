/* Thin ioctl wrappers shared by the VM test clients: each returns the
 * ioctl's result (>= 0) or -errno.  Strict C99; only cuse-iommu.h + libc. */
#ifndef VM_IOCTLS_H
#define VM_IOCTLS_H

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cuse-iommu.h"

static inline long io(int fd, unsigned long cmd, void *arg)
{
	int r = ioctl(fd, cmd, arg);

	return r < 0 ? -(long)errno : r;
}


static inline long do_map(int fd, __u32 ioasid, const void *vaddr, __u64 iova,
		   __u64 size, __u32 prot)
{
	struct iommu_map_dma m;

	memset(&m, 0, sizeof(m));
	m.argsz = sizeof(m);
	m.flags = prot;
	m.ioasid = ioasid;
	m.vaddr = (__u64)(unsigned long)vaddr;
	m.iova = iova;
	m.size = size;
	return io(fd, IOMMU_MAP_DMA, &m);
}

static inline long do_unmap(int fd, __u32 ioasid, __u64 iova, __u64 size)
{
	struct iommu_unmap_dma u;

	memset(&u, 0, sizeof(u));
	u.argsz = sizeof(u);
	u.ioasid = ioasid;
	u.iova = iova;
	u.size = size;
	return io(fd, IOMMU_UNMAP_DMA, &u);
}

static inline long do_bind(int fd, const char *name, __u64 cookie)
{
	struct iommu_device_bind b;

	memset(&b, 0, sizeof(b));
	b.argsz = sizeof(b);
	strncpy(b.name, name, sizeof(b.name) - 1);
	b.cookie = cookie;
	return io(fd, IOMMU_DEVICE_BIND, &b);
}

static inline long do_unbind(int fd, __u64 cookie)
{
	struct iommu_device_unbind u;

	memset(&u, 0, sizeof(u));
	u.argsz = sizeof(u);
	u.cookie = cookie;
	return io(fd, IOMMU_DEVICE_UNBIND, &u);
}

#define NO_PASID	(-1L)	/* the whole device (its RID) */

static inline long do_attach(int fd, __u64 cookie, __u32 ioasid, long pasid)
{
	struct iommu_device_attach a;

	memset(&a, 0, sizeof(a));
	a.argsz = sizeof(a);
	a.cookie = cookie;
	a.ioasid = ioasid;
	if (pasid != NO_PASID) {
		a.flags = IOMMU_ATTACH_PASID;
		a.pasid = (__u32)pasid;
	}
	return io(fd, IOMMU_DEVICE_ATTACH, &a);
}

static inline long do_detach(int fd, __u64 cookie, long pasid)
{
	struct iommu_device_detach d;

	memset(&d, 0, sizeof(d));
	d.argsz = sizeof(d);
	d.cookie = cookie;
	if (pasid != NO_PASID) {
		d.flags = IOMMU_ATTACH_PASID;
		d.pasid = (__u32)pasid;
	}
	return io(fd, IOMMU_DEVICE_DETACH, &d);
}


#endif /* VM_IOCTLS_H */
