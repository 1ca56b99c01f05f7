// dma and dma-status: a device's DMA started from the control socket.  The
// bytes live in the request and the response (no initiator process), and
// the job goes through the same life as a client's SIM_DMA
// (devices/stalled_dma.h) in the device's owning context: admitted
// against the device's page-request credits, run with the model lock
// dropped around client memory, stalled on page requests; a stalled one
// waits in that context's dmas until dma-status reaps it.
#include <cerrno>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <algorithm>
#include <mutex>
#include <span>

#include "../core/model.h"
#include "../devices/dma_engine.h"
#include "../devices/stalled_dma.h"
#include "../iommufd/emulated_device.h"
#include "../toolkit/hex_text.h"
#include "../toolkit/uapi_names.h"
#include "control_commands.h"
#include "control_names.h"
#include "cuse-iommu.h"
#include "request_fields.h"
#include "safe_json.h"

namespace ciommu {
namespace {

using nlohmann::json;
constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

// A job's answer; `job` is the finished job (nullptr while PENDING).
json job_json(const DmaReport& report, const DmaJob* job) {
    json out = json_object("ok", true, "status", text_name(kDmaStatuses, report.status), "bytes_done", report.done);
    JsonScope scope(out);
    if (report.status != IOMMU_SIM_DMA_OK) {
        json flags = fault_flags_json(report.fault.flags);
        set_json(out, "fault",
                 json_object("addr", report.fault.addr, "reason", text_name(kFaultReasons, report.fault.reason), "flags",
                             std::move(flags)));
    }
    if (report.status == IOMMU_SIM_DMA_PENDING)
        out["dma_id"] = report.dma_id;
    else if (job && !job->req.write)  // unbind drops a held job's data
        out["data"] = to_hex(std::span(job->bytes).first(std::min<size_t>(job->done, job->bytes.size())));
    return std::exchange(out, nullptr);
}

// An answer built before a DMA runs or is reaped, for when its full answer
// cannot be built afterwards (out of memory): the work done stays done, and
// the client still learns how it ended and the id to reap it by.  Filling
// it in allocates nothing: the status string has its room already.
constexpr char kBriefWarning[] = "out of memory: the DMA ran, but its full answer (fault, data) could not be built";
json brief_answer() {
    return json_object("ok", true, "warning", kBriefWarning, "status", std::string(16, ' '), "bytes_done", 0,
                       "dma_id", 0);
}

json& fill_brief(json& brief, const DmaReport& report) {
    brief.find("status")->get_ref<std::string&>().assign(text_name(kDmaStatuses, report.status));
    *brief.find("bytes_done") = report.done;
    *brief.find("dma_id") = report.dma_id;
    return brief;
}

// job_json(), or the brief answer filled in.
json answer_or_brief(const DmaReport& report, const DmaJob* job, json& brief) {
    try {
        return job_json(report, job);
    } catch (const std::bad_alloc&) {
        return std::move(fill_brief(brief, report));
    }
}

std::string pasid_error(const Model& model, const DeviceSpec& spec, long err, uint64_t pasid) {
    if (err == -EOPNOTSUPP)
        return "pasid: " + json_quoted(spec.name) + " cannot carry a PASID (an mdev, a device without PASID "
                                               "support, or one behind an IOMMU without PASIDs)";
    const unsigned width = model.topology().iommus[spec.iommu].pasid_width;
    return "pasid: expected 1.." + std::to_string((uint64_t{1} << width) - 1) + " (" + std::to_string(width) +
           " PASID bits), got " + std::to_string(pasid);
}

// The job a request describes, all fields read; *error set on failure.
struct DmaFields {
    std::string device;
    DmaJob job;
};

bool read_dma_fields(const json& request, DmaFields& out, std::string* error) {
    Fields f(request, {"device", "iova", "length", "write", "data", "pasid"});
    out.device = f.string("device");
    const uint64_t iova = f.number("iova", 0, kU64Max);
    const uint64_t length = f.number("length", 1, IOMMU_SIM_DMA_MAX);
    const bool write = f.boolean("write");
    const auto pasid = f.optional_number("pasid", 0, std::numeric_limits<uint32_t>::max());
    if (f.ok() && write)
        out.job.bytes = f.hex_bytes("data", length);
    else if (f.has("data"))
        f.fail("data", "only a write carries data (\"write\": true)");
    if (f.ok() && iova + (length - 1) < iova)
        f.fail("length", "iova + length wraps past 2^64");
    *error = f.error();
    const auto bus_pasid = pasid ? std::optional(static_cast<uint32_t>(*pasid)) : std::nullopt;
    out.job.req = {iova, length, write, bus_pasid, nullptr, 0};
    out.job.control = true;
    out.job.bytes.resize(length);  // a read's room (a write's bytes are there already)
    return f.ok();
}

// A control DMA named by device and id, in whichever context holds it:
// the device's owner first (ids are per context), then any (the bind may
// have ended since: the DMA then ended ABORTED and is still to be reaped).
struct FoundDma {
    Context* ctx = nullptr;  // nullptr: not found
    std::map<uint64_t, DmaJob>::iterator it;
};

FoundDma find_control_dma(Model& model, const std::string& name, uint64_t id) {
    const auto& devices = model.topology().devices;
    auto look_in = [&](Context& ctx) -> FoundDma {
        auto it = ctx.dmas.find(id);
        if (it == ctx.dmas.end() || !from_daemon(it->second))
            return {};
        const unsigned index = it->second.device;
        if (index >= devices.size() || devices[index].name != name)
            return {};
        return {&ctx, it};
    };
    std::string unused;
    if (BoundDevice* dev = bound_device_named(model, name, "device", &unused)) {
        if (FoundDma found = look_in(*dev->ctx); found.ctx)
            return found;
    }
    FoundDma found;
    model.for_each_context([&](Context& ctx) {
        if (!found.ctx)
            found = look_in(ctx);
    });
    return found;
}

// A software mdev bound on the iommufd profile has no IOMMU and no DMA
// engine route: its DMA is its vendor driver's copy through its IOAS
// (iommufd/emulated_device.h), planned under the lock, copied without it.
json emulated_dma(std::unique_lock<std::mutex>& lock, const IommufdCtx& ictx, const Access& access, DmaJob& job,
                  json& brief) {
    EmulatedDmaPlan plan;
    plan_emulated_dma(ictx, access, job.req.iova, job.req.length, job.req.write, plan);
    lock.unlock();
    if (move_access_bytes(plan.pieces, 0, std::as_writable_bytes(std::span(job.bytes).first(plan.bytes)),
                          job.req.write))
        return error_response("iova: the memory behind a mapping is gone (its owner unmapped it or exited)");
    DmaReport report;
    report.status = plan.fault_reason ? IOMMU_SIM_DMA_FAULT : IOMMU_SIM_DMA_OK;
    report.done = job.done = plan.bytes;
    if (plan.fault_reason)
        report.fault = {.addr = job.req.iova + plan.bytes, .reason = plan.fault_reason,
                        .flags = job.req.write ? IOMMU_FAULT_WRITE : 0u};
    return answer_or_brief(report, &job, brief);
}

}  // namespace

// Runs without the control command's lock (control_protocol.cpp): it
// takes the model lock itself and drops it around client memory.
json cmd_dma(Model& model, const json& request) {
    DmaFields fields;
    std::string error;
    if (!read_dma_fields(request, fields, &error))
        return error_response(error);
    json brief = brief_answer();
    JsonScope scope(brief);  // a json's destructor allocates: this one's may run while out of memory
    std::unique_lock lock(model.lock());
    BoundDevice* dev = bound_device_named(model, fields.device, "device", &error);
    if (!dev)
        return error_response(error);
    DmaJob& job = fields.job;
    if (const Access* access = emulated_device(dev->ctx->iommufd, object_id_of_cookie(dev->cookie))) {
        if (job.req.pasid)
            return error_response(pasid_error(model, *dev->spec, -EOPNOTSUPP, *job.req.pasid));
        return emulated_dma(lock, dev->ctx->iommufd, *access, job, brief);
    }
    const long admitted = admit_dma(model, *dev, job);
    if (admitted && admitted != -EBUSY)
        return error_response(pasid_error(model, *dev->spec, admitted, *job.req.pasid));
    if (admitted)
        return error_response("device: " + json_quoted(fields.device) + " has no page-request credit left (" +
                              std::to_string(dev->max_page_requests) +
                              " page requests outstanding or DMAs held; answer or reap some, or raise "
                              "page_requests with set)");
    DmaReport report;
    const long err = run_new_dma(model, lock, dev->ctx->id, job, &report);
    if (err == -ENOMEM)
        return error_response("out of memory after " + std::to_string(job.done) + " bytes");
    if (err < 0)
        return error_response("iova: the DMA stopped after " + std::to_string(job.done) +
                              " bytes: the memory behind a mapping is gone (its owner unmapped it or exited) "
                              "or a user page table could not be read");
    return answer_or_brief(report, report.status == IOMMU_SIM_DMA_PENDING ? nullptr : &job, brief);
}

// Runs without the control command's lock: a DMA a fault fd's answer
// resumed (DmaJob::resume_owed) runs on first, the lock dropped around
// client memory.
json cmd_dma_status(Model& model, const json& request) {
    Fields f(request, {"device", "dma_id"});
    const std::string name = f.string("device");
    const uint64_t id = f.number("dma_id", 1, kU64Max);
    if (!f.ok())
        return error_response(f.error());
    std::unique_lock lock(model.lock());
    if (const FoundDma owed = find_control_dma(model, name, id); owed.ctx)
        run_owed_resume(model, lock, owed.ctx->id, id);
    const FoundDma found = find_control_dma(model, name, id);
    if (!found.ctx)
        return error_response("dma_id: no DMA " + std::to_string(id) + " of " + json_quoted(name) +
                              " from the control socket (never started, never stalled, or its final status "
                              "was returned already)");
    json brief = brief_answer();
    JsonScope scope(brief);
    DmaReport report;
    const std::optional<DmaJob> done = reap_dma(*found.ctx, id, &report);  // like SIM_DMA_STATUS
    return answer_or_brief(report, done ? &*done : nullptr, brief);
}

}  // namespace ciommu
