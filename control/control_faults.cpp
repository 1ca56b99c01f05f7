// fault and set: raw fault injection anywhere in the daemon (through the
// routing table, like IOMMU_SIM_INJECT_FAULT with RAW but not limited to
// one context), and a context's fault-region settings (the rules of
// IOMMU_FAULT_REGION_INFO).
#include <cerrno>
#include <cstdio>
#include <limits>
#include <new>
#include <utility>

#include "../devices/device_info.h"
#include "../core/model.h"
#include "../fault-region/fault_injection.h"
#include "../toolkit/uapi_names.h"
#include "control_commands.h"
#include "control_names.h"
#include "cuse-iommu.h"
#include "request_fields.h"
#include "safe_json.h"
#include "state_dump.h"

namespace ciommu {
namespace {

using nlohmann::json;

constexpr uint32_t kMaxPasid = (1u << 20) - 1;  // no IOMMU has more than 20 PASID bits

std::string rid_hex(uint64_t rid) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%04llx", static_cast<unsigned long long>(rid));
    return text;
}

std::string route_text(const Model& model, const RouteKey& route) {
    const std::string pasid = route.pasid == kNoPasid ? "no PASID" : "PASID " + std::to_string(route.pasid);
    return "RID " + rid_hex(route.rid) + " (" + pasid + ") on " + json_quoted(model.topology().iommus[route.unit].name);
}

// The fault a request describes, its route not yet known.
bool read_fault_fields(Fields& f, InjectedFault& fault) {
    fault.addr = f.number("addr", 0, std::numeric_limits<uint64_t>::max());
    static constexpr auto kPermNames = text_names(kFaultPerms);
    for (const std::string& name : f.names("perm", kPermNames))
        fault.perm |= value_of_text(kFaultPerms, name).value_or(0);
    fault.recoverable = f.boolean("recoverable", false);
    const std::string reason = f.optional_string("reason").value_or("not-mapped");
    if (!f.ok())
        return false;
    const auto code = value_of_text(kFaultReasons, reason);
    if (!code)
        return f.fail("reason", "expected one of " + text_names_listed(kFaultReasons) + "; got " +
                                    json_quoted(reason));
    if (fault.recoverable && *code != IOMMU_FAULT_REASON_NOT_MAPPED)
        return f.fail("reason", "a recoverable fault (a page request) is always \"not-mapped\"");
    fault.reason = *code;
    return true;
}

// Where the fault arrives: from a bound device, or from a requester ID.
bool read_route(Model& model, Fields& f, InjectedFault& fault) {
    const bool by_device = f.has("device"), by_rid = f.has("rid");
    if (by_device == by_rid)
        return f.fail("device", by_device ? "give \"device\" or \"rid\", not both" : "missing (or give \"rid\")");
    const auto pasid = f.optional_number("pasid", 1, kMaxPasid);
    const auto bus_pasid = pasid ? std::optional(static_cast<uint32_t>(*pasid)) : std::nullopt;
    if (by_rid) {
        const uint64_t rid = f.number("rid", 0, 0xffff);
        auto route = f.ok() ? route_of_rid(model.topology(), static_cast<uint32_t>(rid), bus_pasid) : std::nullopt;
        if (f.ok() && !route)
            f.fail("rid", "no PCI device has RID " + rid_hex(rid));
        fault.route = route.value_or(RouteKey{});
        return f.ok();
    }
    const std::string name = f.string("device");
    if (!f.ok())
        return false;
    std::string error;
    const BoundDevice* dev = bound_device_named(model, name, "device", &error);
    if (!dev)
        return f.fail("device", error.substr(error.find(": ") + 2));
    if (route_of_bound(*dev, bus_pasid, &fault.route) == 0)
        return true;
    if (dev->spec->kind == DeviceKind::kSwMdev)
        return f.fail("device", json_quoted(name) + " is a software mdev: no IOMMU sees its faults");
    return f.fail("pasid", json_quoted(name) + " cannot carry a PASID");
}

}  // namespace

json cmd_fault(Model& model, const json& request) {
    Fields f(request, {"device", "rid", "pasid", "addr", "perm", "recoverable", "reason"});
    InjectedFault fault{};
    if (!read_fault_fields(f, fault) || !read_route(model, f, fault))
        return error_response(f.error());
    // The answer is made before the fault is raised (a fault cannot be
    // taken back); only the group id is filled in after.
    const Attachment* target = model.routes().find(fault.route);
    json out = target ? json_object("ok", true, "context", target->dev->ctx->id, "device", target->dev->spec->name,
                                    "cookie", target->dev->cookie, "grpid", nullptr)
                      : json();
    JsonScope scope(out);
    Injection injection;
    const long err = inject_fault(model, fault, nullptr, &injection);
    if (err == -ENOENT)
        return error_response("nothing is attached at " + route_text(model, fault.route) +
                              ": the fault has nowhere to go");
    if (err == -EOPNOTSUPP)
        return error_response("recoverable: " + json_quoted(injection.dev->spec->name) +
                              " cannot issue page requests (no PRI, or its IOMMU has no IOPF)");
    if (err == -EBUSY)
        return error_response("recoverable: " + json_quoted(injection.dev->spec->name) + " has all " +
                              std::to_string(injection.dev->max_page_requests) +
                              " page-request credits outstanding (answer some, or raise page_requests with set)");
    if (injection.fate == FaultFate::kStalled)
        *out.find("grpid") = injection.grpid;  // a number over a null: no memory needed
    return std::exchange(out, nullptr);
}

namespace {

// set's device form: a PRI device's page-request credits (the limit its
// later binds start with, and its current bind's).
json set_page_requests(Model& model, const json& request) {
    Fields f(request, {"device", "page_requests"});
    const std::string name = f.string("device");
    const uint64_t limit = f.number("page_requests", 1, IOMMU_PRI_REQUESTS_MAX);
    if (!f.ok())
        return error_response(f.error());
    const DeviceSpec* spec = model.topology().find_device(name);
    if (!spec)
        return error_response("device: no device named " + json_quoted(name));
    if (!(device_info_flags(model.topology(), *spec) & IOMMU_DEVICE_INFO_PRI))
        return error_response("device: " + json_quoted(name) +
                              " cannot issue page requests (no PRI, or its IOMMU has no IOPF): it has no credits");
    const unsigned index = model.topology().index_of(*spec);
    DeviceTable& table = model.devices();
    BoundDevice* dev = table.bound(index);
    const uint32_t old_limit = table.page_request_limit(index);
    table.set_page_request_limit(index, static_cast<uint32_t>(limit));  // may throw: nothing changed then
    if (dev)
        dev->max_page_requests = static_cast<uint32_t>(limit);  // fewer than held: new ones wait for room
    try {
        return json_object("ok", true, "device", name, "page_requests", page_requests_json(model, index));
    } catch (const std::bad_alloc&) {  // no answer: the change goes back
        table.set_page_request_limit(index, old_limit);
        if (dev)
            dev->max_page_requests = old_limit;
        throw;
    }
}

}  // namespace

json cmd_set(Model& model, const json& request) {
    if (request.contains("device"))
        return set_page_requests(model, request);
    Fields f(request, {"context", "fault_depth", "fault_timeout_ms"});
    const uint64_t id = f.number("context", 1, std::numeric_limits<uint64_t>::max());
    const auto depth = f.optional_number("fault_depth", 1, IOMMU_FAULT_REGION_DEPTH_MAX);
    const auto timeout = f.optional_number("fault_timeout_ms", 0, std::numeric_limits<uint32_t>::max());
    if (f.ok() && !f.has("fault_depth") && !f.has("fault_timeout_ms"))
        f.fail("fault_depth", "missing (give fault_depth and/or fault_timeout_ms)");
    if (!f.ok())
        return error_response(f.error());
    Context* ctx = model.find_context(id);
    if (!ctx)
        return error_response("context: no context " + std::to_string(id));
    FaultRegion& region = ctx->faults;
    const uint32_t old_depth = region.depth(), old_timeout = region.timeout_ms;
    if (depth && region.set_depth(static_cast<uint32_t>(*depth)) != 0)
        return error_response("fault_depth: " + std::to_string(*depth) + " is fewer than the " +
                              std::to_string(region.pending()) + " records waiting to be read");
    if (timeout)
        region.timeout_ms = static_cast<uint32_t>(*timeout);
    try {
        return json_object("ok", true, "fault_region", fault_region_json(region));
    } catch (const std::bad_alloc&) {  // no answer: the change goes back (no record came meanwhile)
        region.set_depth(old_depth);
        region.timeout_ms = old_timeout;
        throw;
    }
}

}  // namespace ciommu
