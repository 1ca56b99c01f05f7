// iommuctl check
#include <ostream>

#include "args.h"
#include "cli.h"
#include "client.h"
#include "format.h"

namespace iommuctl {

const char kCheckHelp[] =
    "usage: iommuctl check\n"
    "\n"
    "Asks the daemon to walk its whole model and check its invariants: the\n"
    "device table against the bound devices, routes against attachments,\n"
    "each address space's bookkeeping and constraints, the locked-page\n"
    "ledger against the pinned pages, the IOTLB against live mappings, page\n"
    "requests against stalled DMAs.  Prints \"model consistent\", or each\n"
    "problem found and exits 1.\n"
    "\n"
    "example: iommuctl check\n";

int cmd_check(Env& env, const std::vector<std::string>& words) {
    const ParsedArgs args = parse_args(words, {}, env);
    expect_positional(args, 0, "no arguments");
    const nlohmann::json answer = call_daemon(env, {{"cmd", "check"}});
    const nlohmann::json& problems = field(answer, "problems");
    if (!problems.is_array())
        throw UnreachableError("the daemon's answer to check has no \"problems\" array");
    if (problems.empty()) {
        env.out << "model consistent\n";
        return kExitOk;
    }
    for (const nlohmann::json& problem : problems)
        env.out << "problem: " << text(problem) << "\n";
    return kExitDaemonError;
}

}  // namespace iommuctl
