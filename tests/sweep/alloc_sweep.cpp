// The allocation-failure sweep, the way iommufd's fail_nth selftest does it:
// a fixed session that uses every command (bind, alloc, map, attach,
// nesting, DMA, faults, responses, control requests, release) runs once for
// every N, with the Nth allocation it makes failing, until a run makes fewer
// than N.  For each N, in a child process (so a crash is a report, not the
// end of the sweep):
//   - the command whose allocation failed returns ENOMEM (the control
//     socket: "out of memory") and changes nothing the state dump shows;
//   - no exception leaves the dispatcher or the control handler, and none
//     reaches a noexcept function (that would abort the child) -- while a
//     failure unwinds, memory stays exhausted, so a destructor or cleanup
//     that allocates is found too;
//   - the model's invariants hold after every step (core/model_check.h);
//   - a context that got fault records in a step had its readers woken (the
//     records listener told its id, or kEveryContext when the note of it
//     found no memory): out of memory never loses a wakeup;
//   - once everything is released and destroyed, no allocation is left.
// Prints one line per N that went wrong and a closing `sweep: N passed,
// M failed` (the line scripts/test.sh counts).
//
// Usage: alloc_sweep [--from N] [--to N] [--verbose] | --only N [--where]
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <string>
#include <exception>
#include <execinfo.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "../../fault-region/eventfd_signal.h"
#include "session.h"

// ---- allocation counting and failure injection --------------------------
namespace inject {

// Only a step's own work is armed: allocations are counted while armed, and
// the one that makes the count reach target fails (target 0: none fails).
std::atomic<bool> armed{false};
std::atomic<long> count{0};
long target = 0;
std::atomic<bool> fired{false};
bool show_failing = false;
std::atomic<long> live{0};  // blocks allocated and not freed
char* step_name = nullptr;  // shared with the parent: the step the failure is in

// Memory that ran out stays out while the failure unwinds: once the Nth
// allocation has failed, every allocation made while an exception is in
// flight fails too (a destructor or cleanup that needs memory is a bug).
bool should_fail() {
    if (!armed.load(std::memory_order_relaxed))
        return false;
    if (fired && std::uncaught_exceptions() > 0)
        return true;
    if (count.fetch_add(1) + 1 == target) {
        fired = true;
        if (show_failing) {  // --only N --where: where the failing allocation is
            void* frames[24];
            std::fprintf(stderr, "the failing allocation:\n");
            backtrace_symbols_fd(frames, backtrace(frames, 24), 2);
        }
        return true;
    }
    return false;
}

// --only N --where: the blocks still live, with where they were allocated.
struct LiveBlock {
    void* ptr;
    void* frames[12];
    int depth;
};
constexpr size_t kTracked = 1 << 14;
LiveBlock* tracked = nullptr;  // kTracked slots, from mmap

void track(void* p) {
    if (!tracked)
        return;
    for (size_t i = 0; i < kTracked; ++i) {
        if (!tracked[i].ptr) {
            tracked[i].ptr = p;
            tracked[i].depth = backtrace(tracked[i].frames, 12);
            return;
        }
    }
}

void untrack(void* p) {
    if (!tracked)
        return;
    for (size_t i = 0; i < kTracked; ++i) {
        if (tracked[i].ptr == p) {
            tracked[i].ptr = nullptr;
            return;
        }
    }
}

void* allocate(std::size_t size, std::size_t align, bool nothrow) {
    if (should_fail()) {
        if (nothrow)
            return nullptr;
        throw std::bad_alloc();
    }
    void* p = align > alignof(std::max_align_t) ? std::aligned_alloc(align, (size + align - 1) / align * align)
                                                : std::malloc(size ? size : 1);
    if (!p) {
        if (nothrow)
            return nullptr;
        throw std::bad_alloc();
    }
    ++live;
    track(p);
    return p;
}

void release(void* p) {
    if (p) {
        --live;
        untrack(p);
        std::free(p);
    }
}

}  // namespace inject

void* operator new(std::size_t n) { return inject::allocate(n, 0, false); }
void* operator new[](std::size_t n) { return inject::allocate(n, 0, false); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return inject::allocate(n, 0, true); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return inject::allocate(n, 0, true); }
void* operator new(std::size_t n, std::align_val_t a) { return inject::allocate(n, static_cast<size_t>(a), false); }
void* operator new[](std::size_t n, std::align_val_t a) { return inject::allocate(n, static_cast<size_t>(a), false); }
void operator delete(void* p) noexcept { inject::release(p); }
void operator delete[](void* p) noexcept { inject::release(p); }
void operator delete(void* p, std::size_t) noexcept { inject::release(p); }
void operator delete[](void* p, std::size_t) noexcept { inject::release(p); }
void operator delete(void* p, std::align_val_t) noexcept { inject::release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { inject::release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { inject::release(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { inject::release(p); }

namespace {

// What one run (one N) found, written to the parent through a pipe.
struct RunReport {
    bool fired = false;  // the Nth allocation happened (else the sweep is done)
    long counted = 0;    // allocations the steps made
    std::string problems;
};

// Runs the session with allocation n failing (0: none); returns its report.
RunReport run_once(long n) {
    // Per-process singletons are made again in each child (the eventfd
    // signaller's AIO context belongs to one process): made here, they are
    // not counted as left over by the session.
    ciommu::EventfdSignaller::instance();
    inject::target = n;
    inject::count = 0;
    inject::fired = false;
    sweep::Hooks hooks;
    hooks.arm = [] { inject::armed = true; };
    hooks.disarm = [] { inject::armed = false; };
    hooks.fired = [] { return inject::fired.load(); };
    hooks.live = [] { return inject::live.load(); };
    hooks.entering = [](const char* step) {
        if (inject::step_name)
            std::snprintf(inject::step_name, 64, "%s", step);
    };
    RunReport report;
    report.problems = sweep::run_session(hooks);
    report.fired = inject::fired;
    report.counted = inject::count;
    return report;
}

// Forks a child for n; false when the session needed fewer allocations.
bool sweep_one(long n, bool verbose, int* failed) {
    int out[2];
    if (pipe(out) != 0) {
        std::perror("pipe");
        std::exit(2);
    }
    inject::step_name[0] = '\0';
    const pid_t child = fork();
    if (child == 0) {
        close(out[0]);
        const RunReport r = run_once(n);
        const std::string text = std::string(r.fired ? "F" : "-") + r.problems;
        (void)!write(out[1], text.data(), text.size());
        _exit(0);
    }
    close(out[1]);
    std::string text;
    char buf[4096];
    for (ssize_t got; (got = read(out[0], buf, sizeof(buf))) > 0;)
        text.append(buf, static_cast<size_t>(got));
    close(out[0]);
    int status = 0;
    waitpid(child, &status, 0);
    const bool crashed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    if (crashed || text.size() > 1) {
        ++*failed;
        std::printf("sweep: allocation %ld (in step %s): %s%s\n", n, inject::step_name,
                    crashed ? (WIFSIGNALED(status) ? ("killed by signal " + std::to_string(WTERMSIG(status)) +
                                                      " (an exception reached a noexcept function, or a crash); ")
                                                         .c_str()
                                                   : "exited badly; ")
                            : "",
                    text.size() > 1 ? text.c_str() + 1 : "");
    } else if (verbose) {
        std::printf("sweep: allocation %ld: ok\n", n);
    }
    return crashed || (!text.empty() && text[0] == 'F');
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // a line at a time, also into a log file
    long from = 1, to = -1;
    bool verbose = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--from" && i + 1 < argc)
            from = std::atol(argv[++i]);
        else if (arg == "--to" && i + 1 < argc)
            to = std::atol(argv[++i]);
        else if (arg == "--only" && i + 1 < argc) {
            // One run in this process, for a debugger or LeakSanitizer.
            inject::step_name = static_cast<char*>(std::malloc(64));
            const long n = std::atol(argv[++i]);
            run_once(0);  // fills the lazily built statics (as the sweep does)
            run_once(0);
            const bool where = i + 1 < argc && std::string(argv[i + 1]) == "--where";
            if (where) {
                inject::show_failing = true;
                void* frames[1];
                backtrace(frames, 1);  // loads the unwinder before tracking starts
                inject::tracked = static_cast<inject::LiveBlock*>(mmap(nullptr, inject::kTracked * sizeof(inject::LiveBlock),
                                                                       PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
            }
            // In a child, like every run of the sweep (a new pid is not the same
            // run: the process table, for one, sees another process).
            if (fork() != 0) {
                int status = 0;
                wait(&status);
                return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
            }
            const RunReport r = run_once(n);
            for (size_t b = 0; where && b < inject::kTracked; ++b) {
                if (inject::tracked[b].ptr) {
                    std::printf("live block %p from:\n", inject::tracked[b].ptr);
                    std::fflush(stdout);
                    backtrace_symbols_fd(inject::tracked[b].frames, inject::tracked[b].depth, 1);
                }
            }
            std::printf("allocation %s in step %s: %s\n", r.fired ? "failed" : "never made", inject::step_name,
                        r.problems.c_str());
            return r.problems.empty() ? 0 : 1;
        } else if (arg == "--verbose")
            verbose = true;
        else {
            std::fprintf(stderr, "usage: alloc_sweep [--from N] [--to N] [--verbose]\n");
            return 2;
        }
    }
    inject::step_name = static_cast<char*>(
        mmap(nullptr, 64, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    // A run without any failure first: the session itself must be sound.
    // (Twice: the first fills the library's and the daemon's lazily built
    // statics, which the children then inherit, so the leak check is exact.)
    run_once(0);
    const RunReport clean = run_once(0);
    if (!clean.problems.empty()) {
        std::printf("sweep: the session fails without any allocation failure: %s\n", clean.problems.c_str());
        std::printf("sweep: 0 passed, 1 failed\n");
        return 1;
    }
    std::printf("sweep: the session's steps make %ld allocations\n", clean.counted);
    int failed = 0;
    long n = from;
    for (; to < 0 || n <= to; ++n) {
        if (!sweep_one(n, verbose, &failed))
            break;
    }
    const long runs = n - from;
    std::printf("sweep: %ld runs, each failing one allocation of the session\n", runs);
    std::printf("sweep: %ld passed, %d failed\n", runs - failed, failed);
    return failed ? 1 : 0;
}
