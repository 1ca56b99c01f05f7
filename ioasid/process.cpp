#include "process.h"

#include "../toolkit/proc_status.h"

#include <atomic>
#include <cerrno>
#include <linux/capability.h>
#include <climits>
#include <cstdio>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io_address_space.h"

namespace ciommu {
namespace {

std::atomic<uint64_t> next_serial{1};

// A pidfd polls readable once its process has exited.
bool has_exited(int pidfd) {
    pollfd p{pidfd, POLLIN, 0};
    return poll(&p, 1, 0) != 0;
}

// pread/pwrite on /proc/<pid>/mem until len bytes moved: 0 or -EFAULT.
template <typename Op> long move_all(Op op, int memfd, uint64_t addr, size_t len) {
    if (memfd < 0 || addr > static_cast<uint64_t>(LLONG_MAX) - len)
        return -EFAULT;
    const ClientMemoryScope waiting;
    size_t done = 0;
    while (done < len) {
        const ssize_t n = op(memfd, done, len - done, static_cast<off_t>(addr + done));
        if (n > 0) {
            done += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return -EFAULT;  // 0: the address space is gone; EIO: unmapped (or userfaultfd)
    }
    return 0;
}

}  // namespace

ClientMemoryWatch*& ClientMemoryWatch::current() {
    thread_local ClientMemoryWatch* watch = nullptr;
    return watch;
}

Process::Process(pid_t pid, int pidfd, int memfd)
    : pid_(pid), pidfd_(pidfd), memfd_(memfd), serial_(next_serial.fetch_add(1)) {}

Process::~Process() {
    if (pidfd_ >= 0)
        close(pidfd_);
    if (memfd_ >= 0)
        close(memfd_);
}

std::shared_ptr<Process> Process::open(pid_t tgid) {
    if (tgid <= 0)
        return nullptr;
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, tgid, 0));
    if (pidfd < 0)
        return nullptr;
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/%d/mem", static_cast<int>(tgid));
    const int memfd = ::open(path, O_RDWR | O_CLOEXEC);
    // Still alive after the open: the pid named this very process all along.
    if (memfd < 0 || has_exited(pidfd)) {
        if (memfd >= 0)
            close(memfd);
        close(pidfd);
        return nullptr;
    }
    return std::shared_ptr<Process>(new Process(tgid, pidfd, memfd));
}

std::shared_ptr<Process> Process::unbacked(pid_t pid) {
    return std::shared_ptr<Process>(new Process(pid, -1, -1));
}

bool Process::exited() const { return pidfd_ < 0 || has_exited(pidfd_); }

bool Process::alive() const {
    if (exited())
        return false;
    // One byte at address 0: -EIO (unmapped) or 1 while the address space
    // lives, 0 (EOF) once it is gone -- exit or execve().
    const ClientMemoryScope waiting;
    char byte;
    return pread(memfd_, &byte, 1, 0) != 0;
}

long Process::read(uint64_t addr, void* buf, size_t len) const {
    auto op = [buf](int fd, size_t done, size_t left, off_t at) {
        return pread(fd, static_cast<char*>(buf) + done, left, at);
    };
    const long err = move_all(op, memfd_, addr, len);
    return err ? shared_.read(addr, buf, len) : 0;
}

long Process::write(uint64_t addr, const void* buf, size_t len) const {
    auto op = [buf](int fd, size_t done, size_t left, off_t at) {
        return pwrite(fd, static_cast<const char*>(buf) + done, left, at);
    };
    const long err = move_all(op, memfd_, addr, len);
    return err ? shared_.write(addr, buf, len) : 0;
}

void Process::retain_shared(uint64_t addr, uint64_t len) const {
    if (pidfd_ < 0)
        return;
    shared_.retain(pid_, addr, len, [this] { return !has_exited(pidfd_); });
}

bool Process::may_lock(uint64_t pages, bool calling) const {
    if (pidfd_ < 0)
        return false;
    rlimit limit{};
    const bool within = prlimit(pid_, RLIMIT_MEMLOCK, nullptr, &limit) == 0 &&
                        (limit.rlim_cur == RLIM_INFINITY || pages <= limit.rlim_cur / kPageSize);
    const bool allowed = within || has_capability(pid_, CAP_IPC_LOCK);
    // Read by pid number: the answer is this process's only if it still
    // lives now (a pid cannot be reused while its process lives).
    return allowed && (calling || !has_exited(pidfd_));
}

ProcessRef ProcessTable::for_caller(pid_t tgid) {
    ProcessRef known;
    {
        std::lock_guard guard(mutex_);
        if (auto it = by_pid_.find(tgid); it != by_pid_.end())
            known = it->second;
    }
    // The system calls run without the mutex: a process whose memory is
    // slow to answer delays only its own call.
    if (known && known->alive())
        return known;
    ProcessRef fresh = Process::open(tgid);
    if (!fresh)
        return nullptr;
    std::lock_guard guard(mutex_);
    ProcessRef& slot = by_pid_[tgid];
    // Another thread of the same caller may have opened it meanwhile: one
    // process must have one Process (its charges are kept by serial).
    if (slot && slot != known)
        return slot;
    slot = fresh;
    if (by_pid_.size() >= sweep_at_) {  // a poll(2) each: amortised over the growth
        std::erase_if(by_pid_, [](const auto& entry) { return entry.second->exited(); });
        sweep_at_ = std::max<size_t>(64, 2 * by_pid_.size());
    }
    return fresh;
}

size_t ProcessTable::size() {
    std::lock_guard guard(mutex_);
    return by_pid_.size();
}

}  // namespace ciommu
