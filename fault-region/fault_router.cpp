#include "fault_router.h"

#include "../devices/page_request_capability.h"
#include "../devices/translation.h"
#include "page_requests.h"
#include "../core/model.h"
#include "cuse-iommu.h"

namespace ciommu {
namespace {

iommu_fault_record make_record(const BoundDevice& dev, uint32_t attachment_key, const Fault& fault) {
    iommu_fault_record record{};
    record.reason = fault.reason;
    record.cookie = dev.cookie;
    record.ioasid = fault.ioasid;
    record.addr = fault.addr;
    record.perm = fault.perm ? fault.perm
                             : (fault.flags & IOMMU_FAULT_WRITE) ? IOMMU_FAULT_PERM_WRITE : IOMMU_FAULT_PERM_READ;
    if (fault.flags & IOMMU_FAULT_STAGE1)
        record.flags |= IOMMU_FAULT_RECORD_STAGE1;
    if (fault.flags & IOMMU_FAULT_STAGE2)
        record.flags |= IOMMU_FAULT_RECORD_STAGE2;
    // An mdev's defPASID is the model's business, never the user's.
    if (attachment_key != kNoPasid && dev.spec->kind == DeviceKind::kPci) {
        record.flags |= IOMMU_FAULT_RECORD_PASID_VALID;
        record.pasid = attachment_key;
    }
    return record;
}

std::chrono::steady_clock::time_point deadline_for(Model& model, const FaultRegion& region) {
    if (region.timeout_ms == 0)
        return std::chrono::steady_clock::time_point::max();
    return model.now() + std::chrono::milliseconds(region.timeout_ms);
}

}  // namespace

bool deliver_record(Model& model, Context& ctx, iommu_fault_record record) noexcept {
    const bool queued = ctx.faults.push(record);
    if (queued)
        model.note_new_records(ctx);
    FaultEvent event{};
    event.kind = queued ? FaultEvent::Kind::kRecord : FaultEvent::Kind::kLost;
    event.context_id = ctx.id;
    event.record = record;
    model.report(event);
    return queued;
}

FaultFate raise_fault(Model& model, BoundDevice& dev, uint32_t attachment_key, const Fault& fault,
                      bool recoverable, uint64_t dma_id, uint32_t* grpid) {
    Context& ctx = *dev.ctx;
    FaultRegion& region = ctx.faults;
    // A device out of page-request credits cannot send one (admit_dma and
    // injection refuse up front; this holds against their races).
    const bool no_credit = recoverable && dev.page_requests.size() >= dev.max_page_requests;
    if (!dev.fault_consumer || (recoverable && dev.page_requests_stopped) || no_credit) {
        ++region.unreported;
        return recoverable ? FaultFate::kAborted : FaultFate::kUnrecoverable;
    }
    iommu_fault_record record = make_record(dev, attachment_key, fault);
    if (!recoverable) {
        deliver_record(model, ctx, record);
        return FaultFate::kUnrecoverable;
    }
    // The group is made before its record goes out, so an answer finds it;
    // without memory for it the request is never sent: the device gives up.
    const uint32_t group = open_page_request(dev, attachment_key, deadline_for(model, region), dma_id);
    if (!group) {
        ++region.unreported;
        return FaultFate::kAborted;
    }
    record.flags |= IOMMU_FAULT_RECORD_RECOVERABLE | IOMMU_FAULT_RECORD_LAST;
    record.grpid = group;
    if (!deliver_record(model, ctx, record)) {
        drop_unsent_page_request(dev, group);
        return FaultFate::kAborted;  // lost: nobody will answer it
    }
    if (grpid)
        *grpid = group;
    return FaultFate::kStalled;
}

const FaultPort& fault_router_port() {
    static constexpr FaultPort port{raise_fault, deliver_record, abort_page_requests};
    return port;
}

}  // namespace ciommu
