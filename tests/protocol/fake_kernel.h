// A fake Linux kernel for the protocol tests (tier 2).
//
// It plays the /dev/cuse side of the daemon's real libfuse CUSE session:
// one end of a SOCK_SEQPACKET socketpair (one FUSE message per read, like
// /dev/cuse) is handed to CuseDevice::attach(), CuseDevice::run() serves it
// on a thread, and this class speaks the FUSE wire protocol of
// <linux/fuse.h> the way fs/fuse/cuse.c and fs/fuse/ioctl.c do.
//
// The "calling process" of every request is the test itself: fuse_in_header
// carries the test thread's id, and ioctl arguments point into the test's
// own memory.  That memory is copied with process_vm_readv/writev, so an
// unreadable address fails with EFAULT like copy_from_user() would instead
// of crashing the test.
//
// Every receive is bounded by kTimeout: a daemon bug fails the test (doctest
// FAIL_CHECK) rather than hanging it.  So is every kernel limit the daemon
// could break (iovec count, 128 KiB per round, reply sizes).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <future>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <linux/fuse.h>

namespace ciommu {
class CuseDevice;
class CuseSession;
}

namespace protocol {

// fs/fuse/fuse_i.h (kernel-internal): request ids step by 2; an INTERRUPT
// carries the id of the request it interrupts with bit 0 set.
inline constexpr uint64_t kUniqueStep = 2;
inline constexpr uint64_t kInterruptBit = 1;

template <typename T> std::span<const std::byte> bytes_of(const T& value) {
    return std::as_bytes(std::span(&value, 1));
}

// One message from the daemon.
struct Reply {
    fuse_out_header header{};
    std::vector<std::byte> payload;  // what follows the header
    int error() const { return header.error; }  // 0 or -errno
};

struct InitReply {
    int error = 0;  // 0 or -errno
    cuse_init_out out{};
    std::vector<std::string> dev_info;  // the "KEY=value" strings
    size_t dev_info_bytes = 0;
};

struct IoctlResult {
    long result = 0;  // what ioctl() would return, or -errno
    int rounds = 0;   // FUSE_IOCTL requests it took
    uint64_t highest_named = 0;  // end of the highest caller byte a retry named
};

// A FUSE_IOCTL reply split into fuse_ioctl_out and what follows it (retry
// iovecs, or the data to copy out).  nullopt if it is too short.
struct IoctlReplyParts {
    fuse_ioctl_out out{};
    std::span<const std::byte> tail;
};
std::optional<IoctlReplyParts> split_ioctl_reply(const Reply& reply);

class FakeKernel {
public:
    static constexpr auto kTimeout = std::chrono::seconds(5);
    // fs/fuse/ioctl.c: each round must fit in max_pages, 32 pages for CUSE.
    static constexpr size_t kMaxRoundBytes = 32 * 4096;
    // The kernel retries forever; a test gives up (and fails) after this.
    static constexpr int kMaxRounds = 16;
    // The f_flags the kernel passes for a file opened O_RDWR: O_RDWR and
    // the kernel's O_LARGEFILE (force_o_largefile(); glibc defines
    // O_LARGEFILE as 0 on 64-bit, so it is spelled out).
    static constexpr uint32_t kOpenFlags = 02 | 0100000;

    // Attaches to the session and starts its run() on a thread.
    explicit FakeKernel(ciommu::CuseSession& session);
    explicit FakeKernel(ciommu::CuseDevice& device);
    ~FakeKernel();  // hangs up if the test has not stopped the daemon
    FakeKernel(const FakeKernel&) = delete;
    FakeKernel& operator=(const FakeKernel&) = delete;

    // A FUSE-mounted file instead (CuseDeviceOptions::mounted): FUSE_INIT
    // as fuse_send_init() sends it; 0 or -errno, the reply into `out`.
    int fuse_init(fuse_init_out* out = nullptr);
    // FUSE_LOOKUP of `name` in directory `parent`; FUSE_GETATTR of `node`.
    // The entry (attributes) or -errno.
    struct Lookup {
        int error = 0;
        fuse_entry_out entry{};
    };
    Lookup lookup(uint64_t parent, const std::string& name);
    struct Getattr {
        int error = 0;
        fuse_attr_out attr{};
    };
    Getattr getattr(uint64_t node);
    // The inode every later request names (fuse_in_header.nodeid): 0 for
    // CUSE; a mounted file's requests name its node.
    void set_node(uint64_t node) { node_ = node; }

    // CUSE_INIT as cuse_send_init() sends it.
    InitReply init(uint32_t major = FUSE_KERNEL_VERSION, uint32_t minor = FUSE_KERNEL_MINOR_VERSION);
    // FUSE_OPEN: the daemon's file handle (fails the test and returns 0 on
    // error).  `out`, if given, receives the whole reply.
    uint64_t open(fuse_open_out* out = nullptr);
    // FUSE_OPEN whose failure is the test's to check: the reply, or nullopt.
    std::optional<Reply> try_open();
    // FUSE_RELEASE: 0 or -errno.
    int release(uint64_t fh);
    // ioctl(fd, cmd, arg) from the test thread, with every retry round the
    // kernel would do.  flags: 0 (what CUSE sends for a device without
    // CUSE_UNRESTRICTED_IOCTL: one round, no data), FUSE_IOCTL_UNRESTRICTED,
    // optionally | FUSE_IOCTL_COMPAT.
    IoctlResult ioctl(uint64_t fh, unsigned cmd, uint64_t arg,
                      uint32_t flags = 0);
    IoctlResult ioctl(uint64_t fh, unsigned cmd, const void* arg,
                      uint32_t flags = 0) {
        return ioctl(fh, cmd, reinterpret_cast<uintptr_t>(arg), flags);
    }
    // One FUSE_IOCTL round with hand-made data; the reply or nullopt.
    std::optional<Reply> ioctl_round(uint64_t fh, unsigned cmd, uint64_t arg,
                                     std::span<const std::byte> in_data, uint32_t out_size,
                                     uint32_t flags = 0);

    // Raw messages.  send() frames a fuse_in_header (pid = the calling
    // thread) in front of the parts; receive() waits for the reply to
    // `unique`, keeping any other reply for take_stashed() and any
    // notification for next_notification().  A second reply to a request
    // whose reply was taken fails the test (the kernel would refuse it).
    uint64_t next_unique() { return unique_ += kUniqueStep; }
    // The caller pid every request carries from now on (0: the calling
    // thread, as the kernel reports it).  A gone pid plays a caller whose
    // process cannot be reached.
    void set_caller_pid(uint32_t pid) { caller_pid_ = pid; }
    void send(uint32_t opcode, uint64_t unique, std::initializer_list<std::span<const std::byte>> parts);
    std::optional<Reply> receive(uint64_t unique);
    std::optional<Reply> request(uint32_t opcode, std::span<const std::byte> body);
    std::optional<Reply> take_stashed(uint64_t unique);
    // True if no message at all arrives within `wait`.
    bool quiet_for(std::chrono::milliseconds wait);

    // read(2) and poll(2) on an open file, and signals, as fs/fuse/file.c
    // and fs/fuse/dev.c send them.  The send_* calls return the request's
    // unique; its reply comes with receive(), in any order with others.
    //
    // FUSE_READ of `size` bytes at offset 0 (CUSE files are direct I/O).
    // open_flags: the file's f_flags, e.g. O_RDWR | O_NONBLOCK.
    uint64_t send_read(uint64_t fh, uint32_t size, uint32_t open_flags = kOpenFlags);
    std::optional<Reply> read(uint64_t fh, uint32_t size, uint32_t open_flags = kOpenFlags) {
        return receive(send_read(fh, size, open_flags));
    }
    // FUSE_WRITE of `data` at offset 0: the bytes taken, or -errno.
    long write(uint64_t fh, std::span<const std::byte> data, uint32_t open_flags = kOpenFlags);
    // FUSE_POLL.  flags: FUSE_POLL_SCHEDULE_NOTIFY asks for a
    // FUSE_NOTIFY_POLL carrying kh when the file's state changes.
    uint64_t send_poll(uint64_t fh, uint64_t kh, uint32_t flags, uint32_t events);
    // The revents of a poll reply, or -errno (-ETIMEDOUT: no reply).
    static long poll_revents(const std::optional<Reply>& reply);
    long poll(uint64_t fh, uint64_t kh, uint32_t flags, uint32_t events) {
        return poll_revents(receive(send_poll(fh, kh, flags, events)));
    }
    // FUSE_INTERRUPT of request `target` (its own unique is target | 1).
    void interrupt(uint64_t target);

    // Unsolicited messages (unique 0; header.error is the FUSE_NOTIFY_*
    // code), oldest first.  next_notification() waits up to `wait` for one.
    std::optional<Reply> next_notification(std::chrono::milliseconds wait = kTimeout);
    size_t notifications_waiting() const { return notifications_.size(); }
    // Waits for a FUSE_NOTIFY_POLL and returns its kh (nullopt: none came).
    std::optional<uint64_t> next_poll_wakeup(std::chrono::milliseconds wait = kTimeout);

    // Ends the daemon like a dying /dev/cuse: closes our end, so the
    // transport's read() returns 0.  Returns run()'s result, or nullopt if
    // it did not return in time (the test has failed).
    std::optional<int> hangup();
    // Ends the daemon with CuseDevice::exit() from this (non-loop) thread.
    std::optional<int> stop_with_exit();

private:
    std::optional<Reply> read_message();
    // Reads one message within `wait` and files it: a notification into
    // notifications_, a reply into stash_.
    enum class Pumped { kMessage, kNothing, kBroken };
    Pumped pump(std::chrono::milliseconds wait);
    std::optional<int> wait_for_run();

    ciommu::CuseSession& session_;
    int fd_ = -1;
    uint64_t unique_ = 0;
    uint32_t caller_pid_ = 0;
    uint64_t node_ = 0;
    std::future<int> run_;
    std::map<uint64_t, Reply> stash_;
    std::deque<Reply> notifications_;
    std::set<uint64_t> answered_;  // requests whose reply a test has taken
};

}  // namespace protocol
