// SCAFFOLD: replaced by the control-socket implementation (docs/control.md).
#include "control_server.h"

namespace ciommu {

nlohmann::json handle_control_request(Dispatcher&, const nlohmann::json&) {
    return {{"ok", false}, {"error", "the control protocol is not implemented yet"}};
}

struct ControlServer::Impl {};

ControlServer::ControlServer(boost::asio::io_context&, Dispatcher&, std::string) : impl_(std::make_unique<Impl>()) {}
ControlServer::~ControlServer() = default;
std::string ControlServer::start() { return {}; }

}  // namespace ciommu
