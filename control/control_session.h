// One control-socket connection: newline-framed JSON requests in, one
// response line each, in order.  Reads and writes on the io_context's
// thread; the requests of each read are answered on a thread of their own
// (ControlWork), and reading and writing alternate (a batch of requests is
// answered before more bytes are read), so a client that never reads its
// answers, or a request stuck in a client's memory, stalls only itself.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/local/stream_protocol.hpp>

namespace ciommu {

class ControlWork;
class Dispatcher;

class ControlSession : public std::enable_shared_from_this<ControlSession> {
public:
    static constexpr size_t kMaxLine = size_t{1} << 20;  // bytes, without the '\n'

    ControlSession(boost::asio::local::stream_protocol::socket socket, Dispatcher& dispatcher,
                   std::shared_ptr<ControlWork> work)
        : socket_(std::move(socket)), dispatcher_(dispatcher), work_(std::move(work)) {}
    void start() { read(); }

private:
    // A request line, or (too long) its answer already.
    struct Pending {
        std::string line;
        std::string answer;
    };

    void read();
    void write();
    // After a read: answer what came in, else write or read on.
    void proceed();
    // Splits bytes into lines; queues each complete one in pending_.
    void consume(std::string_view bytes);
    // Answers pending_ on a ControlWork thread; the answers come back to
    // the Asio thread to be written.
    void answer_pending();
    void answer_batch(const std::vector<Pending>& batch);               // on the ControlWork thread
    void take_answers(const std::string& answers, bool complete);      // back on the Asio thread

    boost::asio::local::stream_protocol::socket socket_;
    Dispatcher& dispatcher_;
    std::shared_ptr<ControlWork> work_;
    std::vector<Pending> pending_;
    std::array<char, 64 * 1024> chunk_;
    std::string line_;        // the request read so far
    bool discarding_ = false; // the current line was too long: skip to its end
    std::string out_;         // responses waiting to be written
    bool closing_ = false;    // the peer finished sending: write, then end
};

}  // namespace ciommu
