// IOMMU_TEST_CMD: the operations of the selftest's mock driver
// (drivers/iommu/iommufd/selftest.c), answered from the model.
#include <algorithm>
#include <cerrno>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "../core/call_env.h"
#include "../core/caller.h"
#include "../core/context.h"
#include "../core/model.h"
#include "../ioasid/process.h"
#include "device.h"
#include "device_attach.h"
#include "fault_queue.h"
#include "hw_pagetable.h"
#include "ioas.h"
#include "iommufd_ioctls.h"
#include "mock_device.h"

namespace ciommu {
namespace {

constexpr uint64_t kPage = 4096;

// MD_CHECK_REFS: every page of [uptr, uptr + length) is pinned `refs`
// times (EIO otherwise).  The kernel reads struct page's pin count; the
// daemon cannot see that, so it answers from its own pin records -- the
// pins this profile took for the caller (docs/iommufd.md).  Pages are
// faulted in first, as get_user_pages_fast() does: EFAULT if unmapped.
long check_refs(CallEnv& env, const iommu_test_cmd& cmd) {
    const uint64_t uptr = cmd.check_refs.uptr, length = cmd.check_refs.length;
    if (length % kPage || uptr % kPage || uptr + length < uptr)
        return -EINVAL;
    if (length && env.caller.probe_memory(uptr, length))
        return -EFAULT;
    const ProcessRef process = env.caller_process();
    if (!process)
        return -EFAULT;
    // A slice of pages per hold of the lock: a huge range must not hold
    // up other clients.
    constexpr uint64_t kSlice = 4096 * kPage;
    for (uint64_t at = uptr; at < uptr + length; at += kSlice) {
        std::lock_guard guard(env.model.lock());
        for (uint64_t page = at; page < std::min(at + kSlice, uptr + length); page += kPage) {
            if (env.model.ledger().pins(*process, page) != cmd.check_refs.refs)
                return -EIO;
        }
    }
    return 0;
}

// ADD_RESERVED (iommufd_test_add_reserved): a reserved range no domain
// owns.
long add_reserved(CallEnv& env, const iommu_test_cmd& cmd) {
    const uint64_t start = cmd.add_reserved.start, length = cmd.add_reserved.length;
    if (length == 0)
        return -EINVAL;
    if (start > UINT64_MAX - (length - 1))
        return -EOVERFLOW;
    std::lock_guard guard(env.model.lock());
    Ioas* ioas = env.ctx.iommufd.objects.get<Ioas>(cmd.id);
    if (!ioas)
        return -ENOENT;
    return ioas->iopt.reserve(start, start + (length - 1), nullptr);
}

// The objects MOCK_DOMAIN makes (a mock device and its bound device),
// attached to cmd.id; on failure every object made is gone again.  Runs
// with the model lock held.
long add_mock_device(CallEnv& env, iommu_test_cmd& cmd, uint32_t flags) {
    IommufdCtx& ictx = env.ctx.iommufd;
    long stdev_id = 0, idev_id = 0;
    try {
        if ((stdev_id = ictx.objects.add(std::make_unique<MockDevice>())) < 0)
            return stdev_id;
        if ((idev_id = ictx.objects.add(std::make_unique<Device>(flags))) < 0) {
            ictx.objects.destroy(static_cast<uint32_t>(stdev_id));
            return idev_id;
        }
    } catch (const std::bad_alloc&) {
        if (stdev_id > 0)
            ictx.objects.destroy(static_cast<uint32_t>(stdev_id));
        return -ENOMEM;
    }
    ictx.objects.get<MockDevice>(static_cast<uint32_t>(stdev_id))->idev_id = static_cast<uint32_t>(idev_id);
    uint32_t hwpt_id = 0;
    Device& idev = *ictx.objects.get<Device>(static_cast<uint32_t>(idev_id));
    if (long err = attach_device(ictx, env.model.ledger(), idev, cmd.id, hwpt_id)) {
        ictx.destroy_object(env.model.ledger(), static_cast<uint32_t>(stdev_id));
        return err;
    }
    cmd.mock_domain.out_stdev_id = static_cast<uint32_t>(stdev_id);
    cmd.mock_domain.out_hwpt_id = hwpt_id;
    cmd.mock_domain.out_idev_id = static_cast<uint32_t>(idev_id);
    created_object(env, cmd.mock_domain.out_stdev_id);  // takes its device and automatic domain along
    return 0;
}


// MOCK_DOMAIN / MOCK_DOMAIN_FLAGS (iommufd_test_mock_domain): a mock
// device, bound (a device object) and attached to cmd.id.  The ids are
// written back; on failure every object made is gone again.
long mock_domain(CallEnv& env, iommu_test_cmd& cmd) {
    const uint32_t flags = cmd.op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS ? cmd.mock_domain_flags.dev_flags : 0;
    // MOCK_FLAGS_DEVICE_PASID is newer than 6.12's mock, but 6.12's
    // selftest uses it (docs/iommufd.md, "Divergences").
    if (flags & ~uint32_t{MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_HUGE_IOVA | MOCK_FLAGS_DEVICE_PASID})
        return -EINVAL;
    return with_first_domain_probed(env, cmd.id, 0, [&] { return add_mock_device(env, cmd, flags); });
}

// MOCK_DOMAIN_REPLACE: the mock device cmd.id moves to pt_id.
long mock_domain_replace(CallEnv& env, iommu_test_cmd& cmd) {
    return with_first_domain_probed(env, cmd.mock_domain_replace.pt_id, 0, [&]() -> long {
        IommufdCtx& ictx = env.ctx.iommufd;
        const MockDevice* stdev = ictx.objects.get<MockDevice>(cmd.id);
        if (!stdev)
            return -ENOENT;
        Device* idev = ictx.objects.get<Device>(stdev->idev_id);
        if (!idev)
            return -ENOENT;
        return replace_device(ictx, env.model.ledger(), *idev, cmd.mock_domain_replace.pt_id,
                              cmd.mock_domain_replace.pt_id);
    });
}

// MD_CHECK_MAP (iommufd_test_md_check_pa): each 2 KiB IO page of
// [iova, iova + length) in the mock domain cmd.id translates to the
// caller's memory at the same offset from uptr (EINVAL otherwise); the
// kernel compares physical pages, the VA-based model user addresses and
// their owner.  The caller's pages are faulted in first (EFAULT).
long check_map(CallEnv& env, const iommu_test_cmd& cmd) {
    constexpr uint64_t kIoPage = MockDomain::kIoPageSize;
    const uint64_t iova = cmd.check_map.iova, length = cmd.check_map.length, uptr = cmd.check_map.uptr;
    if (iova % kIoPage || length % kIoPage || uptr % kIoPage || uptr > UINT64_MAX - length)
        return -EINVAL;
    {
        std::lock_guard guard(env.model.lock());
        if (!env.ctx.iommufd.objects.get<HwptPaging>(cmd.id))
            return -ENOENT;
    }
    if (length && env.caller.probe_memory(uptr, length))
        return -EFAULT;
    const ProcessRef caller = env.caller_process();
    if (!caller)
        return -EFAULT;
    std::lock_guard guard(env.model.lock());
    const IommufdCtx& ictx = env.ctx.iommufd;
    const HwptPaging* hwpt = ictx.objects.get<HwptPaging>(cmd.id);
    const Ioas* ioas = hwpt ? ictx.objects.get<Ioas>(hwpt->ioas_id) : nullptr;
    if (!hwpt || !ioas)
        return -ENOENT;
    if (!hwpt->mock())
        return -EINVAL;  // a topology device's page table
    for (uint64_t at = 0; at < length; at += kIoPage) {
        const auto entry = hwpt->mock()->lookup(iova + at);
        const IoptArea* area = ioas->iopt.area_at(iova + at);
        if (!entry || !area || entry->vaddr != uptr + at || area->pages->owner->serial() != caller->serial())
            return -EINVAL;
    }
    return 0;
}

// DIRTY (iommufd_test_dirty): marks dirty the IOPTEs of the page-size
// pages whose bits are set in the caller's bitmap at uptr (as a device's
// writes would), counting those mapped.  Tracking must be on (EINVAL).
long mark_dirty(CallEnv& env, iommu_test_cmd& cmd) {
    const auto& d = cmd.dirty;
    if (!d.page_size || !d.length || d.iova % d.page_size || d.length % d.page_size || !d.uptr)
        return -EINVAL;
    const uint64_t max = d.length / d.page_size;
    if (max > (uint64_t{16} << 20) * 8)
        return -EOVERFLOW;
    auto tracking_hwpt = [&]() -> long {
        const HwptPaging* hwpt = env.ctx.iommufd.objects.get<HwptPaging>(cmd.id);
        if (!hwpt)
            return -ENOENT;
        return hwpt->mock() && hwpt->mock()->dirty_tracking() ? 0 : -EINVAL;
    };
    {
        std::lock_guard guard(env.model.lock());
        if (long err = tracking_hwpt())
            return err;
    }
    std::vector<uint8_t> bits;
    try {
        bits.resize((max + 7) / 8);
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
    if (env.caller.read_memory(d.uptr, bits.data(), bits.size()))
        return -EFAULT;
    std::lock_guard guard(env.model.lock());
    if (long err = tracking_hwpt())
        return err;
    MockDomain& domain = *env.ctx.iommufd.objects.get<HwptPaging>(cmd.id)->mock();
    uint64_t count = 0;
    for (uint64_t i = 0; i < max; ++i) {
        if (!(bits[i / 8] & (1u << (i % 8))))
            continue;
        // The kernel indexes its table by (iova / page_size): the same
        // IOPTE when page_size is the mock's 2 KiB.
        const uint64_t iova = (d.iova + i * d.page_size) / d.page_size * MockDomain::kIoPageSize;
        if (domain.lookup(iova)) {
            domain.mark_dirty(iova);
            ++count;
        }
    }
    cmd.dirty.out_nr_dirty = count;
    return 0;
}

// MD_CHECK_IOTLB (iommufd_test_md_check_iotlb): one IOTLB entry of a
// nested page table holds the value given (EINVAL otherwise).
long check_iotlb(CallEnv& env, const iommu_test_cmd& cmd) {
    std::lock_guard guard(env.model.lock());
    const HwptNested* hwpt = env.ctx.iommufd.objects.get<HwptNested>(cmd.id);
    if (!hwpt)
        return -ENOENT;
    if (hwpt->stage1)
        return -EINVAL;  // a VT-d one: its IOTLB is the model's, not the mock's four values
    const uint32_t id = cmd.check_iotlb.id;
    return id <= MOCK_NESTED_DOMAIN_IOTLB_ID_MAX && hwpt->iotlb[id] == cmd.check_iotlb.iotlb ? 0 : -EINVAL;
}

// TRIGGER_IOPF (iommufd_test_trigger_iopf): the mock device reports one
// page request, the last of its group.  It reaches the fault queue of the
// page table the device is attached to, if that has one; else it is
// dropped, and the call succeeds either way, as in the kernel.
long trigger_iopf(CallEnv& env, const iommu_test_cmd& cmd) {
    std::lock_guard guard(env.model.lock());
    IommufdCtx& ictx = env.ctx.iommufd;
    const Device* idev = ictx.objects.get<Device>(cmd.trigger_iopf.dev_id);
    if (!idev)
        return -ENOENT;
    if (idev->is_topology())
        return -EINVAL;  // the mock device's op: a topology device faults by its DMA
    const auto* hwpt = ictx.objects.get<HwptNested>(idev->hwpt_id);
    FaultQueue* queue = hwpt ? ictx.objects.get<FaultQueue>(hwpt->fault_id) : nullptr;
    if (!queue)
        return 0;
    iommu_hwpt_pgfault fault{};
    fault.flags = IOMMU_PGFAULT_FLAGS_LAST_PAGE | (cmd.trigger_iopf.pasid ? uint32_t{IOMMU_PGFAULT_FLAGS_PASID_VALID} : 0u);
    fault.dev_id = idev->id;
    fault.pasid = cmd.trigger_iopf.pasid;
    fault.grpid = cmd.trigger_iopf.grpid;
    fault.perm = cmd.trigger_iopf.perm;
    fault.addr = cmd.trigger_iopf.addr;
    try {
        if (queue->report({hwpt->id, idev->id, {fault}}) == 0 && queue->file)
            env.model.note_object_file_readable(queue->file);
    } catch (const std::bad_alloc&) {
        // Dropped, as a report the kernel cannot queue is.
    }
    return 0;
}

// SET_TEMP_MEMORY_LIMIT: at least one batch element (an unsigned long and
// a u32), as the kernel's _batch_init() needs; else EINVAL.
long set_temp_memory_limit(CallEnv& env, const iommu_test_cmd& cmd) {
    if (cmd.memory_limit.limit < sizeof(unsigned long) + sizeof(uint32_t))
        return -EINVAL;
    std::lock_guard guard(env.model.lock());
    env.ctx.iommufd.test_memory_limit = cmd.memory_limit.limit;
    return 0;
}

}  // namespace

// Self-locked: some operations touch the caller's memory, which must never
// be waited on with the model lock held.
long ioctl_iommufd_test(CallEnv& env, iommu_test_cmd& cmd) {
    if (env.object_file && cmd.op != IOMMU_TEST_OP_CREATE_ACCESS)
        return -EINVAL;  // only CREATE_ACCESS answers an fd
    switch (cmd.op) {
    case IOMMU_TEST_OP_ADD_RESERVED:
        return add_reserved(env, cmd);
    case IOMMU_TEST_OP_MOCK_DOMAIN:
    case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
        return mock_domain(env, cmd);
    case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
        return mock_domain_replace(env, cmd);
    case IOMMU_TEST_OP_MD_CHECK_MAP:
        return check_map(env, cmd);
    case IOMMU_TEST_OP_MD_CHECK_IOTLB:
        return check_iotlb(env, cmd);
    case IOMMU_TEST_OP_TRIGGER_IOPF:
        return trigger_iopf(env, cmd);
    case IOMMU_TEST_OP_DIRTY:
        return mark_dirty(env, cmd);
    case IOMMU_TEST_OP_MD_CHECK_REFS:
        return check_refs(env, cmd);
    case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
        return set_temp_memory_limit(env, cmd);
    case IOMMU_TEST_OP_CREATE_ACCESS:
    case IOMMU_TEST_OP_ACCESS_PAGES:
    case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
    case IOMMU_TEST_OP_ACCESS_RW:
    case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
        return selftest_access_op(env, cmd);
    default:
        return -EOPNOTSUPP;
    }
}

}  // namespace ciommu
