#include "dma_engine.h"

#include <vector>

#include "../dispatcher/model.h"
#include "../ioasid/user_memory.h"
#include "cuse-iommu.h"

namespace ciommu {
namespace {

// Where dev's DMA for req goes: through the IOMMU, or (software mdev) its
// vendor driver's view of the attached space.
Translation translate_for(Model& model, BoundDevice& dev, const DmaRequest& req, uint64_t iova) {
    const DeviceSpec& spec = *dev.spec;
    if (spec.kind == DeviceKind::kSwMdev) {
        auto it = dev.attachments.find(kNoPasid);
        if (it == dev.attachments.end()) {
            Translation t;
            t.fault = {iova, IOMMU_FAULT_REASON_BLOCKED, req.write ? IOMMU_FAULT_WRITE : 0u};
            return t;
        }
        return translate_in(*it->second.space, iova, req.write);
    }
    const uint32_t bus_pasid = spec.kind == DeviceKind::kMdev ? dev.def_pasid : req.pasid.value_or(kNoPasid);
    return translate_routed(model, RouteKey{spec.iommu, spec.rid, bus_pasid}, iova, req.write);
}

}  // namespace

DmaResult run_dma(Model& model, BoundDevice& dev, const DmaRequest& req) {
    DmaResult result;
    std::vector<unsigned char> bytes(req.length);
    if (req.write && read_user(req.data_pid, req.data, bytes.data(), bytes.size())) {
        result.err = -EFAULT;
        return result;
    }
    uint64_t done = 0;
    while (done < req.length) {
        const uint64_t iova = req.iova + done;
        const uint64_t chunk = std::min(req.length - done, kPageSize - (iova & (kPageSize - 1)));
        Translation t = translate_for(model, dev, req, iova);
        if (t.err) {
            result.err = t.err;
            return result;
        }
        if (!t.ok) {
            result.faulted = true;
            result.fault = t.fault;
            break;
        }
        const long err = req.write ? write_user(t.pid, t.vaddr, bytes.data() + done, chunk)
                                   : read_user(t.pid, t.vaddr, bytes.data() + done, chunk);
        if (err) {  // the owner unmapped the memory behind the IOMMU's back
            result.err = -EFAULT;
            return result;
        }
        done += chunk;
    }
    result.bytes_done = done;
    if (!req.write && done && write_user(req.data_pid, req.data, bytes.data(), done))
        result.err = -EFAULT;
    return result;
}

}  // namespace ciommu
