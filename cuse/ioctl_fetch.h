// How much of the caller's memory an unrestricted CUSE ioctl needs, round by
// round.  The kernel starts every unrestricted ioctl with no data; each
// FUSE_IOCTL_RETRY names memory to copy in (and out) and costs a full
// kernel<->daemon round trip, so the plan asks for as much as is safe as
// early as possible:
//   round 1: no data.  If the whole known struct lies in the page holding
//            `arg`, fetch it at once (reading it cannot fault if argsz can
//            be read); otherwise fetch just argsz, since the caller's struct
//            may end at the page boundary.
//   round 2: argsz is known.  Done, unless argsz asks for bytes beyond what
//            was fetched (a newer, larger struct): then fetch exactly argsz.
// So a struct command costs two rounds, three only for a struct that
// crosses a page or is larger than the daemon knows.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ciommu {

struct CommandSpec;

struct FetchPlan {
    bool ready;        // true: run the command with the bytes already fetched
    size_t in_bytes;   // when !ready: bytes at arg to copy in
    size_t out_bytes;  // when !ready: bytes at arg the reply may write back
};

// spec: a struct command.  arg: the caller's pointer.  fetched: bytes already
// copied in (0 on the first round), whose first 4 are argsz if present.
FetchPlan plan_ioctl_fetch(const CommandSpec& spec, uint64_t arg, const void* fetched,
                           size_t fetched_bytes, size_t page_size);

}  // namespace ciommu
