// The control socket itself: a ControlServer on a temporary path, served by
// its own io_context thread, spoken to over a real Unix stream socket.
#include <cstdlib>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "control_test_util.h"

using namespace ciommu;
using namespace ciommu::test;

namespace {

// A fresh directory under /tmp, removed with what is left in it.
struct TempDir {
    TempDir() {
        char pattern[] = "/tmp/ciommu-control-XXXXXX";
        REQUIRE(mkdtemp(pattern) != nullptr);
        path = pattern;
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
    std::string path;
};

sockaddr_un address_of(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

int connect_to(const std::string& path) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    const sockaddr_un addr = address_of(path);
    REQUIRE(connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    return fd;
}

void send_all(int fd, const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        REQUIRE(n > 0);
        sent += static_cast<size_t>(n);
    }
}

// Reads until `count` whole lines have arrived.
std::vector<json> read_lines(int fd, size_t count) {
    std::string buffer;
    std::vector<json> lines;
    char chunk[4096];
    while (lines.size() < count) {
        const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        REQUIRE(n > 0);
        buffer.append(chunk, static_cast<size_t>(n));
        for (size_t newline; lines.size() < count && (newline = buffer.find('\n')) != std::string::npos;) {
            lines.push_back(json::parse(buffer.substr(0, newline)));
            buffer.erase(0, newline + 1);
        }
    }
    return lines;
}

// A socket file left behind by a daemon that died: bound, never unlinked.
void leave_stale_socket(const std::string& path) {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    const sockaddr_un addr = address_of(path);
    REQUIRE(bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    close(fd);
}

// The server and the thread running its io_context.
struct Served {
    Served(Dispatcher& dispatcher, const std::string& path) : server(io, dispatcher, path) {}
    ~Served() {
        io.stop();
        if (thread.joinable())
            thread.join();
    }
    void run() {
        thread = std::thread([this] { io.run(); });
    }
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
    ControlServer server;
    std::thread thread;
};

}  // namespace

TEST_CASE("control socket: owner-only, one response per line, in order; bad lines leave it usable") {
    Fixture f;
    TempDir dir;
    const std::string path = dir.path + "/control.sock";
    leave_stale_socket(path);
    {
        Served served(f.dispatcher, path);
        REQUIRE(served.server.start() == "");
        struct stat st {};
        REQUIRE(lstat(path.c_str(), &st) == 0);
        CHECK(S_ISSOCK(st.st_mode));
        CHECK((st.st_mode & 0777) == 0600);
        served.run();

        const int fd = connect_to(path);
        send_all(fd, "{\"cmd\": \"dump\", \"oops\"\n{\"cmd\":\"dump\"}\r\n");
        auto lines = read_lines(fd, 2);
        CHECK(lines[0]["ok"] == false);
        CHECK(lines[0]["error"].get<std::string>().starts_with("not JSON: parse error at line 1"));
        CHECK(lines[1]["ok"] == true);
        CHECK(lines[1]["state"]["contexts"][0]["id"] == f.ctx->id);

        // A line over 1 MiB is refused (once), then the next request is served.
        send_all(fd, "[" + std::string((1 << 20) + 10, ' ') + "]\n" + "[1]\n" + "{\"cmd\":\"set\"}");
        shutdown(fd, SHUT_WR);  // the last request has no '\n': it is answered at the end of input
        lines = read_lines(fd, 3);
        CHECK(lines[0]["error"] == "request line longer than 1 MiB");
        CHECK(lines[1]["error"] == "a request is a JSON object, got an array");
        CHECK(lines[2]["error"] == "context: missing");
        char byte;
        CHECK(recv(fd, &byte, 1, 0) == 0);  // then the server closes
        close(fd);

        Served second(f.dispatcher, path);
        CHECK(second.server.start() == "another process is serving " + path);
        served.io.stop();
    }
    struct stat st {};
    CHECK(lstat(path.c_str(), &st) != 0);  // the server removed its socket file

    const std::string file = dir.path + "/plain";
    std::system(("touch '" + file + "'").c_str());
    Served third(f.dispatcher, file);
    CHECK(third.server.start() == file + " exists and is not a socket; not removing it");
}
