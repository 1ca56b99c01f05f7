// IOMMU_HWPT_ALLOC, IOMMU_HWPT_SET_DIRTY_TRACKING and
// IOMMU_HWPT_GET_DIRTY_BITMAP (drivers/iommu/iommufd/hw_pagetable.c, with
// the mock driver's domain_alloc_user and dirty ops from selftest.c).
#include <algorithm>
#include <bit>
#include <cerrno>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "../core/call_env.h"
#include "../core/caller.h"
#include "../core/context.h"
#include "../core/model.h"
#include "device.h"
#include "fault_queue.h"
#include "hw_pagetable.h"
#include "ioas.h"
#include "iommufd_ioctls.h"

namespace ciommu {
namespace {

// iommufd_hwpt_paging_alloc + mock_domain_alloc_user, for a page table the
// caller asks for (not an automatic one): filled at once from the IOAS.
long alloc_paging(IommufdCtx& ictx, PinLedger& ledger, const Device& idev, Ioas& ioas, const iommu_hwpt_alloc& cmd,
                  uint32_t& out_id) {
    const bool no_dirty = idev.mock_flags & MOCK_FLAGS_DEVICE_NO_DIRTY;
    if (cmd.flags & ~uint32_t{IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING})
        return -EOPNOTSUPP;
    if ((cmd.flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && no_dirty)
        return -EOPNOTSUPP;
    if (cmd.data_len)  // a paging mock domain takes no driver data
        return -EOPNOTSUPP;
    const PagingOptions options{.huge_iova = (idev.mock_flags & MOCK_FLAGS_DEVICE_HUGE_IOVA) != 0,
                                .dirty_ops = (cmd.flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) != 0,
                                .nest_parent = (cmd.flags & IOMMU_HWPT_ALLOC_NEST_PARENT) != 0};
    HwptPaging* hwpt;
    if (long err = alloc_hwpt_paging(ictx, ledger, ioas, options, hwpt))
        return err;
    out_id = hwpt->id;
    return 0;
}

// iommufd_hwpt_nested_alloc + the mock's nested domain_alloc_user: only
// the selftest's data type, exactly its struct (iommu_copy_struct_from_user
// takes no larger one), over a NEST_PARENT page table the caller made.
// FAULT_ID_VALID: the page table's faults go to that queue.
long alloc_nested(IommufdCtx& ictx, HwptPaging& parent, const iommu_hwpt_alloc& cmd, long read_err,
                  const iommu_hwpt_selftest& data, uint32_t& out_id) {
    if ((cmd.flags & ~uint32_t{IOMMU_HWPT_FAULT_ID_VALID}) || cmd.data_len == 0)
        return -EOPNOTSUPP;
    if (parent.auto_domain || !parent.nest_parent)
        return -EINVAL;
    if (cmd.data_type != IOMMU_HWPT_DATA_SELFTEST)
        return -EOPNOTSUPP;
    if (cmd.data_len != sizeof(data))
        return -EINVAL;
    if (read_err)
        return -EFAULT;
    FaultQueue* queue = nullptr;
    if ((cmd.flags & IOMMU_HWPT_FAULT_ID_VALID) && !(queue = ictx.objects.get<FaultQueue>(cmd.fault_id)))
        return -ENOENT;
    long id = 0;
    try {
        auto made = std::make_unique<HwptNested>(parent.id, data.iotlb);
        made->fault_id = queue ? queue->id : 0;
        id = ictx.objects.add(std::move(made));
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
    if (id < 0)
        return id;
    ++parent.users;
    if (queue)
        ++queue->users;
    out_id = static_cast<uint32_t>(id);
    return 0;
}

// iommufd_check_iova_range
long check_bitmap_range(const IoPagetable& iopt, const iommu_hwpt_get_dirty_bitmap& cmd) {
    const uint64_t align = iopt.iova_alignment();
    if (cmd.length == 0)
        return -EINVAL;
    if (cmd.iova > UINT64_MAX - (cmd.length - 1))
        return -EOVERFLOW;
    const uint64_t end = cmd.iova + cmd.length;  // may wrap to 0: as the kernel's last + 1
    // The kernel's iova_bitmap takes the page size as a shift
    // (__ffs(page_size)); one that is no power of two is refused here.
    if ((cmd.iova & (align - 1)) || (end & (align - 1)) || !std::has_single_bit(cmd.page_size))
        return -EINVAL;
    if ((cmd.iova & (cmd.page_size - 1)) || (end & (cmd.page_size - 1)))
        return -EINVAL;
    return 0;
}

// A run of bits to set in the caller's bitmap: [first, last].
struct BitRun {
    uint64_t first, last;
};

// mock_domain_read_and_clear_dirty over the areas covering the range
// (EINVAL if they leave a gap), as bit runs of the caller's bitmap.
long read_and_clear(MockDomain& domain, const IoPagetable& iopt,
                    const iommu_hwpt_get_dirty_bitmap& cmd, std::vector<BitRun>& runs) {
    const uint64_t last = cmd.iova + (cmd.length - 1);
    for (uint64_t at = cmd.iova;;) {  // areas first: refuse before clearing anything
        uint64_t area_iova;
        const IoptArea* area = iopt.area_at(at, &area_iova);
        if (!area)
            return -EINVAL;
        if (area->last >= last)
            break;
        at = area->last + 1;
    }
    const bool keep = cmd.flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR;
    const uint64_t nbits = cmd.length / cmd.page_size;
    // Count first (keeping the bits), so that the room for the runs is
    // there before any bit is cleared: out of memory then changes nothing.
    size_t dirty = 0;
    domain.read_and_clear_dirty(cmd.iova, cmd.length, /*keep=*/true, [&](uint64_t, uint64_t) { ++dirty; });
    runs.reserve(dirty);  // may throw: nothing cleared yet
    domain.read_and_clear_dirty(cmd.iova, cmd.length, keep, [&](uint64_t at, uint64_t size) {
        const uint64_t first_bit = (at - cmd.iova) / cmd.page_size;
        runs.push_back({first_bit, std::min<uint64_t>(nbits - 1, (at + size - 1 - cmd.iova) / cmd.page_size)});  // reserved
    });
    return 0;
}

// Sets the runs' bits (ascending, disjoint) in the caller's bitmap at
// `data`, a slice of bytes at a time (read, OR, write back), without the
// model lock.
long set_user_bits(const Caller& caller, uint64_t data, std::vector<BitRun>& runs) {
    constexpr uint64_t kSlice = 4096;
    if (runs.empty())
        return 0;
    const uint64_t final_byte = runs.back().last / 8;
    std::vector<uint8_t> bytes(kSlice);
    for (size_t next = 0; next < runs.size();) {
        const uint64_t base = runs[next].first / 8 / kSlice * kSlice;  // byte offset of the slice
        const uint64_t len = std::min(kSlice, final_byte + 1 - base);
        if (caller.read_memory(data + base, bytes.data(), len))
            return -EFAULT;
        const uint64_t slice_last_bit = (base + len) * 8 - 1;
        while (next < runs.size() && runs[next].first <= slice_last_bit) {
            BitRun& run = runs[next];
            const uint64_t stop = std::min(run.last, slice_last_bit);
            for (uint64_t bit = run.first; bit <= stop; ++bit)
                bytes[bit / 8 - base] |= static_cast<uint8_t>(1u << (bit % 8));
            if (stop < run.last) {  // the run goes on in the next slice
                run.first = stop + 1;
                break;
            }
            ++next;
        }
        if (caller.write_memory(data + base, bytes.data(), len))
            return -EFAULT;
    }
    return 0;
}

}  // namespace

// Self-locked: a nested page table's driver data is read from the caller
// first, without the lock (no side effect, so the errnos keep the
// kernel's order).
long ioctl_hwpt_alloc(CallEnv& env, iommu_hwpt_alloc& cmd) {
    if ((cmd.data_type == IOMMU_HWPT_DATA_NONE) != (cmd.data_len == 0))
        return -EINVAL;
    iommu_hwpt_selftest data{};
    const long read_err = cmd.data_len == sizeof(data) ? env.caller.read_memory(cmd.data_uptr, &data, sizeof(data)) : 0;
    return with_first_domain_probed(env, cmd.pt_id, [&]() -> long {
        IommufdCtx& ictx = env.ctx.iommufd;
        const Device* idev = ictx.objects.get<Device>(cmd.dev_id);
        if (!idev)
            return -ENOENT;
        IommufdObject* pt = ictx.objects.find_any(cmd.pt_id);
        long err = -EINVAL;
        if (pt && pt->kind == ObjectKind::kIoas)
            err = alloc_paging(ictx, env.model.ledger(), *idev, static_cast<Ioas&>(*pt), cmd, cmd.out_hwpt_id);
        else if (pt && pt->kind == ObjectKind::kHwptPaging)
            err = alloc_nested(ictx, static_cast<HwptPaging&>(*pt), cmd, read_err, data, cmd.out_hwpt_id);
        if (!err)
            created_object(env, cmd.out_hwpt_id);
        return err;
    });
}

long ioctl_hwpt_set_dirty_tracking(CallEnv& env, const iommu_hwpt_set_dirty_tracking& cmd) {
    IommufdCtx& ictx = env.ctx.iommufd;
    HwptPaging* hwpt = ictx.objects.get<HwptPaging>(cmd.hwpt_id);
    if (!hwpt)
        return -ENOENT;
    if (!hwpt->domain.dirty_ops())
        return -EOPNOTSUPP;
    const bool enable = cmd.flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
    if (enable) {  // a clean snapshot: clear what the IOPTEs hold (iopt_clear_dirty_data)
        const Ioas* ioas = ictx.objects.get<Ioas>(hwpt->ioas_id);
        for (const auto& [iova, area] : ioas->iopt.areas())
            hwpt->domain.read_and_clear_dirty(iova, area.last - iova + 1, /*keep=*/false, [](uint64_t, uint64_t) {});
    }
    hwpt->domain.set_dirty_tracking(enable);
    return 0;
}

// Self-locked: the bits are set in the caller's bitmap after the lock is
// dropped (the IOPTEs' bits are cleared under it).
long ioctl_hwpt_get_dirty_bitmap(CallEnv& env, const iommu_hwpt_get_dirty_bitmap& cmd) {
    if (cmd.flags & ~uint32_t{IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR})
        return -EOPNOTSUPP;
    std::vector<BitRun> runs;
    {
        std::lock_guard guard(env.model.lock());
        IommufdCtx& ictx = env.ctx.iommufd;
        HwptPaging* hwpt = ictx.objects.get<HwptPaging>(cmd.hwpt_id);
        if (!hwpt)
            return -ENOENT;
        const Ioas& ioas = *ictx.objects.get<Ioas>(hwpt->ioas_id);
        if (long err = check_bitmap_range(ioas.iopt, cmd))
            return err;
        if (!hwpt->domain.dirty_ops())
            return -EOPNOTSUPP;
        if (!hwpt->domain.dirty_tracking())
            return -EINVAL;
        try {
            if (long err = read_and_clear(hwpt->domain, ioas.iopt, cmd, runs))
                return err;
        } catch (const std::bad_alloc&) {
            return -ENOMEM;
        }
    }
    return set_user_bits(env.caller, cmd.data, runs);
}


namespace {

// Applies one entry to the nested page table: 0, -EOPNOTSUPP (unknown
// flags) or -EINVAL (an IOTLB id past the four).
long apply_invalidation(HwptNested& hwpt, const iommu_hwpt_invalidate_selftest& inv) {
    if (inv.flags & ~uint32_t{IOMMU_TEST_INVALIDATE_FLAG_ALL})
        return -EOPNOTSUPP;
    if (inv.iotlb_id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX)
        return -EINVAL;
    if (inv.flags & IOMMU_TEST_INVALIDATE_FLAG_ALL)
        hwpt.iotlb.fill(0);
    else
        hwpt.iotlb[inv.iotlb_id] = 0;
    return 0;
}

// The entries, a batch at a time: read without the lock, applied under it
// (the page table is looked up again each time: it may have gone).
long invalidate_entries(CallEnv& env, iommu_hwpt_invalidate& cmd, uint32_t wanted) {
    constexpr uint32_t kBatch = 512;
    auto nested = [&]() { return env.ctx.iommufd.objects.get<HwptNested>(cmd.hwpt_id); };
    {
        std::lock_guard guard(env.model.lock());
        if (!nested())
            return -ENOENT;
    }
    if (cmd.data_type != IOMMU_HWPT_INVALIDATE_DATA_SELFTEST)
        return -EINVAL;
    if (wanted && cmd.entry_len != sizeof(iommu_hwpt_invalidate_selftest))
        return -EINVAL;  // iommu_copy_struct_from_user_array: neither shorter nor longer
    std::vector<iommu_hwpt_invalidate_selftest> batch;
    for (uint32_t done = 0; done < wanted;) {
        const uint32_t n = std::min(kBatch, wanted - done);
        batch.resize(n);
        uint32_t readable = n;  // entries of the batch that could be read
        const uint64_t at = cmd.data_uptr + uint64_t{done} * cmd.entry_len;
        if (env.caller.read_memory(at, batch.data(), n * sizeof(batch[0]))) {
            readable = 0;
            while (readable < n &&
                   !env.caller.read_memory(at + readable * sizeof(batch[0]), &batch[readable], sizeof(batch[0])))
                ++readable;
        }
        std::lock_guard guard(env.model.lock());
        HwptNested* hwpt = nested();
        if (!hwpt)
            return -ENOENT;
        for (uint32_t i = 0; i < readable; ++i, ++done) {
            if (long err = apply_invalidation(*hwpt, batch[i]))
                return err;
            cmd.entry_num = done + 1;
        }
        if (readable < n)
            return -EFAULT;
    }
    return 0;
}

}  // namespace

// iommufd_hwpt_invalidate with the mock's cache_invalidate_user: each
// entry (exactly the selftest's struct) zeroes one IOTLB entry of a nested
// page table, or all of them; the first bad entry stops the call, and
// entry_num is set to how many were done -- written back whatever the
// answer, as the kernel does.  Self-locked: the entries are read in
// batches without the lock.
long ioctl_hwpt_invalidate(CallEnv& env, iommu_hwpt_invalidate& cmd) {
    constexpr uint32_t kMaxEntries = 1u << 19;  // IOMMU_HWPT_INVALIDATE_ENTRY_NUM_MAX
    const uint32_t wanted = cmd.entry_num;
    cmd.entry_num = 0;
    long err = 0;
    if (cmd.__reserved)
        err = -EOPNOTSUPP;
    else if (wanted && (!cmd.data_uptr || !cmd.entry_len || cmd.entry_len > 4096 || wanted > kMaxEntries))
        err = -EINVAL;
    else
        err = invalidate_entries(env, cmd, wanted);
    env.deferred_error = err;
    return 0;
}

}  // namespace ciommu
