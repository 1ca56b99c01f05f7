// A representative dump state (docs/control.md): two contexts, a nested
// IOASID, PASID and RID attachments, an mdev with a defPASID, a pending page
// request stalling a DMA, accounting and counters.
#pragma once

#include <nlohmann/json.hpp>

namespace iommuctl_test {

inline nlohmann::json sample_state() {
    return nlohmann::json::parse(R"({
  "iommus": [
    {"name": "iommu0", "address_width": 48, "page_sizes": [4096, 2097152, 1073741824], "pasid_width": 20,
     "iopf": true, "nesting": "hardware", "snoop_control": true, "pgtable_formats": ["x86_64"],
     "reserved_regions": [{"start": 4276092928, "last": 4277141503, "type": "msi"}]},
    {"name": "iommu1", "address_width": 39, "page_sizes": [4096], "pasid_width": 0, "iopf": false,
     "nesting": "none", "snoop_control": false, "pgtable_formats": [],
     "reserved_regions": [{"start": 3758096384, "last": 4026531839, "type": "reserved"},
                          {"start": 4276092928, "last": 4277141503, "type": "msi"}]}
  ],
  "devices": [
    {"name": "nic0", "type": "pci", "bdf": "00:01.0", "rid": 8, "iommu": "iommu0", "group": 1,
     "parent": null, "pasid": false, "pri": false, "bound_by": 1},
    {"name": "accel0", "type": "pci", "bdf": "00:03.0", "rid": 24, "iommu": "iommu0", "group": 3,
     "parent": null, "pasid": true, "pri": true, "bound_by": 1},
    {"name": "gpu0", "type": "pci", "bdf": "00:04.0", "rid": 32, "iommu": "iommu0", "group": 4,
     "parent": null, "pasid": true, "pri": false, "bound_by": null},
    {"name": "mdev0", "type": "mdev", "bdf": null, "rid": 32, "iommu": "iommu0", "group": 6,
     "parent": "gpu0", "pasid": false, "pri": false, "bound_by": 2},
    {"name": "vmdev0", "type": "sw-mdev", "bdf": null, "rid": 32, "iommu": null, "group": 8,
     "parent": "gpu0", "pasid": false, "pri": false, "bound_by": null},
    {"name": "legacy0", "type": "pci", "bdf": "00:05.0", "rid": 40, "iommu": "iommu1", "group": 5,
     "parent": null, "pasid": false, "pri": false, "bound_by": null}
  ],
  "contexts": [
    {"id": 1, "pid": 4242,
     "ioasids": [
       {"id": 1, "kind": "kernel", "parent": null, "user_pgd": null, "pgtable_format": null,
        "enforce_snoop": false, "dirty_tracking": true, "attachments": 2, "children": 1, "mapping_count": 2, "mapped_bytes": 12288,
        "mappings": [{"iova": 1048576, "size": 8192, "vaddr": 139637976727552, "pid": 4242, "prot": ["read", "write"]},
                     {"iova": 2097152, "size": 4096, "vaddr": 139637976793088, "pid": 4242, "prot": ["read"]}]},
       {"id": 2, "kind": "user", "parent": 1, "user_pgd": 1073741824, "pgtable_format": "x86_64",
        "enforce_snoop": true, "dirty_tracking": false, "attachments": 1, "children": 0, "mapping_count": 0, "mapped_bytes": 0,
        "mappings": []},
       {"id": 3, "kind": "identity", "parent": null, "user_pgd": null, "pgtable_format": null,
        "enforce_snoop": false, "attachments": 0, "children": 0, "mapping_count": 0, "mapped_bytes": 0,
        "mappings": []}
     ],
     "devices": [
       {"cookie": 1, "name": "nic0", "physical": "nic0", "def_pasid": null, "fault_consumer": false,
        "page_requests_stopped": false, "attachments": [{"pasid": null, "ioasid": 1}], "pending_groups": []},
       {"cookie": 2, "name": "accel0", "physical": "accel0", "def_pasid": null, "fault_consumer": true,
        "page_requests_stopped": false,
        "attachments": [{"pasid": 5, "ioasid": 1}, {"pasid": 7, "ioasid": 2}],
        "pending_groups": [{"grpid": 3, "pasid": 5, "dma_id": 9}, {"grpid": 4, "pasid": null, "dma_id": null}]}
     ],
     "fault_region": {"depth": 32, "timeout_ms": 1000, "pending": 2, "lost": 0, "delivered": 4,
                      "unreported": 0, "iopf_resolved": 2, "timeouts": 0},
     "dmas": [{"id": 9, "cookie": 2, "device": "accel0", "control": true, "write": false, "status": "pending",
               "bytes_done": 0, "length": 4096}],
     "iotlb_hits": 12, "iotlb_misses": 3},
    {"id": 2, "pid": 4300,
     "ioasids": [
       {"id": 1, "kind": "kernel", "parent": null, "user_pgd": null, "pgtable_format": null,
        "enforce_snoop": false, "attachments": 1, "children": 0, "mapping_count": 1, "mapped_bytes": 2097152,
        "mappings": [{"iova": 0, "size": 2097152, "vaddr": 140000000000000, "pid": 4300, "prot": ["write"]}]}
     ],
     "devices": [
       {"cookie": 16, "name": "mdev0", "physical": "gpu0", "def_pasid": 1, "fault_consumer": false,
        "page_requests_stopped": false, "attachments": [{"pasid": null, "ioasid": 1}], "pending_groups": []}
     ],
     "fault_region": {"depth": 128, "timeout_ms": 5000, "pending": 0, "lost": 0, "delivered": 0,
                      "unreported": 0, "iopf_resolved": 0, "timeouts": 0},
     "dmas": [],
     "iotlb_hits": 0, "iotlb_misses": 0}
  ],
  "accounting": [{"pid": 4242, "locked_pages": 3}, {"pid": 4300, "locked_pages": 512}],
  "counters": {"contexts": 2, "routes": 4, "iotlb_entries": 6, "locked_pages": 515}
})");
}

}  // namespace iommuctl_test
