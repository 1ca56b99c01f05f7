#include "state_dump.h"

#include <bit>

#include "../devices/bound_device.h"
#include "../devices/device_info.h"
#include "../dispatcher/model.h"
#include "control_names.h"
#include "cuse-iommu.h"

namespace ciommu {
namespace {

using nlohmann::json;

// A value the model keeps as a sentinel ("none") becomes null.
template <typename T> json or_null(bool present, T value) {
    return present ? json(value) : json(nullptr);
}

json pasid_json(uint32_t key) { return or_null(key != kNoPasid, key); }

json iommu_json(const IommuUnit& unit) {
    static constexpr const char* kNesting[] = {"none", "software", "hardware"};
    static constexpr const char* kResv[] = {"reserved", "msi", "direct"};
    json page_sizes = json::array();
    for (uint64_t bits = unit.pgsize_bitmap; bits; bits &= bits - 1)
        page_sizes.push_back(uint64_t{1} << std::countr_zero(bits));
    json formats = json::array();
    if (unit.pgtable_formats & (1u << IOMMU_PGTABLE_FORMAT_X86_64))
        formats.push_back("x86_64");
    json regions = json::array();
    for (const ReservedRegion& r : unit.reserved)
        regions.push_back({{"start", r.start}, {"last", r.last}, {"type", kResv[static_cast<unsigned>(r.type)]}});
    return {{"name", unit.name},
            {"address_width", unit.address_width},
            {"page_sizes", page_sizes},
            {"pasid_width", unit.pasid_width},
            {"iopf", unit.iopf},
            {"nesting", kNesting[static_cast<unsigned>(unit.nesting)]},
            {"snoop_control", unit.snoop_control},
            {"pgtable_formats", formats},
            {"reserved_regions", regions}};
}

json mappings_json(const IoAddressSpace& space, json& ioasid) {
    json list = json::array();
    space.for_each_mapping([&](const IoAddressSpace::MappingInfo& m) {
        if (list.size() == kDumpMappingsMax) {
            ioasid["mappings_truncated"] = true;
            return false;
        }
        list.push_back({{"iova", m.iova}, {"size", m.size}, {"vaddr", m.vaddr}, {"pid", m.owner ? m.owner->pid() : 0},
                        {"prot", prot_json(m.prot)}});
        return true;
    });
    return list;
}

json ioasid_json(uint32_t id, const IoAddressSpace& space) {
    static constexpr const char* kKinds[] = {"kernel", "user", "identity"};
    const bool user = space.kind() == IoasKind::kUserPgtable;
    json out = {{"id", id},
                {"kind", kKinds[static_cast<unsigned>(space.kind())]},
                {"parent", or_null(user, space.parent_id)},
                {"user_pgd", or_null(user, space.user_pgd)},
                {"pgtable_format", user ? json("x86_64") : json(nullptr)},
                {"enforce_snoop", space.enforce_snoop},
                {"attachments", space.attachments},
                {"children", space.children},
                {"mapping_count", space.mapping_count()},
                {"mapped_bytes", space.mapped_bytes()}};
    out["mappings"] = mappings_json(space, out);
    return out;
}

json bound_json(const Model& model, const BoundDevice& dev) {
    json attachments = json::array();
    for (const auto& [key, a] : dev.attachments)
        attachments.push_back({{"pasid", pasid_json(key)}, {"ioasid", a.ioasid}});
    json groups = json::array();
    for (const auto& [grpid, g] : dev.page_requests)
        groups.push_back({{"grpid", grpid}, {"pasid", pasid_json(g.attachment_key)},
                          {"dma_id", or_null(g.dma_id != 0, g.dma_id)}});
    return {{"cookie", dev.cookie},
            {"name", dev.spec->name},
            {"physical", model.topology().devices[dev.physical].name},
            {"def_pasid", pasid_json(dev.def_pasid)},
            {"fault_consumer", dev.fault_consumer},
            {"page_requests_stopped", dev.page_requests_stopped},
            {"attachments", attachments},
            {"pending_groups", groups}};
}

json dma_json(const Model& model, uint64_t id, const DmaJob& job) {
    const auto& devices = model.topology().devices;
    return {{"id", id},
            {"cookie", job.cookie},
            {"device", job.device < devices.size() ? json(devices[job.device].name) : json(nullptr)},
            {"control", from_daemon(job)},
            {"write", job.req.write},
            {"status", dma_status_name(job.status)},
            {"bytes_done", job.done},
            {"length", job.req.length}};
}

json context_json(const Model& model, const Context& ctx) {
    json ioasids = json::array();
    ctx.ioasids.for_each([&](uint32_t id, const IoAddressSpace& space) { ioasids.push_back(ioasid_json(id, space)); });
    json devices = json::array();
    for (const auto& [cookie, dev] : ctx.devices)
        devices.push_back(bound_json(model, *dev));
    json dmas = json::array();
    for (const auto& [id, job] : ctx.dmas)
        dmas.push_back(dma_json(model, id, job));
    return {{"id", ctx.id},
            {"pid", ctx.opener},
            {"ioasids", ioasids},
            {"devices", devices},
            {"fault_region", fault_region_json(ctx.faults)},
            {"dmas", dmas},
            {"iotlb_hits", ctx.iotlb_hits},
            {"iotlb_misses", ctx.iotlb_misses}};
}

}  // namespace

json page_requests_json(Model& model, unsigned index) {
    const Topology& topo = model.topology();
    if (!(device_info_flags(topo, topo.devices[index]) & IOMMU_DEVICE_INFO_PRI))
        return nullptr;  // no page requests, no credits
    const BoundDevice* bound = model.devices().bound(index);
    if (!bound)
        return {{"max", model.devices().page_request_limit(index)}, {"outstanding", nullptr}, {"held_dmas", nullptr}};
    return {{"max", bound->max_page_requests},
            {"outstanding", bound->page_requests.size()},
            {"held_dmas", bound->held_dmas}};
}

json device_json(Model& model, unsigned index) {
    const Topology& topo = model.topology();
    const DeviceSpec& d = topo.devices[index];
    const bool pci = d.kind == DeviceKind::kPci;
    const IommuUnit* unit = iommu_of(topo, d);
    const BoundDevice* bound = model.devices().bound(index);
    return {{"name", d.name},
            {"type", device_kind_name(d.kind)},
            {"bdf", pci ? json(d.bdf) : json(nullptr)},
            {"rid", or_null(d.kind != DeviceKind::kSwMdev, d.rid)},
            {"iommu", unit ? json(unit->name) : json(nullptr)},
            {"group", d.group},
            {"parent", pci ? json(nullptr) : json(topo.devices[d.parent].name)},
            {"pasid", d.pasid},
            {"pri", d.pri},
            {"page_requests", page_requests_json(model, index)},
            {"bound_by", bound ? json(bound->ctx->id) : json(nullptr)}};
}

json fault_region_json(const FaultRegion& region) {
    return {{"depth", region.depth()},          {"timeout_ms", region.timeout_ms},
            {"pending", region.pending()},      {"lost", region.lost},
            {"delivered", region.delivered},    {"unreported", region.unreported},
            {"iopf_resolved", region.iopf_resolved}, {"timeouts", region.timeouts}};
}

json dump_state(Model& model) {
    const Topology& topo = model.topology();
    json iommus = json::array();
    for (const IommuUnit& unit : topo.iommus)
        iommus.push_back(iommu_json(unit));
    json devices = json::array();
    for (unsigned i = 0; i < topo.devices.size(); ++i) {
        if (topo.devices[i].present)
            devices.push_back(device_json(model, i));
    }
    json contexts = json::array();
    model.for_each_context([&](const Context& ctx) { contexts.push_back(context_json(model, ctx)); });
    json accounting = json::array();
    model.ledger().for_each_process(
        [&](pid_t pid, uint64_t pages) { accounting.push_back({{"pid", pid}, {"locked_pages", pages}}); });
    return {{"iommus", iommus},
            {"devices", devices},
            {"contexts", contexts},
            {"accounting", accounting},
            {"counters", {{"contexts", model.context_count()},
                          {"routes", model.routes().size()},
                          {"iotlb_entries", model.iotlb().size()},
                          {"locked_pages", model.ledger().total_locked_pages()}}}};
}

}  // namespace ciommu
