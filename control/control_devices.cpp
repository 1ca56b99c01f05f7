// device-add and device-remove: hot-plug through devices/hotplug.h, with
// the topology parser's errors turned into "<field path>: <message>".
#include "../devices/hotplug.h"
#include "../core/model.h"
#include "control_commands.h"
#include "request_fields.h"
#include "safe_json.h"
#include "state_dump.h"

namespace ciommu {
namespace {

using nlohmann::json;

json revoked_json(const std::optional<uint64_t>& context) {
    return context ? json(*context) : json(nullptr);
}

}  // namespace

json cmd_device_add(Model& model, const json& request) {
    Fields f(request, {"device"});
    const json* device = f.object("device");
    if (!f.ok())
        return error_response(f.error());
    auto added = hot_add_device(model, *device, "/device");
    if (auto* error = std::get_if<TopologyError>(&added)) {
        // "/device/bdf" -> "device/bdf": the field, as the other commands name theirs.
        const std::string field = error->path.empty() ? "device" : error->path.substr(1);
        return error_response(field + ": " + error->message);
    }
    // The answer is built before the command counts as done: without
    // memory for it the device goes again (nothing bound it meanwhile).
    try {
        return json_object("ok", true, "device", device_json(model, std::get<unsigned>(added)));
    } catch (const std::bad_alloc&) {
        model.remove_last_device();
        throw;
    }
}

json cmd_device_remove(Model& model, const json& request) {
    Fields f(request, {"name"});
    const std::string name = f.string("name");
    if (!f.ok())
        return error_response(f.error());
    const DeviceSpec* spec = model.topology().find_device(name);
    if (!spec)
        return error_response("name: no device named " + json_quoted(name));
    // The plan and the answer first: the removal itself needs no memory.
    const std::vector<RemovedDevice> plan = plan_device_removal(model, model.topology().index_of(*spec));
    json mdevs = json::array();
    JsonScope scope(mdevs);
    for (size_t i = 0; i + 1 < plan.size(); ++i)  // the named device comes last
        push_json(mdevs, json_object("name", plan[i].name, "revoked", revoked_json(plan[i].revoked)));
    json out = json_object("ok", true, "revoked", revoked_json(plan.back().revoked), "mdevs", std::move(mdevs));
    remove_devices(model, plan);
    return out;
}

}  // namespace ciommu
