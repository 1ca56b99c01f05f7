// handle_control_request: one JSON request -> one JSON response.  The
// transport-neutral half of the control socket; every exception stops here.
#include <array>
#include <exception>
#include <string_view>

#include "../devices/topology.h"
#include "../dispatcher/dispatcher.h"
#include "../dispatcher/model.h"
#include "../dispatcher/model_check.h"
#include "control_commands.h"
#include "control_server.h"
#include "request_fields.h"
#include "state_dump.h"

namespace ciommu {
namespace {

using nlohmann::json;

struct Command {
    std::string_view name;
    json (*run)(Model&, const json&);
    bool self_locked = false;  // takes the model lock itself (it reaches client memory)
};

constexpr std::array kCommands = {
    Command{"dump", cmd_dump},
    Command{"dma", cmd_dma, true},
    Command{"dma-status", cmd_dma_status},
    Command{"fault", cmd_fault},
    Command{"device-add", cmd_device_add},
    Command{"device-remove", cmd_device_remove},
    Command{"set", cmd_set},
    Command{"check", cmd_check},
};

std::string command_names() {
    std::string out;
    for (const Command& c : kCommands)
        out += (out.empty() ? "" : ", ") + std::string(c.name);
    return out;
}

// The command a request names, or nullptr with *error set.
const Command* find_command(const json& request, std::string* error) {
    if (!request.is_object()) {
        *error = "a request is a JSON object, got " + shown(request);
        return nullptr;
    }
    auto it = request.find("cmd");
    if (it == request.end() || !it->is_string()) {
        *error = "cmd: " + (it == request.end() ? std::string("missing") : "expected a string, got " + shown(*it)) +
                 "; one of " + command_names();
        return nullptr;
    }
    for (const Command& c : kCommands) {
        if (c.name == it->get_ref<const std::string&>())
            return &c;
    }
    *error = "cmd: unknown command " + shown(*it) + "; one of " + command_names();
    return nullptr;
}

}  // namespace

json cmd_dump(Model& model, const json& request) {
    Fields f(request, {});
    if (!f.ok())
        return error_response(f.error());
    json out = ok_response();
    out["state"] = dump_state(model);
    return out;
}

// The model's invariants on a live daemon (dispatcher/model_check.h): calls
// may be running, so a DMA slot taken by a call not done yet is no fault.
json cmd_check(Model& model, const json& request) {
    Fields f(request, {});
    if (!f.ok())
        return error_response(f.error());
    json out = ok_response();
    out["problems"] = check_model(model, CheckOptions{.calls_in_flight = true});
    return out;
}

json ok_response() { return {{"ok", true}}; }

json error_response(const std::string& message) { return {{"ok", false}, {"error", message}}; }

BoundDevice* bound_device_named(Model& model, const std::string& name, const char* key, std::string* error) {
    const DeviceSpec* spec = model.topology().find_device(name);
    if (!spec) {
        *error = std::string(key) + ": no device named " + json_quoted(name);
        return nullptr;
    }
    BoundDevice* dev = model.devices().bound(model.topology().index_of(*spec));
    if (!dev)
        *error = std::string(key) + ": " + json_quoted(name) + " is not bound (only a bound device has an IOMMU "
                                                               "context to use)";
    return dev;
}

json handle_control_request(Dispatcher& dispatcher, const json& request) {
    try {
        std::string error;
        const Command* command = find_command(request, &error);
        if (!command)
            return error_response(error);
        if (command->self_locked) {
            json out = command->run(dispatcher.model(), request);
            dispatcher.deliver_noted_records();
            return out;
        }
        return dispatcher.with_model([&](Model& model) -> json {
            // Caught here too, so the lock is released by the ordinary path
            // and records a command queued still reach their readers.
            try {
                return command->run(model, request);
            } catch (const std::exception& e) {
                return error_response(std::string("internal error: ") + e.what());
            }
        });
    } catch (const std::exception& e) {
        return error_response(std::string("internal error: ") + e.what());
    }
}

}  // namespace ciommu
