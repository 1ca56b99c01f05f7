// iommuctl fault (DEVICE | --rid RID) ADDR [--pasid N] [--perm r,w,x,p]
//                [--recoverable] [--reason R]
#include <algorithm>
#include <array>
#include <ostream>

#include "../toolkit/uapi_names.h"
#include "args.h"
#include "cli.h"
#include "client.h"
#include "format.h"

namespace iommuctl {

const char kFaultHelp[] =
    "usage: iommuctl fault (DEVICE | --rid RID) ADDR [--pasid N] [--perm r,w,x,p]\n"
    "                      [--recoverable] [--reason R]\n"
    "\n"
    "Injects a raw fault at ADDR as if the IOMMU had raised it for the bound\n"
    "device DEVICE, or for a requester ID: the fault goes where the hardware\n"
    "would send it (the owning context's fault region).\n"
    "\n"
    "  --rid RID       the requester ID instead of a device: a number or BB:DD.F\n"
    "  --pasid N       the PASID the access carried\n"
    "  --perm LIST     the access, comma-separated: r (read), w (write), x (exec),\n"
    "                  p (priv); the full names work too (default: r)\n"
    "  --recoverable   a page request (IOPF) rather than an unrecoverable fault\n"
    "  --reason R      an unrecoverable fault's reason: not-mapped (the daemon's\n"
    "                  default), permission, blocked, reserved, addr-size\n"
    "\n"
    "Numbers are decimal or 0x-hex.\n"
    "example: iommuctl fault accel0 0x7000 --pasid 5 --perm r,w --recoverable\n"
    "         iommuctl fault --rid 00:01.0 0xdead000 --reason permission\n";

namespace {

constexpr std::array<std::pair<std::string_view, char>, 4> kPerms = {
    {{"read", 'r'}, {"write", 'w'}, {"exec", 'x'}, {"priv", 'p'}}};

nlohmann::json parse_perm(std::string_view list) {
    bool wanted[kPerms.size()] = {};
    size_t start = 0;
    while (start <= list.size()) {
        const size_t comma = std::min(list.find(',', start), list.size());
        const std::string_view word = list.substr(start, comma - start);
        start = comma + 1;
        bool known = false;
        for (size_t i = 0; i < kPerms.size(); ++i)
            if (word == kPerms[i].first || (word.size() == 1 && word[0] == kPerms[i].second)) {
                wanted[i] = known = true;
            }
        if (!known)
            throw UsageError("--perm: '" + std::string(word) + "' is not one of r, w, x, p (read, write, exec, priv)");
    }
    nlohmann::json perm = nlohmann::json::array();
    for (size_t i = 0; i < kPerms.size(); ++i)
        if (wanted[i])
            perm.push_back(kPerms[i].first);
    return perm;
}

}  // namespace

int cmd_fault(Env& env, const std::vector<std::string>& words) {
    const ParsedArgs args = parse_args(
        words, {{"--rid", true}, {"--pasid", true}, {"--perm", true}, {"--recoverable", false}, {"--reason", true}},
        env);
    nlohmann::json request = {{"cmd", "fault"}};
    std::string target;
    if (auto rid = args.value("--rid")) {
        expect_positional(args, 1, "ADDR with --rid (not a DEVICE as well)");
        const uint32_t value = parse_rid(*rid);
        request["rid"] = value;
        target = "RID " + hex(value, 4);
    } else {
        expect_positional(args, 2, "DEVICE ADDR (or --rid RID ADDR)");
        request["device"] = args.positional[0];
        target = printable(args.positional[0]);
    }
    const uint64_t addr = parse_number(args.positional.back(), "ADDR");
    request["addr"] = addr;
    request["perm"] = parse_perm(args.value("--perm").value_or("r"));
    request["recoverable"] = args.has("--recoverable");
    if (auto pasid = args.value("--pasid"))
        request["pasid"] = parse_number(*pasid, "--pasid", UINT32_MAX);
    if (auto reason = args.value("--reason")) {
        if (!ciommu::value_of_text(ciommu::kFaultReasons, *reason))
            throw UsageError("--reason: '" + *reason + "' is not one of " +
                             ciommu::text_names_listed(ciommu::kFaultReasons));
        if (args.has("--recoverable"))
            throw UsageError("--reason is for unrecoverable faults; a page request has none");
        request["reason"] = *reason;
    }

    const nlohmann::json answer = call_daemon(env, request);
    std::string perms;
    for (const auto& p : request["perm"]) {
        if (!perms.empty())
            perms += ',';
        perms += p.get<std::string>();
    }
    env.out << "injected " << (args.has("--recoverable") ? "a page request" : "a fault") << " for " << target;
    if (request.contains("pasid"))
        env.out << " PASID " << request["pasid"].get<uint64_t>();
    env.out << " at " << hex(addr) << " (" << perms;
    if (request.contains("reason"))
        env.out << ", " << request["reason"].get<std::string>();
    env.out << ")";
    // Where it went, if the daemon says.
    if (!field(answer, "context").is_null()) {
        env.out << " -> context " << text(field(answer, "context"));
        if (!field(answer, "device").is_null())
            env.out << ", device " << text(field(answer, "device"));
        if (!field(answer, "cookie").is_null())
            env.out << " (cookie " << hex(field(answer, "cookie")) << ")";
        if (!field(answer, "grpid").is_null())
            env.out << ", page request group " << text(field(answer, "grpid"));
    }
    env.out << "\n";
    return kExitOk;
}

}  // namespace iommuctl
