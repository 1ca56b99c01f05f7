// IOMMU_IOAS_* (drivers/iommu/iommufd/ioas.c).  The handlers that read or
// write arrays in the caller's memory, or probe it, take the model lock
// themselves and never hold it while they do (docs/design.md, "Locks").
#include <algorithm>
#include <cerrno>
#include <memory>
#include <functional>
#include <mutex>
#include <new>
#include <vector>

#include "../core/call_env.h"
#include "../core/caller.h"
#include "../core/context.h"
#include "../core/model.h"
#include "../ioasid/io_address_space.h"
#include "access.h"
#include "device.h"
#include "ioas.h"
#include "iommufd_ioctls.h"
#include "mock_domain.h"
#include "topology_domain.h"

namespace ciommu {
namespace {

// Plans a probe may be retried this often when the tables keep moving.
constexpr int kProbeAttempts = 4;

// conv_iommu_prot
uint32_t map_prot(uint32_t flags) {
    return ((flags & IOMMU_IOAS_MAP_READABLE) ? uint32_t{kProtRead} : 0u) |
           ((flags & IOMMU_IOAS_MAP_WRITEABLE) ? uint32_t{kProtWrite} : 0u);
}

// The checks IOAS_MAP and IOAS_COPY share (iommufd_ioas_map/copy).
long check_map_flags(uint32_t flags) {
    return (flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)) ? 0 : -EINVAL;
}

// iopt_alloc_pages: what a range of user memory may be.
long check_user_range(uint64_t uptr, uint64_t length) {
    if (length == 0 || length > UINT64_MAX - kPageSize)
        return -EINVAL;
    if (uptr > UINT64_MAX - length)
        return -EOVERFLOW;
    return 0;
}

}  // namespace

long ioctl_ioas_alloc(CallEnv& env, iommu_ioas_alloc& cmd) {
    const long id = env.ctx.iommufd.objects.add(std::make_unique<Ioas>(env.ctx.iommufd.records));
    if (id < 0)
        return id;
    cmd.out_ioas_id = static_cast<uint32_t>(id);
    created_object(env, cmd.out_ioas_id);
    return 0;
}

// iopt_map_user_pages, self-locked: with a domain attached the caller's
// memory is probed (the kernel pins it), without the model lock.
long map_user_pages(CallEnv& env, uint32_t ioas_id, bool compat, UserMap& map) {
    const ProcessRef owner = env.caller_process();
    bool probed = false;
    std::vector<ProbeSpan> spans;  // what the probe kept open, if it ran
    const ProbedSpans drop_unheld(spans);
    while (true) {
        {
            std::lock_guard guard(env.model.lock());
            IommufdCtx& ictx = env.ctx.iommufd;
            Ioas* ioas = ictx.objects.get<Ioas>(compat ? ictx.vfio_ioas : ioas_id);
            if (!ioas)
                return compat ? -ENODEV : -ENOENT;
            if (long err = check_user_range(map.uptr, map.length))
                return err;
            if (!owner)
                return -EFAULT;
            if (probed || ioas->iopt.domains().empty()) {
                std::shared_ptr<const IoptPages> pages;
                try {
                    pages = std::make_shared<IoptPages>(
                        IoptPages{owner, map.uptr, map.length, (map.prot & kProtWrite) != 0});
                } catch (const std::bad_alloc&) {
                    return -ENOMEM;
                }
                const MapPiece piece{pages, 0, map.length};
                return ioas->iopt.map({&piece, 1}, map.length, map.iova, map.prot, map.allocate,
                                      AreaPinner(env.model.ledger()));
            }
        }
        // A domain will need the pages: every one must be there (EFAULT).
        if (env.caller.probe_memory(map.uptr, map.length))
            return -EFAULT;
        owner->retain_shared(map.uptr, map.length);  // as probe_spans does
        spans.push_back({owner, map.uptr, map.length});
        probed = true;
    }
}

long ioctl_ioas_map(CallEnv& env, iommu_ioas_map& cmd) {
    if (cmd.iova >= UINT64_MAX || cmd.length >= UINT64_MAX)
        return -EOVERFLOW;
    if (long err = check_map_flags(cmd.flags))
        return err;
    UserMap map{cmd.user_va, cmd.length, cmd.iova, map_prot(cmd.flags), !(cmd.flags & IOMMU_IOAS_MAP_FIXED_IOVA)};
    const long err = map_user_pages(env, cmd.ioas_id, /*compat=*/false, map);
    cmd.iova = map.iova;
    return err;
}

// Self-locked: with domains on the destination, the source's memory is
// probed without the lock first (ProbeSpan), then the copy is made if
// neither table moved meanwhile.
long ioctl_ioas_copy(CallEnv& env, iommu_ioas_copy& cmd) {
    if (cmd.length >= UINT64_MAX || cmd.src_iova >= UINT64_MAX || cmd.dst_iova >= UINT64_MAX)
        return -EOVERFLOW;
    if (long err = check_map_flags(cmd.flags))
        return err;
    std::vector<ProbeSpan> probed;
    const ProbedSpans drop_unheld(probed);
    uint64_t src_generation = 0, dst_generation = 0;
    for (int attempt = 0;; ++attempt) {
        {
            std::lock_guard guard(env.model.lock());
            IommufdCtx& ictx = env.ctx.iommufd;
            const Ioas* src = ictx.objects.get<Ioas>(cmd.src_ioas_id);
            if (!src)
                return -ENOENT;
            std::vector<MapPiece> pieces;
            std::vector<ProbeSpan> spans;
            try {
                if (long err = src->iopt.pieces(cmd.src_iova, cmd.length, pieces))
                    return err;
                Ioas* dst = ictx.objects.get<Ioas>(cmd.dst_ioas_id);
                if (!dst)
                    return -ENOENT;
                const bool settled = src->iopt.generation() == src_generation &&
                                     dst->iopt.generation() == dst_generation && !probed.empty();
                if (!dst->iopt.domains().empty() && !settled && attempt < kProbeAttempts) {
                    for (const MapPiece& piece : pieces)
                        spans.push_back({piece.pages->owner, piece.pages->uptr + piece.start_byte, piece.length});
                    src_generation = src->iopt.generation();
                    dst_generation = dst->iopt.generation();
                } else {
                    uint64_t iova = cmd.dst_iova;
                    const long err = dst->iopt.map(pieces, cmd.length, iova, map_prot(cmd.flags),
                                                   !(cmd.flags & IOMMU_IOAS_MAP_FIXED_IOVA),
                                                   AreaPinner(env.model.ledger()));
                    cmd.dst_iova = iova;
                    return err;
                }
            } catch (const std::bad_alloc&) {
                return -ENOMEM;
            }
            probed = std::move(spans);
        }
        if (long err = probe_spans(probed))
            return err;
    }
}

// Runs op under the model lock once the memory a first domain on pt_id
// would pin (if pt_id is an IOAS with none yet) has been probed without
// the lock; EFAULT if some is missing.  If the IOAS keeps changing under
// the probe, op runs after kProbeAttempts unprobed: a page missing then
// is found by the device (EFAULT at DMA time).
namespace {

// The aperture of the domain dev_id would get: its IOMMU unit's for a
// topology device, else the mock's.
IovaRange first_domain_aperture(CallEnv& env, uint32_t dev_id) {
    const Device* idev = dev_id ? env.ctx.iommufd.objects.get<Device>(dev_id) : nullptr;
    if (!idev || !idev->is_topology())
        return {MockDomain::kApertureStart, MockDomain::kApertureLast};
    const DeviceSpec& spec = env.model.topology().devices[idev->topology];
    return TopologyDomain::aperture_of(env.model.topology().iommus[spec.iommu]);
}

}  // namespace

long with_first_domain_probed(CallEnv& env, uint32_t pt_id, uint32_t dev_id, const std::function<long()>& op) {
    std::vector<ProbeSpan> spans;
    const ProbedSpans drop_unheld(spans);
    uint64_t generation = 0;
    for (int attempt = 0;; ++attempt) {
        {
            std::lock_guard guard(env.model.lock());
            const Ioas* ioas = env.ctx.iommufd.objects.get<Ioas>(pt_id);
            if (!ioas || attempt == kProbeAttempts || (attempt && ioas->iopt.generation() == generation))
                return op();
            spans.clear();
            try {
                ioas->iopt.spans_to_probe(first_domain_aperture(env, dev_id), spans);
            } catch (const std::bad_alloc&) {
                return -ENOMEM;
            }
            if (spans.empty())
                return op();
            generation = ioas->iopt.generation();
        }
        if (long err = probe_spans(spans))
            return err;
    }
}

long ioctl_ioas_unmap(CallEnv& env, iommu_ioas_unmap& cmd) {
    Ioas* ioas = env.ctx.iommufd.objects.get<Ioas>(cmd.ioas_id);
    if (!ioas)
        return -ENOENT;
    uint64_t unmapped = 0;
    const AreaPinner pinner(env.model.ledger());
    if (cmd.iova == 0 && cmd.length == UINT64_MAX) {
        ioas->iopt.unmap(0, UINT64_MAX, pinner, unmapped);  // all: cannot fail
        notify_accesses_unmap(env.ctx.iommufd, ioas->id, 0, UINT64_MAX);
    } else {
        if (cmd.iova >= UINT64_MAX || cmd.length >= UINT64_MAX)
            return -EOVERFLOW;
        if (cmd.length == 0)
            return -EINVAL;
        if (cmd.iova > UINT64_MAX - (cmd.length - 1))
            return -EOVERFLOW;
        if (long err = ioas->iopt.unmap(cmd.iova, cmd.iova + (cmd.length - 1), pinner, unmapped))
            return err;
        if (unmapped == 0)
            return -ENOENT;
        // Under one lock, telling the accesses after the unmap is the
        // kernel's telling them before (it retries until they let go).
        notify_accesses_unmap(env.ctx.iommufd, ioas->id, cmd.iova, cmd.iova + (cmd.length - 1));
    }
    cmd.length = unmapped;
    return 0;
}

// Self-locked: the ranges are written to the caller's array after the
// lock is dropped.  More ranges than fit: the count is written back and
// the call fails with EMSGSIZE.
long ioctl_ioas_iova_ranges(CallEnv& env, iommu_ioas_iova_ranges& cmd) {
    std::vector<iommu_iova_range> ranges;
    {
        std::lock_guard guard(env.model.lock());
        const Ioas* ioas = env.ctx.iommufd.objects.get<Ioas>(cmd.ioas_id);
        if (!ioas)
            return -ENOENT;
        try {
            ioas->iopt.for_each_usable([&](uint64_t start, uint64_t last) { ranges.push_back({start, last}); });
        } catch (const std::bad_alloc&) {
            return -ENOMEM;
        }
        cmd.out_iova_alignment = ioas->iopt.iova_alignment();
    }
    const uint32_t room = cmd.num_iovas;
    const size_t fits = std::min<size_t>(room, ranges.size());
    if (fits && env.caller.write_memory(cmd.allowed_iovas, ranges.data(), fits * sizeof(iommu_iova_range)))
        return -EFAULT;
    cmd.num_iovas = static_cast<uint32_t>(ranges.size());
    if (ranges.size() > room)
        env.deferred_error = -EMSGSIZE;
    return 0;
}

// Self-locked: the caller's array is read without the lock.
long ioctl_ioas_allow_iovas(CallEnv& env, const iommu_ioas_allow_iovas& cmd) {
    {
        std::lock_guard guard(env.model.lock());
        if (!env.ctx.iommufd.objects.get<Ioas>(cmd.ioas_id))
            return -ENOENT;
    }
    if (cmd.num_iovas > IoPagetable::kMaxAllowed)
        return -ENOSPC;  // past the context's RecordBudget whatever it holds
    std::vector<iommu_iova_range> user(cmd.num_iovas);
    if (!user.empty() &&
        env.caller.read_memory(cmd.allowed_iovas, user.data(), user.size() * sizeof(iommu_iova_range)))
        return -EFAULT;
    // iommufd_ioas_load_iovas: each range non-empty, none overlapping.
    std::vector<IovaRange> allowed;
    allowed.reserve(user.size());
    for (const iommu_iova_range& r : user) {
        if (r.start >= r.last)
            return -EINVAL;
        allowed.push_back({r.start, r.last});
    }
    std::sort(allowed.begin(), allowed.end());
    for (size_t i = 1; i < allowed.size(); ++i) {
        if (allowed[i].start <= allowed[i - 1].last)
            return -EINVAL;
    }
    std::lock_guard guard(env.model.lock());
    Ioas* ioas = env.ctx.iommufd.objects.get<Ioas>(cmd.ioas_id);
    if (!ioas)
        return -ENOENT;
    return ioas->iopt.set_allowed(std::move(allowed));
}

// IOMMU_OPTION_HUGE_PAGES of the IOAS `object_id` (iommufd_ioas_option).
long ioas_option(IommufdCtx& ictx, iommu_option& cmd) {
    Ioas* ioas = ictx.objects.get<Ioas>(cmd.object_id);
    if (!ioas)
        return -ENOENT;
    if (cmd.op == IOMMU_OPTION_OP_GET) {
        cmd.val64 = ioas->iopt.large_pages();
        return 0;
    }
    if (cmd.op != IOMMU_OPTION_OP_SET)
        return -EOPNOTSUPP;
    if (cmd.val64 > 1)
        return -EINVAL;
    return ioas->iopt.set_large_pages(cmd.val64 == 1);
}

}  // namespace ciommu
