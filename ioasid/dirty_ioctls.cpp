// IOMMU_DIRTY_TRACKING (uapi/cuse-iommu.h): start, stop, and read a
// kernel-managed IOASID's dirty bits into the caller's bitmap, with the
// errnos of iommufd's IOMMU_HWPT_SET_DIRTY_TRACKING and
// IOMMU_HWPT_GET_DIRTY_BITMAP.  The bitmap is the caller's memory, so the
// handler takes the model lock itself and drops it around the bitmap.
#include <algorithm>
#include <bit>
#include <cerrno>
#include <mutex>
#include <new>
#include <span>
#include <vector>

#include "../core/call_env.h"
#include "../core/caller.h"
#include "../core/context.h"
#include "../core/model.h"
#include "cuse-iommu.h"
#include "ioasid_ioctls.h"

namespace ciommu {
namespace {

constexpr uint32_t kOps = IOMMU_DIRTY_TRACKING_START | IOMMU_DIRTY_TRACKING_STOP | IOMMU_DIRTY_TRACKING_GET_BITMAP;

// The IOASID a request names, if it can have dirty bits: 0, -ENOENT or
// -EOPNOTSUPP (a user-managed or identity space: no IOPTEs of ours).
long tracked_space(Context& ctx, uint32_t ioasid, IoAddressSpace** out) {
    IoAddressSpace* space = ctx.ioasids.find(ioasid);
    if (!space)
        return -ENOENT;
    if (space->kind() != IoasKind::kKernelManaged)
        return -EOPNOTSUPP;
    *out = space;
    return 0;
}

long start_or_stop(CallEnv& env, const iommu_dirty_tracking& req) {
    std::lock_guard guard(env.model.lock());
    IoAddressSpace* space = nullptr;
    if (long err = tracked_space(env.ctx, req.ioasid, &space))
        return err;
    const bool start = req.flags & IOMMU_DIRTY_TRACKING_START;
    if (start) {
        for (const auto& [unit, attachments] : space->attached_units)
            if (!env.model.topology().iommus[unit].dirty_tracking)
                return -EOPNOTSUPP;
    }
    space->set_dirty_tracking(start);
    return 0;
}

// The range rules of iommufd_check_iova_range(): 0, -EINVAL or -EOVERFLOW.
long check_bitmap_range(const iommu_dirty_tracking& req) {
    if (req.length == 0 || !std::has_single_bit(req.page_size))
        return -EINVAL;
    uint64_t last = 0;
    if (__builtin_add_overflow(req.iova, req.length - 1, &last))
        return -EOVERFLOW;
    const uint64_t end = last + 1;  // 0 for a range ending at 2^64: aligned
    const uint64_t alignment = std::max<uint64_t>(kPageSize, req.page_size);
    if ((req.iova | end) & (alignment - 1))
        return -EINVAL;
    return 0;
}

// Sets the bits of the dirty 4 KiB `pages` (ascending) in the bitmap at
// req.data, a window of it at a time (read, OR, write back): 0 or -EFAULT.
// Bits of clean units are left as they are, as iommufd leaves them.  The
// first window is always read and written back, dirty bits or not: iommufd
// pins the bitmap before it looks at any bit, so a bitmap it cannot reach
// is EFAULT even when nothing is dirty.
long set_bitmap_bits(const Caller& caller, const iommu_dirty_tracking& req, std::span<const uint64_t> pages) {
    constexpr uint64_t kWindow = 4096;  // bytes; one 4 KiB page's bits need at most 512
    const uint64_t bitmap_bytes = ((req.length / req.page_size) + 7) / 8;  // >= 1: length >= page_size
    uint64_t window_start = 0;  // byte offset in the bitmap
    std::vector<uint8_t> window(std::min(kWindow, bitmap_bytes));
    auto flush = [&] { return caller.write_memory(req.data + window_start, window.data(), window.size()); };
    if (caller.read_memory(req.data, window.data(), window.size()))
        return -EFAULT;
    for (uint64_t page : pages) {
        const uint64_t first_bit = ((page << kPageShift) - req.iova) / req.page_size;
        const uint64_t last_bit = ((page << kPageShift) + kPageSize - 1 - req.iova) / req.page_size;
        if ((last_bit >> 3) >= window_start + window.size()) {
            if (flush())
                return -EFAULT;
            window_start = first_bit >> 3;
            window.resize(std::min(kWindow, bitmap_bytes - window_start));
            if (caller.read_memory(req.data + window_start, window.data(), window.size()))
                return -EFAULT;
        }
        for (uint64_t bit = first_bit; bit <= last_bit; ++bit)
            window[(bit >> 3) - window_start] |= static_cast<uint8_t>(1u << (bit & 7));
    }
    return flush() ? -EFAULT : 0;
}

// Gives back dirty bits taken by a read that could not hand them over.
void restore_dirty(CallEnv& env, uint32_t ioasid, std::span<const uint64_t> pages) {
    std::lock_guard guard(env.model.lock());
    IoAddressSpace* space = nullptr;
    if (!tracked_space(env.ctx, ioasid, &space))
        space->set_dirty(pages, true);
}

long get_bitmap(CallEnv& env, const iommu_dirty_tracking& req) {
    if (long err = check_bitmap_range(req))
        return err;
    const uint64_t first = req.iova >> kPageShift, last = (req.iova + (req.length - 1)) >> kPageShift;
    const bool clear = !(req.flags & IOMMU_DIRTY_TRACKING_NO_CLEAR);
    std::vector<uint64_t> dirty;
    {
        std::lock_guard guard(env.model.lock());
        IoAddressSpace* space = nullptr;
        if (long err = tracked_space(env.ctx, req.ioasid, &space))
            return err;
        if (!space->dirty_tracking() || !space->fully_mapped(first, last))
            return -EINVAL;
        try {
            space->collect_dirty(first, last, dirty);
        } catch (const std::bad_alloc&) {
            return -ENOMEM;
        }
        if (clear)  // read and cleared at once, as the IOMMU's bits are
            space->set_dirty(dirty, false);
    }
    if (set_bitmap_bits(env.caller, req, dirty) == 0)
        return 0;
    if (clear)
        restore_dirty(env, req.ioasid, dirty);
    return -EFAULT;
}

}  // namespace

long ioctl_dirty_tracking(CallEnv& env, const iommu_dirty_tracking& req) {
    const uint32_t op = req.flags & kOps;
    if (!std::has_single_bit(op) ||
        ((req.flags & IOMMU_DIRTY_TRACKING_NO_CLEAR) && op != IOMMU_DIRTY_TRACKING_GET_BITMAP))
        return -EINVAL;
    if (op == IOMMU_DIRTY_TRACKING_GET_BITMAP)
        return get_bitmap(env, req);
    if (req.iova || req.length || req.page_size || req.data)
        return -EINVAL;
    return start_or_stop(env, req);
}

}  // namespace ciommu
