// Answering page request groups: the user's IOMMU_PAGE_RESPONSE, the
// response timeout, and the INVALID answers detach, unbind and close give
// on the user's behalf so that nothing is left dangling.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace ciommu {

class Model;
struct Context;
struct BoundDevice;

// Opens a page request group of dev, made through attachment_key, that
// stalls DMA dma_id (0: none) until answered or `deadline`: its group id
// (unique in the context, never 0), or 0 when dev has no page-request
// credit left or there is no memory for it -- then the device never sends
// the request.  Both fault routes use it: the RFC router (records in the
// fault region) and the iommufd profile's fault queues.
uint32_t open_page_request(BoundDevice& dev, uint32_t attachment_key, std::chrono::steady_clock::time_point deadline,
                           uint64_t dma_id) noexcept;
// Takes back a group whose report could not be delivered (nobody will
// answer it); its DMA is not touched.
void drop_unsent_page_request(BoundDevice& dev, uint32_t grpid) noexcept;

// IOMMU_PAGE_RESPONSE: 0, -ENOENT (cookie) or -EINVAL (group, code).  A
// SUCCESS whose group stalled a DMA marks the DMA running and sets
// *resume to its id: the caller runs it on (resume_dma) -- the answer
// itself never touches client memory.
long respond_page_request(Model& model, Context& ctx, uint64_t cookie, uint32_t grpid, uint32_t code,
                          uint64_t* resume);
// Answers INVALID every pending group of dev made through attachment_key
// (nullopt: all of them).
void abort_page_requests(Model& model, BoundDevice& dev, std::optional<uint32_t> attachment_key) noexcept;
// Answers INVALID every group whose deadline has passed.
void expire_page_requests(Model& model, std::chrono::steady_clock::time_point now);

}  // namespace ciommu
