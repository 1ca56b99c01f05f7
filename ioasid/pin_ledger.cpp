#include "pin_ledger.h"

#include <cerrno>
#include <cstdio>
#include <sys/resource.h>

#include "io_address_space.h"

namespace ciommu {
namespace {

// CAP_IPC_LOCK (bit 14) in the process's effective set.
bool has_ipc_lock(pid_t pid) {
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/%d/status", static_cast<int>(pid));
    FILE* f = std::fopen(path, "re");
    if (!f)
        return false;
    char line[256];
    unsigned long long caps = 0;
    while (std::fgets(line, sizeof(line), f)) {
        if (std::sscanf(line, "CapEff: %llx", &caps) == 1)
            break;
    }
    std::fclose(f);
    return (caps >> 14) & 1;
}

}  // namespace

bool PinLedger::system_allows(pid_t pid, uint64_t pages) {
    rlimit limit{};
    if (prlimit(pid, RLIMIT_MEMLOCK, nullptr, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        return true;
    return pages <= limit.rlim_cur / kPageSize || has_ipc_lock(pid);
}

PinLedger::LimitFn PinLedger::fixed_limit(uint64_t limit) {
    return [limit](pid_t, uint64_t pages) { return pages <= limit; };
}

PinLedger::LimitFn PinLedger::unlimited() {
    return [](pid_t, uint64_t) { return true; };
}

long PinLedger::pin(pid_t pid, uint64_t vaddr, uint64_t npages) {
    auto& slot = processes_[pid];
    if (!slot)
        slot = std::make_unique<Process>();
    Process& proc = *slot;
    const uint64_t first = vaddr >> kPageShift;

    uint64_t fresh = 0;  // pages this pin would charge
    for (uint64_t i = 0; i < npages; ++i)
        fresh += proc.refs.get(first + i) == 0;
    // Ask the limit only when something new would be charged.
    if (fresh && !limit_(pid, proc.locked + fresh)) {
        if (proc.locked == 0)
            processes_.erase(pid);
        return -ENOMEM;
    }
    for (uint64_t i = 0; i < npages; ++i)
        proc.refs.set(first + i, proc.refs.get(first + i) + 1);
    proc.locked += fresh;
    total_locked_ += fresh;
    return 0;
}

void PinLedger::unpin(pid_t pid, uint64_t vaddr, uint64_t npages) {
    auto it = processes_.find(pid);
    if (it == processes_.end())
        return;
    Process& proc = *it->second;
    const uint64_t first = vaddr >> kPageShift;
    for (uint64_t i = 0; i < npages; ++i) {
        const uint32_t refs = proc.refs.get(first + i);
        if (refs == 0)
            continue;  // not pinned: nothing to give back
        proc.refs.set(first + i, refs - 1);
        if (refs == 1) {
            --proc.locked;
            --total_locked_;
        }
    }
    if (proc.locked == 0)
        processes_.erase(it);
}

uint64_t PinLedger::locked_pages(pid_t pid) const {
    auto it = processes_.find(pid);
    return it == processes_.end() ? 0 : it->second->locked;
}

size_t PinLedger::table_bytes() const {
    size_t bytes = 0;
    for (const auto& entry : processes_)
        bytes += entry.second->refs.table_bytes();
    return bytes;
}

}  // namespace ciommu
