/*
 * virtio_iommu.c - a virtio-iommu device backend served by /dev/iommu.
 *
 * A VMM that offers its guest a paravirtual IOMMU (virtio-iommu) receives
 * requests -- ATTACH, DETACH, MAP, UNMAP, PROBE -- as little-endian buffers
 * on a virtqueue, and must carry them out on the host.  With /dev/iommu:
 *
 *   virtio-iommu            /dev/iommu
 *   ------------            ----------
 *   a domain                an IOASID (kernel-managed), created by the
 *                           first ATTACH to it, freed with its last DETACH
 *   an endpoint             a bound device (IOMMU_DEVICE_BIND at start-up)
 *   ATTACH / DETACH         IOMMU_DEVICE_ATTACH / IOMMU_DEVICE_DETACH
 *   MAP virt -> phys        IOMMU_MAP_DMA of guest RAM (which is our memory)
 *   UNMAP                   IOMMU_UNMAP_DMA: both refuse to split a mapping
 *   PROBE                   RESV_MEM properties from IOMMU_DEVICE_GET_INFO's
 *                           reserved regions (the MSI window: subtype MSI)
 *
 * The program is both sides: a tiny "guest driver" that builds request
 * buffers exactly as the virtio spec lays them out, and the "device" that
 * parses them (viommu_handle_request) and answers with the spec's status
 * codes.  The DMA itself is real: an endpoint's device writes through the
 * domain into the guest RAM this program allocated.  Last, the seven UNMAP
 * examples of the spec (the sequence QEMU's virtio-iommu qtest encodes) run
 * one by one, each printed with its expected and actual status.
 *
 * Sources: the virtio spec, "IOMMU Device" (virtio 1.2+); Linux
 * include/uapi/linux/virtio_iommu.h (v0.12); QEMU
 * tests/qtest/virtio-iommu-test.c.  The granule is 4 KiB, so the spec's
 * example addresses are read as page numbers.
 * Exit status: 0 only if every request got the status it should.
 */
#define _DEFAULT_SOURCE		/* MAP_ANONYMOUS */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cuse-iommu.h"

/* ===========================================================================
 * Part 1: the virtio-iommu wire format (virtio spec, v0.12 of the device)
 * ======================================================================== */

/* On the wire every multi-byte field is little-endian. */
typedef uint16_t le16;
typedef uint32_t le32;
typedef uint64_t le64;

#define VIRTIO_IOMMU_T_ATTACH		1
#define VIRTIO_IOMMU_T_DETACH		2
#define VIRTIO_IOMMU_T_MAP		3
#define VIRTIO_IOMMU_T_UNMAP		4
#define VIRTIO_IOMMU_T_PROBE		5

#define VIRTIO_IOMMU_S_OK		0
#define VIRTIO_IOMMU_S_IOERR		1
#define VIRTIO_IOMMU_S_UNSUPP		2
#define VIRTIO_IOMMU_S_DEVERR		3
#define VIRTIO_IOMMU_S_INVAL		4
#define VIRTIO_IOMMU_S_RANGE		5
#define VIRTIO_IOMMU_S_NOENT		6
#define VIRTIO_IOMMU_S_FAULT		7
#define VIRTIO_IOMMU_S_NOMEM		8

#define VIRTIO_IOMMU_ATTACH_F_BYPASS	(1u << 0)
#define VIRTIO_IOMMU_MAP_F_READ		(1u << 0)
#define VIRTIO_IOMMU_MAP_F_WRITE	(1u << 1)
#define VIRTIO_IOMMU_MAP_F_MMIO		(1u << 2)

#define VIRTIO_IOMMU_PROBE_T_NONE	0
#define VIRTIO_IOMMU_PROBE_T_RESV_MEM	1
#define VIRTIO_IOMMU_PROBE_T_MASK	0xfff
#define VIRTIO_IOMMU_RESV_MEM_T_RESERVED 0
#define VIRTIO_IOMMU_RESV_MEM_T_MSI	1

struct virtio_iommu_req_head {
	uint8_t	type;
	uint8_t	reserved[3];
};

struct virtio_iommu_req_tail {
	uint8_t	status;
	/* the device zeroes them (the review of "[PATCH v4 5/7] iommu: Add
	 * virtio-iommu driver", Eric Auger and Jean-Philippe Brucker, November 2018) */
	uint8_t	reserved[3];
};

struct virtio_iommu_req_attach {
	struct virtio_iommu_req_head	head;
	le32				domain;
	le32				endpoint;
	le32				flags;
	uint8_t				reserved[4];
	struct virtio_iommu_req_tail	tail;
};

struct virtio_iommu_req_detach {
	struct virtio_iommu_req_head	head;
	le32				domain;
	le32				endpoint;
	uint8_t				reserved[8];
	struct virtio_iommu_req_tail	tail;
};

struct virtio_iommu_req_map {
	struct virtio_iommu_req_head	head;
	le32				domain;
	le64				virt_start;
	le64				virt_end;	/* inclusive */
	le64				phys_start;
	le32				flags;
	struct virtio_iommu_req_tail	tail;
};

struct virtio_iommu_req_unmap {
	struct virtio_iommu_req_head	head;
	le32				domain;
	le64				virt_start;
	le64				virt_end;	/* inclusive */
	uint8_t				reserved[4];
	struct virtio_iommu_req_tail	tail;
};

/* PROBE: the device-readable part; then probe_size bytes of properties
 * and the tail, both device-writable. */
struct virtio_iommu_req_probe {
	struct virtio_iommu_req_head	head;
	le32				endpoint;
	uint8_t				reserved[64];
};

struct virtio_iommu_probe_property {
	le16	type;		/* bits 11:0; 15:12 reserved */
	le16	length;		/* of the value after this header */
};

struct virtio_iommu_probe_resv_mem {
	struct virtio_iommu_probe_property	head;
	uint8_t					subtype;
	uint8_t					reserved[3];
	le64					start;
	le64					end;	/* inclusive */
};

/* The layouts are the spec's, byte for byte (a negative array size stops
 * the compiler otherwise). */
#define SIZE_IS(type, size) typedef char size_of_##type[sizeof(struct type) == (size) ? 1 : -1]
SIZE_IS(virtio_iommu_req_attach, 24);
SIZE_IS(virtio_iommu_req_detach, 24);
SIZE_IS(virtio_iommu_req_map, 40);
SIZE_IS(virtio_iommu_req_unmap, 32);
SIZE_IS(virtio_iommu_req_probe, 72);
SIZE_IS(virtio_iommu_probe_resv_mem, 24);

/* Byte-order helpers that work on any host: read and write the bytes. */
static uint16_t le16_to_cpu(le16 v)
{
	const uint8_t *b = (const uint8_t *)&v;

	return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t le32_to_cpu(le32 v)
{
	const uint8_t *b = (const uint8_t *)&v;

	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t le64_to_cpu(le64 v)
{
	const uint8_t *b = (const uint8_t *)&v;
	uint64_t r = 0;
	int i;

	for (i = 7; i >= 0; i--)
		r = r << 8 | b[i];
	return r;
}

static le16 cpu_to_le16(uint16_t v)
{
	le16 r;
	uint8_t *b = (uint8_t *)&r;

	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	return r;
}

static le32 cpu_to_le32(uint32_t v)
{
	le32 r;
	uint8_t *b = (uint8_t *)&r;
	int i;

	for (i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return r;
}

static le64 cpu_to_le64(uint64_t v)
{
	le64 r;
	uint8_t *b = (uint8_t *)&r;
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return r;
}

static const char *status_name(int s)
{
	static const char *const names[] = {
		"OK", "IOERR", "UNSUPP", "DEVERR", "INVAL", "RANGE", "NOENT", "FAULT", "NOMEM",
	};

	if (s < 0)
		return "(no answer)";
	return s < (int)(sizeof(names) / sizeof(names[0])) ? names[s] : "?";
}

/* ===========================================================================
 * Part 2: the device -- virtio-iommu requests carried out with /dev/iommu
 * ======================================================================== */

#define PAGE		4096ULL			/* the granule: page_size_mask's lowest bit */
#define INPUT_END	((1ULL << 48) - 1)	/* input_range: [0, 2^48 - 1] */
#define PROBE_SIZE	512			/* config.probe_size */
#define RAM_SIZE	(1ULL << 20)		/* the guest's RAM: GPA [0, 1 MiB) */
#define NR_ENDPOINTS	2
#define MAX_DOMAINS	16

struct domain {
	int	 in_use;
	uint32_t id;		/* the guest's domain number */
	int	 ioasid;	/* what stands for it in /dev/iommu */
	int	 endpoints;	/* attached to it; at 0 the domain ceases to exist */
};

struct endpoint {
	uint32_t	id;	/* the guest's endpoint ID */
	const char	*device;/* the topology device behind it */
	uint64_t	cookie;	/* our name for it in /dev/iommu */
	struct domain	*domain;
};

struct viommu {
	int		fd;		/* /dev/iommu */
	unsigned char	*ram;		/* guest RAM: GPA g is ram + g */
	struct endpoint	ep[NR_ENDPOINTS];
	struct domain	dom[MAX_DOMAINS];
	uint64_t	last_unmapped;	/* bytes the last UNMAP removed (for the printout) */
};

/*
 * Every /dev/iommu call the device makes is shown, indented, under the line
 * that reports the request: trace() collects the lines while the request is
 * served, flush_trace() prints them once the answer has been shown.
 */
static char trace_buf[4096];
static size_t trace_len;

static void trace(const char *fmt, ...)
{
	size_t room = sizeof(trace_buf) - trace_len;
	va_list ap;
	int n;

	n = snprintf(trace_buf + trace_len, room, "        /dev/iommu: ");
	if (n < 0 || (size_t)n >= room)
		return;
	trace_len += (size_t)n;
	room -= (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(trace_buf + trace_len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 1 >= room) {
		trace_buf[trace_len] = '\0';	/* drop a line that does not fit */
		return;
	}
	trace_len += (size_t)n;
	trace_buf[trace_len++] = '\n';
	trace_buf[trace_len] = '\0';
}

static void flush_trace(void)
{
	fputs(trace_buf, stdout);
	trace_len = 0;
	trace_buf[0] = '\0';
}

/* ioctl() as 0 or -errno. */
static int uapi(struct viommu *v, unsigned long cmd, void *arg)
{
	return ioctl(v->fd, cmd, arg) < 0 ? -errno : 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

static struct endpoint *find_endpoint(struct viommu *v, uint32_t id)
{
	int i;

	for (i = 0; i < NR_ENDPOINTS; i++)
		if (v->ep[i].id == id)
			return &v->ep[i];
	return NULL;
}

static struct domain *find_domain(struct viommu *v, uint32_t id)
{
	int i;

	for (i = 0; i < MAX_DOMAINS; i++)
		if (v->dom[i].in_use && v->dom[i].id == id)
			return &v->dom[i];
	return NULL;
}

/* A new domain: a fresh kernel-managed IOASID. */
static struct domain *create_domain(struct viommu *v, uint32_t id)
{
	struct iommu_ioasid_alloc alloc;
	int i, r;

	for (i = 0; i < MAX_DOMAINS && v->dom[i].in_use; i++)
		;
	if (i == MAX_DOMAINS)
		return NULL;
	memset(&alloc, 0, sizeof(alloc));
	alloc.argsz = sizeof(alloc);
	r = ioctl(v->fd, IOMMU_IOASID_ALLOC, &alloc);
	if (r < 0)
		return NULL;
	trace("IOMMU_IOASID_ALLOC -> IOASID %d stands for domain %u", r, id);
	v->dom[i].in_use = 1;
	v->dom[i].id = id;
	v->dom[i].ioasid = r;
	v->dom[i].endpoints = 0;
	return &v->dom[i];
}

/* The domain's last endpoint left: freeing the IOASID drops its mappings. */
static void destroy_domain(struct viommu *v, struct domain *d)
{
	struct iommu_ioasid_free f;

	memset(&f, 0, sizeof(f));
	f.argsz = sizeof(f);
	f.ioasid = (__u32)d->ioasid;
	uapi(v, IOMMU_IOASID_FREE, &f);
	trace("IOMMU_IOASID_FREE IOASID %d: domain %u is gone, with its mappings", d->ioasid,
	      d->id);
	d->in_use = 0;
}

static int device_attach(struct viommu *v, struct endpoint *ep, struct domain *d)
{
	struct iommu_device_attach a;
	int r;

	memset(&a, 0, sizeof(a));
	a.argsz = sizeof(a);
	a.cookie = ep->cookie;
	a.ioasid = (__u32)d->ioasid;
	r = uapi(v, IOMMU_DEVICE_ATTACH, &a);
	trace("IOMMU_DEVICE_ATTACH %s -> IOASID %d: %s", ep->device, d->ioasid,
	      r ? strerror(-r) : "ok");
	return r;
}

static int device_detach(struct viommu *v, struct endpoint *ep)
{
	struct iommu_device_detach dt;
	int r;

	memset(&dt, 0, sizeof(dt));
	dt.argsz = sizeof(dt);
	dt.cookie = ep->cookie;
	r = uapi(v, IOMMU_DEVICE_DETACH, &dt);
	trace("IOMMU_DEVICE_DETACH %s: %s", ep->device, r ? strerror(-r) : "ok");
	return r;
}

static uint8_t viommu_attach(struct viommu *v, const struct virtio_iommu_req_attach *req)
{
	uint32_t domain_id = le32_to_cpu(req->domain);
	struct endpoint *ep = find_endpoint(v, le32_to_cpu(req->endpoint));
	struct domain *dom, *old;
	int r;

	if (!all_zero(req->reserved, sizeof(req->reserved)))
		return VIRTIO_IOMMU_S_INVAL;
	/* BYPASS needs VIRTIO_IOMMU_F_BYPASS_CONFIG, which this device does not
	 * offer; any other bit is unknown. */
	if (le32_to_cpu(req->flags) != 0)
		return VIRTIO_IOMMU_S_INVAL;
	if (!ep)
		return VIRTIO_IOMMU_S_NOENT;
	if (ep->domain && ep->domain->id == domain_id)
		return VIRTIO_IOMMU_S_OK;		/* already there */
	dom = find_domain(v, domain_id);
	if (!dom && !(dom = create_domain(v, domain_id)))
		return VIRTIO_IOMMU_S_NOMEM;

	/* Attached elsewhere: detach first, as if the driver had sent DETACH. */
	old = ep->domain;
	if (old && device_detach(v, ep) != 0)
		return VIRTIO_IOMMU_S_DEVERR;
	r = device_attach(v, ep, dom);
	if (r != 0) {
		/* A rejected request changes nothing: put the endpoint back. */
		if (old)
			device_attach(v, ep, old);
		if (dom->endpoints == 0)
			destroy_domain(v, dom);
		/* ERANGE, EADDRINUSE: the domain's mappings do not fit this
		 * endpoint's IOMMU -- "properties incompatible" in the spec. */
		return r == -ENOMEM ? VIRTIO_IOMMU_S_NOMEM : VIRTIO_IOMMU_S_UNSUPP;
	}
	ep->domain = dom;
	dom->endpoints++;
	if (old && --old->endpoints == 0)
		destroy_domain(v, old);
	return VIRTIO_IOMMU_S_OK;
}

static uint8_t viommu_detach(struct viommu *v, const struct virtio_iommu_req_detach *req)
{
	struct endpoint *ep = find_endpoint(v, le32_to_cpu(req->endpoint));
	struct domain *dom;

	/* The spec: the device MUST ignore reserved here. */
	if (!ep)
		return VIRTIO_IOMMU_S_NOENT;
	dom = ep->domain;
	if (!dom || dom->id != le32_to_cpu(req->domain))
		return VIRTIO_IOMMU_S_INVAL;
	if (device_detach(v, ep) != 0)
		return VIRTIO_IOMMU_S_DEVERR;
	ep->domain = NULL;
	if (--dom->endpoints == 0)
		destroy_domain(v, dom);
	return VIRTIO_IOMMU_S_OK;
}

static uint8_t viommu_map(struct viommu *v, const struct virtio_iommu_req_map *req)
{
	uint64_t start = le64_to_cpu(req->virt_start), end = le64_to_cpu(req->virt_end);
	uint64_t phys = le64_to_cpu(req->phys_start), size;
	uint32_t flags = le32_to_cpu(req->flags);
	struct domain *dom;
	struct iommu_map_dma m;
	int r;

	/* Unknown bits, and MMIO: VIRTIO_IOMMU_F_MMIO is not offered. */
	if (flags & ~(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE))
		return VIRTIO_IOMMU_S_INVAL;
	dom = find_domain(v, le32_to_cpu(req->domain));
	if (!dom)
		return VIRTIO_IOMMU_S_NOENT;
	/* /dev/iommu has no mapping without access rights. */
	if (!(flags & (VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE)))
		return VIRTIO_IOMMU_S_INVAL;
	if (end < start || end > INPUT_END || ((start | phys | (end + 1)) & (PAGE - 1)))
		return VIRTIO_IOMMU_S_RANGE;
	size = end - start + 1;
	if (phys >= RAM_SIZE || size > RAM_SIZE - phys)
		return VIRTIO_IOMMU_S_RANGE;	/* not guest RAM */

	memset(&m, 0, sizeof(m));
	m.argsz = sizeof(m);
	m.flags = ((flags & VIRTIO_IOMMU_MAP_F_READ) ? IOMMU_MAP_DMA_READ : 0) |
		  ((flags & VIRTIO_IOMMU_MAP_F_WRITE) ? IOMMU_MAP_DMA_WRITE : 0);
	m.ioasid = (__u32)dom->ioasid;
	m.vaddr = (__u64)(unsigned long)(v->ram + phys);
	m.iova = start;
	m.size = size;
	r = uapi(v, IOMMU_MAP_DMA, &m);
	trace("IOMMU_MAP_DMA IOASID %d [0x%llx, +0x%llx) -> guest RAM 0x%llx: %s", dom->ioasid,
	      (unsigned long long)start, (unsigned long long)size, (unsigned long long)phys,
	      r ? strerror(-r) : "ok");
	switch (-r) {
	case 0:			return VIRTIO_IOMMU_S_OK;
	case EEXIST:		return VIRTIO_IOMMU_S_INVAL;	/* overlaps a mapping */
	case EADDRINUSE:	return VIRTIO_IOMMU_S_INVAL;	/* overlaps a RESV_MEM region */
	case EINVAL:		return VIRTIO_IOMMU_S_RANGE;	/* beyond an endpoint's aperture */
	case EFAULT:		return VIRTIO_IOMMU_S_FAULT;
	case ENOMEM:
	case ENOSPC:		return VIRTIO_IOMMU_S_NOMEM;
	}
	return VIRTIO_IOMMU_S_DEVERR;
}

static uint8_t viommu_unmap(struct viommu *v, const struct virtio_iommu_req_unmap *req)
{
	uint64_t start = le64_to_cpu(req->virt_start), end = le64_to_cpu(req->virt_end);
	struct domain *dom = find_domain(v, le32_to_cpu(req->domain));
	struct iommu_unmap_dma u;
	int r;

	v->last_unmapped = 0;
	if (!dom)
		return VIRTIO_IOMMU_S_NOENT;
	if (end < start || ((start | (end + 1)) & (PAGE - 1)))
		return VIRTIO_IOMMU_S_RANGE;
	if (start > INPUT_END)
		return VIRTIO_IOMMU_S_OK;	/* nothing can be mapped there */
	if (end > INPUT_END)
		end = INPUT_END;

	/* UNMAP_DMA has the same rule as the spec: every mapping wholly inside
	 * goes; a range that would split one fails and removes nothing. */
	memset(&u, 0, sizeof(u));
	u.argsz = sizeof(u);
	u.ioasid = (__u32)dom->ioasid;
	u.iova = start;
	u.size = end - start + 1;
	r = uapi(v, IOMMU_UNMAP_DMA, &u);
	trace("IOMMU_UNMAP_DMA IOASID %d [0x%llx, +0x%llx): %s", dom->ioasid,
	      (unsigned long long)start, (unsigned long long)(end - start + 1),
	      r == 0 ? "ok" : r == -EINVAL ? "EINVAL (it would split a mapping)" : strerror(-r));
	if (r == -EINVAL)
		return VIRTIO_IOMMU_S_RANGE;
	if (r != 0)
		return VIRTIO_IOMMU_S_DEVERR;
	v->last_unmapped = u.size;	/* bytes actually unmapped */
	return VIRTIO_IOMMU_S_OK;
}

/* Walk a GET_INFO answer's capability chain for capability `id`. */
static const void *find_cap(const void *answer, __u16 id)
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

static uint8_t viommu_probe(struct viommu *v, const struct virtio_iommu_req_probe *req,
			    uint8_t *props, size_t props_len)
{
	static __u64 answer[IOMMU_ARGSZ_MAX / 8];
	struct iommu_device_info *info = (void *)answer;
	const struct iommu_info_cap_resv_regions *cap;
	const struct iommu_resv_region *region;
	struct endpoint *ep = find_endpoint(v, le32_to_cpu(req->endpoint));
	size_t off = 0;
	__u32 i;

	if (!ep)
		return VIRTIO_IOMMU_S_NOENT;
	if (props_len < PROBE_SIZE)
		return VIRTIO_IOMMU_S_INVAL;	/* and no property is written */
	memset(props, 0, props_len);		/* the unused rest: zeroes */

	memset(answer, 0, sizeof(answer));
	info->argsz = sizeof(answer);
	info->cookie = ep->cookie;
	if (uapi(v, IOMMU_DEVICE_GET_INFO, info) != 0)
		return VIRTIO_IOMMU_S_DEVERR;
	cap = find_cap(answer, IOMMU_DEVICE_INFO_CAP_RESV_REGIONS);
	trace("IOMMU_DEVICE_GET_INFO %s: %u reserved region(s)", ep->device,
	      cap ? cap->nr_regions : 0);
	if (!cap)
		return VIRTIO_IOMMU_S_OK;
	region = (const void *)(cap + 1);	/* the regions follow the header */
	for (i = 0; i < cap->nr_regions; i++, region++) {
		struct virtio_iommu_probe_resv_mem prop;

		if (off + sizeof(prop) > PROBE_SIZE)
			return VIRTIO_IOMMU_S_DEVERR;	/* more than probe_size holds */
		memset(&prop, 0, sizeof(prop));
		prop.head.type = cpu_to_le16(VIRTIO_IOMMU_PROBE_T_RESV_MEM);
		prop.head.length = cpu_to_le16(sizeof(prop) - sizeof(prop.head));
		/* MSI stays MSI; RESERVED and DIRECT (which virtio cannot
		 * express) become RESERVED: the guest must not map them. */
		prop.subtype = region->type == IOMMU_RESV_MSI ? VIRTIO_IOMMU_RESV_MEM_T_MSI
							      : VIRTIO_IOMMU_RESV_MEM_T_RESERVED;
		prop.start = cpu_to_le64(region->start);
		prop.end = cpu_to_le64(region->last);
		memcpy(props + off, &prop, sizeof(prop));
		off += sizeof(prop);
	}
	return VIRTIO_IOMMU_S_OK;
}

/*
 * The device's entry point: one request as the driver put it on the request
 * virtqueue.  `req` is the device-readable buffer (head and body), `resp`
 * the device-writable one (for PROBE: probe_size bytes of properties, then
 * the tail; otherwise just the tail).  Returns the used length: how many
 * bytes of resp the device wrote (0: an unknown request, left unanswered).
 */
static size_t viommu_handle_request(struct viommu *v, const void *req, size_t req_len,
				    void *resp, size_t resp_len)
{
	union {
		struct virtio_iommu_req_head	head;
		struct virtio_iommu_req_attach	attach;
		struct virtio_iommu_req_detach	detach;
		struct virtio_iommu_req_map	map;
		struct virtio_iommu_req_unmap	unmap;
		struct virtio_iommu_req_probe	probe;
	} r;
	struct virtio_iommu_req_tail tail;
	const size_t tail_len = sizeof(tail);
	size_t need;
	uint8_t status;

	if (req_len < sizeof(r.head) || resp_len < tail_len)
		return 0;
	memset(&r, 0, sizeof(r));
	memcpy(&r, req, req_len < sizeof(r) ? req_len : sizeof(r));
	switch (r.head.type) {
	case VIRTIO_IOMMU_T_ATTACH:	need = sizeof(r.attach) - tail_len; break;
	case VIRTIO_IOMMU_T_DETACH:	need = sizeof(r.detach) - tail_len; break;
	case VIRTIO_IOMMU_T_MAP:	need = sizeof(r.map) - tail_len; break;
	case VIRTIO_IOMMU_T_UNMAP:	need = sizeof(r.unmap) - tail_len; break;
	case VIRTIO_IOMMU_T_PROBE:	need = sizeof(r.probe); break;
	default:
		/* The spec: do not write the buffer, used length 0. */
		return 0;
	}
	if (req_len < need) {
		status = VIRTIO_IOMMU_S_INVAL;
	} else {
		switch (r.head.type) {
		case VIRTIO_IOMMU_T_ATTACH:	status = viommu_attach(v, &r.attach); break;
		case VIRTIO_IOMMU_T_DETACH:	status = viommu_detach(v, &r.detach); break;
		case VIRTIO_IOMMU_T_MAP:	status = viommu_map(v, &r.map); break;
		case VIRTIO_IOMMU_T_UNMAP:	status = viommu_unmap(v, &r.unmap); break;
		default:
			status = viommu_probe(v, &r.probe, resp, resp_len - tail_len);
			break;
		}
	}
	memset(&tail, 0, sizeof(tail));	/* reserved bytes zeroed */
	tail.status = status;
	memcpy((uint8_t *)resp + resp_len - tail_len, &tail, tail_len);
	return resp_len;
}

/* Start-up: bind the devices behind the endpoints, allocate guest RAM. */
static int viommu_init(struct viommu *v, const char *path)
{
	static const char *const devices[NR_ENDPOINTS] = { "nic0", "legacy0" };
	int i;

	memset(v, 0, sizeof(*v));
	v->fd = open(path, O_RDWR);
	if (v->fd < 0) {
		printf("virtio_iommu: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	v->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->ram == MAP_FAILED) {
		printf("virtio_iommu: mmap: %s\n", strerror(errno));
		return -1;
	}
	memset(v->ram, 0, RAM_SIZE);
	for (i = 0; i < NR_ENDPOINTS; i++) {
		struct iommu_device_bind b;

		v->ep[i].id = (uint32_t)i;
		v->ep[i].device = devices[i];
		v->ep[i].cookie = 0xe000 + (uint64_t)i;
		memset(&b, 0, sizeof(b));
		b.argsz = sizeof(b);
		strncpy(b.name, devices[i], sizeof(b.name) - 1);
		b.cookie = v->ep[i].cookie;
		if (ioctl(v->fd, IOMMU_DEVICE_BIND, &b) < 0) {
			printf("virtio_iommu: IOMMU_DEVICE_BIND %s: %s\n", devices[i], strerror(errno));
			return -1;
		}
	}
	printf("virtio_iommu: the device: page_size_mask 0x%llx, input_range [0, 0x%llx],\n"
	       "virtio_iommu:   domain_range [0, 0xffffffff], probe_size %d; features MAP_UNMAP,\n"
	       "virtio_iommu:   PROBE, INPUT_RANGE, DOMAIN_RANGE (no BYPASS, no MMIO)\n",
	       PAGE, INPUT_END, PROBE_SIZE);
	printf("virtio_iommu: endpoint 0 = nic0 (behind iommu0), endpoint 1 = legacy0 (iommu1);\n"
	       "virtio_iommu:   guest RAM: %llu KiB of this program's memory at GPA 0\n",
	       RAM_SIZE / 1024);
	return 0;
}

/* ===========================================================================
 * Part 3: the guest driver -- builds requests, checks the answers
 * ======================================================================== */

static int failures;

/* Submit a request whose last 4 bytes are the tail (every type but PROBE),
 * as the driver does: all but the tail device-readable, the tail writable.
 * Returns the status, or -1 when the device used no bytes. */
static int submit(struct viommu *v, void *req, size_t len)
{
	struct virtio_iommu_req_tail *tail =
		(void *)((uint8_t *)req + len - sizeof(struct virtio_iommu_req_tail));
	size_t used;

	memset(tail, 0xff, sizeof(*tail));	/* so a tail never written shows */
	used = viommu_handle_request(v, req, len - sizeof(*tail), tail, sizeof(*tail));
	if (used != sizeof(*tail))
		return -1;
	if (!all_zero(tail->reserved, sizeof(tail->reserved))) {
		printf("  [WRONG] the tail's reserved bytes are not zero\n");
		failures++;
	}
	return tail->status;
}

static int send_attach(struct viommu *v, uint32_t domain, uint32_t ep, uint32_t flags,
		       uint8_t reserved0)
{
	struct virtio_iommu_req_attach req;

	memset(&req, 0, sizeof(req));
	req.head.type = VIRTIO_IOMMU_T_ATTACH;
	req.domain = cpu_to_le32(domain);
	req.endpoint = cpu_to_le32(ep);
	req.flags = cpu_to_le32(flags);
	req.reserved[0] = reserved0;
	return submit(v, &req, sizeof(req));
}

static int send_detach(struct viommu *v, uint32_t domain, uint32_t ep)
{
	struct virtio_iommu_req_detach req;

	memset(&req, 0, sizeof(req));
	req.head.type = VIRTIO_IOMMU_T_DETACH;
	req.domain = cpu_to_le32(domain);
	req.endpoint = cpu_to_le32(ep);
	return submit(v, &req, sizeof(req));
}

static int send_map(struct viommu *v, uint32_t domain, uint64_t start, uint64_t end,
		    uint64_t phys, uint32_t flags)
{
	struct virtio_iommu_req_map req;

	memset(&req, 0, sizeof(req));
	req.head.type = VIRTIO_IOMMU_T_MAP;
	req.domain = cpu_to_le32(domain);
	req.virt_start = cpu_to_le64(start);
	req.virt_end = cpu_to_le64(end);
	req.phys_start = cpu_to_le64(phys);
	req.flags = cpu_to_le32(flags);
	return submit(v, &req, sizeof(req));
}

static int send_unmap(struct viommu *v, uint32_t domain, uint64_t start, uint64_t end)
{
	struct virtio_iommu_req_unmap req;

	memset(&req, 0, sizeof(req));
	req.head.type = VIRTIO_IOMMU_T_UNMAP;
	req.domain = cpu_to_le32(domain);
	req.virt_start = cpu_to_le64(start);
	req.virt_end = cpu_to_le64(end);
	return submit(v, &req, sizeof(req));
}

/* PROBE: the properties land in props (props_len bytes, normally probe_size). */
static int send_probe(struct viommu *v, uint32_t ep, uint8_t *props, size_t props_len)
{
	struct virtio_iommu_req_probe req;
	uint8_t writable[PROBE_SIZE + sizeof(struct virtio_iommu_req_tail)];
	struct virtio_iommu_req_tail tail;
	size_t wlen = props_len + sizeof(tail), used;

	memset(&req, 0, sizeof(req));
	req.head.type = VIRTIO_IOMMU_T_PROBE;
	req.endpoint = cpu_to_le32(ep);
	memset(writable, 0xff, sizeof(writable));
	used = viommu_handle_request(v, &req, sizeof(req), writable, wlen);
	if (used != wlen)
		return -1;
	memcpy(props, writable, props_len);
	memcpy(&tail, writable + props_len, sizeof(tail));
	return tail.status;
}

/* One line per request: what was sent, the status expected and the one got. */
static void expect(const char *what, int got, int want)
{
	printf("  [%s] %-44s expected %-6s got %s\n", got == want ? "ok" : "WRONG", what,
	       status_name(want), status_name(got));
	flush_trace();
	if (got != want)
		failures++;
}

static int check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("  [%s] ", ok ? "ok" : "WRONG");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	flush_trace();
	if (!ok)
		failures++;
	return ok;
}

/* How many mappings and IOASIDs the device holds in /dev/iommu right now. */
static void device_counts(struct viommu *v, unsigned long long *mappings, unsigned *ioasids)
{
	struct iommu_stats s;

	memset(&s, 0, sizeof(s));
	s.argsz = sizeof(s);
	if (ioctl(v->fd, IOMMU_GET_STATS, &s) < 0)
		s.mappings = s.ioasids = 0xdead;
	*mappings = s.mappings;
	*ioasids = s.ioasids;
}

/* ---- PROBE ---------------------------------------------------------------- */

/* Parse the RESV_MEM properties of a PROBE answer; print and count them. */
static int parse_resv_mem(const uint8_t *props, uint64_t *msi_start, uint64_t *msi_end,
			  int *reserved)
{
	size_t off = 0;
	int n = 0;

	*reserved = 0;
	while (off + sizeof(struct virtio_iommu_probe_property) <= PROBE_SIZE) {
		struct virtio_iommu_probe_property h;
		struct virtio_iommu_probe_resv_mem r;
		unsigned type, len;

		memcpy(&h, props + off, sizeof(h));
		type = le16_to_cpu(h.type) & VIRTIO_IOMMU_PROBE_T_MASK;
		len = le16_to_cpu(h.length);
		if (type == VIRTIO_IOMMU_PROBE_T_NONE)
			break;
		if (type == VIRTIO_IOMMU_PROBE_T_RESV_MEM && len >= sizeof(r) - sizeof(h)) {
			memcpy(&r, props + off, sizeof(r));
			printf("      RESV_MEM %-8s [0x%llx, 0x%llx]\n",
			       r.subtype == VIRTIO_IOMMU_RESV_MEM_T_MSI ? "MSI" : "RESERVED",
			       (unsigned long long)le64_to_cpu(r.start),
			       (unsigned long long)le64_to_cpu(r.end));
			if (r.subtype == VIRTIO_IOMMU_RESV_MEM_T_MSI) {
				*msi_start = le64_to_cpu(r.start);
				*msi_end = le64_to_cpu(r.end);
			} else {
				(*reserved)++;
			}
			n++;
		}
		off += sizeof(h) + len;	/* the next one: length + 4 bytes on */
	}
	return n;
}

static void probe_endpoints(struct viommu *v)
{
	uint8_t props[PROBE_SIZE];
	uint64_t msi_start = 0, msi_end = 0;
	int status, n, reserved;

	printf("\nvirtio_iommu: PROBE: what each endpoint must not map\n");
	status = send_probe(v, 0, props, PROBE_SIZE);
	expect("PROBE endpoint 0 (nic0)", status, VIRTIO_IOMMU_S_OK);
	n = parse_resv_mem(props, &msi_start, &msi_end, &reserved);
	check(n == 1 && msi_start == 0xfee00000ULL && msi_end == 0xfeefffffULL,
	      "endpoint 0: one RESV_MEM, subtype MSI, the x86 MSI window");

	msi_start = msi_end = 0;
	status = send_probe(v, 1, props, PROBE_SIZE);
	expect("PROBE endpoint 1 (legacy0)", status, VIRTIO_IOMMU_S_OK);
	n = parse_resv_mem(props, &msi_start, &msi_end, &reserved);
	check(n == 2 && reserved == 1 && msi_start == 0xfee00000ULL,
	      "endpoint 1: its IOMMU's host-bridge window (RESERVED) and the MSI window");

	expect("PROBE endpoint 444 (none)", send_probe(v, 444, props, PROBE_SIZE),
	       VIRTIO_IOMMU_S_NOENT);
	expect("PROBE with only 64 bytes for properties", send_probe(v, 0, props, 64),
	       VIRTIO_IOMMU_S_INVAL);
}

/* ---- ATTACH / DETACH ------------------------------------------------------ */

static void attach_detach(struct viommu *v)
{
	unsigned long long mappings;
	unsigned ioasids;

	printf("\nvirtio_iommu: ATTACH and DETACH (QEMU's attach_detach qtest, adapted)\n");
	expect("ATTACH endpoint 0 to domain 0", send_attach(v, 0, 0, 0, 0), VIRTIO_IOMMU_S_OK);
	expect("ATTACH endpoint 444 (none) to domain 0", send_attach(v, 0, 444, 0, 0),
	       VIRTIO_IOMMU_S_NOENT);
	expect("DETACH endpoint 444 (none) from domain 0", send_detach(v, 0, 444),
	       VIRTIO_IOMMU_S_NOENT);
	expect("ATTACH endpoint 0 to domain 1 (a move)", send_attach(v, 1, 0, 0, 0),
	       VIRTIO_IOMMU_S_OK);
	device_counts(v, &mappings, &ioasids);
	check(ioasids == 1, "domain 0 lost its only endpoint and is gone: %u IOASID left",
	      ioasids);
	expect("DETACH endpoint 0 from domain 0", send_detach(v, 0, 0), VIRTIO_IOMMU_S_INVAL);
	expect("DETACH endpoint 0 from domain 1", send_detach(v, 1, 0), VIRTIO_IOMMU_S_OK);
	expect("ATTACH with the BYPASS flag (not offered)",
	       send_attach(v, 1, 0, VIRTIO_IOMMU_ATTACH_F_BYPASS, 0), VIRTIO_IOMMU_S_INVAL);
	expect("ATTACH with a non-zero reserved byte", send_attach(v, 1, 0, 0, 1),
	       VIRTIO_IOMMU_S_INVAL);
	device_counts(v, &mappings, &ioasids);
	check(ioasids == 0, "no domain is left: %u IOASIDs", ioasids);
}

/* ---- MAP, DMA, UNMAP ------------------------------------------------------ */

#define RW	(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE)
#define IOVA	0x100000ULL
#define GPA	0x40000ULL

/* Endpoint 0's device (nic0) does a DMA write; returns the DMA status. */
static int nic_write(struct viommu *v, uint64_t iova, const char *msg, size_t len)
{
	struct iommu_sim_dma d;

	memset(&d, 0, sizeof(d));
	d.argsz = sizeof(d);
	d.flags = IOMMU_SIM_DMA_WRITE;
	d.cookie = v->ep[0].cookie;
	d.iova = iova;
	d.length = len;
	d.data = (__u64)(unsigned long)msg;
	if (ioctl(v->fd, IOMMU_SIM_DMA, &d) < 0)
		return -1;
	return (int)d.status;
}

static void map_and_dma(struct viommu *v)
{
	static const char msg[] = "DMA via virtio-iommu", again[] = "still mapped";
	unsigned long long mappings;
	unsigned ioasids;

	printf("\nvirtio_iommu: MAP guest RAM, let nic0 DMA into it, and what MAP/UNMAP refuse\n");
	expect("ATTACH endpoint 0 to domain 1", send_attach(v, 1, 0, 0, 0), VIRTIO_IOMMU_S_OK);
	expect("MAP [0x100000, 0x101fff] -> GPA 0x40000 RW",
	       send_map(v, 1, IOVA, IOVA + 2 * PAGE - 1, GPA, RW), VIRTIO_IOMMU_S_OK);
	check(nic_write(v, IOVA + 0x10, msg, sizeof(msg)) == IOMMU_SIM_DMA_OK &&
	      memcmp(v->ram + GPA + 0x10, msg, sizeof(msg)) == 0,
	      "nic0 wrote IOVA 0x100010: guest RAM at 0x40010 holds \"%s\"",
	      (char *)v->ram + GPA + 0x10);

	expect("MAP in domain 0 (no such domain)", send_map(v, 0, 0, PAGE - 1, GPA, RW),
	       VIRTIO_IOMMU_S_NOENT);
	expect("MAP [0x100000, 0x10ffff]: overlaps", send_map(v, 1, IOVA, IOVA + 0xffff, GPA, RW),
	       VIRTIO_IOMMU_S_INVAL);
	expect("MAP virt_start 0x200010: unaligned",
	       send_map(v, 1, 0x200010, 0x200fff, GPA, RW), VIRTIO_IOMMU_S_RANGE);
	expect("MAP phys_start 0x40010: unaligned",
	       send_map(v, 1, 0x200000, 0x200fff, GPA + 0x10, RW), VIRTIO_IOMMU_S_RANGE);
	expect("MAP virt_end 0x2007ff: end+1 unaligned",
	       send_map(v, 1, 0x200000, 0x2007ff, GPA, RW), VIRTIO_IOMMU_S_RANGE);
	expect("MAP beyond guest RAM (GPA 0x100000)",
	       send_map(v, 1, 0x200000, 0x200fff, RAM_SIZE, RW), VIRTIO_IOMMU_S_RANGE);
	expect("MAP with the MMIO flag (not offered)",
	       send_map(v, 1, 0x200000, 0x200fff, GPA, VIRTIO_IOMMU_MAP_F_MMIO),
	       VIRTIO_IOMMU_S_INVAL);
	expect("MAP [0xfee00000, +4K]: the MSI window",
	       send_map(v, 1, 0xfee00000ULL, 0xfee00fffULL, GPA, RW), VIRTIO_IOMMU_S_INVAL);

	printf("  A mapping legacy0's IOMMU cannot have (its host-bridge window):\n");
	expect("MAP [0xe0000000, +4K] (fine for nic0)",
	       send_map(v, 1, 0xe0000000ULL, 0xe0000fffULL, GPA, RW), VIRTIO_IOMMU_S_OK);
	expect("ATTACH endpoint 1 (legacy0) to domain 1", send_attach(v, 1, 1, 0, 0),
	       VIRTIO_IOMMU_S_UNSUPP);
	expect("UNMAP [0xe0000000, +4K]", send_unmap(v, 1, 0xe0000000ULL, 0xe0000fffULL),
	       VIRTIO_IOMMU_S_OK);

	expect("UNMAP in domain 4 (no such domain)", send_unmap(v, 4, IOVA, IOVA + PAGE - 1),
	       VIRTIO_IOMMU_S_NOENT);
	expect("UNMAP [0x100010, 0x100fff]: unaligned", send_unmap(v, 1, IOVA + 0x10,
	       IOVA + PAGE - 1), VIRTIO_IOMMU_S_RANGE);
	expect("UNMAP [0x100000, 0x100fff]: splits the map",
	       send_unmap(v, 1, IOVA, IOVA + PAGE - 1), VIRTIO_IOMMU_S_RANGE);
	check(nic_write(v, IOVA + PAGE, again, sizeof(again)) == IOMMU_SIM_DMA_OK &&
	      memcmp(v->ram + GPA + PAGE, again, sizeof(again)) == 0,
	      "nothing was removed: nic0 still reaches the second page (\"%s\")",
	      (char *)v->ram + GPA + PAGE);
	expect("UNMAP [0x100000, 0x101fff]", send_unmap(v, 1, IOVA, IOVA + 2 * PAGE - 1),
	       VIRTIO_IOMMU_S_OK);
	device_counts(v, &mappings, &ioasids);
	check(v->last_unmapped == 2 * PAGE && mappings == 0,
	      "%llu bytes unmapped, %llu mappings left", (unsigned long long)v->last_unmapped,
	      mappings);
	check(nic_write(v, IOVA, msg, 4) == IOMMU_SIM_DMA_FAULT,
	      "nic0's DMA to 0x100000 now faults in the IOMMU");
}

/* ---- the spec's UNMAP examples ------------------------------------------------ */

/* One unit of the spec's examples = one 4 KiB page. */
#define U(n)		((uint64_t)(n) * PAGE)		/* first byte of unit n */
#define E(n)		(U((n) + 1) - 1)		/* last byte of unit n */
#define SPEC_GPA	0x80000ULL			/* unit n maps GPA 0x80000 + n pages */

struct unmap_step {
	int		example;	/* the spec's number, (1)..(7) */
	uint8_t		type;		/* VIRTIO_IOMMU_T_MAP or _UNMAP */
	unsigned	first, last;	/* units, inclusive */
	uint8_t		want;		/* the status the spec asks for */
	int		mappings;	/* mappings in the domain after the step */
	const char	*note;
};

/*
 * The spec's seven examples, as QEMU's virtio-iommu qtest (test_map_unmap)
 * encodes them, including its follow-ups: each example starts from a blank
 * domain; QEMU's unmap(0, 10) after (4), unmap(5, 9) after (5), and the
 * extra sequence after (7) leave it blank again.
 */
static const struct unmap_step spec_steps[] = {
	{ 1, VIRTIO_IOMMU_T_UNMAP, 0, 4, VIRTIO_IOMMU_S_OK, 0, "nothing to unmap" },
	{ 2, VIRTIO_IOMMU_T_MAP, 0, 9, VIRTIO_IOMMU_S_OK, 1, "a" },
	{ 2, VIRTIO_IOMMU_T_UNMAP, 0, 9, VIRTIO_IOMMU_S_OK, 0, "unmaps a" },
	{ 3, VIRTIO_IOMMU_T_MAP, 0, 4, VIRTIO_IOMMU_S_OK, 1, "a" },
	{ 3, VIRTIO_IOMMU_T_MAP, 5, 9, VIRTIO_IOMMU_S_OK, 2, "b" },
	{ 3, VIRTIO_IOMMU_T_UNMAP, 0, 9, VIRTIO_IOMMU_S_OK, 0, "unmaps a and b" },
	{ 4, VIRTIO_IOMMU_T_MAP, 0, 9, VIRTIO_IOMMU_S_OK, 1, "a" },
	{ 4, VIRTIO_IOMMU_T_UNMAP, 0, 4, VIRTIO_IOMMU_S_RANGE, 1, "fails, unmaps nothing" },
	{ 4, VIRTIO_IOMMU_T_UNMAP, 0, 10, VIRTIO_IOMMU_S_OK, 0, "(qtest) unmaps a" },
	{ 5, VIRTIO_IOMMU_T_MAP, 0, 4, VIRTIO_IOMMU_S_OK, 1, "a" },
	{ 5, VIRTIO_IOMMU_T_MAP, 5, 9, VIRTIO_IOMMU_S_OK, 2, "b" },
	{ 5, VIRTIO_IOMMU_T_UNMAP, 0, 4, VIRTIO_IOMMU_S_OK, 1, "unmaps a" },
	{ 5, VIRTIO_IOMMU_T_UNMAP, 5, 9, VIRTIO_IOMMU_S_OK, 0, "(qtest) unmaps b" },
	{ 6, VIRTIO_IOMMU_T_MAP, 0, 4, VIRTIO_IOMMU_S_OK, 1, "a" },
	{ 6, VIRTIO_IOMMU_T_UNMAP, 0, 9, VIRTIO_IOMMU_S_OK, 0, "unmaps a" },
	{ 7, VIRTIO_IOMMU_T_MAP, 0, 4, VIRTIO_IOMMU_S_OK, 1, "a" },
	{ 7, VIRTIO_IOMMU_T_MAP, 10, 14, VIRTIO_IOMMU_S_OK, 2, "b" },
	{ 7, VIRTIO_IOMMU_T_UNMAP, 0, 14, VIRTIO_IOMMU_S_OK, 0, "unmaps a and b" },
	{ 7, VIRTIO_IOMMU_T_MAP, 10, 14, VIRTIO_IOMMU_S_OK, 1, "(qtest) b again" },
	{ 7, VIRTIO_IOMMU_T_MAP, 0, 4, VIRTIO_IOMMU_S_OK, 2, "(qtest) a again" },
	{ 7, VIRTIO_IOMMU_T_UNMAP, 0, 4, VIRTIO_IOMMU_S_OK, 1, "(qtest) only unmaps a" },
	{ 7, VIRTIO_IOMMU_T_MAP, 10, 14, VIRTIO_IOMMU_S_INVAL, 1, "(qtest) b is still mapped" },
	{ 7, VIRTIO_IOMMU_T_UNMAP, 10, 14, VIRTIO_IOMMU_S_OK, 0, "clean up b" },
};

static void spec_unmap_examples(struct viommu *v)
{
	size_t i;
	int example = 0;

	printf("\nvirtio_iommu: the spec's UNMAP examples in domain 1 (unit = one 4 KiB page)\n");
	for (i = 0; i < sizeof(spec_steps) / sizeof(spec_steps[0]); i++) {
		const struct unmap_step *s = &spec_steps[i];
		unsigned long long mappings;
		unsigned ioasids;
		char what[64];
		int got;

		if (s->example != example) {
			example = s->example;
			printf("  example (%d):\n", example);
		}
		if (s->type == VIRTIO_IOMMU_T_MAP)
			got = send_map(v, 1, U(s->first), E(s->last), SPEC_GPA + U(s->first),
				       VIRTIO_IOMMU_MAP_F_READ);
		else
			got = send_unmap(v, 1, U(s->first), E(s->last));
		snprintf(what, sizeof(what), "%s(%u, %u)  %s",
			 s->type == VIRTIO_IOMMU_T_MAP ? "map" : "unmap", s->first, s->last,
			 s->note);
		device_counts(v, &mappings, &ioasids);
		printf("  [%s] %-44s expected %-6s got %-6s mappings %llu (expected %d)\n",
		       got == s->want && mappings == (unsigned long long)s->mappings ?
		       "ok" : "WRONG", what, status_name(s->want), status_name(got), mappings,
		       s->mappings);
		flush_trace();
		if (got != s->want || mappings != (unsigned long long)s->mappings)
			failures++;
	}
}

static void teardown(struct viommu *v)
{
	unsigned long long mappings;
	unsigned ioasids;

	printf("\nvirtio_iommu: DETACH the last endpoint: the domain goes with it\n");
	expect("DETACH endpoint 0 from domain 1", send_detach(v, 1, 0), VIRTIO_IOMMU_S_OK);
	device_counts(v, &mappings, &ioasids);
	check(ioasids == 0 && mappings == 0, "IOASIDs %u, mappings %llu", ioasids, mappings);
	{
		uint8_t bogus[sizeof(struct virtio_iommu_req_attach)];
		uint8_t tail[4] = { 0xaa, 0xaa, 0xaa, 0xaa };

		memset(bogus, 0, sizeof(bogus));
		bogus[0] = 0x42;	/* no such request type */
		check(viommu_handle_request(v, bogus, sizeof(bogus) - 4, tail, 4) == 0 &&
		      tail[0] == 0xaa,
		      "an unknown request type: used length 0, the buffer left unwritten");
	}
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/iommu";
	struct viommu v;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("virtio_iommu: a virtio-iommu backend on /dev/iommu\n\n");
	if (viommu_init(&v, path) != 0)
		return 1;
	probe_endpoints(&v);
	attach_detach(&v);
	map_and_dma(&v);
	spec_unmap_examples(&v);
	teardown(&v);
	close(v.fd);
	munmap(v.ram, RAM_SIZE);
	if (failures) {
		printf("\nvirtio_iommu: FAILED: %d answer(s) were wrong\n", failures);
		return 1;
	}
	printf("\nvirtio_iommu: OK: every request got the spec's status, the 7 UNMAP examples"
	       " included\n");
	return 0;
}
