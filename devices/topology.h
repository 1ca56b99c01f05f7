// The simulated hardware: IOMMU units and the devices behind them, read from
// a JSON document (docs/topology.md).  The parser is strict: a topology that
// loads is one the model can trust without re-checking (names unique, every
// reference resolved, regions sorted and inside the address width).
#pragma once

#include "../ioasid/iova_range.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "../toolkit/json_error.h"
#include "cuse-iommu.h"

namespace ciommu {

enum class ResvType : uint32_t {
    kReserved = IOMMU_RESV_RESERVED,
    kMsi = IOMMU_RESV_MSI,
    kDirect = IOMMU_RESV_DIRECT,
};

struct ReservedRegion {
    uint64_t start;
    uint64_t last;  // inclusive
    ResvType type;
};

enum class Nesting { kNone, kSoftware, kHardware };
// Their names in a topology and the state dump, in enum order.
inline constexpr std::string_view kNestingNames[] = {"none", "software", "hardware"};

struct IommuUnit {
    std::string name;
    uint64_t pgsize_bitmap;                // bit N = 2^N bytes; includes 4 KiB
    unsigned address_width;                // IOVA bits, 32..48
    std::vector<ReservedRegion> reserved;  // sorted by start, non-overlapping, 4K-aligned, inside the width
    Nesting nesting;
    unsigned pasid_width;                  // 0..20; 0 = no PASID support
    bool iopf;                             // reports recoverable faults (PRI/stall)
    bool snoop_control;                    // can enforce snooping
    uint32_t pgtable_formats;              // bit N = IOMMU_PGTABLE_FORMAT N supported for user page tables
    bool dirty_tracking;                   // sets dirty bits in its IOPTEs (IOMMU_DIRTY_TRACKING)
};

// kMdev: IOMMU-backed (routed by parent RID + defPASID); kSwMdev: software-only.
enum class DeviceKind { kPci, kMdev, kSwMdev };

inline constexpr unsigned kNoIndex = ~0u;

struct DeviceSpec {
    std::string name;  // unique, <= IOMMU_DEVICE_NAME_LEN-1 chars, [A-Za-z0-9_.-]
    DeviceKind kind;
    std::string bdf;   // PCI: "BB:DD.F" (hex); mdev: empty
    uint16_t rid;      // PCI: bus<<8 | dev<<3 | fn; mdev: the parent's rid
    unsigned iommu;    // index into Topology::iommus; kMdev: the parent's; kSwMdev: kNoIndex
    unsigned group;    // IOMMU group id; every mdev gets its own synthesized unique group
    unsigned parent;   // mdev: index of the parent PCI device; PCI: kNoIndex
    bool pasid;        // PCI: PASID-capable (meaningful only if its IOMMU has pasid_width>0); mdev: false
    bool pri;          // PCI: can issue page requests; kMdev: its parent's (page requests go
                       // out through the parent with the defPASID); kSwMdev: false
    bool present = true;  // false once removed at run time (the control socket): its index stays
                          // taken, so indices and DeviceSpec pointers never change meaning
};

struct Topology {
    std::vector<IommuUnit> iommus;
    std::vector<DeviceSpec> devices;

    // A present device by name; nullptr if none.  Code that walks `devices`
    // itself must skip the ones not present.
    const DeviceSpec* find_device(std::string_view name) const;
    // The position of `dev` in `devices`; kNoIndex if it is not one of them.
    unsigned index_of(const DeviceSpec& dev) const;
};

// path: a JSON pointer (RFC 6901) to the offending value, e.g. "/devices/3/bdf";
// "" for the document as a whole (syntax errors, unreadable files).
// Where in the document (a JSON pointer) and what was wrong.
using TopologyError = JsonError;

std::variant<Topology, TopologyError> parse_topology(std::string_view json_text);
// File errors: path "" and the OS message.
std::variant<Topology, TopologyError> load_topology_file(const std::string& path);

// One device object (docs/topology.md), as it would be added to `topo` at
// run time: the file's rules hold against the devices present (name and BDF
// unique, the IOMMU exists, a group sits behind one IOMMU and is no mdev's,
// an mdev's parent is a present PCI device with PASID support for an
// IOMMU-backed one).  An mdev gets a group one past every group used so far.
// path: the JSON pointer of `device` in the caller's document, for errors.
// Throws std::bad_alloc (the control socket answers "out of memory").
std::variant<DeviceSpec, TopologyError> parse_device(const Topology& topo, const nlohmann::json& device,
                                                     const std::string& path);

// The built-in topology, parsed once from default_topology_json() by
// parse_topology (so the default is itself proof the parser accepts it).
const Topology& default_topology();
std::string_view default_topology_json();

// "topology: /devices/3/bdf: expected \"BB:DD.F\" (hex), got \"zz\""
std::string describe(const TopologyError& e);

// ---- helpers the model shares ----

// At most this many reserved regions per IOMMU, so that the IOMMU_DEVICE_GET_INFO
// answer (which lists them and the ranges between them) fits IOMMU_ARGSZ_MAX.
inline constexpr size_t kMaxReservedRegions = 64;

// The device's IOMMU (an mdev: its parent's); nullptr for a software mdev.
const IommuUnit* iommu_of(const Topology& topo, const DeviceSpec& dev);

// The last IOVA of the IOMMU's aperture: 2^address_width - 1.
uint64_t aperture_last(const IommuUnit& iommu);

// The aperture minus every reserved region (of any type), in ascending order.
std::vector<IovaRange> usable_iova_ranges(const IommuUnit& iommu);

}  // namespace ciommu
