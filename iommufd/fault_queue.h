// A fault queue (iommufd_fault, drivers/iommu/iommufd/fault.c): the page
// request groups of the page tables allocated with it, delivered to its
// file descriptor's read() and answered through its write().
//
// A group waits in `deliver` until read; read() gives it a cookie (the
// lowest free one from 1) and moves it to `response` until written back
// with that cookie.  Detaching the device (or destroying the queue)
// answers its groups itself, INVALID.  The model keeps the rules; the
// descriptor itself is the transport's (an open file of the auxiliary
// node: docs/iommufd.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <span>
#include <vector>

#include "cuse-iommu-iommufd.h"
#include "object_table.h"

namespace ciommu {

// One page request group: the faults a device reported together (the last
// carries IOMMU_PGFAULT_FLAGS_LAST_PAGE).
struct FaultGroup {
    uint32_t hwpt_id;  // the page table the device was attached to (its attach handle)
    uint32_t dev_id;
    std::vector<iommu_hwpt_pgfault> faults;  // cookie filled in when read
};

class FaultQueue final : public IommufdObject {
public:
    static constexpr ObjectKind kKind = ObjectKind::kFault;
    // Groups a queue holds, delivered or awaiting a response: a caller that
    // never reads cannot grow the daemon (the device's report fails).
    static constexpr size_t kMaxGroups = 4096;

    // Told of each answered group: (group, code).  The mock device ignores
    // answers, as the kernel's mock does.
    using Responder = std::function<void(const FaultGroup&, uint32_t code)>;

    FaultQueue() : IommufdObject(kKind) {}

    // iommufd_fault_iopf_handler: 0, or -EBUSY when the queue is full.
    long report(FaultGroup group);
    // read() of count bytes at offset pos: the groups that fit whole, each
    // with its cookie, appended to out; returns the bytes.  -ESPIPE (pos not
    // 0, count not a multiple of the record), -EINVAL (the first group does
    // not fit), 0 when nothing waits.
    long read(uint64_t pos, size_t count, std::vector<iommu_hwpt_pgfault>& out);
    // write() of responses: each answers its cookie's group; the first bad
    // one (unknown cookie, code neither SUCCESS nor INVALID) stops: -EINVAL
    // unless some were done.  Returns the bytes consumed.
    long write(uint64_t pos, std::span<const std::byte> bytes, const Responder& respond);
    // Something to read (poll()'s EPOLLIN).
    bool readable() const { return !deliver_.empty(); }
    // Answers INVALID every group of (hwpt_id, dev_id), or every group.
    void respond_all(uint32_t hwpt_id, uint32_t dev_id, const Responder& respond);
    void respond_everything(const Responder& respond);

    size_t delivering() const { return deliver_.size(); }
    // The object file that is its fd (iommufd/object_file.h), 0 once
    // closed.  The open fd holds one of `users`, as upstream's does.
    uint64_t file = 0;
    size_t awaiting_response() const { return response_.size(); }

private:
    std::deque<FaultGroup> deliver_;
    std::map<uint32_t, FaultGroup> response_;  // by cookie
};

}  // namespace ciommu
