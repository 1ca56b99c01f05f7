// The simulated devices' DMA engine: moves bytes between a job's buffer and
// the memory an IOVA translates to, page by page, as a device would.  A job
// stops at the first translation fault; if that fault became a page request,
// the job waits in its context and resumes from where it stopped when the
// request is answered SUCCESS.
//
// Each page is translated with the model lock held and copied without it:
// a client's memory is never touched under the lock (docs/design.md), so a
// mapping owner whose memory is slow stalls only the DMA that reaches it.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <sys/types.h>
#include <vector>

#include "../ioasid/process.h"
#include "translation.h"

namespace ciommu {

class Model;
struct BoundDevice;
struct DeviceSpec;

struct DmaRequest {
    uint64_t iova;
    uint64_t length;
    bool write;                     // device writes memory
    std::optional<uint32_t> pasid;  // DMA tagged with a PASID
    ProcessRef initiator;           // whose buffer a stalled read's bytes go to
                                    // when reaped (nullptr: none needed -- a
                                    // write, a device that cannot stall, or
                                    // the control socket, whose bytes live
                                    // in the job)
    uint64_t data;                  // address of that buffer
};

struct DmaJob {
    DmaRequest req;
    uint64_t cookie;                  // the device
    unsigned device = ~0u;            // its topology index
    uint64_t binding = 0;             // BoundDevice::binding it was admitted on
    std::vector<unsigned char> bytes; // a write's data, or what a read has read
    uint64_t done = 0;                // bytes moved so far
    uint32_t status = 0;              // IOMMU_SIM_DMA_*
    Fault fault;                      // the last fault
    bool running = false;             // in a Context's dmas: a thread is moving
                                      // it (its bytes are with that thread)
    bool control = false;             // started by the control socket (its dma-status reaps it)
    bool resume_owed = false;         // answered SUCCESS where client memory must not be
                                      // touched (a fault fd's write(): iommufd/topology_faults.h):
                                      // running-marked, run by its context's next status call
};

inline bool from_daemon(const DmaJob& job) { return job.control; }

// Whether a DMA of dev may carry `pasid`: 0, -EOPNOTSUPP (an mdev, not
// PASID-capable, or its IOMMU has no PASIDs) or -EINVAL (0 or too wide).
long check_dma_pasid(const Model& model, const DeviceSpec& dev, uint32_t pasid);

// How drive_dma stopped.
enum class DmaStop {
    kDone,     // every byte moved
    kFaulted,  // job.fault says why; the device is still bound in the context
    kFailed,   // -EFAULT: memory behind a mapping (or a user table) is gone
    kGone,     // the context or the device went away meanwhile
    kNoMemory, // the daemon ran out of memory (the bytes moved so far stay moved)
};

// Runs job, bound as `cookie` in context `context_id`, from job.done on.
// `lock` holds the model lock on entry and on return (on kFaulted, the
// lock has been held since the fault was found, so the caller can route it
// atomically); it is dropped around every access to client memory.
DmaStop drive_dma(Model& model, std::unique_lock<std::mutex>& lock, uint64_t context_id, DmaJob& job) noexcept;

}  // namespace ciommu
