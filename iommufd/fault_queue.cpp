#include "fault_queue.h"

#include <cerrno>
#include <cstring>
#include <new>

namespace ciommu {
namespace {

constexpr size_t kRecord = sizeof(iommu_hwpt_pgfault);
constexpr size_t kResponse = sizeof(iommu_hwpt_page_response);

}  // namespace

long FaultQueue::report(FaultGroup group) {
    if (group.faults.empty())
        return -EINVAL;
    if (deliver_.size() + response_.size() >= kMaxGroups)
        return -EBUSY;
    try {
        deliver_.push_back(std::move(group));
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
    return 0;
}

long FaultQueue::read(uint64_t pos, size_t count, std::vector<iommu_hwpt_pgfault>& out) {
    if (pos || count % kRecord)
        return -ESPIPE;
    size_t done = 0;
    while (!deliver_.empty()) {
        const FaultGroup& group = deliver_.front();
        const size_t n = group.faults.size();
        if (n * kRecord > count - done)
            return done ? static_cast<long>(done) : -EINVAL;  // only whole groups
        // The lowest free cookie from 1 (xa_alloc of XA_FLAGS_ALLOC1).
        uint32_t cookie = 1;
        for (auto it = response_.begin(); it != response_.end() && it->first == cookie; ++it)
            ++cookie;
        try {
            out.reserve(out.size() + n);
            response_.emplace(cookie, group);  // a copy: the group stays queued if this throws
        } catch (const std::bad_alloc&) {
            return done ? static_cast<long>(done) : -ENOMEM;
        }
        for (iommu_hwpt_pgfault& fault : response_.at(cookie).faults) {
            fault.cookie = cookie;
            out.push_back(fault);  // reserved: cannot throw
        }
        deliver_.pop_front();
        done += n * kRecord;
    }
    return static_cast<long>(done);
}

long FaultQueue::write(uint64_t pos, std::span<const std::byte> bytes, const Responder& respond) {
    if (pos || bytes.size() % kResponse)
        return -ESPIPE;
    size_t done = 0;
    for (; done < bytes.size(); done += kResponse) {
        iommu_hwpt_page_response response;
        std::memcpy(&response, bytes.data() + done, kResponse);
        if (response.code != IOMMUFD_PAGE_RESP_SUCCESS && response.code != IOMMUFD_PAGE_RESP_INVALID)
            break;
        auto it = response_.find(response.cookie);
        if (it == response_.end())
            break;
        respond(it->second, response.code);
        response_.erase(it);
    }
    if (done == 0 && !bytes.empty())
        return -EINVAL;
    return static_cast<long>(done);
}

void FaultQueue::respond_all(uint32_t hwpt_id, uint32_t dev_id, const Responder& respond) {
    auto of_device = [&](const FaultGroup& g) { return g.hwpt_id == hwpt_id && g.dev_id == dev_id; };
    for (auto it = deliver_.begin(); it != deliver_.end();) {
        if (!of_device(*it)) {
            ++it;
            continue;
        }
        respond(*it, IOMMUFD_PAGE_RESP_INVALID);
        it = deliver_.erase(it);
    }
    for (auto it = response_.begin(); it != response_.end();) {
        if (!of_device(it->second)) {
            ++it;
            continue;
        }
        respond(it->second, IOMMUFD_PAGE_RESP_INVALID);
        it = response_.erase(it);
    }
}

void FaultQueue::respond_everything(const Responder& respond) {
    for (const FaultGroup& group : deliver_)
        respond(group, IOMMUFD_PAGE_RESP_INVALID);
    for (const auto& [cookie, group] : response_)
        respond(group, IOMMUFD_PAGE_RESP_INVALID);
    deliver_.clear();
    response_.clear();
}

}  // namespace ciommu
