#include "control_session.h"

#include <functional>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "control_server.h"
#include "control_work.h"

namespace ciommu {
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

// Out of memory anywhere on the way, the connection ends (the answers
// written so far are whole lines): the daemon and the other connections go on.
void ControlSession::answer_pending() {
    try {
        std::function<void()> job = [self = shared_from_this(), batch = std::exchange(pending_, {})] {
            self->answer_batch(batch);
        };
        if (work_->start(std::move(job)))
            return;
    } catch (const std::exception&) {
    }
    closing_ = true;  // no thread (or no memory) for it: the connection ends unanswered
    pending_.clear();
    proceed();
}

void ControlSession::answer_batch(const std::vector<Pending>& batch) {
    std::string out;
    bool complete = true;
    try {
        for (const Pending& p : batch) {
            const size_t whole = out.size();
            try {
                out += p.answer.empty() ? answer_control_line(dispatcher_, p.line) : p.answer;
                out += '\n';
            } catch (const std::exception&) {
                out.resize(whole);  // only whole lines go out
                throw;
            }
        }
    } catch (const std::exception&) {
        complete = false;
    }
    try {
        boost::asio::post(socket_.get_executor(), [self = shared_from_this(), out = std::move(out), complete] {
            self->take_answers(out, complete);
        });
    } catch (const std::exception&) {
        // Not even room to hand the answers over: the session ends with the
        // last reference to it, this job's.
    }
}

void ControlSession::take_answers(const std::string& answers, bool complete) {
    try {
        out_ += answers;
    } catch (const std::exception&) {
        complete = false;
    }
    if (!complete)
        closing_ = true;
    proceed();
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
            pending_.push_back({"", R"({"ok":false,"error":"request line longer than 1 MiB"})"});
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
