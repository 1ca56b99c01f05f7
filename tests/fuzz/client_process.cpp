#include "client_process.h"

#include <csignal>
#include <fcntl.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fuzz {
namespace {

enum Op : uint8_t { kUnmap, kReadOnly, kReadWrite, kResetAll };

[[noreturn]] void die(const char* what) {
    std::perror(what);
    std::abort();
}

// The child's whole life: apply each command to its own mappings, answer
// one byte.  Raw system calls on locals only and no sanitizer checks: the
// daemon may have written anywhere in this process's memory.  (syscall()
// is variadic: every argument is passed as a long, or its upper half is
// garbage.)
[[noreturn]] __attribute__((no_sanitize("address", "undefined"))) void serve(int in, int out, int memfd,
                                                                              unsigned char* arena) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (;;) {
        uint8_t msg[2];
        if (syscall(SYS_read, long{in}, msg, 2L) != 2)
            syscall(SYS_exit_group, 0L);
        const size_t page = msg[1] % ClientProcess::kPages;
        unsigned char* at = arena + page * ClientProcess::kPageSize;
        switch (msg[0]) {
        case kUnmap:
            syscall(SYS_munmap, at, ClientProcess::kPageSize);
            break;
        case kReadOnly:
            syscall(SYS_mprotect, at, ClientProcess::kPageSize, long{PROT_READ});
            break;
        case kReadWrite:
            syscall(SYS_mmap, at, ClientProcess::kPageSize, long{PROT_READ | PROT_WRITE}, long{MAP_SHARED | MAP_FIXED},
                    long{memfd}, long(page * ClientProcess::kPageSize));
            break;
        default:
            syscall(SYS_mmap, arena, ClientProcess::kBytes, long{PROT_READ | PROT_WRITE}, long{MAP_SHARED | MAP_FIXED},
                    long{memfd}, 0L);
            break;
        }
        const uint8_t done = 1;
        syscall(SYS_write, long{out}, &done, 1L);
    }
}

}  // namespace

ClientProcess::ClientProcess() {
    std::signal(SIGPIPE, SIG_IGN);  // a dead child must fail a write, not kill the fuzzer
    memfd_ = memfd_create("fuzz-arena", MFD_CLOEXEC);
    if (memfd_ < 0 || ftruncate(memfd_, kBytes) != 0)
        die("memfd");
    // The arena and its guard page, reserved together so the guard stays ours.
    void* reserved = mmap(nullptr, kBytes + kPageSize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (reserved == MAP_FAILED ||
        mmap(reserved, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, memfd_, 0) == MAP_FAILED)
        die("mmap arena");
    arena_ = static_cast<unsigned char*>(reserved);
    eventfd_ = ::eventfd(0, EFD_CLOEXEC);
    full_eventfd_ = ::eventfd(0, EFD_CLOEXEC);
    const uint64_t almost_max = 0xfffffffffffffffeull;
    if (eventfd_ < 0 || full_eventfd_ < 0 || write(full_eventfd_, &almost_max, 8) != 8)
        die("eventfd");
    spawn();
}

ClientProcess::~ClientProcess() {
    close(to_child_);
    close(from_child_);
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    munmap(arena_, kBytes + kPageSize);
    close(memfd_);
    close(eventfd_);
    close(full_eventfd_);
}

void ClientProcess::spawn() {
    int down[2], up[2];
    if (pipe2(down, O_CLOEXEC) != 0 || pipe2(up, O_CLOEXEC) != 0)
        die("pipe");
    pid_ = fork();
    if (pid_ < 0)
        die("fork");
    if (pid_ == 0)
        serve(down[0], up[1], memfd_, arena_);
    close(down[0]);
    close(up[1]);
    to_child_ = down[1];
    from_child_ = up[0];
}

void ClientProcess::command(uint8_t op, uint8_t page) {
    const uint8_t msg[2] = {op, page};
    uint8_t done;
    // A child killed by what the daemon wrote into it just stops answering;
    // reset() replaces it before the next input.
    if (write(to_child_, msg, 2) == 2)
        (void)!read(from_child_, &done, 1);
}

void ClientProcess::set_page(size_t page, PageState state) {
    pages_changed_ = true;
    const Op op = state == PageState::kUnmapped ? kUnmap : state == PageState::kReadOnly ? kReadOnly : kReadWrite;
    command(op, static_cast<uint8_t>(page % kPages));
}

void ClientProcess::reset() {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        close(to_child_);
        close(from_child_);
        spawn();
        pages_changed_ = false;  // a new child sees the arena whole
    }
    std::memset(arena_, 0, kBytes);
    if (pages_changed_)  // a round trip to the child costs as much as a short input
        command(kResetAll, 0);
    pages_changed_ = false;
}

}  // namespace fuzz
