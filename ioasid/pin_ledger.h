// Locked-memory accounting ("[PATCH 3/3] VFIO Type1 IOMMU: Add support for
// mediated devices", Alex Williamson and Kirti Wankhede, June 2016): every
// page the daemon pins for a process -- mapped with MAP_DMA in any IOASID, or pinned by a software
// mdev's vendor driver -- is charged to that process's RLIMIT_MEMLOCK once,
// however many mappings and pins use it.  A reference count per virtual page
// tells the first use (charge) from the last (uncharge).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "page_radix.h"
#include "process.h"

namespace ciommu {

class PinLedger {
public:
    // May the process have `pages` pages locked?  The default asks the
    // process (Process::may_lock: RLIMIT_MEMLOCK, then CAP_IPC_LOCK).
    // calling: the process is the one making the current call (so it is
    // alive and its pid is its own: nothing to check afterwards).
    using LimitFn = std::function<bool(const Process& process, uint64_t pages, bool calling)>;
    static bool system_allows(const Process& process, uint64_t pages, bool calling);
    // A LimitFn allowing `pages` pages to every process (for tests).
    static LimitFn fixed_limit(uint64_t pages);
    static LimitFn unlimited();

    explicit PinLedger(LimitFn limit = system_allows) : limit_(std::move(limit)) {}

    // Pins [vaddr, vaddr + npages pages) for the process: 0, -ENOMEM when
    // the pages not already pinned would exceed the limit, or -ENOBUFS when
    // the daemon is out of memory (a caller answers that ENOMEM too, but
    // may have to tell them apart); nothing changed on failure.  Charges are kept by Process::serial(), so a later process
    // with the same pid never sees them.
    long pin(const Process& process, uint64_t vaddr, uint64_t npages, bool calling = false);
    // Releases one pin of each page.  Pages must have been pinned.
    void unpin(const Process& process, uint64_t vaddr, uint64_t npages);

    uint64_t locked_pages(const Process& process) const;
    // How many pins the process holds on the page at vaddr (0: none).
    uint32_t pins(const Process& process, uint64_t vaddr) const;
    // Calls fn(pid, locked pages) for each process with pages locked (the
    // pid for display: a dead owner's charge is listed under its old pid).
    template <typename Fn> void for_each_process(Fn&& fn) const {
        for (const auto& [serial, process] : processes_)
            fn(process->pid, process->locked);
    }
    uint64_t total_locked_pages() const { return total_locked_; }
    // Calls fn(uint64_t serial, uint64_t va_page_number, uint32_t refs) for
    // every page charged (the invariant checker's view).
    template <typename Fn> void for_each_charge(Fn&& fn) const {
        for (const auto& entry : processes_) {  // no structured binding: clang 14 cannot capture one
            const uint64_t serial = entry.first;
            entry.second->refs.for_each(0, PageRadix<uint32_t>::kPageLimit - 1,
                                        [&](uint64_t page, uint32_t refs) { fn(serial, page, refs); });
        }
    }
    // Appends what is inconsistent inside the ledger (a process's locked
    // count, the total) to problems.
    void check(std::vector<std::string>& problems) const;
    size_t table_bytes() const;

private:
    struct Charges {
        pid_t pid = 0;             // for display
        PageRadix<uint32_t> refs;  // by VA page
        uint64_t locked = 0;       // pages with refs > 0
    };

    // The process's charges, made if it has none; nullptr if out of memory.
    Charges* charges_for(const Process& process) noexcept;

    LimitFn limit_;
    std::map<uint64_t, std::unique_ptr<Charges>> processes_;  // by Process::serial()
    uint64_t total_locked_ = 0;
};

}  // namespace ciommu
