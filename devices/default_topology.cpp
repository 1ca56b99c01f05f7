// The topology the daemon simulates when it is given none.  It is written in
// the same JSON a user would write (docs/topology.md explains it) and goes
// through the same parser, so it can never drift from what the parser accepts.
#include <cstdio>
#include <cstdlib>

#include "topology.h"

namespace ciommu {
namespace {

// iommu0: a modern unit (x86 VT-d/AMD-Vi class) with everything the RFC talks
// about: large pages, 48-bit IOVAs, hardware nesting, 20-bit PASIDs, I/O page
// faults, snoop control.  iommu1: an old unit with none of it, and a PCI
// host-bridge window ("reserved": DMA there goes peer-to-peer, never to memory).
// Both carve out the x86 MSI doorbell window.
constexpr char kDefaultTopology[] = R"json({
  "iommus": [
    {
      "name": "iommu0",
      "page_sizes": ["4K", "2M", "1G"],
      "address_width": 48,
      "reserved_regions": [
        { "start": "0xfee00000", "last": "0xfeefffff", "type": "msi" }
      ],
      "nesting": "hardware",
      "pasid_width": 20,
      "iopf": true,
      "snoop_control": true,
      "pgtable_formats": ["x86_64"],
      "dirty_tracking": true
    },
    {
      "name": "iommu1",
      "page_sizes": ["4K"],
      "address_width": 39,
      "reserved_regions": [
        { "start": "0xe0000000", "size": "256M", "type": "reserved" },
        { "start": "0xfee00000", "size": "1M",   "type": "msi" }
      ],
      "nesting": "none",
      "pasid_width": 0,
      "iopf": false,
      "snoop_control": false
    }
  ],
  "devices": [
    { "name": "nic0",    "type": "pci", "bdf": "00:01.0", "iommu": "iommu0", "group": 1 },
    { "name": "nic1",    "type": "pci", "bdf": "00:02.0", "iommu": "iommu0", "group": 2 },
    { "name": "nic2",    "type": "pci", "bdf": "00:02.1", "iommu": "iommu0", "group": 2 },
    { "name": "accel0",  "type": "pci", "bdf": "00:03.0", "iommu": "iommu0", "group": 3,
      "pasid": true, "pri": true },
    { "name": "gpu0",    "type": "pci", "bdf": "00:04.0", "iommu": "iommu0", "group": 4,
      "pasid": true },
    { "name": "mdev0",   "type": "mdev",    "parent": "gpu0" },
    { "name": "mdev1",   "type": "mdev",    "parent": "gpu0" },
    { "name": "vmdev0",  "type": "sw-mdev", "parent": "gpu0" },
    { "name": "legacy0", "type": "pci", "bdf": "00:05.0", "iommu": "iommu1", "group": 5 }
  ]
}
)json";

}  // namespace

std::string_view default_topology_json() {
    return kDefaultTopology;
}

const Topology& default_topology() {
    static const Topology topo = [] {
        auto parsed = parse_topology(kDefaultTopology);
        if (const auto* err = std::get_if<TopologyError>(&parsed)) {
            // A bug in this file, which the unit tests would have caught.
            std::fprintf(stderr, "default %s\n", describe(*err).c_str());
            std::abort();
        }
        return std::get<Topology>(std::move(parsed));
    }();
    return topo;
}

}  // namespace ciommu
