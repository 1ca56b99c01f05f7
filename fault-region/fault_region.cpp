#include "fault_region.h"

#include <algorithm>
#include <cerrno>
#include <unistd.h>

#include "eventfd_signal.h"

namespace ciommu {

FaultRegion::~FaultRegion() { set_eventfd(-1); }

bool FaultRegion::push(iommu_fault_record& record) noexcept {
    record.seq = next_seq_++;  // lost records use up their numbers too
    if (lost_since_delivery_)
        record.flags |= IOMMU_FAULT_RECORD_LOST_BEFORE;
    bool queued = records_.size() < depth_;
    if (queued) {
        // No memory for the record: it is lost like one that found the
        // queue full (the kernel's iommu_report_device_fault() drops a
        // fault it cannot allocate for, too).
        try {
            records_.push_back(record);
        } catch (const std::bad_alloc&) {
            queued = false;
        }
    }
    if (!queued) {
        ++lost;
        lost_since_delivery_ = true;
        return false;
    }
    lost_since_delivery_ = false;
    signal_eventfd();
    return true;
}

size_t FaultRegion::pop(std::span<iommu_fault_record> out) {
    const size_t n = std::min(out.size(), records_.size());
    std::copy_n(records_.begin(), n, out.begin());
    records_.erase(records_.begin(), records_.begin() + static_cast<std::ptrdiff_t>(n));
    delivered += n;
    return n;
}

long FaultRegion::set_depth(uint32_t depth) {
    if (depth == 0 || depth > IOMMU_FAULT_REGION_DEPTH_MAX)
        return -EINVAL;
    if (depth < records_.size())
        return -EBUSY;
    depth_ = depth;
    return 0;
}

void FaultRegion::set_eventfd(int fd) {
    if (eventfd_ >= 0)
        close(eventfd_);
    eventfd_ = fd;
}

void FaultRegion::signal_eventfd() const {
    // Never write(2): a client can make that block (eventfd_signal.h).
    EventfdSignaller::instance().signal(eventfd_);
}

}  // namespace ciommu
