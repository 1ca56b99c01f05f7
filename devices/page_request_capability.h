// Whether a device can ask for a page (PCI PRI behind an IOMMU that does
// I/O page faults), and whether a given fault is such a request: the
// device's side of "iommu: introduce device fault report API" (Jacob Pan,
// May 2018).  The fault router (fault-region/) acts on the answer.
#pragma once

#include <cstdint>

namespace ciommu {

class Model;
struct BoundDevice;
struct Fault;

// True if dev can issue page requests at all.
bool can_page_request(const Model& model, const BoundDevice& dev);

// Could the device have asked for this page (PRI device, IOPF IOMMU, a
// non-present page in a table the user manages: stage 1 of a nested IOASID,
// or a plain kernel-managed IOASID)?
bool is_page_request(const Model& model, const BoundDevice& dev, uint32_t attachment_key, const Fault& fault);

}  // namespace ciommu
