#include "control_session.h"

#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include "control_server.h"

namespace ciommu {
namespace {

using nlohmann::json;

json error_line(const std::string& message) { return {{"ok", false}, {"error", message}}; }

// One request line -> its response; never throws.
json respond(Dispatcher& dispatcher, std::string_view line) {
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);  // tolerate CRLF from interactive tools
    json request;
    try {
        request = json::parse(line.begin(), line.end());
    } catch (const json::exception& e) {
        // "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
        const std::string what = e.what();
        const size_t close = what.find("] ");
        return error_line("not JSON: " + (close == what.npos ? what : what.substr(close + 2)));
    }
    return handle_control_request(dispatcher, request);
}

}  // namespace

void ControlSession::read() {
    auto on_read = [this, self = shared_from_this()](const boost::system::error_code& error, size_t n) {
        try {
            if (error == boost::asio::error::eof && !line_.empty() && !discarding_) {
                answer(line_);  // a last request without its '\n'
                line_.clear();
            }
            if (error)
                closing_ = true;
            else
                consume(std::string_view(chunk_.data(), n));
        } catch (const std::exception&) {  // out of memory: drop this connection, not the daemon
            return;
        }
        if (!out_.empty())
            write();
        else if (!closing_)
            read();
    };
    socket_.async_read_some(boost::asio::buffer(chunk_), std::move(on_read));
}

void ControlSession::write() {
    boost::asio::async_write(socket_, boost::asio::buffer(out_),
                             [this, self = shared_from_this()](const boost::system::error_code& error, size_t) {
                                 out_.clear();
                                 if (!error && !closing_)
                                     read();
                             });
}

void ControlSession::consume(std::string_view bytes) {
    while (!bytes.empty()) {
        const size_t newline = bytes.find('\n');
        const std::string_view piece = bytes.substr(0, newline);
        if (!discarding_ && line_.size() + piece.size() > kMaxLine) {
            // Answered now, once; the rest of the line is skipped unread.
            discarding_ = true;
            line_.clear();
            out_ += error_line("request line longer than 1 MiB").dump() + '\n';
        } else if (!discarding_) {
            line_.append(piece);
        }
        if (newline == std::string_view::npos)
            return;
        if (!discarding_)
            answer(line_);
        line_.clear();
        discarding_ = false;
        bytes.remove_prefix(newline + 1);
    }
}

void ControlSession::answer(std::string_view line) {
    try {
        out_ += respond(dispatcher_, line).dump(-1, ' ', false, json::error_handler_t::replace);
    } catch (const std::exception&) {  // only std::bad_alloc is left to throw here
        out_ += R"({"ok":false,"error":"internal error: the response could not be built"})";
    }
    out_ += '\n';
}

}  // namespace ciommu
