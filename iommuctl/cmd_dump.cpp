// iommuctl dump [--json | --dot] [--all-mappings]
#include <ostream>

#include "args.h"
#include "cli.h"
#include "client.h"
#include "render.h"

namespace iommuctl {

const char kDumpHelp[] =
    "usage: iommuctl dump [--json | --dot] [--all-mappings]\n"
    "\n"
    "Shows the daemon's whole state: the IOMMUs; every device with its bind\n"
    "state; each context (one open of /dev/iommu) with its IOASIDs (kind, nested\n"
    "children under their parents, mappings, the devices and PASIDs attached),\n"
    "its bound devices (cookie, parent, defPASID), fault region and DMAs; the\n"
    "pending faults; locked-page accounting; counters.\n"
    "\n"
    "  --json          the raw state (docs/control.md), pretty-printed\n"
    "  --dot           a Graphviz digraph: contexts -> IOASIDs -> nested children,\n"
    "                  devices -> IOASIDs (one edge per attachment, labelled with\n"
    "                  its PASID), mdevs -> parents\n"
    "  --all-mappings  list every mapping the dump holds (default: 16 per IOASID)\n"
    "\n"
    "example: iommuctl dump --dot | dot -Tsvg > state.svg\n";

int cmd_dump(Env& env, const std::vector<std::string>& words) {
    const ParsedArgs args = parse_args(words, {{"--json", false}, {"--dot", false}, {"--all-mappings", false}}, env);
    expect_positional(args, 0, "no arguments");
    if (args.has("--json") && args.has("--dot"))
        throw UsageError("--json and --dot exclude each other");

    const nlohmann::json answer = call_daemon(env, {{"cmd", "dump"}});
    const auto state = answer.find("state");
    if (state == answer.end() || !state->is_object())
        throw UnreachableError("the daemon's answer to dump has no \"state\" object");

    if (args.has("--json"))
        env.out << state->dump(2) << "\n";
    else if (args.has("--dot"))
        env.out << render_dot(*state);
    else
        env.out << render_tree(*state, TreeOptions{args.has("--all-mappings") ? 0u : 16u});
    return kExitOk;
}

}  // namespace iommuctl
