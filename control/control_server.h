// The control socket (docs/control.md): a Unix stream socket speaking one
// JSON request / response per line, served on the daemon's Boost.Asio
// thread.  The protocol itself is transport-neutral (handle_control_request)
// so tests drive it without a socket.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

namespace ciommu {

class Dispatcher;

// One request -> one response ({"ok": true, ...} or {"ok": false, "error"}).
// A failed request changes nothing.
nlohmann::json handle_control_request(Dispatcher& dispatcher, const nlohmann::json& request);

class ControlServer {
public:
    ControlServer(boost::asio::io_context& io, Dispatcher& dispatcher, std::string path);
    ~ControlServer();  // stops listening and removes the socket file
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Starts listening (owner-only permissions).  "" or an error message.
    std::string start();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ciommu
