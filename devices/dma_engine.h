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

struct DmaRequest {
    uint64_t iova;
    uint64_t length;
    bool write;                     // device writes memory
    std::optional<uint32_t> pasid;  // DMA tagged with a PASID
    pid_t data_pid;                 // whose buffer holds / receives the data
    uint64_t data;                  // address of that buffer
};

struct DmaJob {
    DmaRequest req;
    uint64_t cookie;                  // the device
    std::vector<unsigned char> bytes; // a write's data, or what a read has read
    uint64_t done = 0;                // bytes moved so far
    uint32_t status = 0;              // IOMMU_SIM_DMA_*
    Fault fault;                      // the last fault
};

struct DmaStep {
    long err = 0;         // -EFAULT: the data buffer or the owner's memory is gone
    bool faulted = false; // stopped at job.fault
};

// Loads what a write DMA carries from the initiator.  0 or -EFAULT.
long start_dma(DmaJob& job);
// Runs from job.done until the end, a fault or an error.
DmaStep run_dma(Model& model, BoundDevice& dev, DmaJob& job);
// Hands what a read DMA read to the initiator.  0 or -EFAULT.
long finish_dma(const DmaJob& job);

}  // namespace ciommu
