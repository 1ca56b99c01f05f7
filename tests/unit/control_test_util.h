// Driving the control protocol in-process (handle_control_request) against
// a Fixture's model.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "../../control/control_server.h"
#include "fixture.h"

namespace ciommu::test {

using nlohmann::json;

inline json control(Fixture& f, const json& request) { return handle_control_request(f.dispatcher, request); }

// The whole model, as dump shows it.
inline json state(Fixture& f) {
    const json r = control(f, {{"cmd", "dump"}});
    REQUIRE(r.at("ok") == true);
    return r.at("state");
}

// A request that must be refused with `message` in its error (which starts
// with the field it names) and must change nothing.
inline void check_refused(Fixture& f, const json& request, const std::string& message) {
    const json before = state(f);
    const json r = control(f, request);
    INFO("request: " << request.dump());
    INFO("response: " << r.dump());
    CHECK(r.at("ok") == false);
    CHECK(r.value("error", "").find(message) != std::string::npos);
    CHECK(state(f) == before);
}

// The entry of `list` whose `key` is `value`.
inline json entry(const json& list, const char* key, const json& value) {
    for (const json& e : list) {
        if (e.at(key) == value)
            return e;
    }
    FAIL("no entry with " << key << " = " << value.dump());
    return {};
}

inline uint64_t ptr_value(const void* p) { return reinterpret_cast<uintptr_t>(p); }

}  // namespace ciommu::test
