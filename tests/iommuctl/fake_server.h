// A stand-in for the daemon's control socket: a Unix socket served by a thread
// that answers each request line with a canned JSON answer chosen by its
// "cmd", and records every line it got.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace iommuctl_test {

class FakeServer {
public:
    enum class Mode {
        kAnswer,  // answer each line
        kSilent,  // read, never answer (the client must time out)
        kHangUp,  // close the connection after the first line, unanswered
    };

    FakeServer();  // listening on a fresh path under /tmp
    ~FakeServer();
    FakeServer(const FakeServer&) = delete;
    FakeServer& operator=(const FakeServer&) = delete;

    const std::string& path() const { return path_; }

    // The answer to requests with this "cmd" (a JSON object, sent as one line).
    void answer(const std::string& cmd, const nlohmann::json& response);
    // A raw answer, sent exactly as given (add the "\n" yourself).
    void answer_raw(const std::string& cmd, const std::string& bytes);
    void set_mode(Mode mode) { mode_ = mode; }

    // Every request line received, without its "\n".
    std::vector<std::string> lines() const;
    // The lines parsed (a line that is not JSON gives a discarded value).
    std::vector<nlohmann::json> requests() const;
    unsigned connections() const { return connections_; }
    void clear();

private:
    void serve();
    void serve_connection(int fd);
    std::string answer_for(const std::string& line);

    std::string dir_, path_;
    int listen_fd_ = -1;
    int stop_pipe_[2] = {-1, -1};
    std::atomic<Mode> mode_{Mode::kAnswer};
    std::atomic<unsigned> connections_{0};
    mutable std::mutex mutex_;
    std::map<std::string, std::string> answers_;  // cmd -> bytes to send
    std::vector<std::string> lines_;
    std::thread thread_;
};

}  // namespace iommuctl_test
