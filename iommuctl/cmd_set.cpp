// iommuctl set CONTEXT [--fault-depth N] [--fault-timeout-ms N]
#include <ostream>

#include "args.h"
#include "cli.h"
#include "client.h"
#include "format.h"
#include "render.h"

namespace iommuctl {

const char kSetHelp[] =
    "usage: iommuctl set CONTEXT [--fault-depth N] [--fault-timeout-ms N]\n"
    "\n"
    "Changes the fault-region settings of context CONTEXT (its id, as `dump`\n"
    "shows) and prints the region's settings and counters after the change.\n"
    "\n"
    "  --fault-depth N       records the fault region holds\n"
    "  --fault-timeout-ms N  how long a page request waits for a response before\n"
    "                        the daemon answers it INVALID\n"
    "\n"
    "Numbers are decimal or 0x-hex.\n"
    "example: iommuctl set 1 --fault-depth 64 --fault-timeout-ms 500\n";

int cmd_set(Env& env, const std::vector<std::string>& words) {
    const ParsedArgs args = parse_args(words, {{"--fault-depth", true}, {"--fault-timeout-ms", true}}, env);
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
