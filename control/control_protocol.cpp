// handle_control_request: one JSON request -> one JSON response.  The
// transport-neutral half of the control socket; every exception stops here.
#include <array>
#include <exception>
#include <string_view>

#include "../devices/topology.h"
#include "../dispatcher/dispatcher.h"
#include "../core/model.h"
#include "../core/model_check.h"
#include "control_commands.h"
#include "control_server.h"
#include "json_line.h"
#include "safe_json.h"
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
    Command{"dma-status", cmd_dma_status, true},
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

json run_command(Dispatcher& dispatcher, const Command& command, const json& request) {
    if (command.self_locked) {
        // The records it queued reach their readers however it ends (its
        // work done and its answer failing too).
        struct Deliver {
            Dispatcher& dispatcher;
            ~Deliver() { dispatcher.deliver_noted_records(); }
        } deliver{dispatcher};
        return command.run(dispatcher.model(), request);
    }
    return dispatcher.with_model([&](Model& model) -> json {
        // Caught here too, so the lock is released by the ordinary path
        // and records a command queued still reach their readers.
        try {
            return command.run(model, request);
        } catch (const std::bad_alloc&) {
            return error_response("out of memory");
        } catch (const std::exception& e) {
            return error_response(std::string("internal error: ") + e.what());
        }
    });
}

constexpr char kDoneUnanswered[] = R"({"ok":true,"warning":"out of memory: done, but its answer could not be built"})";

}  // namespace

json cmd_dump(Model& model, const json& request) {
    Fields f(request, {});
    if (!f.ok())
        return error_response(f.error());
    return json_object("ok", true, "state", dump_state(model));
}

// The model's invariants on a live daemon (core/model_check.h): calls
// may be running, so a DMA slot taken by a call not done yet is no fault.
json cmd_check(Model& model, const json& request) {
    Fields f(request, {});
    if (!f.ok())
        return error_response(f.error());
    return json_object("ok", true, "problems", check_model(model, CheckOptions{.calls_in_flight = true}));
}

json ok_response() { return json_object("ok", true); }

json error_response(const std::string& message) { return json_object("ok", false, "error", message); }

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
        return run_command(dispatcher, *command, request);
    } catch (const std::bad_alloc&) {
        return error_response("out of memory");
    } catch (const std::exception& e) {
        return error_response(std::string("internal error: ") + e.what());
    }
}

std::string answer_control_line(Dispatcher& dispatcher, std::string_view line) {
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);  // tolerate CRLF from interactive tools
    try {
        // Room for the answer given when the command was done but its
        // answer cannot be written out (like copy_to_user failing after an
        // ioctl did its work, the work stays done).
        std::string done_unanswered;
        done_unanswered.reserve(sizeof(kDoneUnanswered));
        json request, response;
        JsonScope scope(request, response);  // however this ends, they go without allocating
        const std::string parse_error = parse_json_line(line, request, kMaxRequestDepth);
        response = parse_error.empty() ? handle_control_request(dispatcher, request)
                                       : error_response("not JSON: " + parse_error);
        try {
            return response.dump(-1, ' ', false, json::error_handler_t::replace);
        } catch (const std::bad_alloc&) {
            const auto ok = response.find("ok");
            if (ok == response.end() || *ok != true)
                throw;
            done_unanswered = kDoneUnanswered;
            return done_unanswered;
        }
    } catch (const std::bad_alloc&) {
        return R"({"ok":false,"error":"out of memory"})";
    }
}

}  // namespace ciommu
