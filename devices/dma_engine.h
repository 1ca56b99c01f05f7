// The simulated devices' DMA engine: moves bytes between a simulation
// caller's buffer and the memory an IOVA translates to, page by page, as a
// device would.  A job stops at the first translation fault; if that fault
// became a page request, the job waits in its context and resumes from where
// it stopped when the request is answered SUCCESS.
#pragma once

#include <cstdint>
#include <optional>
#include <sys/types.h>
#include <vector>

#include "translation.h"

namespace ciommu {

class Model;
struct BoundDevice;
struct DeviceSpec;

// A DmaRequest's data_pid for a DMA the daemon itself starts (the control
// socket): its bytes live in DmaJob::bytes, not in a process.
inline constexpr pid_t kDaemonInitiator = 0;

struct DmaRequest {
    uint64_t iova;
    uint64_t length;
    bool write;                     // device writes memory
    std::optional<uint32_t> pasid;  // DMA tagged with a PASID
    pid_t data_pid;                 // whose buffer holds / receives the data (or kDaemonInitiator)
    uint64_t data;                  // address of that buffer
};

struct DmaJob {
    DmaRequest req;
    uint64_t cookie;                  // the device
    unsigned device = ~0u;            // its topology index
    std::vector<unsigned char> bytes; // a write's data, or what a read has read
    uint64_t done = 0;                // bytes moved so far
    uint32_t status = 0;              // IOMMU_SIM_DMA_*
    Fault fault;                      // the last fault
};

struct DmaStep {
    long err = 0;         // -EFAULT: the data buffer or the owner's memory is gone
    bool faulted = false; // stopped at job.fault
};

// Whether a DMA of dev may carry `pasid`: 0, -EOPNOTSUPP (an mdev, not
// PASID-capable, or its IOMMU has no PASIDs) or -EINVAL (0 or too wide).
long check_dma_pasid(const Model& model, const DeviceSpec& dev, uint32_t pasid);

inline bool from_daemon(const DmaJob& job) { return job.req.data_pid == kDaemonInitiator; }

// Loads what a write DMA carries from the initiator (the daemon's own
// initiator has put it in job.bytes already).  0 or -EFAULT.
long start_dma(DmaJob& job);
// Runs from job.done until the end, a fault or an error.
DmaStep run_dma(Model& model, BoundDevice& dev, DmaJob& job);
// Hands what a read DMA read to the initiator.  0 or -EFAULT.
long finish_dma(const DmaJob& job);

}  // namespace ciommu
