// libFuzzer target: the control socket's request handler
// (answer_control_line), one JSON line at a time, over a model populated
// the way a prototyping session leaves it: a context with four devices
// bound (a NIC, a PRI accelerator, an mdev, a software mdev), an IOASID
// with a pinned and an IOPF mapping, attachments, a fault consumer and a
// DMA stalled on a page request.  The input is split at '\n'.
//
// Every answer must be one JSON object with a boolean "ok" ("error" a
// string when false, never an "internal error"); the invariant checker runs
// after each line; at the end the context is released and the model must
// be empty.  The model is built afresh per input: requests hot-add and
// remove devices.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "../../control/control_server.h"
#include "../../core/caller.h"
#include "../../core/context.h"
#include "../../dispatcher/dispatcher.h"
#include "../../core/model.h"
#include "client_process.h"
#include "cuse-iommu.h"
#include "model_state.h"

namespace {

using namespace ciommu;
using fuzz::ClientProcess;

constexpr uint64_t kNic = 1, kMdev = 3, kSwMdev = 5, kAccel = 7;
constexpr size_t kArgPage = ClientProcess::kPages - 1;  // where ioctl structs go

ClientProcess* client;

struct Session {
    Model model{default_topology(), PinLedger::fixed_limit(64)};
    Dispatcher dispatcher{model};
    Context* ctx = nullptr;

    // A struct ioctl from the client, its struct in the arena's last page.
    template <typename T> long call(unsigned cmd, T& args) {
        unsigned char* at = client->arena() + kArgPage * ClientProcess::kPageSize;
        std::memcpy(at, &args, sizeof(args));
        const long r = dispatcher.ioctl(*ctx, Caller(client->pid(), client->pid()), cmd,
                                        client->address(kArgPage * ClientProcess::kPageSize));
        std::memcpy(&args, at, sizeof(args));
        return r;
    }
    void bind(const char* name, uint64_t cookie) {
        iommu_device_bind b{};
        b.argsz = sizeof(b);
        std::strncpy(b.name, name, sizeof(b.name) - 1);
        b.cookie = cookie;
        call(IOMMU_DEVICE_BIND, b);
    }
    void map(uint32_t ioasid, uint64_t iova, size_t first_page, uint64_t pages, uint32_t flags) {
        iommu_map_dma m{sizeof(m), flags, ioasid, 0, client->address(first_page * ClientProcess::kPageSize), iova,
                        pages * ClientProcess::kPageSize};
        call(IOMMU_MAP_DMA, m);
    }
    void attach(uint64_t cookie, uint32_t ioasid) {
        iommu_device_attach a{sizeof(a), 0, cookie, ioasid, 0};
        call(IOMMU_DEVICE_ATTACH, a);
    }

    // Best effort: a step the model refuses leaves a smaller population.
    void populate() {
        ctx = dispatcher.open(client->pid());
        if (!ctx)
            return;
        bind("nic0", kNic);
        bind("accel0", kAccel);
        bind("mdev0", kMdev);
        bind("vmdev0", kSwMdev);
        iommu_ioasid_alloc alloc{};
        alloc.argsz = sizeof(alloc);
        const long ioasid = call(IOMMU_IOASID_ALLOC, alloc);
        if (ioasid < 0)
            return;
        const auto id = static_cast<uint32_t>(ioasid);
        map(id, 0x100000, 0, 4, IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE);
        map(id, 0x400000, 4, 4, IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE | IOMMU_MAP_DMA_IOPF);
        attach(kNic, id);
        attach(kAccel, id);
        attach(kMdev, id);
        iommu_device_fault consumer{sizeof(consumer), 0, kAccel};
        call(IOMMU_DEVICE_FAULT_REGISTER, consumer);
        iommu_sim_dma stalls{};
        stalls.argsz = sizeof(stalls);
        stalls.cookie = kAccel;
        stalls.iova = 0x800000;
        stalls.length = 8;
        stalls.data = client->address(8 * ClientProcess::kPageSize);
        call(IOMMU_SIM_DMA, stalls);
    }
};

[[noreturn]] void bad_answer(std::string_view line, const std::string& answer, const char* why) {
    std::fprintf(stderr, "fuzz: %s\n  request: %.*s\n  answer: %s\n", why, static_cast<int>(line.size()), line.data(),
                 answer.c_str());
    std::abort();
}

void check_answer(std::string_view line, const std::string& answer) {
    const nlohmann::json parsed = nlohmann::json::parse(answer, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object() || !parsed.contains("ok") || !parsed["ok"].is_boolean())
        bad_answer(line, answer, "the answer is not a JSON object with a boolean \"ok\"");
    if (parsed["ok"] == false) {
        if (!parsed.contains("error") || !parsed["error"].is_string())
            bad_answer(line, answer, "a refusal without an \"error\" string");
        // An error names the field at fault, and the fuzzer learns to name
        // a field "internal error": only a request that does not say it
        // can show the daemon saying it.
        if (parsed["error"].get<std::string>().rfind("internal error", 0) == 0 &&
            line.find("internal error") == std::string_view::npos)
            bad_answer(line, answer, "an internal error (an exception nobody expected)");
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    client = new ClientProcess;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    client->reset();
    Session session;
    session.populate();
    fuzz::require_sound(session.model);
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    while (!rest.empty()) {
        const size_t end = rest.find('\n');
        const std::string_view line = rest.substr(0, end);
        rest = end == rest.npos ? std::string_view() : rest.substr(end + 1);
        check_answer(line, answer_control_line(session.dispatcher, line));
        fuzz::require_sound(session.model);
    }
    if (session.ctx)
        session.dispatcher.release(session.ctx);
    fuzz::require_empty(session.model);
    return 0;
}
