#include "page_requests.h"

#include <cerrno>
#include <new>
#include <vector>

#include "../core/model.h"
#include "cuse-iommu.h"

namespace ciommu {
namespace {

// Completes one group with `code`: its DMA is aborted, or (SUCCESS) marked
// running and its id returned for the caller to resume (0: none).
uint64_t complete_group(Model& model, BoundDevice& dev, uint32_t grpid, uint32_t code, const char* origin) {
    FaultEvent event{};
    event.kind = FaultEvent::Kind::kAnswered;
    event.context_id = dev.ctx->id;
    event.cookie = dev.cookie;
    event.grpid = grpid;
    event.code = code;
    event.origin = origin;
    model.report(event);

    auto it = dev.page_requests.find(grpid);
    const uint64_t dma_id = it->second.dma_id;
    dev.page_requests.erase(it);
    if (code == IOMMU_PAGE_RESP_FAILURE)
        dev.page_requests_stopped = true;

    auto job = dev.ctx->dmas.find(dma_id);
    if (job == dev.ctx->dmas.end())
        return 0;  // an injected fault: nothing waits for the answer
    if (code == IOMMU_PAGE_RESP_SUCCESS) {
        job->second.running = true;
        return dma_id;
    }
    job->second.status = IOMMU_SIM_DMA_ABORTED;
    return 0;
}

// Completes INVALID the groups pred(group) picks.  Without a list: detach
// and unbind must not need memory.  complete_group() erases only its own
// group, so the walk steps past it first.
template <typename Pred> void abort_groups_if(Model& model, BoundDevice& dev, const char* origin, Pred pred) {
    for (auto it = dev.page_requests.begin(); it != dev.page_requests.end();) {
        const uint32_t grpid = it->first;
        const bool abort = pred(it->second);
        ++it;
        if (abort)
            complete_group(model, dev, grpid, IOMMU_PAGE_RESP_INVALID, origin);
    }
}

void abort_groups(Model& model, BoundDevice& dev, std::optional<uint32_t> attachment_key, const char* origin) {
    abort_groups_if(model, dev, origin, [&](const PageRequestGroup& group) {
        return !attachment_key || group.attachment_key == *attachment_key;
    });
}

// Unique in the context, so a late answer to an unbound device's group
// cannot answer a group of a device bound again under the same cookie.
uint32_t take_group_id(Context& ctx) {
    if (ctx.next_grpid == 0)  // 0 is never a group id, even after wrapping
        ctx.next_grpid = 1;
    return ctx.next_grpid++;
}

}  // namespace

uint32_t open_page_request(BoundDevice& dev, uint32_t attachment_key, std::chrono::steady_clock::time_point deadline,
                           uint64_t dma_id) noexcept {
    if (dev.page_requests.size() >= dev.max_page_requests)
        return 0;
    const uint32_t group = take_group_id(*dev.ctx);
    try {
        dev.page_requests.emplace(group, PageRequestGroup{attachment_key, deadline, dma_id});
    } catch (const std::bad_alloc&) {
        return 0;
    }
    return group;
}

void drop_unsent_page_request(BoundDevice& dev, uint32_t grpid) noexcept { dev.page_requests.erase(grpid); }

long respond_page_request(Model& model, Context& ctx, uint64_t cookie, uint32_t grpid, uint32_t code,
                          uint64_t* resume) {
    BoundDevice* dev = ctx.find_device(cookie);
    if (!dev)
        return -ENOENT;
    if (code > IOMMU_PAGE_RESP_FAILURE || !dev->page_requests.count(grpid))
        return -EINVAL;
    *resume = complete_group(model, *dev, grpid, code, "user");
    if (code == IOMMU_PAGE_RESP_FAILURE)  // the device is done with page requests
        abort_groups(model, *dev, std::nullopt, "failure");
    return 0;
}

void abort_page_requests(Model& model, BoundDevice& dev, std::optional<uint32_t> attachment_key) noexcept {
    abort_groups(model, dev, attachment_key, "detach");
}

void expire_page_requests(Model& model, std::chrono::steady_clock::time_point now) {
    model.for_each_context([&](Context& ctx) {
        for (auto& [cookie, dev] : ctx.devices) {
            abort_groups_if(model, *dev, "timeout", [&](const PageRequestGroup& group) {
                const bool expired = group.deadline <= now;
                ctx.faults.timeouts += expired;
                return expired;
            });
        }
    });
}

}  // namespace ciommu
