// The topology reader's "devices": PCI functions (BDF, IOMMU, group,
// PASID, PRI) and mdevs (a parent), resolved and cross-checked -- names and
// BDFs unique, a group behind one IOMMU, an mdev's parent a PCI device that
// can give it a defPASID, every mdev a group of its own.  parse_device()
// applies the same rules to one device added at run time.
#include "topology_reader.h"

#include <algorithm>
#include <map>
#include <new>

#include "../toolkit/hex_text.h"

namespace ciommu {
namespace topology_reader {
namespace {

constexpr unsigned kMaxGroup = 0x7fffffff;  // Linux group ids are ints

constexpr Named<DeviceKind> kKindNames[] = {
    {"pci", DeviceKind::kPci}, {"mdev", DeviceKind::kMdev}, {"sw-mdev", DeviceKind::kSwMdev}};

std::string_view kind_name(DeviceKind kind) {
    for (const auto& entry : kKindNames) {
        if (entry.value == kind)
            return entry.name;
    }
    return "?";
}

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
            return n.errs.fail(json_pointer_child(n.path, key), "not allowed for type " + json_quoted(kind_name(s.kind)) +
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
    return json_pointer_child(json_pointer_child("/devices", i), key);
}

// path: the device's "iommu" key.
bool resolve_iommu(const std::vector<IommuUnit>& iommus, const std::string& path, Draft& d, Errors& errs) {
    for (size_t k = 0; k < iommus.size(); ++k) {
        if (iommus[k].name == d.iommu_name) {
            d.spec.iommu = static_cast<unsigned>(k);
            return true;
        }
    }
    return errs.fail(path, "no IOMMU named " + json_quoted(d.iommu_name));
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
                             "group " + std::to_string(d.group) + " holds " + json_quoted(other.name) + " behind " +
                                 json_quoted(topo.iommus[other.iommu].name) + ", but this device is behind " +
                                 json_quoted(topo.iommus[d.iommu].name) + " (a group sits behind one IOMMU)");
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
        return errs.fail(path, "no device named " + json_quoted(parent_name));
    if (p->kind != DeviceKind::kPci)
        return errs.fail(path, json_quoted(p->name) + " is of type " + json_quoted(kind_name(p->kind)) +
                                   "; a parent must be of type \"pci\"");
    if (m.kind == DeviceKind::kMdev) {
        const IommuUnit& u = topo.iommus[p->iommu];
        if (u.pasid_width == 0)
            return errs.fail(path, "parent " + json_quoted(p->name) + " sits behind " + json_quoted(u.name) +
                                       ", which has no PASID support (pasid_width 0); an IOMMU-backed mdev "
                                       "needs a defPASID");
        if (!p->pasid)
            return errs.fail(path, "parent " + json_quoted(p->name) + " is not PASID-capable; an IOMMU-backed mdev "
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
            return n.errs.fail(json_pointer_child(e.path, "name"), "duplicate name " + json_quoted(s.name) + " (also " +
                                                          json_pointer_child(n.path, it->second) + ")");
        if (s.kind != DeviceKind::kPci)
            continue;
        if (auto [it, fresh] = rids.emplace(s.rid, i); !fresh)
            return n.errs.fail(json_pointer_child(e.path, "bdf"), json_quoted(s.bdf) + " is also the BDF of " +
                                                         json_quoted(drafts[it->second].spec.name) + " (" +
                                                         json_pointer_child(n.path, it->second) + ")");
        if (!resolve_iommu(iommus, device_path(i, "iommu"), drafts[i], n.errs))
            return false;
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
            return errs.fail(json_pointer_child(path, "bdf"), json_quoted(s.bdf) + " is also the BDF of " + json_quoted(other.name));
    }
    if (!resolve_iommu(topo.iommus, json_pointer_child(path, "iommu"), d, errs))
        return false;
    for (const DeviceSpec& other : topo.devices) {
        if (!other.present || other.group != s.group)
            continue;
        const std::string group = "group " + std::to_string(s.group);
        if (other.kind != DeviceKind::kPci)
            return errs.fail(json_pointer_child(path, "group"), group + " is the group of mdev " + json_quoted(other.name) +
                                                       " (every mdev has a group of its own)");
        if (other.iommu != s.iommu)
            return errs.fail(json_pointer_child(path, "group"), group + " holds " + json_quoted(other.name) + " behind " +
                                                       json_quoted(topo.iommus[other.iommu].name) +
                                                       ", but this device is behind " +
                                                       json_quoted(topo.iommus[s.iommu].name) +
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
        return errs.fail(json_pointer_child(path, "name"), "a device named " + json_quoted(d.spec.name) + " is present already");
    if (d.spec.kind == DeviceKind::kPci)
        return check_new_pci(topo, path, d, errs);
    if (!resolve_parent(topo, d.spec, d.parent_name, json_pointer_child(path, "parent"), errs))
        return false;
    d.spec.group = next_mdev_group(topo);
    return true;
}

}  // namespace

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

}  // namespace topology_reader

using namespace topology_reader;

std::variant<DeviceSpec, TopologyError> parse_device(const Topology& topo, const json& device,
                                                     const std::string& path) {
    Errors errs;
    Draft draft;
    try {
        if (read_device(Node{device, path, errs}, draft) && check_new_device(topo, path, draft, errs))
            return draft.spec;
    } catch (const std::bad_alloc&) {
        throw;  // out of memory is not a fault of the request: the caller answers it so
    } catch (const std::exception& e) {
        errs.fail(path, std::string("internal error: ") + e.what());
    }
    return errs.first.value_or(TopologyError{path, "internal error"});
}

}  // namespace ciommu
