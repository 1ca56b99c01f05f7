#include "dma_engine.h"

#include "../dispatcher/model.h"
#include "../ioasid/user_memory.h"
#include "cuse-iommu.h"

namespace ciommu {
namespace {

// Where dev's DMA goes: through the IOMMU, or (software mdev) its vendor
// driver's view of the attached space.
Translation translate_for(Model& model, BoundDevice& dev, const DmaRequest& req, uint64_t iova) {
    const DeviceSpec& spec = *dev.spec;
    if (spec.kind == DeviceKind::kSwMdev) {
        auto it = dev.attachments.find(kNoPasid);
        if (it == dev.attachments.end()) {
            Translation t;
            t.fault.addr = iova;
            t.fault.reason = IOMMU_FAULT_REASON_BLOCKED;
            t.fault.flags = req.write ? IOMMU_FAULT_WRITE : 0u;
            return t;
        }
        return translate_in(model, *dev.ctx, it->second.ioasid, iova, req.write);
    }
    const uint32_t bus_pasid = spec.kind == DeviceKind::kMdev ? dev.def_pasid : req.pasid.value_or(kNoPasid);
    return translate_routed(model, RouteKey{spec.iommu, spec.rid, bus_pasid}, iova, req.write);
}

}  // namespace

long check_dma_pasid(const Model& model, const DeviceSpec& dev, uint32_t pasid) {
    if (dev.kind != DeviceKind::kPci || !dev.pasid)
        return -EOPNOTSUPP;
    const unsigned width = model.topology().iommus[dev.iommu].pasid_width;
    if (width == 0)
        return -EOPNOTSUPP;
    if (pasid == 0 || pasid >= (uint64_t{1} << width))
        return -EINVAL;
    return 0;
}

long start_dma(DmaJob& job) {
    job.bytes.resize(job.req.length);  // the daemon's initiator has filled a write's bytes already
    if (!job.req.write || from_daemon(job))
        return 0;
    return read_user(job.req.data_pid, job.req.data, job.bytes.data(), job.bytes.size()) ? -EFAULT : 0;
}

DmaStep run_dma(Model& model, BoundDevice& dev, DmaJob& job) {
    DmaStep step;
    const DmaRequest& req = job.req;
    while (job.done < req.length) {
        const uint64_t iova = req.iova + job.done;
        const uint64_t chunk = std::min(req.length - job.done, kPageSize - (iova & (kPageSize - 1)));
        Translation t = translate_for(model, dev, req, iova);
        if (t.err) {
            step.err = t.err;
            return step;
        }
        if (!t.ok) {
            step.faulted = true;
            job.fault = t.fault;
            return step;
        }
        unsigned char* bytes = job.bytes.data() + job.done;
        const long err = req.write ? write_user(t.pid, t.vaddr, bytes, chunk) : read_user(t.pid, t.vaddr, bytes, chunk);
        if (err) {  // the owner unmapped the memory behind the IOMMU's back
            step.err = -EFAULT;
            return step;
        }
        job.done += chunk;
    }
    return step;
}

long finish_dma(const DmaJob& job) {
    if (job.req.write || job.done == 0 || from_daemon(job))
        return 0;  // the daemon's initiator reads job.bytes itself
    return write_user(job.req.data_pid, job.req.data, job.bytes.data(), job.done);
}

}  // namespace ciommu
