#include "client.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

namespace iommuctl {

namespace {

constexpr size_t kMaxResponse = 64u << 20;  // a dump with many mappings is large, but not this large

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

std::string where(const Env& env) {
    return "the daemon's control socket " + env.socket_path;
}

[[noreturn]] void unreachable(const Env& env, const std::string& what) {
    throw UnreachableError("cannot reach " + where(env) + ": " + what + " (is cuse-iommu running with --control " +
                           env.socket_path + "? Use --socket PATH or $CUSE_IOMMU_SOCKET to point elsewhere)");
}

// Waits for `events` on fd until the deadline; false on timeout.
bool wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return false;
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            return true;  // let the following call report the error
    }
}

}  // namespace

nlohmann::json call_daemon(const Env& env, const nlohmann::json& request) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (env.socket_path.size() >= sizeof(addr.sun_path))
        throw UnreachableError("socket path too long (at most " + std::to_string(sizeof(addr.sun_path) - 1) +
                               " bytes): " + env.socket_path);
    std::memcpy(addr.sun_path, env.socket_path.c_str(), env.socket_path.size() + 1);

    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0)
        throw UnreachableError(std::string("socket(): ") + std::strerror(errno));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0)
        unreachable(env, std::strerror(errno));

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(env.timeout_ms);
    const std::string line = request.dump() + "\n";
    for (size_t sent = 0; sent < line.size();) {
        if (!wait_for(fd.get(), POLLOUT, deadline))
            throw UnreachableError("timed out after " + std::to_string(env.timeout_ms) + " ms sending to " +
                                   where(env));
        const ssize_t n = ::send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            throw UnreachableError("lost " + where(env) + " while sending: " + std::strerror(errno));
        }
        sent += static_cast<size_t>(n);
    }

    std::string response;
    char buf[65536];
    for (;;) {
        if (!wait_for(fd.get(), POLLIN, deadline))
            throw UnreachableError("no answer from " + where(env) + " within " + std::to_string(env.timeout_ms) +
                                   " ms (--timeout MS to wait longer)");
        const ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            throw UnreachableError("lost " + where(env) + " while waiting for the answer: " + std::strerror(errno));
        }
        if (n == 0)
            throw UnreachableError(where(env) + " closed the connection without answering");
        const size_t old = response.size();
        response.append(buf, static_cast<size_t>(n));
        if (const size_t nl = response.find('\n', old); nl != std::string::npos) {
            response.resize(nl);
            break;
        }
        if (response.size() > kMaxResponse)
            throw UnreachableError("the answer from " + where(env) + " is longer than 64 MiB");
    }

    nlohmann::json answer = nlohmann::json::parse(response, nullptr, /*allow_exceptions=*/false);
    if (answer.is_discarded() || !answer.is_object() || !answer.contains("ok") || !answer["ok"].is_boolean()) {
        const std::string shown = response.size() > 200 ? response.substr(0, 200) + "..." : response;
        throw UnreachableError("malformed answer from " + where(env) +
                               " (not a JSON object with a boolean \"ok\"): " + shown);
    }
    if (!answer["ok"].get<bool>()) {
        const auto it = answer.find("error");
        throw DaemonError(it != answer.end() && it->is_string() ? it->get<std::string>()
                                                                : "the daemon refused the request (no message)");
    }
    return answer;
}

}  // namespace iommuctl
