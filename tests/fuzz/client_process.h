// The fuzzers' client: a child process whose memory the daemon's model
// reads and writes, as it does a real client's (by pid, through
// process_vm_readv/writev).
//
// Why a separate process: fuzz inputs carry raw addresses (MAP_DMA's vaddr,
// SIM_DMA's data, stage-1 table pointers), and the model does exactly what
// a client asks with them.  Were the fuzzer its own client, a DMA to a
// random address could land in the fuzzer's heap or in ASan's shadow
// memory and report nonsense.  In a child, the worst it can do is what a
// client can do to itself.
//
// The child shares an arena with the fuzzer (a memfd mapped at the same
// address in both): the fuzzer writes argument structs and DMA data there
// directly, and asks the child to change its own view of a page (unmap,
// read-only, back again), since only the child can change its mappings.
// One guard page after the arena is never accessible in the child.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sys/types.h>

namespace fuzz {

class ClientProcess {
public:
    static constexpr size_t kPages = 32;
    static constexpr size_t kPageSize = 4096;
    static constexpr size_t kBytes = kPages * kPageSize;

    // Forks the child (call before any thread starts).  Aborts if it cannot.
    ClientProcess();
    ~ClientProcess();
    ClientProcess(const ClientProcess&) = delete;
    ClientProcess& operator=(const ClientProcess&) = delete;

    pid_t pid() const { return pid_; }
    // The arena, as the fuzzer sees it (always readable and writable here).
    unsigned char* arena() const { return arena_; }
    uint64_t address(size_t offset) const { return reinterpret_cast<uintptr_t>(arena_) + offset; }
    // Eventfds the child holds (inherited): one usable, one whose counter is
    // at its maximum (a write(2) to it would block).
    int eventfd() const { return eventfd_; }
    int full_eventfd() const { return full_eventfd_; }

    enum class PageState : uint8_t { kUnmapped, kReadOnly, kReadWrite };
    // Changes the child's view of one arena page (the fuzzer's stays).
    void set_page(size_t page, PageState state);
    // Before each input: every page mapped read-write and zeroed, and a
    // child that died (a DMA into its own stack can kill it) replaced.
    void reset();

private:
    void spawn();
    void command(uint8_t op, uint8_t page);

    int memfd_ = -1;
    unsigned char* arena_ = nullptr;  // kBytes, then the guard page
    int eventfd_ = -1;
    int full_eventfd_ = -1;
    pid_t pid_ = -1;
    int to_child_ = -1;    // commands
    int from_child_ = -1;  // one byte per command done
    bool pages_changed_ = false;  // since the last reset
};

}  // namespace fuzz
