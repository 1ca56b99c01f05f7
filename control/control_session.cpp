#include "control_session.h"

#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include "control_server.h"
#include "control_work.h"

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
                pending_.push_back({line_, ""});  // a last request without its '\n'
                line_.clear();
            }
            if (error)
                closing_ = true;
            else
                consume(std::string_view(chunk_.data(), n));
        } catch (const std::exception&) {  // out of memory: drop this connection, not the daemon
            return;
        }
        proceed();
    };
    socket_.async_read_some(boost::asio::buffer(chunk_), std::move(on_read));
}

void ControlSession::proceed() {
    if (!pending_.empty())
        answer_pending();
    else if (!out_.empty())
        write();
    else if (!closing_)
        read();
}

void ControlSession::answer_pending() {
    auto answer_all = [self = shared_from_this(), batch = std::exchange(pending_, {})] {
        std::string out;
        for (const Pending& p : batch) {
            try {
                out += p.answer.empty() ? respond(self->dispatcher_, p.line).dump(-1, ' ', false,
                                                                                  json::error_handler_t::replace)
                                        : p.answer;
            } catch (const std::exception&) {  // only std::bad_alloc is left to throw here
                out += R"({"ok":false,"error":"internal error: the response could not be built"})";
            }
            out += '\n';
        }
        boost::asio::post(self->socket_.get_executor(), [self, out = std::move(out)]() mutable {
            self->out_ += out;
            self->proceed();
        });
    };
    if (!work_->start(std::move(answer_all)))
        closing_ = true;  // no thread for it: the connection ends unanswered
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
            // Answered once (in order); the rest of the line is skipped unread.
            discarding_ = true;
            line_.clear();
            pending_.push_back({"", error_line("request line longer than 1 MiB").dump()});
        } else if (!discarding_) {
            line_.append(piece);
        }
        if (newline == std::string_view::npos)
            return;
        if (!discarding_)
            pending_.push_back({line_, ""});
        line_.clear();
        discarding_ = false;
        bytes.remove_prefix(newline + 1);
    }
}

}  // namespace ciommu
