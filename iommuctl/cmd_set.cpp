// iommuctl set CONTEXT [--fault-depth N] [--fault-timeout-ms N]
// iommuctl set --device NAME --page-requests N
#include <ostream>

#include "args.h"
#include "cli.h"
#include "client.h"
#include "format.h"
#include "render.h"

namespace iommuctl {

const char kSetHelp[] =
    "usage: iommuctl set CONTEXT [--fault-depth N] [--fault-timeout-ms N]\n"
    "       iommuctl set --device NAME --page-requests N\n"
    "\n"
    "Changes the fault-region settings of context CONTEXT (its id, as `dump`\n"
    "shows) and prints the region's settings and counters after the change;\n"
    "or a PRI device's page-request credits (IOMMU_DEVICE_INFO_CAP_PRI): how\n"
    "many page requests it may have outstanding and DMAs the daemon holds.\n"
    "\n"
    "  --fault-depth N       records the fault region holds\n"
    "  --fault-timeout-ms N  how long a page request waits for a response before\n"
    "                        the daemon answers it INVALID\n"
    "  --device NAME         the device whose credits to set\n"
    "  --page-requests N     its credits, 1 .. 1024 (its bind now and later ones)\n"
    "\n"
    "Numbers are decimal or 0x-hex.\n"
    "example: iommuctl set 1 --fault-depth 64 --fault-timeout-ms 500\n"
    "example: iommuctl set --device accel0 --page-requests 4\n";

namespace {

int set_page_requests(Env& env, const ParsedArgs& args) {
    expect_positional(args, 0, "");
    const auto limit = args.value("--page-requests");
    if (!limit)
        throw UsageError("--device needs --page-requests N");
    const std::string device = *args.value("--device");
    const nlohmann::json request = {
        {"cmd", "set"}, {"device", device}, {"page_requests", parse_number(*limit, "--page-requests", UINT32_MAX)}};
    const nlohmann::json answer = call_daemon(env, request);
    env.out << device << " page requests: " << render_page_requests(field(answer, "page_requests")) << "\n";
    return kExitOk;
}

}  // namespace

int cmd_set(Env& env, const std::vector<std::string>& words) {
    const ParsedArgs args = parse_args(
        words, {{"--fault-depth", true}, {"--fault-timeout-ms", true}, {"--device", true}, {"--page-requests", true}},
        env);
    if (args.has("--device")) {
        if (args.has("--fault-depth") || args.has("--fault-timeout-ms"))
            throw UsageError("--device sets page requests only; a context's fault region is set without it");
        return set_page_requests(env, args);
    }
    if (args.has("--page-requests"))
        throw UsageError("--page-requests needs --device NAME");
    expect_positional(args, 1, "CONTEXT");
    const uint64_t context = parse_number(args.positional[0], "CONTEXT");
    nlohmann::json request = {{"cmd", "set"}, {"context", context}};
    if (auto depth = args.value("--fault-depth"))
        request["fault_depth"] = parse_number(*depth, "--fault-depth", UINT32_MAX);
    if (auto timeout = args.value("--fault-timeout-ms"))
        request["fault_timeout_ms"] = parse_number(*timeout, "--fault-timeout-ms", UINT32_MAX);
    if (request.size() == 2)
        throw UsageError("nothing to set: give --fault-depth and/or --fault-timeout-ms");

    const nlohmann::json answer = call_daemon(env, request);
    env.out << "context " << context << " fault region: " << render_fault_region(field(answer, "fault_region")) << "\n";
    return kExitOk;
}

}  // namespace iommuctl
