// The topology parser: JSON text -> Topology, or the first error with the
// JSON pointer of the value at fault.  The schema is docs/topology.md.
//
// nlohmann::json may throw (syntax errors, and anything unforeseen); every
// exception is caught in parse_topology() and turned into a TopologyError.
#include "topology.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <fcntl.h>
#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <span>
#include <system_error>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace ciommu {
namespace {

using nlohmann::json;

constexpr uint64_t k4K = 4096;
constexpr unsigned kMaxGroup = 0x7fffffff;  // Linux group ids are ints
constexpr size_t kMaxFileBytes = 1u << 20;

// ---- JSON pointers and message pieces ----

std::string child(const std::string& path, std::string_view key) {
    std::string out = path + "/";
    for (char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

std::string child(const std::string& path, size_t index) {
    return path + "/" + std::to_string(index);
}

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string in_quotes(std::string_view s) {
    return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// A value as an error message shows it after "got".
std::string shown(const json& v) {
    switch (v.type()) {
    case json::value_t::object:
        return "an object";
    case json::value_t::array:
        return "an array";
    default: {
        std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
        return s.size() <= 40 ? s : s.substr(0, 37) + "...";
    }
    }
}

// ---- reading values: every reader records the first error and returns false ----

struct Errors {
    std::optional<TopologyError> first;
    bool fail(const std::string& path, std::string message) {
        if (!first)
            first = TopologyError{path, std::move(message)};
        return false;
    }
};

// A JSON value and where it sits in the document.
struct Node {
    const json& v;
    std::string path;
    Errors& errs;
    bool fail(std::string message) const { return errs.fail(path, std::move(message)); }
    Node element(size_t i) const { return {v[i], child(path, i), errs}; }
};

using Keys = std::initializer_list<std::string_view>;

bool contains(Keys keys, std::string_view key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

std::string joined(Keys keys) {
    std::string out;
    for (std::string_view k : keys)
        out += (out.empty() ? "" : ", ") + std::string(k);
    return out;
}

// An object whose keys are all in `allowed`.
bool check_object(const Node& n, Keys allowed) {
    if (!n.v.is_object())
        return n.fail("expected an object, got " + shown(n.v));
    for (const auto& [key, value] : n.v.items()) {
        if (!contains(allowed, key))
            return n.errs.fail(child(n.path, key), "unknown key; expected one of: " + joined(allowed));
    }
    return true;
}

bool check_array(const Node& n, std::string_view of) {
    return n.v.is_array() || n.fail("expected an array of " + std::string(of) + ", got " + shown(n.v));
}

// Runs `read` on n[key]; a missing key is an error.
template <class Read>
bool required(const Node& n, const char* key, const Read& read) {
    auto it = n.v.find(key);
    if (it == n.v.end())
        return n.fail("missing required key \"" + std::string(key) + "\"");
    return read(Node{*it, child(n.path, key), n.errs});
}

// Runs `read` on n[key] if it is there (the caller's default stands otherwise).
template <class Read>
bool if_present(const Node& n, const char* key, const Read& read) {
    auto it = n.v.find(key);
    return it == n.v.end() || read(Node{*it, child(n.path, key), n.errs});
}

bool read_bool(const Node& n, bool& out) {
    if (!n.v.is_boolean())
        return n.fail("expected true or false, got " + shown(n.v));
    out = n.v.get<bool>();
    return true;
}

bool read_string(const Node& n, std::string& out) {
    if (!n.v.is_string())
        return n.fail("expected a string, got " + shown(n.v));
    out = n.v.get<std::string>();
    return true;
}

// Device and IOMMU names: they go into iommu_device_bind::name, NUL included.
bool read_name(const Node& n, std::string& out) {
    const auto ok_char = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '-';
    };
    if (n.v.is_string()) {
        const auto& s = n.v.get_ref<const std::string&>();
        if (!s.empty() && s.size() < IOMMU_DEVICE_NAME_LEN && std::all_of(s.begin(), s.end(), ok_char)) {
            out = s;
            return true;
        }
    }
    return n.fail("expected a name of 1.." + std::to_string(IOMMU_DEVICE_NAME_LEN - 1) +
                  " characters from [A-Za-z0-9_.-], got " + shown(n.v));
}

// Sizes may also be written "4K", "2M", "1G", "1T" (binary multiples).
enum class Units { kPlain, kSize };

// "0x..." (hex) or, for sizes, digits and a K/M/G/T suffix.  Returns "" or why not.
std::string number_from_text(std::string_view s, Units units, uint64_t& out) {
    int base = 10;
    unsigned shift = 0;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    } else if (units == Units::kSize && s.size() > 1 && std::string_view("KMGT").find(s.back()) != s.npos) {
        shift = 10 * (1 + static_cast<unsigned>(std::string_view("KMGT").find(s.back())));
        s.remove_suffix(1);
    } else {
        return "bad";
    }
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    if (ec == std::errc::result_out_of_range || (ec == std::errc{} && end == s.data() + s.size() &&
                                                 out > (~uint64_t{0} >> shift)))
        return "does not fit in 64 bits";
    if (ec != std::errc{} || end != s.data() + s.size())
        return "bad";
    out <<= shift;
    return "";
}

// A non-negative integer: a JSON integer or a hex string.
bool read_number(const Node& n, Units units, uint64_t& out) {
    // Parsed text makes a non-negative integer unsigned; a json built in C++
    // from an int (a control request in a test) keeps it signed.
    if (n.v.is_number_unsigned() || (n.v.is_number_integer() && n.v.get<int64_t>() >= 0)) {
        out = n.v.get<uint64_t>();
        return true;
    }
    if (n.v.is_string()) {
        const std::string why = number_from_text(n.v.get_ref<const std::string&>(), units, out);
        if (why.empty())
            return true;
        if (why != "bad")
            return n.fail(shown(n.v) + " " + why);
    }
    if (units == Units::kSize)
        return n.fail("expected a size (an integer, a hex string like \"0x1000\", or \"4K\", \"2M\", \"1G\"), got " +
                      shown(n.v));
    return n.fail("expected a non-negative integer or a hex string like \"0x1000\", got " + shown(n.v));
}

bool read_uint(const Node& n, unsigned lo, unsigned hi, unsigned& out) {
    uint64_t v = 0;
    if (!read_number(n, Units::kPlain, v))
        return false;
    if (v < lo || v > hi)
        return n.fail("expected " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + std::to_string(v));
    out = static_cast<unsigned>(v);
    return true;
}

template <class E>
struct Named {
    std::string_view name;
    E value;
};

template <class E>
bool read_enum(const Node& n, std::span<const Named<E>> names, E& out) {
    std::string expected;
    for (const Named<E>& entry : names) {
        if (n.v.is_string() && n.v.get_ref<const std::string&>() == entry.name) {
            out = entry.value;
            return true;
        }
        expected += (expected.empty() ? "" : " or ") + in_quotes(entry.name);
    }
    return n.fail("expected " + expected + ", got " + shown(n.v));
}

constexpr Named<Nesting> kNestingNames[] = {
    {"none", Nesting::kNone}, {"software", Nesting::kSoftware}, {"hardware", Nesting::kHardware}};
constexpr Named<ResvType> kResvNames[] = {
    {"reserved", ResvType::kReserved}, {"msi", ResvType::kMsi}, {"direct", ResvType::kDirect}};
constexpr Named<uint32_t> kFormatNames[] = {{"x86_64", IOMMU_PGTABLE_FORMAT_X86_64}};
constexpr Named<DeviceKind> kKindNames[] = {
    {"pci", DeviceKind::kPci}, {"mdev", DeviceKind::kMdev}, {"sw-mdev", DeviceKind::kSwMdev}};

std::string_view kind_name(DeviceKind kind) {
    for (const auto& entry : kKindNames) {
        if (entry.value == kind)
            return entry.name;
    }
    return "?";
}

// ---- IOMMU units ----

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
    if (has_last == has_size)
        return n.fail(has_last ? "give \"last\" or \"size\", not both" : "missing required key \"last\" (or \"size\")");
    if (has_last) {
        return required(n, "last", [&](const Node& f) {
            if (!read_number(f, Units::kPlain, r.last))
                return false;
            if (r.last < r.start)
                return f.fail("ends before it starts (start " + hex(r.start) + ")");
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
        return n.errs.fail(child(n.path, n.v.contains("last") ? "last" : "size"),
                           "ends at " + hex(r.last) + ", past the " + std::to_string(width) +
                               "-bit address space (last address " + hex(limit) + ")");
    }
    return required(n, "type", [&](const Node& f) { return read_enum<ResvType>(f, kResvNames, r.type); });
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
            return n.errs.fail(child(n.path, blamed), "overlaps " + child(n.path, other) + " [" +
                                                          hex(regions[other].start) + ", " +
                                                          hex(regions[other].last) + "]");
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
        if (!read_enum<uint32_t>(n.element(i), kFormatNames, format))
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
        return n.errs.fail(child(n.path, "pgtable_formats"),
                           "user page-table formats need nesting, but \"nesting\" is \"none\"");
    if (u.nesting != Nesting::kNone && u.pgtable_formats == 0)
        return n.errs.fail(child(n.path, "nesting"), "nesting needs at least one entry in \"pgtable_formats\"");
    return true;
}

bool read_iommu(const Node& n, IommuUnit& u) {
    using F = const Node&;
    u = IommuUnit{"", 0, 0, {}, Nesting::kNone, 0, false, false, 0};
    const unsigned& width = u.address_width;  // read before what depends on it
    return check_object(n, {"name", "page_sizes", "address_width", "reserved_regions", "nesting", "pasid_width",
                            "iopf", "snoop_control", "pgtable_formats"}) &&
           required(n, "name", [&](F f) { return read_name(f, u.name); }) &&
           required(n, "address_width", [&](F f) { return read_uint(f, 32, 48, u.address_width); }) &&
           required(n, "page_sizes", [&](F f) { return read_page_sizes(f, width, u.pgsize_bitmap); }) &&
           if_present(n, "reserved_regions", [&](F f) { return read_regions(f, width, u.reserved); }) &&
           if_present(n, "nesting", [&](F f) { return read_enum<Nesting>(f, kNestingNames, u.nesting); }) &&
           if_present(n, "pasid_width", [&](F f) { return read_uint(f, 0, 20, u.pasid_width); }) &&
           if_present(n, "iopf", [&](F f) { return read_bool(f, u.iopf); }) &&
           if_present(n, "snoop_control", [&](F f) { return read_bool(f, u.snoop_control); }) &&
           if_present(n, "pgtable_formats", [&](F f) { return read_formats(f, u.pgtable_formats); }) &&
           check_nesting_formats(n, u);
}

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
            return e.errs.fail(child(e.path, "name"), "duplicate name " + in_quotes(out[i].name) + " (also " +
                                                          child(n.path, it->second) + ")");
    }
    return true;
}

// ---- devices ----

// A device as written, before names are resolved to indices.
struct Draft {
    DeviceSpec spec;
    std::string iommu_name;   // PCI
    std::string parent_name;  // mdev
};

const Keys kPciKeys = {"name", "type", "bdf", "iommu", "group", "pasid", "pri"};
const Keys kMdevKeys = {"name", "type", "parent"};

bool read_bdf(const Node& n, DeviceSpec& d) {
    if (n.v.is_string()) {
        d.bdf = n.v.get<std::string>();
        if (auto rid = parse_bdf(d.bdf)) {
            d.rid = *rid;
            return true;
        }
    }
    return n.fail("expected \"BB:DD.F\" (hex), got " + shown(n.v));
}

bool read_pci(const Node& n, Draft& d) {
    return required(n, "bdf", [&](const Node& f) { return read_bdf(f, d.spec); }) &&
           required(n, "iommu", [&](const Node& f) { return read_string(f, d.iommu_name); }) &&
           required(n, "group", [&](const Node& f) { return read_uint(f, 0, kMaxGroup, d.spec.group); }) &&
           if_present(n, "pasid", [&](const Node& f) { return read_bool(f, d.spec.pasid); }) &&
           if_present(n, "pri", [&](const Node& f) { return read_bool(f, d.spec.pri); });
}

// The type decides which keys are allowed, so it is read first.
bool read_device(const Node& n, Draft& d) {
    DeviceSpec& s = d.spec;
    s = DeviceSpec{"", DeviceKind::kPci, "", 0, kNoIndex, 0, kNoIndex, false, false};
    if (!n.v.is_object())
        return n.fail("expected an object, got " + shown(n.v));
    if (!required(n, "type", [&](const Node& f) { return read_enum<DeviceKind>(f, kKindNames, s.kind); }))
        return false;
    const bool pci = s.kind == DeviceKind::kPci;
    for (const auto& [key, value] : n.v.items()) {
        if (!pci && contains(kPciKeys, key) && !contains(kMdevKeys, key))
            return n.errs.fail(child(n.path, key), "not allowed for type " + in_quotes(kind_name(s.kind)) +
                                                       ": an mdev has only \"name\", \"type\" and \"parent\" "
                                                       "(the rest comes from the parent)");
    }
    if (!check_object(n, pci ? kPciKeys : kMdevKeys) ||
        !required(n, "name", [&](const Node& f) { return read_name(f, s.name); }))
        return false;
    if (pci)
        return read_pci(n, d);
    return required(n, "parent", [&](const Node& f) { return read_string(f, d.parent_name); });
}

std::string device_path(size_t i, std::string_view key) {
    return child(child("/devices", i), key);
}

// path: the device's "iommu" key.
bool resolve_iommu(const std::vector<IommuUnit>& iommus, const std::string& path, Draft& d, Errors& errs) {
    for (size_t k = 0; k < iommus.size(); ++k) {
        if (iommus[k].name == d.iommu_name) {
            d.spec.iommu = static_cast<unsigned>(k);
            return true;
        }
    }
    return errs.fail(path, "no IOMMU named " + in_quotes(d.iommu_name));
}

// A group is isolated as a whole, by one IOMMU: all its devices sit behind it.
bool check_groups(const Topology& topo, Errors& errs) {
    std::map<unsigned, size_t> first;  // group -> first device in it
    for (size_t i = 0; i < topo.devices.size(); ++i) {
        const DeviceSpec& d = topo.devices[i];
        if (d.kind != DeviceKind::kPci)
            continue;
        const auto [it, fresh] = first.emplace(d.group, i);
        const DeviceSpec& other = topo.devices[it->second];
        if (!fresh && other.iommu != d.iommu)
            return errs.fail(device_path(i, "group"),
                             "group " + std::to_string(d.group) + " holds " + in_quotes(other.name) + " behind " +
                                 in_quotes(topo.iommus[other.iommu].name) + ", but this device is behind " +
                                 in_quotes(topo.iommus[d.iommu].name) + " (a group sits behind one IOMMU)");
    }
    return true;
}

// An mdev's parent is a PCI device; an IOMMU-backed one needs a defPASID,
// so its parent and the parent's IOMMU must both support PASIDs.
// path: m's "parent" key.
bool resolve_parent(const Topology& topo, DeviceSpec& m, const std::string& parent_name, const std::string& path,
                    Errors& errs) {
    const DeviceSpec* p = topo.find_device(parent_name);
    if (!p)
        return errs.fail(path, "no device named " + in_quotes(parent_name));
    if (p->kind != DeviceKind::kPci)
        return errs.fail(path, in_quotes(p->name) + " is of type " + in_quotes(kind_name(p->kind)) +
                                   "; a parent must be of type \"pci\"");
    if (m.kind == DeviceKind::kMdev) {
        const IommuUnit& u = topo.iommus[p->iommu];
        if (u.pasid_width == 0)
            return errs.fail(path, "parent " + in_quotes(p->name) + " sits behind " + in_quotes(u.name) +
                                       ", which has no PASID support (pasid_width 0); an IOMMU-backed mdev "
                                       "needs a defPASID");
        if (!p->pasid)
            return errs.fail(path, "parent " + in_quotes(p->name) + " is not PASID-capable; an IOMMU-backed mdev "
                                       "needs a defPASID");
        m.iommu = p->iommu;
        m.pri = p->pri;
    }
    m.rid = p->rid;
    m.parent = topo.index_of(*p);
    return true;
}

// Reads every device as written; names and BDFs must be unique, and a PCI
// device's IOMMU must exist.
bool read_drafts(const Node& n, const std::vector<IommuUnit>& iommus, std::vector<Draft>& drafts) {
    std::map<std::string, size_t> names;
    std::map<uint16_t, size_t> rids;  // "0a:00.0" and "0A:00.0" are one device
    for (size_t i = 0; i < drafts.size(); ++i) {
        const Node e = n.element(i);
        if (!read_device(e, drafts[i]))
            return false;
        const DeviceSpec& s = drafts[i].spec;
        if (auto [it, fresh] = names.emplace(s.name, i); !fresh)
            return n.errs.fail(child(e.path, "name"), "duplicate name " + in_quotes(s.name) + " (also " +
                                                          child(n.path, it->second) + ")");
        if (s.kind != DeviceKind::kPci)
            continue;
        if (auto [it, fresh] = rids.emplace(s.rid, i); !fresh)
            return n.errs.fail(child(e.path, "bdf"), in_quotes(s.bdf) + " is also the BDF of " +
                                                         in_quotes(drafts[it->second].spec.name) + " (" +
                                                         child(n.path, it->second) + ")");
        if (!resolve_iommu(iommus, device_path(i, "iommu"), drafts[i], n.errs))
            return false;
    }
    return true;
}

bool read_devices(const Node& n, Topology& topo) {
    if (!check_array(n, "devices"))
        return false;
    std::vector<Draft> drafts(n.v.size());
    if (!read_drafts(n, topo.iommus, drafts))
        return false;
    for (const Draft& d : drafts)
        topo.devices.push_back(d.spec);
    if (!check_groups(topo, n.errs))
        return false;
    // Every mdev gets a group of its own, numbered after the PCI groups.
    unsigned next_group = 0;
    for (const DeviceSpec& d : topo.devices) {
        if (d.kind == DeviceKind::kPci)
            next_group = std::max(next_group, d.group + 1);
    }
    for (size_t i = 0; i < drafts.size(); ++i) {
        if (topo.devices[i].kind == DeviceKind::kPci)
            continue;
        if (!resolve_parent(topo, topo.devices[i], drafts[i].parent_name, device_path(i, "parent"), n.errs))
            return false;
        topo.devices[i].group = next_group++;
    }
    return true;
}

// ---- one device added at run time ----

// A PCI device joining topo: its BDF is free, its IOMMU exists, and its
// group is new or one of that IOMMU's -- and no mdev's, since every mdev's
// group is its own.
bool check_new_pci(const Topology& topo, const std::string& path, Draft& d, Errors& errs) {
    const DeviceSpec& s = d.spec;
    for (const DeviceSpec& other : topo.devices) {
        if (other.present && other.kind == DeviceKind::kPci && other.rid == s.rid)
            return errs.fail(child(path, "bdf"), in_quotes(s.bdf) + " is also the BDF of " + in_quotes(other.name));
    }
    if (!resolve_iommu(topo.iommus, child(path, "iommu"), d, errs))
        return false;
    for (const DeviceSpec& other : topo.devices) {
        if (!other.present || other.group != s.group)
            continue;
        const std::string group = "group " + std::to_string(s.group);
        if (other.kind != DeviceKind::kPci)
            return errs.fail(child(path, "group"), group + " is the group of mdev " + in_quotes(other.name) +
                                                       " (every mdev has a group of its own)");
        if (other.iommu != s.iommu)
            return errs.fail(child(path, "group"), group + " holds " + in_quotes(other.name) + " behind " +
                                                       in_quotes(topo.iommus[other.iommu].name) +
                                                       ", but this device is behind " +
                                                       in_quotes(topo.iommus[s.iommu].name) +
                                                       " (a group sits behind one IOMMU)");
    }
    return true;
}

// One past every group used so far, present or not: never a group anyone
// has held.
unsigned next_mdev_group(const Topology& topo) {
    unsigned next = 0;
    for (const DeviceSpec& d : topo.devices)
        next = std::max(next, d.group + 1);
    return next;
}

bool check_new_device(const Topology& topo, const std::string& path, Draft& d, Errors& errs) {
    if (topo.find_device(d.spec.name))
        return errs.fail(child(path, "name"), "a device named " + in_quotes(d.spec.name) + " is present already");
    if (d.spec.kind == DeviceKind::kPci)
        return check_new_pci(topo, path, d, errs);
    if (!resolve_parent(topo, d.spec, d.parent_name, child(path, "parent"), errs))
        return false;
    d.spec.group = next_mdev_group(topo);
    return true;
}

bool read_topology(const Node& root, Topology& topo) {
    return check_object(root, {"iommus", "devices"}) &&
           required(root, "iommus", [&](const Node& f) { return read_iommus(f, topo.iommus); }) &&
           required(root, "devices", [&](const Node& f) { return read_devices(f, topo); });
}

// ---- JSON text ----

// nlohmann::json keeps the last of duplicate keys silently; a topology file
// with two "iommu" keys in one device is a mistake, so the parse callback
// follows the document's structure to report the first duplicate by path.
class DuplicateKeys {
public:
    bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
        switch (event) {
        case json::parse_event_t::object_start:
        case json::parse_event_t::array_start:
            stack_.push_back({event == json::parse_event_t::array_start, 0, "", {}});
            break;
        case json::parse_event_t::object_end:
        case json::parse_event_t::array_end:
            stack_.pop_back();
            element_done();
            break;
        case json::parse_event_t::key:
            on_key(parsed.get<std::string>());
            break;
        case json::parse_event_t::value:
            element_done();
            break;
        }
        return true;
    }
    const std::optional<std::string>& first() const { return first_; }
    // The path of the value being read now (where a parse error is).
    std::string current_path() const {
        std::string path;
        for (const Frame& f : stack_)
            path = f.array ? child(path, f.index) : child(path, f.key);
        return path;
    }

private:
    struct Frame {
        bool array;
        size_t index;          // array: the element being read
        std::string key;       // object: the key being read
        std::set<std::string> keys;
    };
    void element_done() {
        if (!stack_.empty() && stack_.back().array)
            ++stack_.back().index;
    }
    void on_key(std::string key) {
        Frame& top = stack_.back();
        top.key = std::move(key);
        if (!top.keys.insert(top.key).second && !first_)
            first_ = current_path();
    }
    std::vector<Frame> stack_;
    std::optional<std::string> first_;
};

bool parse_json(std::string_view text, json& doc, Errors& errs) {
    DuplicateKeys dups;
    try {
        doc = json::parse(text.begin(), text.end(), std::ref(dups), /*allow_exceptions=*/true,
                          /*ignore_comments=*/true);
    } catch (const json::parse_error& e) {
        // "[json.exception.parse_error.101] parse error at line 3, ..." -> "parse error at line 3, ..."
        std::string what = e.what();
        const size_t close = what.find("] ");
        return errs.fail("", close == what.npos ? what : what.substr(close + 2));
    } catch (const json::out_of_range&) {
        // The one out_of_range the parser throws: a number too large for a
        // double ("1e999"), at the value being read.
        return errs.fail(dups.current_path(), "number out of range");
    }
    if (dups.first())
        return errs.fail(*dups.first(), "duplicate key");
    return true;
}

}  // namespace

std::variant<Topology, TopologyError> parse_topology(std::string_view json_text) {
    Errors errs;
    Topology topo;
    try {
        json doc;
        if (parse_json(json_text, doc, errs) && read_topology(Node{doc, "", errs}, topo))
            return topo;
    } catch (const std::exception& e) {
        errs.fail("", std::string("internal error: ") + e.what());
    }
    return errs.first.value_or(TopologyError{"", "internal error"});
}

std::variant<DeviceSpec, TopologyError> parse_device(const Topology& topo, const json& device,
                                                     const std::string& path) {
    Errors errs;
    Draft draft;
    try {
        if (read_device(Node{device, path, errs}, draft) && check_new_device(topo, path, draft, errs))
            return draft.spec;
    } catch (const std::exception& e) {
        errs.fail(path, std::string("internal error: ") + e.what());
    }
    return errs.first.value_or(TopologyError{path, "internal error"});
}

std::variant<Topology, TopologyError> load_topology_file(const std::string& path) {
    const auto os_error = [&](int err) {
        return TopologyError{"", path + ": " + std::generic_category().message(err)};
    };
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return os_error(errno);
    std::string text;
    char buf[8192];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            return os_error(err);
        }
        if (n == 0)
            break;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > kMaxFileBytes) {
            ::close(fd);
            return TopologyError{"", path + ": larger than " + std::to_string(kMaxFileBytes) + " bytes"};
        }
    }
    ::close(fd);
    return parse_topology(text);
}

std::string describe(const TopologyError& e) {
    return e.path.empty() ? "topology: " + e.message : "topology: " + e.path + ": " + e.message;
}

const DeviceSpec* Topology::find_device(std::string_view name) const {
    for (const DeviceSpec& d : devices) {
        if (d.present && d.name == name)
            return &d;
    }
    return nullptr;
}

unsigned Topology::index_of(const DeviceSpec& dev) const {
    for (size_t i = 0; i < devices.size(); ++i) {
        if (&devices[i] == &dev)
            return static_cast<unsigned>(i);
    }
    return kNoIndex;
}

std::optional<uint16_t> parse_bdf(std::string_view bdf) {
    const auto hex_digit = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    if (bdf.size() != 7 || bdf[2] != ':' || bdf[5] != '.')
        return std::nullopt;
    const int digits[] = {hex_digit(bdf[0]), hex_digit(bdf[1]), hex_digit(bdf[3]), hex_digit(bdf[4]),
                          hex_digit(bdf[6])};
    if (std::find(std::begin(digits), std::end(digits), -1) != std::end(digits))
        return std::nullopt;
    const int bus = digits[0] << 4 | digits[1], dev = digits[2] << 4 | digits[3], fn = digits[4];
    if (dev > 0x1f || fn > 7)
        return std::nullopt;
    return static_cast<uint16_t>(bus << 8 | dev << 3 | fn);
}

const IommuUnit* iommu_of(const Topology& topo, const DeviceSpec& dev) {
    if (dev.kind == DeviceKind::kSwMdev || dev.iommu >= topo.iommus.size())
        return nullptr;
    return &topo.iommus[dev.iommu];
}

uint64_t aperture_last(const IommuUnit& iommu) {
    return iommu.address_width >= 64 ? ~uint64_t{0} : (uint64_t{1} << iommu.address_width) - 1;
}

std::vector<IovaRange> usable_iova_ranges(const IommuUnit& iommu) {
    std::vector<IovaRange> ranges;
    const uint64_t last = aperture_last(iommu);
    uint64_t next = 0;  // first address not yet covered
    bool done = false;  // the regions reached the end of the aperture
    for (const ReservedRegion& r : iommu.reserved) {
        if (r.start > next)
            ranges.push_back({next, r.start - 1});
        if (r.last >= last) {
            done = true;
            break;
        }
        next = std::max(next, r.last + 1);
    }
    if (!done)
        ranges.push_back({next, last});
    return ranges;
}

}  // namespace ciommu
