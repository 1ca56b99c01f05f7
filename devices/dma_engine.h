// The simulated devices' DMA engine: moves bytes between a simulation
// caller's buffer and the memory an IOVA translates to, page by page, as a
// device would, stopping at the first translation fault.
#pragma once

#include <cstdint>
#include <optional>
#include <sys/types.h>

#include "translation.h"

namespace ciommu {

class Model;
struct BoundDevice;

struct DmaRequest {
    uint64_t iova;
    uint64_t length;
    bool write;                    // device writes memory
    std::optional<uint32_t> pasid; // DMA tagged with a PASID
    pid_t data_pid;                // whose buffer holds / receives the data
    uint64_t data;                 // address of that buffer
};

struct DmaResult {
    long err = 0;           // -EFAULT: the data buffer or the owner's memory is gone
    bool faulted = false;
    uint64_t bytes_done = 0;
    Fault fault;
};

DmaResult run_dma(Model& model, BoundDevice& dev, const DmaRequest& req);

}  // namespace ciommu
