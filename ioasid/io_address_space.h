// A kernel-managed I/O address space: the mappings userspace makes with
// IOMMU_MAP_DMA, kept by IOVA, with VFIO type1v2 rules for map and unmap.
#pragma once

#include <cstdint>
#include <map>
#include <sys/types.h>

namespace ciommu {

inline constexpr uint64_t kPageSize = 4096;
// The aperture every address space has for now: [0, 2^48).
inline constexpr uint64_t kApertureEnd = uint64_t{1} << 48;

// Device permissions on a mapping (same bits as IOMMU_MAP_DMA_READ/WRITE).
enum Prot : uint32_t { kProtRead = 1u << 0, kProtWrite = 1u << 1 };

// One IOMMU_MAP_DMA: where the range is backed in which process.
struct Mapping {
    uint64_t size;
    uint64_t vaddr;
    pid_t pid;      // thread-group id of the process that made the mapping
    uint32_t prot;  // Prot bits
};

struct MapRequest {
    uint64_t iova;
    uint64_t size;
    uint64_t vaddr;
    uint32_t prot;
    pid_t pid;
};

class IoAddressSpace {
public:
    // Checks a map request against the type1 rules and existing mappings.
    // Returns 0, -EINVAL (shape of the request) or -EEXIST (overlap).
    long check_map(const MapRequest& req) const;
    // Inserts a request that check_map() accepted.
    void insert(const MapRequest& req);

    // Unmaps every mapping lying wholly inside [iova, iova+size).  A range
    // that would split a mapping fails with -EINVAL and removes nothing.
    // Returns the bytes unmapped (>= 0) or -EINVAL.
    long long unmap(uint64_t iova, uint64_t size);
    // Unmaps everything; returns the bytes unmapped.
    uint64_t unmap_all();

    // The mapping that contains iova, with its first IOVA, or nullptr.
    const Mapping* find(uint64_t iova, uint64_t* mapping_iova) const;

    size_t mapping_count() const { return mappings_.size(); }
    uint64_t mapped_bytes() const { return mapped_bytes_; }

private:
    bool overlaps(uint64_t iova, uint64_t last) const;

    std::map<uint64_t, Mapping> mappings_;  // keyed by first IOVA
    uint64_t mapped_bytes_ = 0;
};

}  // namespace ciommu
