// One control-socket connection: newline-framed JSON requests in, one
// response line each, in order.  Runs on the io_context's thread; reading
// and writing alternate (a batch of requests is answered before more bytes
// are read), so a client that never reads its answers stalls only itself.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/local/stream_protocol.hpp>

namespace ciommu {

class Dispatcher;

class ControlSession : public std::enable_shared_from_this<ControlSession> {
public:
    static constexpr size_t kMaxLine = size_t{1} << 20;  // bytes, without the '\n'

    ControlSession(boost::asio::local::stream_protocol::socket socket, Dispatcher& dispatcher)
        : socket_(std::move(socket)), dispatcher_(dispatcher) {}
    void start() { read(); }

private:
    void read();
    void write();
    // Splits bytes into lines; answers each complete one into out_.
    void consume(std::string_view bytes);
    void answer(std::string_view line);

    boost::asio::local::stream_protocol::socket socket_;
    Dispatcher& dispatcher_;
    std::array<char, 64 * 1024> chunk_;
    std::string line_;        // the request read so far
    bool discarding_ = false; // the current line was too long: skip to its end
    std::string out_;         // responses waiting to be written
    bool closing_ = false;    // the peer finished sending: write, then end
};

}  // namespace ciommu
