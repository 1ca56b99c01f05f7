// The topology reader's "iommus": each unit's page sizes, address width,
// reserved regions (sorted, non-overlapping, inside the width), nesting,
// PASIDs and page-table formats (docs/topology.md), names unique.
#include "topology_reader.h"

#include "../toolkit/hex_text.h"

#include <algorithm>
#include <bit>
#include <map>

namespace ciommu::topology_reader {
namespace {

constexpr uint64_t k4K = 4096;

constexpr Named<Nesting> kNestingValues[] = {{kNestingNames[0], Nesting::kNone},
                                             {kNestingNames[1], Nesting::kSoftware},
                                             {kNestingNames[2], Nesting::kHardware}};


bool read_page_sizes(const Node& n, unsigned width, uint64_t& bitmap) {
    if (!check_array(n, "page sizes like [\"4K\", \"2M\"]"))
        return false;
    bitmap = 0;
    for (size_t i = 0; i < n.v.size(); ++i) {
        const Node e = n.element(i);
        uint64_t size = 0;
        if (!read_number(e, Units::kSize, size))
            return false;
        if (!std::has_single_bit(size) || size < k4K)
            return e.fail("a page size is a power of two >= 4K, got " + shown(e.v));
        if (static_cast<unsigned>(std::countr_zero(size)) >= width)
            return e.fail(shown(e.v) + " is not smaller than the " + std::to_string(width) + "-bit address space");
        if (bitmap & size)
            return e.fail(shown(e.v) + " is listed twice");
        bitmap |= size;
    }
    return (bitmap & k4K) || n.fail("must include 4K (the model's page size)");
}

// Reads "last" or "size" (exactly one) into r.last; r.start is already read.
bool read_region_end(const Node& n, ReservedRegion& r) {
    const bool has_last = n.v.contains("last"), has_size = n.v.contains("size");
    if (has_last && has_size)
        return n.fail("give \"last\" or \"size\", not both");
    if (!has_last && !has_size)
        return n.errs.fail(json_pointer_child(n.path, "last"), "missing (or give \"size\")");
    if (has_last) {
        return required(n, "last", [&](const Node& f) {
            if (!read_number(f, Units::kPlain, r.last))
                return false;
            if (r.last < r.start)
                return f.fail("ends before it starts (start " + hex_number(r.start) + ")");
            return (r.last & (k4K - 1)) == k4K - 1 || f.fail("must end just before a 4K boundary (0x...fff)");
        });
    }
    return required(n, "size", [&](const Node& f) {
        uint64_t size = 0;
        if (!read_number(f, Units::kSize, size))
            return false;
        if (size == 0 || size % k4K != 0)
            return f.fail("must be a non-zero multiple of 4K, got " + shown(f.v));
        if (size - 1 > ~uint64_t{0} - r.start)
            return f.fail("start + size wraps past 2^64");
        r.last = r.start + (size - 1);
        return true;
    });
}

bool read_region(const Node& n, unsigned width, ReservedRegion& r) {
    const auto read_start = [&](const Node& f) {
        return read_number(f, Units::kPlain, r.start) && (r.start % k4K == 0 || f.fail("not 4K-aligned"));
    };
    if (!check_object(n, {"start", "last", "size", "type"}) || !required(n, "start", read_start) ||
        !read_region_end(n, r))
        return false;
    const uint64_t limit = (width >= 64) ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
    if (r.last > limit) {
        return n.errs.fail(json_pointer_child(n.path, n.v.contains("last") ? "last" : "size"),
                           "ends at " + hex_number(r.last) + ", past the " + std::to_string(width) +
                               "-bit address space (last address " + hex_number(limit) + ")");
    }
    return required(n, "type", [&](const Node& f) {
        uint32_t type = 0;
        if (!read_uapi_name(f, kResvRegionTypes, type))
            return false;
        r.type = static_cast<ResvType>(type);
        return true;
    });
}

bool read_regions(const Node& n, unsigned width, std::vector<ReservedRegion>& out) {
    if (!check_array(n, "reserved regions"))
        return false;
    if (n.v.size() > kMaxReservedRegions)
        return n.fail("at most " + std::to_string(kMaxReservedRegions) + " regions (the GET_INFO answer must fit)");
    std::vector<ReservedRegion> regions(n.v.size());
    for (size_t i = 0; i < regions.size(); ++i) {
        if (!read_region(n.element(i), width, regions[i]))
            return false;
    }
    // Sorted by start; two regions may touch but not overlap.  Blame the later one in the document.
    std::vector<size_t> order(regions.size());
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return regions[a].start < regions[b].start; });
    for (size_t k = 1; k < order.size(); ++k) {
        const size_t a = order[k - 1], b = order[k];
        if (regions[b].start <= regions[a].last) {
            const size_t blamed = std::max(a, b), other = std::min(a, b);
            return n.errs.fail(json_pointer_child(n.path, blamed), "overlaps " + json_pointer_child(n.path, other) + " [" +
                                                          hex_number(regions[other].start) + ", " +
                                                          hex_number(regions[other].last) + "]");
        }
    }
    out.clear();
    for (size_t i : order)
        out.push_back(regions[i]);
    return true;
}

bool read_formats(const Node& n, uint32_t& bits) {
    if (!check_array(n, "page-table format names like [\"x86_64\"]"))
        return false;
    bits = 0;
    for (size_t i = 0; i < n.v.size(); ++i) {
        uint32_t format = 0;
        if (!read_uapi_name(n.element(i), kPgtableFormats, format))
            return false;
        if (bits & (1u << format))
            return n.element(i).fail(shown(n.v[i]) + " is listed twice");
        bits |= 1u << format;
    }
    return true;
}

// User page tables exist only nested (a user-managed child of a kernel-managed
// parent), and nesting is of no use without a format to walk.
bool check_nesting_formats(const Node& n, const IommuUnit& u) {
    if (u.nesting == Nesting::kNone && u.pgtable_formats != 0)
        return n.errs.fail(json_pointer_child(n.path, "pgtable_formats"),
                           "user page-table formats need nesting, but \"nesting\" is \"none\"");
    if (u.nesting != Nesting::kNone && u.pgtable_formats == 0)
        return n.errs.fail(json_pointer_child(n.path, "nesting"), "nesting needs at least one entry in \"pgtable_formats\"");
    return true;
}

bool read_iommu(const Node& n, IommuUnit& u) {
    using F = const Node&;
    u = IommuUnit{"", 0, 0, {}, Nesting::kNone, 0, false, false, 0, false};
    const unsigned& width = u.address_width;  // read before what depends on it
    return check_object(n, {"name", "page_sizes", "address_width", "reserved_regions", "nesting", "pasid_width",
                            "iopf", "snoop_control", "pgtable_formats", "dirty_tracking"}) &&
           required(n, "name", [&](F f) { return read_name(f, u.name); }) &&
           required(n, "address_width", [&](F f) { return read_uint(f, 32, 48, u.address_width); }) &&
           required(n, "page_sizes", [&](F f) { return read_page_sizes(f, width, u.pgsize_bitmap); }) &&
           if_present(n, "reserved_regions", [&](F f) { return read_regions(f, width, u.reserved); }) &&
           if_present(n, "nesting", [&](F f) { return read_enum<Nesting>(f, kNestingValues, u.nesting); }) &&
           if_present(n, "pasid_width", [&](F f) { return read_uint(f, 0, 20, u.pasid_width); }) &&
           if_present(n, "iopf", [&](F f) { return read_bool(f, u.iopf); }) &&
           if_present(n, "snoop_control", [&](F f) { return read_bool(f, u.snoop_control); }) &&
           if_present(n, "pgtable_formats", [&](F f) { return read_formats(f, u.pgtable_formats); }) &&
           if_present(n, "dirty_tracking", [&](F f) { return read_bool(f, u.dirty_tracking); }) &&
           check_nesting_formats(n, u);
}

}  // namespace

bool read_iommus(const Node& n, std::vector<IommuUnit>& out) {
    if (!check_array(n, "IOMMU units"))
        return false;
    std::map<std::string, size_t> seen;
    out.resize(n.v.size());
    for (size_t i = 0; i < out.size(); ++i) {
        const Node e = n.element(i);
        if (!read_iommu(e, out[i]))
            return false;
        if (auto [it, fresh] = seen.emplace(out[i].name, i); !fresh)
            return e.errs.fail(json_pointer_child(e.path, "name"), "duplicate name " + json_quoted(out[i].name) + " (also " +
                                                          json_pointer_child(n.path, it->second) + ")");
    }
    return true;
}

}  // namespace ciommu::topology_reader
