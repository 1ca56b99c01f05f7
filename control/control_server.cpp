// The control socket's listener: a Unix stream socket created owner-only,
// accepting sessions on the daemon's Boost.Asio thread.
#include "control_server.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include "control_session.h"
#include "control_work.h"

namespace ciommu {
namespace {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;

std::string os_error(const std::string& what, int err) { return what + ": " + std::strerror(err); }

// A socket file left by a daemon that died is removed; a live one, or any
// other kind of file, is not ours to remove.
std::string remove_stale_socket(const std::string& path) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0)
        return errno == ENOENT ? "" : os_error(path, errno);
    if (!S_ISSOCK(st.st_mode))
        return path + " exists and is not a socket; not removing it";
    const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return os_error("socket", errno);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    const bool live = connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(probe);
    if (live)
        return "another process is serving " + path;
    return unlink(path.c_str()) == 0 || errno == ENOENT ? "" : os_error("removing the stale " + path, errno);
}

}  // namespace

// Shared with its pending accept, so a handler that runs after the server
// is gone finds the listener still alive (and closed).
class ControlListener : public std::enable_shared_from_this<ControlListener> {
public:
    ControlListener(asio::io_context& io, Dispatcher& dispatcher, std::shared_ptr<ControlWork> work)
        : acceptor_(io), retry_(io), dispatcher_(dispatcher), work_(std::move(work)) {}

    std::string listen(const std::string& path);
    void accept();
    void close() {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        retry_.cancel();
    }
    ino_t inode() const { return inode_; }

private:
    Local::acceptor acceptor_;
    asio::steady_timer retry_;  // after an accept error such as EMFILE
    Dispatcher& dispatcher_;
    std::shared_ptr<ControlWork> work_;
    ino_t inode_ = 0;
};

std::string ControlListener::listen(const std::string& path) {
    boost::system::error_code ec;
    if (acceptor_.open(Local(), ec); ec)
        return "socket: " + ec.message();
    // Owner-only from the moment the file exists: Linux creates the socket
    // file with the unbound socket's mode (less the umask), so there is no
    // window in which others could connect, and no chmod() of a path that
    // someone could have swapped for a symlink.
    if (fchmod(acceptor_.native_handle(), 0600) != 0)
        return os_error("fchmod", errno);
    if (acceptor_.bind(Local::endpoint(path), ec); ec)
        return "bind: " + ec.message();
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0 || (st.st_mode & 077)) {
        unlink(path.c_str());
        return "the socket file could not be made owner-only";
    }
    inode_ = st.st_ino;
    if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec) {
        unlink(path.c_str());
        return "listen: " + ec.message();
    }
    return "";
}

void ControlListener::accept() {
    auto on_accept = [this, self = shared_from_this()](const boost::system::error_code& error, Local::socket peer) {
        if (error == asio::error::operation_aborted || !acceptor_.is_open())
            return;  // closed: the server is going away
        if (!error) {
            try {
                std::make_shared<ControlSession>(std::move(peer), dispatcher_, work_)->start();
            } catch (const std::exception&) {  // out of memory: this connection is dropped
            }
            accept();
            return;
        }
        retry_.expires_after(std::chrono::milliseconds(100));  // e.g. out of file descriptors
        retry_.async_wait([this, self](const boost::system::error_code& cancelled) {
            if (!cancelled)
                accept();
        });
    };
    acceptor_.async_accept(std::move(on_accept));
}

struct ControlServer::Impl {
    asio::io_context& io;
    Dispatcher& dispatcher;
    std::string path;
    std::shared_ptr<ControlListener> listener;
    std::shared_ptr<ControlWork> work = std::make_shared<ControlWork>();
};

ControlServer::ControlServer(asio::io_context& io, Dispatcher& dispatcher, std::string path)
    : impl_(std::make_unique<Impl>(Impl{io, dispatcher, std::move(path), nullptr})) {}

// Run it on the Asio thread or once the io_context has stopped: the
// acceptor is not thread-safe.  Sessions still open finish on their own;
// requests being answered finish first (they use the dispatcher).
ControlServer::~ControlServer() {
    impl_->work->wait_idle();
    if (!impl_->listener)
        return;
    impl_->listener->close();
    struct stat st {};
    if (lstat(impl_->path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == impl_->listener->inode())
        unlink(impl_->path.c_str());  // only the file this server made
}

std::string ControlServer::start() {
    const std::string& path = impl_->path;
    if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path))
        return "a socket path is 1.." + std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes";
    if (std::string error = remove_stale_socket(path); !error.empty())
        return error;
    auto listener = std::make_shared<ControlListener>(impl_->io, impl_->dispatcher, impl_->work);
    if (std::string error = listener->listen(path); !error.empty()) {
        listener->close();
        return error;
    }
    impl_->listener = std::move(listener);
    impl_->listener->accept();
    return "";
}

}  // namespace ciommu
