#include "topology_faults.h"

#include "../core/context.h"
#include "../core/model.h"
#include "../devices/translation.h"
#include "../fault-region/page_requests.h"
#include "cuse-iommu-iommufd.h"
#include "device.h"
#include "fault_queue.h"
#include "hw_pagetable.h"

namespace ciommu {
namespace {

// The fault queue of the page table the attachment `key` goes through.
FaultQueue* queue_of(IommufdCtx& ictx, const Device& idev, uint32_t key) {
    const HwptNested* nested = ictx.objects.get<HwptNested>(idev.hwpt_at(key));
    return nested ? ictx.objects.get<FaultQueue>(nested->fault_id) : nullptr;
}

iommu_hwpt_pgfault make_pgfault(const Device& idev, const BoundDevice& dev, uint32_t key, const Fault& fault,
                                uint32_t group) {
    iommu_hwpt_pgfault record{};
    record.flags = IOMMU_PGFAULT_FLAGS_LAST_PAGE;
    if (key != kNoPasid && dev.spec->kind == DeviceKind::kPci) {  // an mdev's defPASID is the model's
        record.flags |= IOMMU_PGFAULT_FLAGS_PASID_VALID;
        record.pasid = key;
    }
    record.dev_id = idev.id;
    record.grpid = group;
    const bool write = fault.perm ? (fault.perm & IOMMU_FAULT_PERM_WRITE) : (fault.flags & IOMMU_FAULT_WRITE);
    record.perm = write ? IOMMU_PGFAULT_PERM_WRITE : IOMMU_PGFAULT_PERM_READ;
    record.addr = fault.addr & ~(kPageSize - 1);
    record.length = kPageSize;
    return record;
}

}  // namespace

std::optional<FaultFate> raise_topology_fault(Model& model, BoundDevice& dev, uint32_t attachment_key,
                                              const Fault& fault, bool recoverable, uint64_t dma_id,
                                              uint32_t* grpid) {
    Context& ctx = *dev.ctx;
    const Device* idev = ctx.iommufd.objects.get<Device>(object_id_of_cookie(dev.cookie));
    if (!idev || !idev->is_topology())
        return std::nullopt;
    if (!recoverable)
        return FaultFate::kUnrecoverable;  // iommufd 6.12 reports no unrecoverable fault
    FaultQueue* queue = queue_of(ctx.iommufd, *idev, attachment_key);
    if (!queue)
        return FaultFate::kAborted;
    // The RFC model's page request first, so an answer finds it; no
    // deadline: an iommufd fault waits for its answer, detach or unbind.
    const uint32_t group =
        open_page_request(dev, attachment_key, std::chrono::steady_clock::time_point::max(), dma_id);
    if (!group)
        return FaultFate::kAborted;  // out of credits (or memory): never sent
    FaultGroup queued{idev->hwpt_at(attachment_key), idev->id, {}};
    try {
        queued.faults.push_back(make_pgfault(*idev, dev, attachment_key, fault, group));
    } catch (const std::bad_alloc&) {
        drop_unsent_page_request(dev, group);
        return FaultFate::kAborted;
    }
    if (queue->report(std::move(queued))) {  // full (or no memory): the request is lost
        drop_unsent_page_request(dev, group);
        return FaultFate::kAborted;
    }
    if (queue->file)
        model.note_object_file_readable(queue->file);
    if (grpid)
        *grpid = group;
    return FaultFate::kStalled;
}

void answer_topology_group(Model& model, uint64_t context_id, const FaultGroup& group, uint32_t code) noexcept {
    Context* ctx = model.find_context(context_id);
    if (!ctx || group.faults.empty())
        return;
    const Device* idev = ctx->iommufd.objects.get<Device>(group.dev_id);
    if (!idev || !idev->is_topology())
        return;  // the mock device takes no answers
    uint64_t dma = 0;
    // The iommufd codes are the RFC's SUCCESS and INVALID, by number.
    if (respond_page_request(model, *ctx, group.dev_id, group.faults.back().grpid, code, &dma) == 0 && dma) {
        if (auto job = ctx->dmas.find(dma); job != ctx->dmas.end())
            job->second.resume_owed = true;  // running-marked by the answer: nothing else drives it
    }
}

}  // namespace ciommu
