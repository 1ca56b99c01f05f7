// The model's invariants, checked by walking all of it: every object's
// cross-references and every counter against the objects it counts.
//   devices   the device table <-> each context's bound devices, group
//             claims, mdev counts and defPASIDs
//   routes    each route <-> the attachment it leads to (and back)
//   spaces    attachments and children counted right, a child's parent a
//             live kernel-managed space, constraints those of the IOMMUs
//             attached, each space's own bookkeeping (IoAddressSpace::check)
//   ledger    every charge <-> the pinned pages and software-mdev pins that
//             make it, each page's count, the totals
//   IOTLB     each entry's spaces live, its route present, its owner the
//             mapping's, its indexes right
//   faults    page-request groups <-> stalled DMAs, DMA slots, regions
// The fuzzers run it after every operation, the unit tests after theirs, and
// the control socket's `check` runs it on a live daemon.
#pragma once

#include <string>
#include <vector>

namespace ciommu {

class Model;

struct CheckOptions {
    // Calls may be running (a live daemon): a DMA admitted but not yet
    // stored holds a slot that no entry explains.
    bool calls_in_flight = false;
};

// What is inconsistent, one sentence each; empty if the model is sound.
// Model lock held.
std::vector<std::string> check_model(Model& model, CheckOptions options = {});

}  // namespace ciommu
