// cuse-iommu: serves /dev/iommu through CUSE.
//
// Threads: libfuse's worker threads serve requests; the main thread runs
// libfuse's loop for /dev/<name>, another thread the object node's (the
// iommufd profile's /dev/<name>-object); one Boost.Asio thread owns signals and the daemon's
// timers (page-request response timeouts).  SIGINT/SIGTERM end the loop; destroying the session
// closes /dev/cuse and the kernel removes the device node.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/resource.h>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fuse_lowlevel.h>

#include "../dispatcher/dispatcher.h"
#include "../control/control_server.h"
#include "../control/trace_writer.h"
#include "../devices/topology.h"
#include "../core/model.h"
#include "cuse_device.h"
#include "object_node.h"

namespace {

struct Options {
    ciommu::CuseDeviceOptions device;
    bool foreground = false;
    std::string topology_file;  // empty: the built-in default topology
    std::string control_path = "/run/cuse-iommu.sock";  // empty: no control socket
    std::string trace_file;     // empty: no trace
    std::string mount_dir;      // empty: a CUSE node; else a FUSE mount's file there
    ciommu::Abi abi = ciommu::Abi::kRfc;
};

void print_usage(FILE* out) {
    std::fputs(
        "usage: cuse-iommu [--name NAME] [--abi rfc|iommufd] [--topology FILE] [--control PATH]\n"
        "                  [--trace FILE] [--mount DIR] [--foreground] [--debug] [--help]\n"
        "Serves the /dev/iommu uAPI prototype as a CUSE character device.\n"
        "  -n, --name NAME    device name: creates /dev/NAME (default: iommu)\n"
        "      --abi ABI      the uAPI served: rfc, the RFC v2 /dev/iommu (default), or\n"
        "                     iommufd, Linux 6.12's (docs/iommufd.md)\n"
        "  -t, --topology FILE  the simulated IOMMUs and devices, as JSON\n"
        "                     (default: built in; see docs/topology.md)\n"
        "  -c, --control PATH the control socket for iommuctl (default:\n"
        "                     /run/cuse-iommu.sock; 'none' to serve none)\n"
        "      --trace FILE   write one JSON line per uAPI call and fault event\n"
        "      --mount DIR    serve the device as the file DIR/NAME of a FUSE mount\n"
        "                     instead, where the kernel has no CUSE (rfc profile;\n"
        "                     the same ioctl path in the kernel: docs/design.md)\n"
        "  -f, --foreground   stay in the foreground\n"
        "  -d, --debug        trace every CUSE request on stderr (implies -f)\n"
        "  -h, --help         show this help\n"
        "Needs /dev/cuse (modprobe cuse), or /dev/fuse for --mount, and root.\n",
        out);
}

// Returns 0 to run, 1 for a usage error, 2 when --help was shown.
int parse_options(int argc, char** argv, Options& options) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            print_usage(stdout);
            return 2;
        } else if (arg == "-f" || arg == "--foreground") {
            options.foreground = true;
        } else if (arg == "-d" || arg == "--debug") {
            options.device.debug = true;
            options.foreground = true;
        } else if ((arg == "-n" || arg == "--name") && i + 1 < argc) {
            options.device.name = argv[++i];
        } else if (arg.starts_with("--name=")) {
            options.device.name = std::string(arg.substr(7));
        } else if ((arg == "--abi" && i + 1 < argc) || arg.starts_with("--abi=")) {
            const std::string_view abi = arg == "--abi" ? std::string_view(argv[++i]) : arg.substr(6);
            if (abi == "rfc") {
                options.abi = ciommu::Abi::kRfc;
            } else if (abi == "iommufd") {
                options.abi = ciommu::Abi::kIommufd;
            } else {
                std::fprintf(stderr, "cuse-iommu: --abi must be rfc or iommufd, not '%.*s'\n",
                             static_cast<int>(abi.size()), abi.data());
                return 1;
            }
        } else if ((arg == "-t" || arg == "--topology") && i + 1 < argc) {
            options.topology_file = argv[++i];
        } else if (arg.starts_with("--topology=")) {
            options.topology_file = std::string(arg.substr(11));
        } else if ((arg == "-c" || arg == "--control") && i + 1 < argc) {
            options.control_path = argv[++i];
        } else if (arg.starts_with("--control=")) {
            options.control_path = std::string(arg.substr(10));
        } else if (arg == "--trace" && i + 1 < argc) {
            options.trace_file = argv[++i];
        } else if (arg.starts_with("--trace=")) {
            options.trace_file = std::string(arg.substr(8));
        } else if ((arg == "--mount" && i + 1 < argc) || arg.starts_with("--mount=")) {
            options.mount_dir = arg == "--mount" ? std::string(argv[++i]) : std::string(arg.substr(8));
            if (options.mount_dir.empty()) {  // not a silent fall-back to /dev/cuse
                std::fprintf(stderr, "cuse-iommu: --mount needs a directory\n");
                return 1;
            }
        } else {
            std::fprintf(stderr, "cuse-iommu: unknown or incomplete option '%s'\n", argv[i]);
            print_usage(stderr);
            return 1;
        }
    }
    if (options.control_path == "none")
        options.control_path.clear();
    // The iommufd profile's fd objects live on a second node (ObjectNode),
    // which a one-file mount does not have.
    if (!options.mount_dir.empty() && options.abi != ciommu::Abi::kRfc) {
        std::fprintf(stderr, "cuse-iommu: --mount serves the rfc profile only\n");
        return 1;
    }
    options.device.mounted = !options.mount_dir.empty();
    if (options.device.name.empty() || options.device.name.find('/') != std::string::npos) {
        std::fprintf(stderr, "cuse-iommu: --name must be a plain device name\n");
        return 1;
    }
    return 0;
}

// Page requests unanswered past their context's timeout are answered INVALID
// by the daemon; this Asio timer is the clock that does it.
class ResponseTimeouts {
public:
    static constexpr std::chrono::milliseconds kTick{20};

    ResponseTimeouts(boost::asio::io_context& io, ciommu::Dispatcher& dispatcher)
        : timer_(io), dispatcher_(dispatcher) {
        arm();
    }

private:
    void arm() {
        timer_.expires_after(kTick);
        timer_.async_wait([this](const boost::system::error_code& error) {
            if (error)
                return;  // cancelled: the daemon is stopping
            dispatcher_.expire_page_requests();
            arm();
        });
    }

    boost::asio::steady_timer timer_;
    ciommu::Dispatcher& dispatcher_;
};

// SIGTERM stops the daemon within a second even with calls stuck in client
// memory: libfuse joins its workers on the way out, and a worker stuck in a
// client's memory waits for that client.  Past the grace the daemon exits
// without them; closing /dev/cuse then fails every request still pending,
// and the kernel answers their callers.
constexpr std::chrono::milliseconds kStopGrace{800};

void stop_within_grace() {
    std::thread([] {
        std::this_thread::sleep_for(kStopGrace);
        std::fputs("cuse-iommu: calls still stuck in client memory; exiting without them\n", stderr);
        _exit(0);
    }).detach();
}

// Each client process the model holds takes two descriptors (a pidfd and its
// /proc/<pid>/mem), each registered eventfd one: use all the descriptors the
// daemon may have, not the soft limit's 1024.
void raise_descriptor_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

// "ready" once every node exists: /dev/<name> (or the mounted file), and
// under the iommufd profile /dev/<name>-object (the fd objects' node).
std::atomic<int> nodes_pending{1};
std::string ready_path;

void node_ready() {
    if (--nodes_pending == 0) {
        std::printf("cuse-iommu: ready %s\n", ready_path.c_str());
        std::fflush(stdout);
    }
}

void announce_ready(const std::string&) { node_ready(); }

// Opens /dev/cuse for one node's session: 0, or prints why not.
int attach_to_cuse(ciommu::CuseSession& session) {
    const int cuse_fd = open("/dev/cuse", O_RDWR | O_CLOEXEC);
    if (cuse_fd < 0) {
        std::fprintf(stderr, "cuse-iommu: cannot open /dev/cuse: %s (try 'modprobe cuse')\n",
                     std::strerror(errno));
        return 1;
    }
    if (int err = session.attach(cuse_fd)) {
        std::fprintf(stderr, "cuse-iommu: cannot attach to /dev/cuse: %s\n", std::strerror(-err));
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (int rc = parse_options(argc, argv, options))
        return rc == 2 ? 0 : 1;
    options.device.on_ready = announce_ready;
    ready_path = (options.device.mounted ? options.mount_dir : std::string("/dev")) + "/" + options.device.name;

    ciommu::Topology topology = ciommu::default_topology();
    if (!options.topology_file.empty()) {
        auto loaded = ciommu::load_topology_file(options.topology_file);
        if (auto* error = std::get_if<ciommu::TopologyError>(&loaded)) {
            std::fprintf(stderr, "cuse-iommu: %s\n", ciommu::describe(*error).c_str());
            return 1;
        }
        topology = std::move(std::get<ciommu::Topology>(loaded));
    }

    raise_descriptor_limit();
    ciommu::Model model(topology);
    ciommu::Dispatcher dispatcher(model, options.abi);
    std::unique_ptr<ciommu::TraceWriter> trace;
    if (!options.trace_file.empty()) {
        std::string error;
        trace = ciommu::TraceWriter::open(options.trace_file, dispatcher, model, &error);
        if (!trace) {
            std::fprintf(stderr, "cuse-iommu: --trace %s: %s\n", options.trace_file.c_str(), error.c_str());
            return 1;
        }
    }
    ciommu::CuseDevice device(dispatcher, options.device);
    std::unique_ptr<ciommu::ObjectNode> object_node;
    if (options.abi == ciommu::Abi::kIommufd) {
        nodes_pending = 2;
        object_node = std::make_unique<ciommu::ObjectNode>(dispatcher, options.device.name + "-object",
                                                           options.device.debug, node_ready);
    }
    if (!device.session() || (object_node && !object_node->session().session())) {
        std::fprintf(stderr, "cuse-iommu: cannot create the CUSE session\n");
        return 1;
    }
    if (options.device.mounted) {
        if (device.session_object().mount(options.mount_dir) != 0) {
            std::fprintf(stderr, "cuse-iommu: cannot mount on %s\n", options.mount_dir.c_str());
            return 1;
        }
    } else if (attach_to_cuse(device.session_object()) ||
               (object_node && attach_to_cuse(object_node->session()))) {
        return 1;
    }
    // The control socket listens before the daemon detaches, so that an
    // error (a path in use, say) still reaches the terminal.
    boost::asio::io_context io;
    std::unique_ptr<ciommu::ControlServer> control;
    if (!options.control_path.empty()) {
        control = std::make_unique<ciommu::ControlServer>(io, dispatcher, options.control_path);
        if (std::string error = control->start(); !error.empty()) {
            std::fprintf(stderr, "cuse-iommu: --control %s: %s\n", options.control_path.c_str(), error.c_str());
            return 1;
        }
    }
    if (!options.foreground) {
        io.notify_fork(boost::asio::io_context::fork_prepare);
        if (fuse_daemonize(0) != 0)
            return 1;
        io.notify_fork(boost::asio::io_context::fork_child);
    }

    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& error, int) {
        if (error)
            return;
        stop_within_grace();
        if (object_node)
            object_node->session().exit();
        device.exit();
    });
    ResponseTimeouts timeouts(io, dispatcher);
    std::thread asio_thread([&io] { io.run(); });
    std::thread object_thread;
    if (object_node)
        object_thread = std::thread([&object_node] { object_node->session().run(); });

    const int result = device.run();
    if (object_node)
        object_node->session().exit();  // the device's peer went: so does the daemon
    if (object_thread.joinable())
        object_thread.join();
    io.stop();
    asio_thread.join();
    return result == 0 ? 0 : 1;
}
