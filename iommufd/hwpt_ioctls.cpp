// IOMMU_HWPT_ALLOC, IOMMU_HWPT_SET_DIRTY_TRACKING and
// IOMMU_HWPT_GET_DIRTY_BITMAP (drivers/iommu/iommufd/hw_pagetable.c, with
// the mock driver's domain_alloc_user and dirty ops from selftest.c).
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
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
#include "topology_device.h"
#include "topology_domain.h"

namespace ciommu {
namespace {

// The driver data HWPT_ALLOC names, read from the caller before the lock.
struct DriverData {
    long read_err = 0;  // -EFAULT, or -E2BIG: non-zero bytes past the struct
    iommu_hwpt_selftest selftest{};
    iommu_hwpt_vtd_s1 vtd{};
};

// iommu_copy_struct_from_user: at least up to the last field, any bytes
// past the struct zero.
long read_vtd_data(const Caller& caller, const iommu_hwpt_alloc& cmd, iommu_hwpt_vtd_s1& vtd) {
    if (cmd.data_len < sizeof(vtd))
        return 0;  // the handler says EINVAL
    if (caller.read_memory(cmd.data_uptr, &vtd, sizeof(vtd)))
        return -EFAULT;
    if (cmd.data_len > sizeof(vtd)) {
        if (cmd.data_len > 4096)
            return -E2BIG;
        std::vector<unsigned char> rest(cmd.data_len - sizeof(vtd));
        if (caller.read_memory(cmd.data_uptr + sizeof(vtd), rest.data(), rest.size()))
            return -EFAULT;
        if (std::any_of(rest.begin(), rest.end(), [](unsigned char b) { return b != 0; }))
            return -E2BIG;
    }
    return 0;
}

// iommufd_hwpt_paging_alloc + the driver's domain_alloc_user, for a page
// table the caller asks for (not an automatic one): filled at once from
// the IOAS.  A topology device's: no driver data, no dirty tracking (not
// modelled), NEST_PARENT only where its IOMMU nests.
long alloc_paging(Model& model, Context& ctx, const Device& idev, Ioas& ioas, const iommu_hwpt_alloc& cmd,
                  uint32_t& out_id) {
    const bool no_dirty = idev.is_topology() || (idev.mock_flags & MOCK_FLAGS_DEVICE_NO_DIRTY);
    if (cmd.flags & ~uint32_t{IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING})
        return -EOPNOTSUPP;
    if ((cmd.flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && no_dirty)
        return -EOPNOTSUPP;
    if (cmd.data_len)  // a paging domain takes no driver data
        return -EOPNOTSUPP;
    PagingOptions options{.huge_iova = (idev.mock_flags & MOCK_FLAGS_DEVICE_HUGE_IOVA) != 0,
                          .dirty_ops = (cmd.flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) != 0,
                          .nest_parent = (cmd.flags & IOMMU_HWPT_ALLOC_NEST_PARENT) != 0};
    if (idev.is_topology()) {
        const DeviceSpec& spec = model.topology().devices[idev.topology];
        if (options.nest_parent && model.topology().iommus[spec.iommu].nesting == Nesting::kNone)
            return -EOPNOTSUPP;
        if (long err = make_topology_domain(model, ctx, idev, options.topology_domain))
            return err;
    }
    HwptPaging* hwpt;
    if (long err = alloc_hwpt_paging(ctx.iommufd, model.ledger(), ioas, std::move(options), hwpt))
        return err;
    out_id = hwpt->id;
    return 0;
}

// intel_nested_domain_alloc: the caller's VT-d first-level table over a
// NEST_PARENT page table of a topology device's IOMMU.  4-level (48-bit)
// tables only: the model walks no 5-level one.
long make_vtd_stage1(Model& model, Context& ctx, const Device& idev, const HwptPaging& parent,
                     const iommu_hwpt_alloc& cmd, const DriverData& data, std::unique_ptr<TopologyStage1>& out) {
    const IommuUnit& unit = model.topology().iommus[model.topology().devices[idev.topology].iommu];
    if (cmd.data_type != IOMMU_HWPT_DATA_VTD_S1)
        return -EOPNOTSUPP;
    if (!(unit.pgtable_formats & (1u << IOMMU_PGTABLE_FORMAT_X86_64)))
        return -EOPNOTSUPP;
    if (cmd.data_len < sizeof(data.vtd))
        return -EINVAL;
    if (data.read_err)
        return data.read_err;
    const iommu_hwpt_vtd_s1& vtd = data.vtd;
    if ((vtd.flags & ~uint64_t{IOMMU_VTD_S1_SRE | IOMMU_VTD_S1_EAFE | IOMMU_VTD_S1_WPE}) || vtd.__reserved)
        return -EOPNOTSUPP;
    if (vtd.addr_width != 48 || (vtd.pgtbl_addr & (kPageSize - 1)))
        return -EINVAL;
    return TopologyStage1::make(model, ctx, *parent.topology(), vtd.pgtbl_addr, out);
}

// The mock's nested domain_alloc_user: only the selftest's data type,
// exactly its struct (iommu_copy_struct_from_user takes no larger one).
long check_selftest_data(const iommu_hwpt_alloc& cmd, const DriverData& data) {
    if (cmd.data_type != IOMMU_HWPT_DATA_SELFTEST)
        return -EOPNOTSUPP;
    if (cmd.data_len != sizeof(data.selftest))
        return -EINVAL;
    return data.read_err ? -EFAULT : 0;
}

// iommufd_hwpt_nested_alloc over a NEST_PARENT page table the caller
// made, with the driver data of the device's driver: the mock's or VT-d's.
// FAULT_ID_VALID: the page table's faults go to that queue.
long alloc_nested(Model& model, Context& ctx, const Device& idev, HwptPaging& parent, const iommu_hwpt_alloc& cmd,
                  const DriverData& data, uint32_t& out_id) {
    IommufdCtx& ictx = ctx.iommufd;
    if ((cmd.flags & ~uint32_t{IOMMU_HWPT_FAULT_ID_VALID}) || cmd.data_len == 0)
        return -EOPNOTSUPP;
    if (parent.auto_domain || !parent.nest_parent)
        return -EINVAL;
    if (idev.is_topology() != (parent.topology() != nullptr))
        return -EINVAL;  // another driver's domain
    std::unique_ptr<TopologyStage1> stage1;
    if (long err = idev.is_topology() ? make_vtd_stage1(model, ctx, idev, parent, cmd, data, stage1)
                                      : check_selftest_data(cmd, data))
        return err;
    FaultQueue* queue = nullptr;
    if ((cmd.flags & IOMMU_HWPT_FAULT_ID_VALID) && !(queue = ictx.objects.get<FaultQueue>(cmd.fault_id)))
        return -ENOENT;
    long id = 0;
    try {
        auto made = std::make_unique<HwptNested>(parent.id, data.selftest.iotlb);
        made->fault_id = queue ? queue->id : 0;
        made->stage1 = std::move(stage1);
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
    DriverData data;
    if (cmd.data_type == IOMMU_HWPT_DATA_VTD_S1)
        data.read_err = read_vtd_data(env.caller, cmd, data.vtd);
    else if (cmd.data_len == sizeof(data.selftest))
        data.read_err = env.caller.read_memory(cmd.data_uptr, &data.selftest, sizeof(data.selftest));
    return with_first_domain_probed(env, cmd.pt_id, cmd.dev_id, [&]() -> long {
        IommufdCtx& ictx = env.ctx.iommufd;
        const Device* idev = ictx.objects.get<Device>(cmd.dev_id);
        if (!idev)
            return -ENOENT;
        IommufdObject* pt = ictx.objects.find_any(cmd.pt_id);
        long err = -EINVAL;
        if (pt && pt->kind == ObjectKind::kIoas)
            err = alloc_paging(env.model, env.ctx, *idev, static_cast<Ioas&>(*pt), cmd, cmd.out_hwpt_id);
        else if (pt && pt->kind == ObjectKind::kHwptPaging)
            err = alloc_nested(env.model, env.ctx, *idev, static_cast<HwptPaging&>(*pt), cmd, data, cmd.out_hwpt_id);
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
    if (!hwpt->domain->dirty_ops())
        return -EOPNOTSUPP;
    MockDomain& domain = *hwpt->mock();  // only the mock's has dirty ops
    const bool enable = cmd.flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
    if (enable) {  // a clean snapshot: clear what the IOPTEs hold (iopt_clear_dirty_data)
        const Ioas* ioas = ictx.objects.get<Ioas>(hwpt->ioas_id);
        for (const auto& [iova, area] : ioas->iopt.areas())
            domain.read_and_clear_dirty(iova, area.last - iova + 1, /*keep=*/false, [](uint64_t, uint64_t) {});
    }
    domain.set_dirty_tracking(enable);
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
        if (!hwpt->domain->dirty_ops())
            return -EOPNOTSUPP;
        MockDomain& domain = *hwpt->mock();  // only the mock's has dirty ops
        if (!domain.dirty_tracking())
            return -EINVAL;
        try {
            if (long err = read_and_clear(domain, ioas.iopt, cmd, runs))
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

// intel_nested_cache_invalidate_user's checks of one entry, then the
// flush: npages pages of stage-1 IOVAs from addr (addr 0 with npages
// U64_MAX: all) leave the IOTLB.  LEAF changes nothing here: the model
// caches no non-leaf entries.
long apply_invalidation(HwptNested& hwpt, const iommu_hwpt_vtd_s1_invalidate& inv) {
    if ((inv.flags & ~uint32_t{IOMMU_VTD_INV_FLAGS_LEAF}) || inv.__reserved)
        return -EOPNOTSUPP;
    if ((inv.addr & (kPageSize - 1)) || (inv.npages == UINT64_MAX && inv.addr))
        return -EINVAL;
    if (inv.npages == 0)
        return 0;
    const uint64_t first = inv.addr >> kPageShift;
    const uint64_t last = inv.npages - 1 > UINT64_MAX - first ? UINT64_MAX : first + (inv.npages - 1);
    hwpt.stage1->invalidate(first, last);
    return 0;
}

// Reads entries [done, done + n) (entry_len bytes each) into batch; the
// count that could be read.  An entry longer than Entry must be zero past
// it (iommu_copy_struct_from_user_array): *e2big names the first that is not.
template <typename Entry>
uint32_t read_entries(const Caller& caller, const iommu_hwpt_invalidate& cmd, uint32_t done, uint32_t n,
                      std::vector<Entry>& batch, std::vector<unsigned char>& raw, uint32_t* e2big) {
    raw.resize(size_t{n} * cmd.entry_len);
    const uint64_t at = cmd.data_uptr + uint64_t{done} * cmd.entry_len;
    uint32_t readable = n;
    if (caller.read_memory(at, raw.data(), raw.size())) {
        readable = 0;
        while (readable < n && !caller.read_memory(at + uint64_t{readable} * cmd.entry_len,
                                                   raw.data() + size_t{readable} * cmd.entry_len, cmd.entry_len))
            ++readable;
    }
    batch.resize(readable);
    *e2big = readable;
    for (uint32_t i = 0; i < readable; ++i) {
        const unsigned char* entry = raw.data() + size_t{i} * cmd.entry_len;
        std::memcpy(&batch[i], entry, sizeof(Entry));
        if (*e2big == readable && std::any_of(entry + sizeof(Entry), entry + cmd.entry_len,
                                              [](unsigned char b) { return b != 0; }))
            *e2big = i;
    }
    return readable;
}

// The entries, a batch at a time: read without the lock, applied under it
// (the page table is looked up again each time: it may have gone).
// exact: the entry must be exactly Entry's size (the mock's
// iommu_copy_struct_from_user_array takes neither shorter nor longer).
template <typename Entry>
long invalidate_entries(CallEnv& env, iommu_hwpt_invalidate& cmd, uint32_t wanted, bool exact) {
    if (wanted && (cmd.entry_len < sizeof(Entry) || (exact && cmd.entry_len != sizeof(Entry))))
        return -EINVAL;
    const uint32_t batch_entries = std::max<uint32_t>(1, 65536 / std::max<uint32_t>(cmd.entry_len, 1));
    std::vector<Entry> batch;
    std::vector<unsigned char> raw;
    for (uint32_t done = 0; done < wanted;) {
        const uint32_t n = std::min(batch_entries, wanted - done);
        uint32_t e2big;
        const uint32_t readable = read_entries(env.caller, cmd, done, n, batch, raw, &e2big);
        std::lock_guard guard(env.model.lock());
        HwptNested* hwpt = env.ctx.iommufd.objects.get<HwptNested>(cmd.hwpt_id);
        if (!hwpt)
            return -ENOENT;
        for (uint32_t i = 0; i < readable; ++i, ++done) {
            if (i == e2big)
                return -E2BIG;
            if (long err = apply_invalidation(*hwpt, batch[i]))
                return err;
            cmd.entry_num = done + 1;
        }
        if (readable < n)
            return -EFAULT;
    }
    return 0;
}

// The driver's cache_invalidate_user: the mock's, or VT-d's for a
// topology device's nested page table.
long invalidate_entries(CallEnv& env, iommu_hwpt_invalidate& cmd, uint32_t wanted) {
    bool vtd;
    {
        std::lock_guard guard(env.model.lock());
        const HwptNested* hwpt = env.ctx.iommufd.objects.get<HwptNested>(cmd.hwpt_id);
        if (!hwpt)
            return -ENOENT;
        vtd = hwpt->stage1 != nullptr;
    }
    if (vtd) {
        if (cmd.data_type != IOMMU_HWPT_INVALIDATE_DATA_VTD_S1)
            return -EINVAL;
        return invalidate_entries<iommu_hwpt_vtd_s1_invalidate>(env, cmd, wanted, /*exact=*/false);
    }
    if (cmd.data_type != IOMMU_HWPT_INVALIDATE_DATA_SELFTEST)
        return -EINVAL;
    return invalidate_entries<iommu_hwpt_invalidate_selftest>(env, cmd, wanted, /*exact=*/true);
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
