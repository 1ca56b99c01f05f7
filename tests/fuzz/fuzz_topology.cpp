// libFuzzer target: the topology reader (devices/topology.cpp).  A document
// is either refused with a path (a JSON pointer, "" for the whole text) and
// a message that is no internal error, or accepted -- and then a model
// built on it must be sound and empty.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "../../devices/topology.h"
#include "../../core/model.h"
#include "model_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace ciommu;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto parsed = parse_topology(text);
    if (const auto* error = std::get_if<TopologyError>(&parsed)) {
        const bool path_ok = error->path.empty() || error->path[0] == '/';
        if (!path_ok || error->message.empty() || error->message.rfind("internal error", 0) == 0) {
            std::fprintf(stderr, "fuzz: a refusal without a usable path and message: %s\n", describe(*error).c_str());
            std::abort();
        }
        return 0;
    }
    Model model(std::get<Topology>(parsed), PinLedger::unlimited());
    fuzz::require_sound(model);
    fuzz::require_empty(model);
    return 0;
}
