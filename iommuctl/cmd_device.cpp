// iommuctl device add FILE|-
// iommuctl device remove NAME
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <ostream>
#include <sstream>

#include "args.h"
#include "cli.h"
#include "client.h"
#include "format.h"

namespace iommuctl {

const char kDeviceAddHelp[] =
    "usage: iommuctl device add FILE|-\n"
    "\n"
    "Hot-adds a device.  FILE (or standard input for '-') holds one device object\n"
    "exactly as in a topology file's \"devices\" array (docs/topology.md); // and\n"
    "/* */ comments are allowed.  The daemon checks it as the topology parser\n"
    "does: a unique name and BDF, an existing IOMMU or parent, ...\n"
    "\n"
    "example: iommuctl device add nic9.json\n"
    "         echo '{\"name\": \"mdev9\", \"type\": \"mdev\", \"parent\": \"gpu0\"}' | iommuctl device add -\n";

const char kDeviceRemoveHelp[] =
    "usage: iommuctl device remove NAME\n"
    "\n"
    "Hot-removes the device NAME.  If it is bound, the bind is revoked: the\n"
    "device is detached (pending page requests answered INVALID) and unbound,\n"
    "and its owner's fault region gets an IOMMU_FAULT_RECORD_REVOKED record with\n"
    "the device's cookie.\n"
    "\n"
    "example: iommuctl device remove nic9\n";

int cmd_device_add(Env& env, const std::vector<std::string>& words) {
    const ParsedArgs args = parse_args(words, {}, env);
    expect_positional(args, 1, "FILE or - (standard input)");
    const std::string& file = args.positional[0];
    std::string content;
    if (file == "-") {
        content.assign(std::istreambuf_iterator<char>(env.in), std::istreambuf_iterator<char>());
    } else {
        std::ifstream in(file, std::ios::binary);
        if (!in)
            throw UsageError(file + ": cannot open: " + std::strerror(errno));
        content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        if (in.bad())
            throw UsageError(file + ": cannot read");
    }
    const std::string shown = file == "-" ? "standard input" : file;
    nlohmann::json device;
    try {
        device = nlohmann::json::parse(content, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
    } catch (const nlohmann::json::parse_error& e) {
        throw UsageError(shown + ": not JSON: " + e.what());
    }
    if (!device.is_object())
        throw UsageError(shown + ": expected one device object ({\"name\": ..., \"type\": ...}), got " +
                         std::string(device.type_name()));

    const nlohmann::json answer = call_daemon(env, {{"cmd", "device-add"}, {"device", device}});
    // The daemon may describe the device as the dump does (its RID, group, ...).
    const json& added = field(answer, "device").is_object() ? field(answer, "device") : device;
    env.out << "added " << text(field(added, "name"));
    std::vector<std::string> facts;
    for (const char* key : {"type", "bdf"})
        if (field(added, key).is_string())
            facts.push_back(text(field(added, key)));
    if (!field(added, "parent").is_null())
        facts.push_back("parent " + text(field(added, "parent")));
    if (field(added, "rid").is_number())
        facts.push_back("rid " + hex(as_u64(field(added, "rid")).value_or(0), 4));
    if (!field(added, "iommu").is_null())
        facts.push_back(text(field(added, "iommu")));
    if (!field(added, "group").is_null())
        facts.push_back("group " + text(field(added, "group")));
    for (size_t i = 0; i < facts.size(); ++i)
        env.out << (i ? ", " : " (") << facts[i] << (i + 1 == facts.size() ? ")" : "");
    env.out << "\n";
    return kExitOk;
}

int cmd_device_remove(Env& env, const std::vector<std::string>& words) {
    const ParsedArgs args = parse_args(words, {}, env);
    expect_positional(args, 1, "NAME");
    const std::string& name = args.positional[0];
    const nlohmann::json answer = call_daemon(env, {{"cmd", "device-remove"}, {"name", name}});
    auto report = [&](const std::string& what, const json& revoked) {
        env.out << "removed " << what;
        if (!revoked.is_null())
            env.out << "; revoked its bind by context " << text(revoked);
        env.out << "\n";
    };
    // Removing a parent removes its mdevs first.
    for (const json& mdev : array_field(answer, "mdevs"))
        report(text(field(mdev, "name")) + " (an mdev of " + printable(name) + ")", field(mdev, "revoked"));
    report(printable(name), field(answer, "revoked"));
    return kExitOk;
}

}  // namespace iommuctl
