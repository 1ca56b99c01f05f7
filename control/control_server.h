// The control socket (docs/control.md): a Unix stream socket speaking one
// JSON request / response per line, served on the daemon's Boost.Asio
// thread.  The protocol itself is transport-neutral (handle_control_request)
// so tests drive it without a socket.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

namespace ciommu {

class Dispatcher;

// One request -> one response ({"ok": true, ...} or {"ok": false, "error"}).
// A failed request changes nothing.
nlohmann::json handle_control_request(Dispatcher& dispatcher, const nlohmann::json& request);
// One request line -> its response line (without the '\n'): malformed JSON,
// a request nested deeper than kMaxRequestDepth and running out of memory
// are answered {"ok": false, ...}.  Throws only std::bad_alloc, when not
// even that answer can be built.
std::string answer_control_line(Dispatcher& dispatcher, std::string_view line);
inline constexpr int kMaxRequestDepth = 32;

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
