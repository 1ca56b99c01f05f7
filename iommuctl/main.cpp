// iommuctl: the command-line client of cuse-iommu's control socket
// (docs/control.md).  This file holds the global options and the table of
// sub-commands; each sub-command lives in cmd_*.cpp.
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "args.h"
#include "cli.h"

namespace {

using namespace iommuctl;

struct Command {
    std::string_view name;  // one word, or "device add"
    std::string_view summary;
    const char* help;
    CommandFn run;
};

constexpr Command kCommands[] = {
    {"dump", "show the whole state (a tree; --json; --dot for Graphviz)", kDumpHelp, cmd_dump},
    {"dma", "make a bound device read or write memory", kDmaHelp, cmd_dma},
    {"dma-status", "ask about a DMA stalled on a page request", kDmaStatusHelp, cmd_dma_status},
    {"fault", "inject a raw fault for a device or a requester ID", kFaultHelp, cmd_fault},
    {"device add", "hot-add a device (a topology-file device object)", kDeviceAddHelp, cmd_device_add},
    {"device remove", "hot-remove a device, revoking its bind", kDeviceRemoveHelp, cmd_device_remove},
    {"set", "change a context's fault region, or a device's page-request credits", kSetHelp, cmd_set},
    {"check", "check the daemon's model for inconsistencies", kCheckHelp, cmd_check},
};

constexpr const char kGlobalHelp[] =
    "global options (before or after the sub-command):\n"
    "  --socket PATH  the daemon's control socket (default: $CUSE_IOMMU_SOCKET,\n"
    "                 else /run/cuse-iommu.sock)\n"
    "  --timeout MS   how long to wait for the daemon's answer (default: 10000)\n"
    "exit status: 0 success; 1 the daemon refused the request (its message on\n"
    "stderr); 2 a usage error, or the daemon could not be reached or answered\n"
    "badly.\n";

void print_usage(std::ostream& out) {
    out << "usage: iommuctl [--socket PATH] [--timeout MS] COMMAND [ARGS...]\n"
           "\n"
           "The client of cuse-iommu's control socket: look at the model's state,\n"
           "make devices do DMA, inject faults, hot-add and remove devices, tune\n"
           "fault regions.\n"
           "\n"
           "commands:\n";
    for (const Command& c : kCommands)
        out << "  " << c.name << std::string(16 - c.name.size(), ' ') << c.summary << "\n";
    out << "\n'iommuctl COMMAND --help' (or 'iommuctl help COMMAND') describes one.\n\n" << kGlobalHelp;
}

void print_help(const Command& c, std::ostream& out) {
    out << c.help << "\n" << kGlobalHelp;
}

const Command* find_command(std::string_view name) {
    for (const Command& c : kCommands)
        if (c.name == name)
            return &c;
    return nullptr;
}

// "device" takes a second word.
const Command* find_command(const std::vector<std::string>& words, size_t& used) {
    if (words.empty())
        return nullptr;
    if (words[0] == "device" && words.size() >= 2) {
        used = 2;
        return find_command("device " + words[1]);
    }
    used = 1;
    return find_command(words[0]);
}

const char kDeviceGroupHelp[] =
    "usage: iommuctl device add FILE|-\n"
    "       iommuctl device remove NAME\n"
    "\n"
    "'iommuctl device add --help', 'iommuctl device remove --help' describe them.\n";

int usage_error(const std::string& where, const std::string& message, const std::string& help_hint) {
    std::cerr << "iommuctl: " << where << message << "\n"
              << "Try '" << help_hint << "'.\n";
    return kExitUsage;
}

int run(int argc, char** argv) {
    const char* env_socket = std::getenv("CUSE_IOMMU_SOCKET");
    Env env{env_socket && *env_socket ? env_socket : kDefaultSocket, kDefaultTimeoutMs, std::cout, std::cerr, std::cin};

    std::vector<std::string> words(argv + 1, argv + argc);
    // Global options before the sub-command.
    size_t first = 0;
    try {
        while (first < words.size() && words[first].starts_with("-")) {
            const std::string& word = words[first];
            if (word == "-h" || word == "--help") {
                print_usage(std::cout);
                return kExitOk;
            }
            std::string name = word, value;
            if (const size_t eq = word.find('='); eq != std::string::npos) {
                name = word.substr(0, eq);
                value = word.substr(eq + 1);
            } else if (first + 1 < words.size()) {
                value = words[++first];
            } else if (name == "--socket" || name == "--timeout") {
                throw UsageError(name + " needs a value");
            }
            if (!apply_global_option(name, value, env))
                throw UsageError("unknown option '" + word + "'");
            ++first;
        }
    } catch (const UsageError& e) {
        return usage_error("", e.what(), "iommuctl --help");
    }
    words.erase(words.begin(), words.begin() + static_cast<long>(first));

    if (words.empty()) {
        print_usage(std::cerr);
        return kExitUsage;
    }
    if (words[0] == "help") {
        if (words.size() == 1) {
            print_usage(std::cout);
            return kExitOk;
        }
        words.erase(words.begin());
        size_t used = 0;
        if (const Command* c = find_command(words, used); c && used == words.size()) {
            print_help(*c, std::cout);
            return kExitOk;
        }
        if (words.size() == 1 && words[0] == "device") {
            std::cout << kDeviceGroupHelp;
            return kExitOk;
        }
        return usage_error("", "no command '" + words[0] + (words.size() > 1 ? " " + words[1] : "") + "'",
                           "iommuctl --help");
    }
    if (words[0] == "device" && (words.size() == 1 || words[1] == "-h" || words[1] == "--help")) {
        if (words.size() == 1) {
            std::cerr << "iommuctl: device: expected 'add' or 'remove'\n" << kDeviceGroupHelp;
            return kExitUsage;
        }
        std::cout << kDeviceGroupHelp;
        return kExitOk;
    }

    size_t used = 0;
    const Command* command = find_command(words, used);
    if (!command) {
        if (words[0] == "device")
            return usage_error("device: ", "unknown sub-command '" + words[1] + "' (expected add or remove)",
                               "iommuctl device --help");
        return usage_error("", "unknown command '" + words[0] + "'", "iommuctl --help");
    }
    const std::string name(command->name);
    words.erase(words.begin(), words.begin() + static_cast<long>(used));

    try {
        return command->run(env, words);
    } catch (const HelpRequested&) {
        print_help(*command, std::cout);
        return kExitOk;
    } catch (const UsageError& e) {
        return usage_error(name + ": ", e.what(), "iommuctl " + name + " --help");
    } catch (const UnreachableError& e) {
        std::cerr << "iommuctl: " << name << ": " << e.what() << "\n";
        return kExitUsage;
    } catch (const DaemonError& e) {
        std::cerr << "iommuctl: " << name << ": " << e.what() << "\n";
        return kExitDaemonError;
    } catch (const std::exception& e) {  // e.g. an answer whose fields have unexpected types
        std::cerr << "iommuctl: " << name << ": could not use the daemon's answer: " << e.what() << "\n";
        return kExitUsage;
    }
}

}  // namespace

int main(int argc, char** argv) {
    const int status = run(argc, argv);
    std::cout.flush();
    return status;
}
