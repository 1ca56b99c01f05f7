// A process's shared mappings (MAP_SHARED: shmem, hugetlbfs, files) under
// pages the model holds pinned, kept open through /proc/<pid>/map_files so
// that they stay reachable after the process unmaps them or exits -- as the
// kernel's pin keeps the pages.  Private memory has no such file: it goes
// with its process.  Process::read/write fall back to these when
// /proc/<pid>/mem fails.
//
// A mapping is opened when memory is probed before a pin (retain), held
// once per pin over it (hold/release), and closed when its last pin goes:
// the pages are kept exactly as long as the model pins them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <sys/types.h>
#include <vector>

namespace ciommu {

class SharedMappings {
public:
    // Held per process, so that no client grows the daemon without bound
    // (each is one descriptor).
    static constexpr size_t kMaxMappings = 64;

    // Opens the shared mappings of process pid meeting [addr, addr + len)
    // not yet open.  still_same() is asked after the opening, so that a
    // reused pid's mappings are never kept.  Reads the process's /proc
    // files: call it without the model lock.  Best effort.
    template <typename Check> void retain(pid_t pid, uint64_t addr, uint64_t len, Check still_same) {
        std::vector<Mapping> found = open_mappings(pid, addr, len);
        if (still_same())
            keep(found);
    }
    // A pin over [addr, addr + len) starts or ends.  Never waits.
    void hold(uint64_t addr, uint64_t len);
    void release(uint64_t addr, uint64_t len);
    // Closes those meeting [addr, addr + len) that no pin holds: what a
    // probe opened for a pin that did not come (the command failed).
    void drop_unheld(uint64_t addr, uint64_t len);
    // 0, or -EFAULT unless open mappings cover [addr, addr + len).
    long read(uint64_t addr, void* buf, size_t len) const;
    long write(uint64_t addr, const void* buf, size_t len) const;
    size_t size() const;

private:
    // Closed when the last user goes: a reader copies it and does its I/O
    // without the mutex while a release may drop the mapping.
    struct Fd {
        explicit Fd(int n) : fd(n) {}
        ~Fd();
        Fd(const Fd&) = delete;
        Fd& operator=(const Fd&) = delete;
        const int fd;
    };
    struct Mapping {
        uint64_t start, end;  // [start, end) in the process
        uint64_t offset;      // of start in the file
        std::shared_ptr<const Fd> file;
        uint32_t pins = 0;
    };
    std::vector<Mapping> open_mappings(pid_t pid, uint64_t addr, uint64_t len) const;
    bool is_open(uint64_t start, uint64_t end) const;  // mutex_ held
    void keep(std::vector<Mapping>& found);
    template <typename Op> long move(uint64_t addr, size_t len, Op op) const;

    mutable std::mutex mutex_;  // a leaf: guards mappings_ only
    std::vector<Mapping> mappings_;
};

}  // namespace ciommu
