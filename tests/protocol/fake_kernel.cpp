#include "fake_kernel.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/ioctl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <utility>

#include "../../cuse/cuse_device.h"
#include "../../cuse/cuse_session.h"

namespace protocol {
namespace {

using Bytes = std::vector<std::byte>;
using Clock = std::chrono::steady_clock;

size_t total_length(const std::vector<iovec>& iovs) {
    size_t total = 0;
    for (const iovec& iov : iovs)
        total += iov.iov_len;
    return total;
}

// copy_from_user() of every in iovec, in order.  process_vm_readv on
// ourselves turns an unmapped or PROT_NONE address into EFAULT.
long copy_from_caller(const std::vector<iovec>& remote, Bytes& data) {
    data.resize(total_length(remote));
    if (data.empty())
        return 0;
    iovec local{data.data(), data.size()};
    const ssize_t got = process_vm_readv(getpid(), &local, 1, remote.data(), remote.size(), 0);
    return got == static_cast<ssize_t>(data.size()) ? 0 : -EFAULT;
}

// copy_to_user() of the reply data: the out iovecs are filled in order with
// as many bytes as the daemon sent.
long copy_to_caller(const std::vector<iovec>& remote, std::span<const std::byte> data) {
    std::vector<iovec> dest;
    size_t left = data.size();
    for (const iovec& iov : remote) {
        if (left == 0)
            break;
        const size_t n = std::min(left, iov.iov_len);
        dest.push_back({iov.iov_base, n});
        left -= n;
    }
    if (data.empty())
        return 0;
    iovec local{const_cast<std::byte*>(data.data()), data.size()};
    const ssize_t put = process_vm_writev(getpid(), &local, 1, dest.data(), dest.size(), 0);
    return put == static_cast<ssize_t>(data.size()) ? 0 : -EFAULT;
}

// fuse_copy_ioctl_iovec() + fuse_verify_ioctl_iov(): the checks the kernel
// makes on a FUSE_IOCTL_RETRY.  A correct daemon never fails them, so each
// failure also fails the test.
long parse_retry(const IoctlReplyParts& parts, bool compat, std::vector<iovec>& in,
                 std::vector<iovec>& out) {
    const fuse_ioctl_out& o = parts.out;
    if (o.in_iovs > FUSE_IOCTL_MAX_IOV || o.out_iovs > FUSE_IOCTL_MAX_IOV ||
        o.in_iovs + o.out_iovs > FUSE_IOCTL_MAX_IOV) {
        FAIL_CHECK("retry names " << o.in_iovs << " + " << o.out_iovs << " iovecs (kernel: ENOMEM)");
        return -ENOMEM;
    }
    const size_t count = o.in_iovs + o.out_iovs;
    if (parts.tail.size() != count * sizeof(fuse_ioctl_iovec)) {
        FAIL_CHECK("retry carries " << parts.tail.size() << " bytes for " << count << " iovecs");
        return -EIO;
    }
    in.clear();
    out.clear();
    for (size_t i = 0; i < count; ++i) {
        fuse_ioctl_iovec fiov;
        std::memcpy(&fiov, parts.tail.data() + i * sizeof(fiov), sizeof(fiov));
        if (compat && (fiov.base > UINT32_MAX || fiov.len > UINT32_MAX)) {
            FAIL_CHECK("a 32-bit caller's retry names a 64-bit iovec");
            return -EIO;
        }
        (i < o.in_iovs ? in : out).push_back({reinterpret_cast<void*>(fiov.base), fiov.len});
    }
    if (total_length(in) > FakeKernel::kMaxRoundBytes || total_length(out) > FakeKernel::kMaxRoundBytes) {
        FAIL_CHECK("retry asks for " << total_length(in) << " in / " << total_length(out)
                                     << " out bytes: more than 128 KiB (kernel: ENOMEM)");
        return -ENOMEM;
    }
    return 0;
}

uint64_t highest_end(const std::vector<iovec>& iovs) {
    uint64_t end = 0;
    for (const iovec& iov : iovs)
        end = std::max<uint64_t>(end, reinterpret_cast<uintptr_t>(iov.iov_base) + iov.iov_len);
    return end;
}

}  // namespace

std::optional<IoctlReplyParts> split_ioctl_reply(const Reply& reply) {
    if (reply.payload.size() < sizeof(fuse_ioctl_out))
        return std::nullopt;
    IoctlReplyParts parts;
    std::memcpy(&parts.out, reply.payload.data(), sizeof(parts.out));
    parts.tail = std::span(reply.payload).subspan(sizeof(parts.out));
    return parts;
}

FakeKernel::FakeKernel(ciommu::CuseSession& session) : session_(session) {
    // /dev/cuse never raises SIGPIPE; a socket whose peer is gone does.  A
    // late daemon reply after hangup() must not kill the test process.
    std::signal(SIGPIPE, SIG_IGN);
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0);
    fd_ = fds[0];
    REQUIRE(session.attach(fds[1]) == 0);
    run_ = std::async(std::launch::async, [&session] { return session.run(); });
}

FakeKernel::FakeKernel(ciommu::CuseDevice& device) : FakeKernel(device.session_object()) {}

FakeKernel::~FakeKernel() {
    if (run_.valid())
        hangup();
    if (fd_ >= 0)
        close(fd_);
}

InitReply FakeKernel::init(uint32_t major, uint32_t minor) {
    cuse_init_in in{};
    in.major = major;
    in.minor = minor;
    in.flags = CUSE_UNRESTRICTED_IOCTL;  // what cuse_send_init() always sends
    InitReply init;
    const std::optional<Reply> reply = request(CUSE_INIT, bytes_of(in));
    if (!reply) {
        init.error = -ETIMEDOUT;
        return init;
    }
    init.error = reply->error();
    if (init.error)
        return init;
    if (reply->payload.size() < sizeof(init.out)) {
        FAIL_CHECK("CUSE_INIT reply of " << reply->payload.size() << " bytes");
        init.error = -EIO;
        return init;
    }
    std::memcpy(&init.out, reply->payload.data(), sizeof(init.out));
    // cuse_parse_devinfo(): NUL-separated KEY=value strings after the struct.
    const auto* info = reinterpret_cast<const char*>(reply->payload.data()) + sizeof(init.out);
    init.dev_info_bytes = reply->payload.size() - sizeof(init.out);
    for (size_t at = 0; at < init.dev_info_bytes;) {
        const size_t len = strnlen(info + at, init.dev_info_bytes - at);
        if (len)
            init.dev_info.emplace_back(info + at, len);
        at += len + 1;
    }
    return init;
}

int FakeKernel::fuse_init(fuse_init_out* out) {
    fuse_init_in in{};
    in.major = FUSE_KERNEL_VERSION;
    in.minor = FUSE_KERNEL_MINOR_VERSION;
    in.max_readahead = 128 * 1024;
    in.flags = FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_BIG_WRITES | FUSE_DONT_MASK | FUSE_MAX_PAGES;
    const std::optional<Reply> reply = request(FUSE_INIT, bytes_of(in));
    if (!reply)
        return -ETIMEDOUT;
    if (reply->error())
        return reply->error();
    if (reply->payload.size() < offsetof(fuse_init_out, max_write) + sizeof(uint32_t)) {
        FAIL_CHECK("FUSE_INIT reply of " << reply->payload.size() << " bytes");
        return -EIO;
    }
    if (out) {
        *out = {};
        std::memcpy(out, reply->payload.data(), std::min(sizeof(*out), reply->payload.size()));
    }
    return 0;
}

FakeKernel::Lookup FakeKernel::lookup(uint64_t parent, const std::string& name) {
    const uint64_t saved = std::exchange(node_, parent);
    const std::optional<Reply> reply =
        request(FUSE_LOOKUP, std::as_bytes(std::span(name.c_str(), name.size() + 1)));
    node_ = saved;
    Lookup found;
    if (!reply || reply->error()) {
        found.error = reply ? reply->error() : -ETIMEDOUT;
        return found;
    }
    REQUIRE(reply->payload.size() == sizeof(found.entry));
    std::memcpy(&found.entry, reply->payload.data(), sizeof(found.entry));
    return found;
}

FakeKernel::Getattr FakeKernel::getattr(uint64_t node) {
    const uint64_t saved = std::exchange(node_, node);
    fuse_getattr_in in{};
    const std::optional<Reply> reply = request(FUSE_GETATTR, bytes_of(in));
    node_ = saved;
    Getattr got;
    if (!reply || reply->error()) {
        got.error = reply ? reply->error() : -ETIMEDOUT;
        return got;
    }
    REQUIRE(reply->payload.size() == sizeof(got.attr));
    std::memcpy(&got.attr, reply->payload.data(), sizeof(got.attr));
    return got;
}

std::optional<Reply> FakeKernel::try_open() {
    fuse_open_in in{};
    in.flags = O_RDWR | O_LARGEFILE;
    return request(FUSE_OPEN, bytes_of(in));
}

uint64_t FakeKernel::open(fuse_open_out* out) {
    const std::optional<Reply> reply = try_open();
    if (!reply || reply->error() || reply->payload.size() != sizeof(fuse_open_out)) {
        FAIL_CHECK("OPEN failed: error " << (reply ? reply->error() : -ETIMEDOUT));
        return 0;
    }
    fuse_open_out opened;
    std::memcpy(&opened, reply->payload.data(), sizeof(opened));
    if (out)
        *out = opened;
    return opened.fh;
}

int FakeKernel::release(uint64_t fh) {
    fuse_release_in in{};
    in.fh = fh;
    in.flags = O_RDWR | O_LARGEFILE;
    const std::optional<Reply> reply = request(FUSE_RELEASE, bytes_of(in));
    return reply ? reply->error() : -ETIMEDOUT;
}

// fuse_do_ioctl() of fs/fuse/ioctl.c, round by round.
IoctlResult FakeKernel::ioctl(uint64_t fh, unsigned cmd, uint64_t arg, uint32_t flags) {
    IoctlResult result;
    const bool compat = flags & FUSE_IOCTL_COMPAT;
    if (compat)
        flags |= FUSE_IOCTL_32BIT;  // a 64-bit kernel marks every compat call

    std::vector<iovec> in_iov, out_iov;
    if (!(flags & FUSE_IOCTL_UNRESTRICTED)) {
        // Restricted: the size and direction encoded in cmd, and no retry.
        const iovec iov{reinterpret_cast<void*>(arg), _IOC_SIZE(cmd)};
        if (_IOC_DIR(cmd) & _IOC_WRITE)
            in_iov = {iov};
        if (_IOC_DIR(cmd) & _IOC_READ)
            out_iov = {iov};
    }

    for (;;) {
        Bytes in_data;
        if (copy_from_caller(in_iov, in_data)) {
            result.result = -EFAULT;
            return result;
        }
        if (result.rounds == kMaxRounds) {
            FAIL_CHECK("ioctl " << std::hex << cmd << " still retrying after " << kMaxRounds << " rounds");
            result.result = -EIO;
            return result;
        }
        ++result.rounds;
        const std::optional<Reply> reply =
            ioctl_round(fh, cmd, arg, in_data, static_cast<uint32_t>(total_length(out_iov)), flags);
        if (!reply) {
            result.result = -ETIMEDOUT;
            return result;
        }
        if (reply->error()) {
            result.result = reply->error();
            return result;
        }
        const std::optional<IoctlReplyParts> parts = split_ioctl_reply(*reply);
        if (!parts) {
            FAIL_CHECK("IOCTL reply of " << reply->payload.size() << " bytes");
            result.result = -EIO;
            return result;
        }
        if (parts->out.flags & FUSE_IOCTL_RETRY) {
            if (!(flags & FUSE_IOCTL_UNRESTRICTED)) {
                result.result = -EIO;
                return result;
            }
            if (long err = parse_retry(*parts, compat, in_iov, out_iov)) {
                result.result = err;
                return result;
            }
            result.highest_named =
                std::max({result.highest_named, highest_end(in_iov), highest_end(out_iov)});
            continue;
        }
        if (parts->tail.size() > total_length(out_iov)) {
            FAIL_CHECK("IOCTL reply carries " << parts->tail.size() << " bytes for "
                                              << total_length(out_iov) << " out bytes");
            result.result = -EIO;
            return result;
        }
        if (copy_to_caller(out_iov, parts->tail)) {
            result.result = -EFAULT;
            return result;
        }
        result.result = parts->out.result;
        return result;
    }
}

std::optional<Reply> FakeKernel::ioctl_round(uint64_t fh, unsigned cmd, uint64_t arg,
                                             std::span<const std::byte> in_data, uint32_t out_size,
                                             uint32_t flags) {
    fuse_ioctl_in in{};
    in.fh = fh;
    in.flags = flags;
    in.cmd = cmd;
    in.arg = arg;
    in.in_size = static_cast<uint32_t>(in_data.size());
    in.out_size = out_size;
    const uint64_t unique = next_unique();
    send(FUSE_IOCTL, unique, {bytes_of(in), in_data});
    return receive(unique);
}

void FakeKernel::send(uint32_t opcode, uint64_t unique,
                      std::initializer_list<std::span<const std::byte>> parts) {
    fuse_in_header header{};
    header.opcode = opcode;
    header.unique = unique;
    header.uid = getuid();
    header.gid = getgid();
    header.pid = caller_pid_ ? caller_pid_ : static_cast<uint32_t>(gettid());  // CUSE reports the calling thread
    header.nodeid = node_;
    std::vector<iovec> iov{{&header, sizeof(header)}};
    size_t len = sizeof(header);
    for (std::span<const std::byte> part : parts) {
        if (part.empty())
            continue;
        iov.push_back({const_cast<std::byte*>(part.data()), part.size()});
        len += part.size();
    }
    header.len = static_cast<uint32_t>(len);
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = iov.size();
    const ssize_t sent = sendmsg(fd_, &msg, MSG_NOSIGNAL);
    CHECK_MESSAGE(sent == static_cast<ssize_t>(len), "send opcode " << opcode << ": " << strerror(errno));
}

std::optional<Reply> FakeKernel::request(uint32_t opcode, std::span<const std::byte> body) {
    const uint64_t unique = next_unique();
    send(opcode, unique, {body});
    return receive(unique);
}

std::optional<Reply> FakeKernel::receive(uint64_t unique) {
    const auto deadline = Clock::now() + kTimeout;
    for (;;) {
        if (std::optional<Reply> stashed = take_stashed(unique))
            return stashed;
        const auto now = Clock::now();
        if (now >= deadline)
            break;
        if (pump(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) +
                 std::chrono::milliseconds(1)) == Pumped::kBroken)
            return std::nullopt;
    }
    FAIL_CHECK("no reply to request " << unique << " within " << kTimeout.count() << " s");
    return std::nullopt;
}

FakeKernel::Pumped FakeKernel::pump(std::chrono::milliseconds wait) {
    if (fd_ < 0)
        return Pumped::kBroken;
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(wait.count())) <= 0)
        return Pumped::kNothing;  // EINTR or timeout: the caller's deadline decides
    std::optional<Reply> message = read_message();
    if (!message)
        return Pumped::kBroken;
    const uint64_t unique = message->header.unique;
    if (unique == 0)
        notifications_.push_back(std::move(*message));
    else if (answered_.count(unique) || !stash_.emplace(unique, std::move(*message)).second)
        FAIL_CHECK("a second reply to request " << unique);  // the kernel: ENOENT
    return Pumped::kMessage;
}

uint64_t FakeKernel::send_read(uint64_t fh, uint32_t size, uint32_t open_flags) {
    // fuse_send_read(): offset 0 (the file is FOPEN_NONSEEKABLE), f_flags.
    fuse_read_in in{};
    in.fh = fh;
    in.offset = 0;
    in.size = size;
    in.flags = open_flags;
    const uint64_t unique = next_unique();
    send(FUSE_READ, unique, {bytes_of(in)});
    return unique;
}

long FakeKernel::write(uint64_t fh, std::span<const std::byte> data, uint32_t open_flags) {
    // fuse_send_write(): offset 0 (CUSE: cuse_write_iter), then the bytes.
    fuse_write_in in{};
    in.fh = fh;
    in.offset = 0;
    in.size = static_cast<uint32_t>(data.size());
    in.flags = open_flags;
    const uint64_t unique = next_unique();
    send(FUSE_WRITE, unique, {bytes_of(in), data});
    const std::optional<Reply> reply = receive(unique);
    if (!reply)
        return -ETIMEDOUT;
    if (reply->error())
        return reply->error();
    fuse_write_out out{};
    if (reply->payload.size() < sizeof(out)) {
        FAIL_CHECK("a WRITE reply of " << reply->payload.size() << " bytes");
        return -EPROTO;
    }
    std::memcpy(&out, reply->payload.data(), sizeof(out));
    return out.size;
}

uint64_t FakeKernel::send_poll(uint64_t fh, uint64_t kh, uint32_t flags, uint32_t events) {
    // fuse_file_poll(): kh is the kernel's handle of the file.
    fuse_poll_in in{};
    in.fh = fh;
    in.kh = kh;
    in.flags = flags;
    in.events = events;
    const uint64_t unique = next_unique();
    send(FUSE_POLL, unique, {bytes_of(in)});
    return unique;
}

long FakeKernel::poll_revents(const std::optional<Reply>& reply) {
    if (!reply)
        return -ETIMEDOUT;
    if (reply->error())
        return reply->error();
    if (reply->payload.size() != sizeof(fuse_poll_out)) {
        FAIL_CHECK("POLL reply of " << reply->payload.size() << " bytes");
        return -EIO;
    }
    fuse_poll_out out;
    std::memcpy(&out, reply->payload.data(), sizeof(out));
    return out.revents;
}

void FakeKernel::interrupt(uint64_t target) {
    // fuse_read_interrupt(): the interrupted request's id with bit 0 set.
    fuse_interrupt_in in{};
    in.unique = target;
    send(FUSE_INTERRUPT, target | kInterruptBit, {bytes_of(in)});
}

std::optional<Reply> FakeKernel::next_notification(std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
        if (!notifications_.empty()) {
            Reply message = std::move(notifications_.front());
            notifications_.pop_front();
            return message;
        }
        const auto now = Clock::now();
        if (now >= deadline)
            return std::nullopt;
        if (pump(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) +
                 std::chrono::milliseconds(1)) == Pumped::kBroken)
            return std::nullopt;
    }
}

std::optional<uint64_t> FakeKernel::next_poll_wakeup(std::chrono::milliseconds wait) {
    std::optional<Reply> message = next_notification(wait);
    if (!message)
        return std::nullopt;
    if (message->header.error != FUSE_NOTIFY_POLL) {
        FAIL_CHECK("notification " << message->header.error << " where FUSE_NOTIFY_POLL was expected");
        return std::nullopt;
    }
    fuse_notify_poll_wakeup_out out;
    std::memcpy(&out, message->payload.data(), sizeof(out));  // size checked by read_message()
    return out.kh;
}

std::optional<Reply> FakeKernel::take_stashed(uint64_t unique) {
    const auto it = stash_.find(unique);
    if (it == stash_.end())
        return std::nullopt;
    Reply reply = std::move(it->second);
    stash_.erase(it);
    answered_.insert(unique);
    return reply;
}

bool FakeKernel::quiet_for(std::chrono::milliseconds wait) {
    pollfd pfd{fd_, POLLIN, 0};
    return ::poll(&pfd, 1, static_cast<int>(wait.count())) == 0;
}

// fuse_dev_do_write()'s checks on a reply: a whole header whose len is the
// message length, an error in (-512, 0], and no payload with an error.
std::optional<Reply> FakeKernel::read_message() {
    Bytes buffer(256 * 1024);
    iovec iov{buffer.data(), buffer.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    const ssize_t got = recvmsg(fd_, &msg, 0);
    if (got <= 0 || (msg.msg_flags & MSG_TRUNC) || static_cast<size_t>(got) < sizeof(fuse_out_header)) {
        FAIL_CHECK("bad read from the daemon: " << got << " bytes, flags " << msg.msg_flags);
        return std::nullopt;
    }
    Reply reply;
    std::memcpy(&reply.header, buffer.data(), sizeof(reply.header));
    reply.payload.assign(buffer.begin() + sizeof(reply.header), buffer.begin() + got);
    const bool framed = reply.header.len == static_cast<uint32_t>(got);
    if (framed && reply.header.unique == 0) {
        // fuse_notify(): header.error is the notification code.  The only
        // one a CUSE device has a use for is FUSE_NOTIFY_POLL, whose
        // payload must be exactly fuse_notify_poll_wakeup_out.
        if (reply.header.error != FUSE_NOTIFY_POLL ||
            reply.payload.size() != sizeof(fuse_notify_poll_wakeup_out)) {
            FAIL_CHECK("bad notification: code " << reply.header.error << ", " << reply.payload.size()
                                                 << " bytes");
            return std::nullopt;
        }
        return reply;
    }
    const bool error_ok = reply.header.error <= 0 && reply.header.error > -512 &&
                          (reply.header.error == 0 || reply.payload.empty());
    if (!framed || !error_ok) {
        FAIL_CHECK("malformed reply to " << reply.header.unique << ": len " << reply.header.len
                                         << " of " << got << ", error " << reply.header.error);
        return std::nullopt;
    }
    return reply;
}

std::optional<int> FakeKernel::hangup() {
    if (fd_ >= 0) {
        close(fd_);
        fd_ = -1;
    }
    return wait_for_run();
}

std::optional<int> FakeKernel::stop_with_exit() {
    session_.exit();
    return wait_for_run();
}

std::optional<int> FakeKernel::wait_for_run() {
    if (!run_.valid())
        return std::nullopt;
    if (run_.wait_for(kTimeout) == std::future_status::ready)
        return run_.get();
    FAIL_CHECK("CuseDevice::run() did not return within " << kTimeout.count() << " s");
    // Try the other way to stop it before the future's destructor would
    // block for ever.
    session_.exit();
    if (fd_ >= 0) {
        close(fd_);
        fd_ = -1;
    }
    if (run_.wait_for(kTimeout) != std::future_status::ready) {
        std::fputs("protocol_tests: the CUSE loop cannot be stopped; aborting\n", stderr);
        std::abort();
    }
    run_.get();
    return std::nullopt;
}

}  // namespace protocol
