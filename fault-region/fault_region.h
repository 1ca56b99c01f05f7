// A context's fault region: the records read() returns, in order, with a
// fixed depth.  A record that finds the region full is lost -- counted, and
// the next record delivered says so -- never silently dropped.  Each new
// record also signals the context's eventfd, if one is registered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>

#include "cuse-iommu.h"

namespace ciommu {

class FaultRegion {
public:
    static constexpr uint32_t kDefaultDepth = 256;
    static constexpr uint32_t kDefaultTimeoutMs = 10000;

    FaultRegion() = default;
    ~FaultRegion();
    FaultRegion(const FaultRegion&) = delete;
    FaultRegion& operator=(const FaultRegion&) = delete;

    // Queues a record, filling in its seq and LOST_BEFORE flag (in `record`
    // too, so the caller reports the record as queued).  false: the region
    // was full and the record is lost (it still used up its seq).
    bool push(iommu_fault_record& record) noexcept;
    // Moves up to out.size() records out, oldest first; returns how many.
    size_t pop(std::span<iommu_fault_record> out);
    size_t pending() const { return records_.size(); }

    uint32_t depth() const { return depth_; }
    // 0 or -EINVAL (0 or > IOMMU_FAULT_REGION_DEPTH_MAX) / -EBUSY (fewer
    // than the records waiting).
    long set_depth(uint32_t depth);
    uint32_t timeout_ms = kDefaultTimeoutMs;

    // Takes ownership of the daemon's duplicate of the user's eventfd (-1:
    // none); the previous one is closed.
    void set_eventfd(int fd);

    // Counters reported by IOMMU_FAULT_REGION_INFO.
    uint64_t lost = 0;
    uint64_t delivered = 0;
    uint64_t unreported = 0;
    uint64_t iopf_resolved = 0;
    uint64_t timeouts = 0;

private:
    void signal_eventfd() const;

    std::deque<iommu_fault_record> records_;
    uint32_t depth_ = kDefaultDepth;
    uint64_t next_seq_ = 1;
    bool lost_since_delivery_ = false;
    int eventfd_ = -1;
};

}  // namespace ciommu
