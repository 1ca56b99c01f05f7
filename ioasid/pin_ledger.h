// Locked-memory accounting (seed 002): every page the daemon pins for a
// process -- mapped with MAP_DMA in any IOASID, or pinned by a software
// mdev's vendor driver -- is charged to that process's RLIMIT_MEMLOCK once,
// however many mappings and pins use it.  A reference count per virtual page
// tells the first use (charge) from the last (uncharge).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <sys/types.h>

#include "page_radix.h"

namespace ciommu {

class PinLedger {
public:
    // May pid have `pages` pages locked?  The default compares with
    // RLIMIT_MEMLOCK (prlimit) and, only when that is exceeded, exempts a
    // process with CAP_IPC_LOCK, like VFIO.
    using LimitFn = std::function<bool(pid_t pid, uint64_t pages)>;
    static bool system_allows(pid_t pid, uint64_t pages);
    // A LimitFn allowing `pages` pages to every process (for tests).
    static LimitFn fixed_limit(uint64_t pages);
    static LimitFn unlimited();

    explicit PinLedger(LimitFn limit = system_allows) : limit_(std::move(limit)) {}

    // Pins [vaddr, vaddr + npages pages) for pid: 0, or -ENOMEM (then
    // nothing changed) when the pages not already pinned would exceed the
    // limit.
    long pin(pid_t pid, uint64_t vaddr, uint64_t npages);
    // Releases one pin of each page.  Pages must have been pinned.
    void unpin(pid_t pid, uint64_t vaddr, uint64_t npages);

    uint64_t locked_pages(pid_t pid) const;
    // Calls fn(pid, locked pages) for each process with pages locked.
    template <typename Fn> void for_each_process(Fn&& fn) const {
        for (const auto& [pid, process] : processes_)
            fn(pid, process->locked);
    }
    uint64_t total_locked_pages() const { return total_locked_; }
    size_t table_bytes() const;

private:
    struct Process {
        PageRadix<uint32_t> refs;  // by VA page
        uint64_t locked = 0;       // pages with refs > 0
    };

    LimitFn limit_;
    std::map<pid_t, std::unique_ptr<Process>> processes_;
    uint64_t total_locked_ = 0;
};

}  // namespace ciommu
