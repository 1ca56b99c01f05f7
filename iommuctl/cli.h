// iommuctl: the pieces every sub-command shares — the environment it runs in,
// the errors that decide the exit status, and the sub-command entry points.
#pragma once

#include <iosfwd>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace iommuctl {

// Exit statuses: 0 success, 1 the daemon answered {"ok": false}, 2 a usage
// error or no usable answer (cannot connect, connection dropped, timeout,
// malformed response).
enum ExitStatus : int { kExitOk = 0, kExitDaemonError = 1, kExitUsage = 2 };

// Bad command line: exit 2, with a hint to --help.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// The daemon cannot be reached or did not answer properly: exit 2.
struct UnreachableError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// The daemon answered {"ok": false, "error": what()}: exit 1.
struct DaemonError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// --help was asked for: print the command's help, exit 0.
struct HelpRequested {};

inline constexpr const char* kDefaultSocket = "/run/cuse-iommu.sock";
inline constexpr int kDefaultTimeoutMs = 10000;

struct Env {
    std::string socket_path;  // --socket, else $CUSE_IOMMU_SOCKET, else kDefaultSocket
    int timeout_ms = kDefaultTimeoutMs;
    std::ostream& out;
    std::ostream& err;
    std::istream& in;
};

// A sub-command: `args` are the words after its name.
using CommandFn = int (*)(Env& env, const std::vector<std::string>& args);

int cmd_dump(Env&, const std::vector<std::string>&);
int cmd_dma(Env&, const std::vector<std::string>&);
int cmd_dma_status(Env&, const std::vector<std::string>&);
int cmd_fault(Env&, const std::vector<std::string>&);
int cmd_device_add(Env&, const std::vector<std::string>&);
int cmd_device_remove(Env&, const std::vector<std::string>&);
int cmd_set(Env&, const std::vector<std::string>&);
int cmd_check(Env&, const std::vector<std::string>&);

}  // namespace iommuctl

namespace iommuctl {

// Each sub-command's --help text (in its own file).
extern const char kDumpHelp[];
extern const char kDmaHelp[];
extern const char kDmaStatusHelp[];
extern const char kFaultHelp[];
extern const char kDeviceAddHelp[];
extern const char kDeviceRemoveHelp[];
extern const char kSetHelp[];
extern const char kCheckHelp[];

}  // namespace iommuctl
