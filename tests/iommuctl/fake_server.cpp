#include "fake_server.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace iommuctl_test {

FakeServer::FakeServer() {
    char dir[] = "/tmp/iommuctl-test-XXXXXX";
    if (!mkdtemp(dir))
        throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    dir_ = dir;
    path_ = dir_ + "/control.sock";

    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listen_fd_, 8) != 0 || ::pipe2(stop_pipe_, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("fake server: ") + std::strerror(errno));
    thread_ = std::thread([this] { serve(); });
}

FakeServer::~FakeServer() {
    const char byte = 0;
    (void)!::write(stop_pipe_[1], &byte, 1);
    thread_.join();
    ::close(listen_fd_);
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
}

void FakeServer::answer(const std::string& cmd, const nlohmann::json& response) {
    answer_raw(cmd, response.dump() + "\n");
}

void FakeServer::answer_raw(const std::string& cmd, const std::string& bytes) {
    std::lock_guard lock(mutex_);
    answers_[cmd] = bytes;
}

std::vector<std::string> FakeServer::lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
}

std::vector<nlohmann::json> FakeServer::requests() const {
    std::vector<nlohmann::json> out;
    for (const std::string& line : lines())
        out.push_back(nlohmann::json::parse(line, nullptr, false));
    return out;
}

void FakeServer::clear() {
    std::lock_guard lock(mutex_);
    lines_.clear();
    connections_ = 0;
}

std::string FakeServer::answer_for(const std::string& line) {
    const nlohmann::json request = nlohmann::json::parse(line, nullptr, false);
    std::string cmd;
    if (request.is_object() && request.contains("cmd") && request["cmd"].is_string())
        cmd = request["cmd"].get<std::string>();
    std::lock_guard lock(mutex_);
    auto it = answers_.find(cmd);
    if (it != answers_.end())
        return it->second;
    return nlohmann::json{{"ok", false}, {"error", "fake server: no canned answer for '" + cmd + "'"}}.dump() + "\n";
}

void FakeServer::serve() {
    for (;;) {
        pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (fds[1].revents)
            return;
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        ++connections_;
        serve_connection(fd);
        ::close(fd);
    }
}

void FakeServer::serve_connection(int fd) {
    std::string pending;
    char buf[65536];
    for (;;) {
        pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (fds[1].revents)
            return;
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return;  // the client is done
        pending.append(buf, static_cast<size_t>(n));
        for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
            const std::string line = pending.substr(0, nl);
            pending.erase(0, nl + 1);
            {
                std::lock_guard lock(mutex_);
                lines_.push_back(line);
            }
            if (mode_ == Mode::kHangUp)
                return;
            if (mode_ == Mode::kSilent)
                continue;
            const std::string reply = answer_for(line);
            for (size_t sent = 0; sent < reply.size();) {
                const ssize_t w = ::send(fd, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
                if (w <= 0)
                    return;
                sent += static_cast<size_t>(w);
            }
        }
    }
}

}  // namespace iommuctl_test
