// IOMMU_DEVICE_GET_INFO's capability chain, laid out VFIO style.
#include "device_info.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <optional>
#include <vector>

#include "cuse-iommu.h"

namespace ciommu {
namespace {

// The largest answer (64 reserved regions, 65 ranges between them) must fit
// the largest argsz a caller may pass, or it could never read it.
static_assert(sizeof(iommu_device_info) + sizeof(iommu_info_cap_page_sizes) +
                  sizeof(iommu_info_cap_iova_ranges) + (kMaxReservedRegions + 1) * sizeof(iommu_iova_range) +
                  sizeof(iommu_info_cap_resv_regions) + kMaxReservedRegions * sizeof(iommu_resv_region) +
                  sizeof(iommu_info_cap_nesting) + sizeof(iommu_info_cap_pasid) <=
              IOMMU_ARGSZ_MAX);

// The capabilities as bytes, as they will sit after the struct.  Offsets in
// `next` are from the start of struct iommu_device_info, hence `base`.
class Chain {
public:
    explicit Chain(size_t base) : base_(base) {}

    // Starts a capability: aligns it to 8, links the previous one to it.
    template <class Cap>
    void begin(uint16_t id, Cap cap) {
        bytes_.resize((bytes_.size() + 7) & ~size_t{7});
        const uint32_t here = static_cast<uint32_t>(base_ + bytes_.size());
        if (last_)
            std::memcpy(bytes_.data() + *last_ + offsetof(iommu_info_cap_header, next), &here, sizeof here);
        last_ = bytes_.size();
        cap.header = iommu_info_cap_header{id, 1, 0};
        append(cap);
    }
    // Appends to the current capability (its trailing array).
    template <class T>
    void append(const T& v) {
        const size_t at = bytes_.size();
        bytes_.resize(at + sizeof v);
        std::memcpy(bytes_.data() + at, &v, sizeof v);
    }
    const std::vector<std::byte>& bytes() const { return bytes_; }

private:
    size_t base_;
    std::vector<std::byte> bytes_;
    std::optional<size_t> last_;  // where the previous capability starts
};

void add_page_sizes(Chain& chain, uint64_t bitmap) {
    iommu_info_cap_page_sizes cap{};
    cap.pgsize_bitmap = bitmap;
    chain.begin(IOMMU_DEVICE_INFO_CAP_PAGE_SIZES, cap);
}

void add_iova_ranges(Chain& chain, const std::vector<IovaRange>& ranges) {
    iommu_info_cap_iova_ranges cap{};
    cap.nr_ranges = static_cast<uint32_t>(ranges.size());
    chain.begin(IOMMU_DEVICE_INFO_CAP_IOVA_RANGES, cap);
    for (const IovaRange& r : ranges) {
        iommu_iova_range out{};
        out.start = r.start;
        out.last = r.last;
        chain.append(out);
    }
}

void add_resv_regions(Chain& chain, const std::vector<ReservedRegion>& regions) {
    iommu_info_cap_resv_regions cap{};
    cap.nr_regions = static_cast<uint32_t>(regions.size());
    chain.begin(IOMMU_DEVICE_INFO_CAP_RESV_REGIONS, cap);
    for (const ReservedRegion& r : regions) {
        iommu_resv_region out{};
        out.start = r.start;
        out.last = r.last;
        out.type = static_cast<uint32_t>(r.type);
        chain.append(out);
    }
}

void add_nesting(Chain& chain, const IommuUnit& iommu) {
    iommu_info_cap_nesting cap{};
    if (iommu.nesting != Nesting::kNone)
        cap.flags |= IOMMU_NESTING_SUPPORTED;
    if (iommu.nesting == Nesting::kHardware)
        cap.flags |= IOMMU_NESTING_HARDWARE;
    cap.pgtable_formats = iommu.pgtable_formats;
    chain.begin(IOMMU_DEVICE_INFO_CAP_NESTING, cap);
}

void add_pasid(Chain& chain, const IommuUnit& iommu) {
    iommu_info_cap_pasid cap{};
    cap.pasid_width = iommu.pasid_width;
    cap.flags = iommu.iopf ? IOMMU_PASID_IOPF : 0;
    chain.begin(IOMMU_DEVICE_INFO_CAP_PASID, cap);
}

void add_pri(Chain& chain, const PriCredits& credits) {
    iommu_info_cap_pri cap{};
    cap.max_requests = credits.max_requests;
    cap.outstanding = credits.outstanding;
    cap.held_dmas = credits.held_dmas;
    chain.begin(IOMMU_DEVICE_INFO_CAP_PRI, cap);
}

// `iommu` is nullptr for a software mdev: no IOMMU, so no reserved regions
// (its DMA is the vendor driver's CPU access), no nesting and no PASIDs.
Chain build_chain(const IommuUnit* iommu, const PriCredits* credits) {
    Chain chain(sizeof(iommu_device_info));
    if (!iommu) {
        add_page_sizes(chain, 4096);
        add_iova_ranges(chain, {IovaRange{0, kSwMdevIovaLast}});
        return chain;
    }
    add_page_sizes(chain, iommu->pgsize_bitmap);
    add_iova_ranges(chain, usable_iova_ranges(*iommu));
    add_resv_regions(chain, iommu->reserved);
    add_nesting(chain, *iommu);
    add_pasid(chain, *iommu);
    if (credits)
        add_pri(chain, *credits);
    return chain;
}

}  // namespace

uint32_t device_info_flags(const Topology& topo, const DeviceSpec& dev) {
    if (dev.kind == DeviceKind::kSwMdev)
        return IOMMU_DEVICE_INFO_MDEV | IOMMU_DEVICE_INFO_SW_MDEV;
    uint32_t flags = dev.kind == DeviceKind::kMdev ? IOMMU_DEVICE_INFO_MDEV : 0;
    const IommuUnit* iommu = iommu_of(topo, dev);
    if (!iommu)
        return flags;
    if (dev.kind == DeviceKind::kPci && dev.pasid && iommu->pasid_width > 0)
        flags |= IOMMU_DEVICE_INFO_PASID;
    if (dev.pri && iommu->iopf)
        flags |= IOMMU_DEVICE_INFO_PRI;
    if (iommu->snoop_control)
        flags |= IOMMU_DEVICE_INFO_ENFORCE_SNOOP;
    if (iommu->dirty_tracking)
        flags |= IOMMU_DEVICE_INFO_DIRTY_TRACKING;
    return flags;
}

size_t build_device_info(const Topology& topo, const DeviceSpec& dev, uint64_t cookie, const PriCredits& credits,
                         std::span<std::byte> buffer) {
    const bool pri = device_info_flags(topo, dev) & IOMMU_DEVICE_INFO_PRI;
    const Chain chain = build_chain(iommu_of(topo, dev), pri ? &credits : nullptr);
    const size_t needed = sizeof(iommu_device_info) + chain.bytes().size();
    if (buffer.size() < sizeof(iommu_device_info))
        return needed;

    iommu_device_info info{};
    info.argsz = static_cast<uint32_t>(needed);
    info.flags = device_info_flags(topo, dev);
    info.cookie = cookie;
    std::fill(buffer.begin(), buffer.end(), std::byte{0});
    if (needed <= buffer.size()) {
        info.flags |= IOMMU_DEVICE_INFO_CAPS;
        info.cap_offset = sizeof(iommu_device_info);
        std::memcpy(buffer.data() + sizeof info, chain.bytes().data(), chain.bytes().size());
    }
    std::memcpy(buffer.data(), &info, sizeof info);
    return needed;
}

}  // namespace ciommu
