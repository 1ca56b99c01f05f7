// device-add and device-remove: hot-plug through devices/hotplug.h, with
// the topology parser's errors turned into "<field path>: <message>".
#include "../devices/hotplug.h"
#include "../dispatcher/model.h"
#include "control_commands.h"
#include "request_fields.h"
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
    json out = ok_response();
    out["device"] = device_json(model, std::get<unsigned>(added));
    return out;
}

json cmd_device_remove(Model& model, const json& request) {
    Fields f(request, {"name"});
    const std::string name = f.string("name");
    if (!f.ok())
        return error_response(f.error());
    const DeviceSpec* spec = model.topology().find_device(name);
    if (!spec)
        return error_response("name: no device named " + json_quoted(name));
    std::vector<RemovedDevice> removed = hot_remove_device(model, model.topology().index_of(*spec));
    json mdevs = json::array();
    for (size_t i = 0; i + 1 < removed.size(); ++i)  // the named device comes last
        mdevs.push_back({{"name", removed[i].name}, {"revoked", revoked_json(removed[i].revoked)}});
    json out = ok_response();
    out["revoked"] = revoked_json(removed.back().revoked);
    out["mdevs"] = mdevs;
    return out;
}

}  // namespace ciommu
