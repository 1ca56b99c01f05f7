#include "pin_ledger.h"

#include <cerrno>

#include "io_address_space.h"

namespace ciommu {

bool PinLedger::system_allows(const Process& process, uint64_t pages, bool calling) {
    return process.may_lock(pages, calling);
}

PinLedger::LimitFn PinLedger::fixed_limit(uint64_t limit) {
    return [limit](const Process&, uint64_t pages, bool) { return pages <= limit; };
}

PinLedger::LimitFn PinLedger::unlimited() {
    return [](const Process&, uint64_t, bool) { return true; };
}

long PinLedger::pin(const Process& process, uint64_t vaddr, uint64_t npages, bool calling) {
    Charges* proc = charges_for(process);
    if (!proc)
        return -ENOBUFS;
    const uint64_t first = vaddr >> kPageShift;
    uint64_t fresh = 0;  // pages this pin would charge
    for (uint64_t i = 0; i < npages; ++i)
        fresh += proc->refs.get(first + i) == 0;
    // Ask the limit only when something new would be charged; take the
    // tables the counts need before changing any.
    const bool allowed = !fresh || limit_(process, proc->locked + fresh, calling);
    if (!allowed || !proc->refs.reserve(first, npages)) {
        if (proc->locked == 0)
            processes_.erase(process.serial());
        return allowed ? -ENOBUFS : -ENOMEM;
    }
    for (uint64_t i = 0; i < npages; ++i)
        proc->refs.set(first + i, proc->refs.get(first + i) + 1);
    proc->locked += fresh;
    total_locked_ += fresh;
    return 0;
}

PinLedger::Charges* PinLedger::charges_for(const Process& process) noexcept {
    try {
        auto& slot = processes_[process.serial()];
        if (!slot) {
            slot = std::make_unique<Charges>();
            slot->pid = process.pid();
        }
        return slot.get();
    } catch (const std::bad_alloc&) {
        auto made = processes_.find(process.serial());
        if (made != processes_.end() && !made->second)
            processes_.erase(made);  // made, but its charges could not be
        return nullptr;
    }
}

void PinLedger::unpin(const Process& process, uint64_t vaddr, uint64_t npages) {
    auto it = processes_.find(process.serial());
    if (it == processes_.end())
        return;
    Charges& proc = *it->second;
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

uint32_t PinLedger::pins(const Process& process, uint64_t vaddr) const {
    auto it = processes_.find(process.serial());
    return it == processes_.end() ? 0 : it->second->refs.get(vaddr >> kPageShift);
}

uint64_t PinLedger::locked_pages(const Process& process) const {
    auto it = processes_.find(process.serial());
    return it == processes_.end() ? 0 : it->second->locked;
}

size_t PinLedger::table_bytes() const {
    size_t bytes = 0;
    for (const auto& entry : processes_)
        bytes += entry.second->refs.table_bytes();
    return bytes;
}

void PinLedger::check(std::vector<std::string>& problems) const {
    uint64_t total = 0;
    for (const auto& [serial, charges] : processes_) {
        uint64_t pages = 0;
        charges->refs.for_each(0, PageRadix<uint32_t>::kPageLimit - 1, [&](uint64_t, uint32_t) { ++pages; });
        if (pages != charges->locked || pages == 0)
            problems.push_back("ledger: process serial " + std::to_string(serial) + " counts " +
                               std::to_string(charges->locked) + " locked pages, has " + std::to_string(pages));
        total += pages;
    }
    if (total != total_locked_)
        problems.push_back("ledger: total " + std::to_string(total_locked_) + " locked pages, the processes have " +
                           std::to_string(total));
}

}  // namespace ciommu
