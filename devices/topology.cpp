// The topology parser: JSON text -> Topology, or the first error with the
// JSON pointer of the value at fault.  The schema is docs/topology.md; the
// reading is split by the document's parts (topology_reader.h): the text
// (topology_text.cpp), "iommus" (topology_iommus.cpp) and "devices"
// (topology_devices.cpp), with the value readers in topology_values.cpp.
//
// nlohmann::json may throw (syntax errors, and anything unforeseen); every
// exception is caught in parse_topology() and turned into a TopologyError.
#include "topology.h"

#include <cerrno>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

#include "topology_reader.h"

namespace ciommu {

using namespace topology_reader;

namespace {

constexpr size_t kMaxFileBytes = 1u << 20;

bool read_topology(const Node& root, Topology& topo) {
    return check_object(root, {"iommus", "devices"}) &&
           required(root, "iommus", [&](const Node& f) { return read_iommus(f, topo.iommus); }) &&
           required(root, "devices", [&](const Node& f) { return read_devices(f, topo); });
}

}  // namespace

std::variant<Topology, TopologyError> parse_topology(std::string_view json_text) {
    Errors errs;
    Topology topo;
    try {
        json doc;
        if (parse_json(json_text, doc, errs) && read_topology(Node{doc, "", errs}, topo))
            return topo;
    } catch (const std::exception& e) {
        errs.fail("", std::string("internal error: ") + e.what());
    }
    return errs.first.value_or(TopologyError{"", "internal error"});
}

std::variant<Topology, TopologyError> load_topology_file(const std::string& path) {
    const auto os_error = [&](int err) {
        return TopologyError{"", path + ": " + std::generic_category().message(err)};
    };
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return os_error(errno);
    std::string text;
    char buf[8192];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            return os_error(err);
        }
        if (n == 0)
            break;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > kMaxFileBytes) {
            ::close(fd);
            return TopologyError{"", path + ": larger than " + std::to_string(kMaxFileBytes) + " bytes"};
        }
    }
    ::close(fd);
    return parse_topology(text);
}

std::string describe(const TopologyError& e) {
    return e.path.empty() ? "topology: " + e.message : "topology: " + e.path + ": " + e.message;
}

}  // namespace ciommu
