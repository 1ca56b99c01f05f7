// VFIO_IOMMU_GET_INFO, VFIO_IOMMU_MAP_DMA and VFIO_IOMMU_UNMAP_DMA on an
// iommufd (drivers/iommu/iommufd/vfio_compat.c): type1's commands on the
// compatibility IOAS, with iommufd's semantics -- a type1v2 unmap that
// would split a mapping is ENOENT, not type1's EINVAL.
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "../core/call_env.h"
#include "../core/caller.h"
#include "../core/context.h"
#include "../core/model.h"
#include "../ioasid/io_address_space.h"
#include "access.h"
#include "ioas.h"
#include "iommufd_ioctls.h"
#include "mock_domain.h"

namespace ciommu {
namespace {

constexpr uint64_t kPage = kPageSize;

// One write GET_INFO makes into the caller's buffer past the struct.
struct CapWrite {
    uint64_t offset;
    std::vector<std::byte> bytes;
};

template <typename T> void record(std::vector<CapWrite>& writes, uint64_t offset, const T& value) {
    std::vector<std::byte> bytes(sizeof(T));
    std::memcpy(bytes.data(), &value, sizeof(T));
    writes.push_back({offset, std::move(bytes)});
}

// iommufd_get_pagesizes: what every domain takes, rounded as VFIO does.
uint64_t page_sizes(const IoPagetable& iopt) {
    uint64_t bitmap = ~uint64_t{0};
    for (const IoDomain* domain : iopt.domains())
        bitmap &= domain->pgsize_bitmap();
    if (bitmap & (kPage - 1))
        bitmap = (bitmap & ~(kPage - 1)) | kPage;
    return std::max(bitmap, iopt.iova_alignment());
}

// The caps chain exactly as iommufd_vfio_iommu_get_info writes it: each
// cap (DMA_AVAIL, then IOVA_RANGE) only where it fits in argsz, `next`
// linked only where the caller has room.  Returns the total size.
uint64_t build_caps(const std::vector<iommu_iova_range>& ranges, uint32_t argsz, std::vector<CapWrite>& writes) {
    constexpr uint64_t kInfo = sizeof(vfio_iommu_type1_info);
    auto avail_at = [argsz](uint64_t at) { return argsz > at ? argsz - at : 0; };
    uint64_t total = kInfo;
    // DMA_AVAIL: iommufd's limit is the cgroup's, so U32_MAX.
    vfio_iommu_type1_info_dma_avail dma{};
    dma.header = {VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1, 0};
    dma.avail = UINT32_MAX;
    if (avail_at(total) >= sizeof(dma))
        record(writes, total, dma);
    const uint64_t dma_cap = total;
    total += (sizeof(dma) + 7) & ~uint64_t{7};
    // IOVA_RANGE: the usable ranges, each only where it fits.
    const uint64_t avail = avail_at(total);
    vfio_iommu_type1_info_cap_iova_range head{};
    head.header = {VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1, 0};
    for (const iommu_iova_range& r : ranges) {
        const uint64_t at = sizeof(head) + head.nr_iovas * sizeof(vfio_iova_range);
        if (avail >= at + sizeof(vfio_iova_range))
            record(writes, total + at, vfio_iova_range{r.start, r.last});
        ++head.nr_iovas;
    }
    const uint64_t iova_size = sizeof(head) + head.nr_iovas * sizeof(vfio_iova_range);
    if (avail >= iova_size)
        record(writes, total, head);
    if (argsz >= total)  // put_user(total, &last_cap->next)
        record(writes, dma_cap + offsetof(vfio_info_cap_header, next), static_cast<uint32_t>(total));
    return total + ((iova_size + 7) & ~uint64_t{7});
}

}  // namespace

// Self-locked: the caps are written to the caller after the lock is dropped.
long ioctl_vfio_iommu_get_info(CallEnv& env, vfio_iommu_type1_info& cmd) {
    std::vector<iommu_iova_range> ranges;
    {
        std::lock_guard guard(env.model.lock());
        IommufdCtx& ictx = env.ctx.iommufd;
        const Ioas* ioas = ictx.objects.get<Ioas>(ictx.vfio_ioas);
        if (!ioas)
            return -ENODEV;
        cmd.iova_pgsizes = page_sizes(ioas->iopt);
        ioas->iopt.for_each_usable([&](uint64_t start, uint64_t last) { ranges.push_back({start, last}); });
    }
    std::vector<CapWrite> writes;
    const uint64_t total = build_caps(ranges, cmd.argsz, writes);
    for (const CapWrite& w : writes) {
        if (env.caller.write_memory(env.arg + w.offset, w.bytes.data(), w.bytes.size()))
            return -EFAULT;
    }
    cmd.flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
    cmd.cap_offset = cmd.argsz >= total ? sizeof(vfio_iommu_type1_info) : 0;
    cmd.argsz = static_cast<uint32_t>(total);
    return 0;
}

// Self-locked (map_user_pages).  No R/W flag is no error here: the
// mapping then gives the device no access.
long ioctl_vfio_map_dma(CallEnv& env, const vfio_iommu_type1_dma_map& cmd) {
    const uint32_t prot = ((cmd.flags & VFIO_DMA_MAP_FLAG_READ) ? uint32_t{kProtRead} : 0u) |
                          ((cmd.flags & VFIO_DMA_MAP_FLAG_WRITE) ? uint32_t{kProtWrite} : 0u);
    UserMap map{cmd.vaddr, cmd.size, cmd.iova, prot, /*allocate=*/false};
    return map_user_pages(env, 0, /*compat=*/true, map);
}

// Type1 (HUGE_PAGES off) cuts the mappings at the range's ends first;
// type1v2 refuses to split (ENOENT).  An empty range is no error.  The
// bytes unmapped are written back even when the unmap fails.
long ioctl_vfio_unmap_dma(CallEnv& env, vfio_iommu_type1_dma_unmap& cmd) {
    IommufdCtx& ictx = env.ctx.iommufd;
    Ioas* ioas = ictx.objects.get<Ioas>(ictx.vfio_ioas);
    if (!ioas)
        return -ENODEV;
    const AreaPinner pinner(env.model.ledger());
    uint64_t unmapped = 0;
    long err = 0;
    if (cmd.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
        if (cmd.iova || cmd.size)
            return -EINVAL;
        ioas->iopt.unmap(0, UINT64_MAX, pinner, unmapped);
        notify_accesses_unmap(ictx, ioas->id, 0, UINT64_MAX);
    } else {
        if (!ioas->iopt.large_pages()) {
            err = ioas->iopt.cut(cmd.iova + cmd.size - 1, pinner);
            if (!err && cmd.iova)
                err = ioas->iopt.cut(cmd.iova - 1, pinner);
            if (err)
                return err;
        }
        if (cmd.size == 0)
            err = -EINVAL;
        else if (cmd.iova > UINT64_MAX - (cmd.size - 1))
            err = -EOVERFLOW;
        else
            err = ioas->iopt.unmap(cmd.iova, cmd.iova + (cmd.size - 1), pinner, unmapped);
        if (!err && unmapped)
            notify_accesses_unmap(ictx, ioas->id, cmd.iova, cmd.iova + (cmd.size - 1));
    }
    cmd.size = unmapped;
    env.deferred_error = err;
    return 0;
}

}  // namespace ciommu
