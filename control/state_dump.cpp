#include "state_dump.h"

#include <bit>
#include <utility>

#include "../devices/bound_device.h"
#include "../devices/device_info.h"
#include "../core/model.h"
#include "../toolkit/uapi_names.h"
#include "control_names.h"
#include "safe_json.h"
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
    json page_sizes = json::array(), formats = json::array(), regions = json::array();
    JsonScope scope(page_sizes, formats, regions);
    for (uint64_t bits = unit.pgsize_bitmap; bits; bits &= bits - 1)
        page_sizes.push_back(uint64_t{1} << std::countr_zero(bits));
    if (unit.pgtable_formats & (1u << IOMMU_PGTABLE_FORMAT_X86_64))
        formats.push_back(text_name(kPgtableFormats, IOMMU_PGTABLE_FORMAT_X86_64));
    for (const ReservedRegion& r : unit.reserved)
        push_json(regions, json_object("start", r.start, "last", r.last, "type",
                                            text_name(kResvRegionTypes, static_cast<uint32_t>(r.type))));
    return json_object("name", unit.name, "address_width", unit.address_width, "page_sizes", std::move(page_sizes),
                       "pasid_width", unit.pasid_width, "iopf", unit.iopf, "nesting",
                       kNestingNames[static_cast<unsigned>(unit.nesting)], "snoop_control", unit.snoop_control,
                       "pgtable_formats", std::move(formats), "reserved_regions", std::move(regions));
}

json mappings_json(const IoAddressSpace& space, bool* truncated) {
    json list = json::array();
    JsonScope scope(list);
    space.for_each_mapping([&](const IoAddressSpace::MappingInfo& m) {
        if (list.size() == kDumpMappingsMax) {
            *truncated = true;
            return false;
        }
        json prot = prot_json(m.prot);  // (a document argument is built first, so no other can fail after it)
        push_json(list, json_object("iova", m.iova, "size", m.size, "vaddr", m.vaddr, "pid",
                                   m.owner ? m.owner->pid() : 0, "prot", std::move(prot)));
        return true;
    });
    return std::exchange(list, nullptr);
}

json ioasid_json(uint32_t id, const IoAddressSpace& space) {
    static constexpr const char* kKinds[] = {"kernel", "user", "identity"};
    const bool user = space.kind() == IoasKind::kUserPgtable;
    bool truncated = false;
    json mappings = mappings_json(space, &truncated);
    JsonScope scope(mappings);
    json out = json_object("id", id, "kind", kKinds[static_cast<unsigned>(space.kind())], "parent",
                           or_null(user, space.parent_id), "user_pgd", or_null(user, space.user_pgd),
                           "pgtable_format", user ? json(text_name(kPgtableFormats, space.pgtable_format)) : json(nullptr), "enforce_snoop",
                           space.enforce_snoop, "dirty_tracking", space.dirty_tracking(), "attachments", space.attachments, "children", space.children,
                           "mapping_count", space.mapping_count(), "mapped_bytes", space.mapped_bytes());
    JsonScope out_scope(out);
    if (truncated)
        out["mappings_truncated"] = true;
    set_json(out, "mappings", std::move(mappings));
    return std::exchange(out, nullptr);
}

json bound_json(const Model& model, const BoundDevice& dev) {
    json attachments = json::array(), groups = json::array();
    JsonScope scope(attachments, groups);
    for (const auto& [key, a] : dev.attachments)
        push_json(attachments, json_object("pasid", pasid_json(key), "ioasid", a.ioasid));
    for (const auto& [grpid, g] : dev.page_requests)
        push_json(groups, json_object("grpid", grpid, "pasid", pasid_json(g.attachment_key), "dma_id",
                                     or_null(g.dma_id != 0, g.dma_id)));
    return json_object("cookie", dev.cookie, "name", dev.spec->name, "physical",
                       model.topology().devices[dev.physical].name, "def_pasid", pasid_json(dev.def_pasid),
                       "fault_consumer", dev.fault_consumer, "page_requests_stopped", dev.page_requests_stopped,
                       "attachments", std::move(attachments), "pending_groups", std::move(groups));
}

json dma_json(const Model& model, uint64_t id, const DmaJob& job) {
    const auto& devices = model.topology().devices;
    return json_object("id", id, "cookie", job.cookie, "device",
                       job.device < devices.size() ? json(devices[job.device].name) : json(nullptr), "control",
                       from_daemon(job), "write", job.req.write, "status", text_name(kDmaStatuses, job.status),
                       "bytes_done", job.done, "length", job.req.length);
}

json context_json(const Model& model, const Context& ctx) {
    json ioasids = json::array(), devices = json::array(), dmas = json::array();
    JsonScope scope(ioasids, devices, dmas);
    ctx.ioasids.for_each([&](uint32_t id, const IoAddressSpace& space) { push_json(ioasids, ioasid_json(id, space)); });
    for (const auto& [cookie, dev] : ctx.devices)
        push_json(devices, bound_json(model, *dev));
    for (const auto& [id, job] : ctx.dmas)
        push_json(dmas, dma_json(model, id, job));
    json region = fault_region_json(ctx.faults);
    JsonScope region_scope(region);
    return json_object("id", ctx.id, "pid", ctx.opener, "ioasids", std::move(ioasids), "devices",
                       std::move(devices), "fault_region", std::move(region), "dmas", std::move(dmas),
                       "iotlb_hits", ctx.iotlb_hits, "iotlb_misses", ctx.iotlb_misses);
}

}  // namespace

json page_requests_json(Model& model, unsigned index) {
    const Topology& topo = model.topology();
    if (!(device_info_flags(topo, topo.devices[index]) & IOMMU_DEVICE_INFO_PRI))
        return nullptr;  // no page requests, no credits
    const BoundDevice* bound = model.devices().bound(index);
    if (!bound)
        return json_object("max", model.devices().page_request_limit(index), "outstanding", nullptr, "held_dmas",
                           nullptr);
    return json_object("max", bound->max_page_requests, "outstanding", bound->page_requests.size(), "held_dmas",
                       bound->held_dmas);
}

json device_json(Model& model, unsigned index) {
    const Topology& topo = model.topology();
    const DeviceSpec& d = topo.devices[index];
    const bool pci = d.kind == DeviceKind::kPci;
    const IommuUnit* unit = iommu_of(topo, d);
    const BoundDevice* bound = model.devices().bound(index);
    json requests = page_requests_json(model, index);
    JsonScope scope(requests);
    return json_object("name", d.name, "type", device_kind_name(d.kind), "bdf", pci ? json(d.bdf) : json(nullptr),
                       "rid", or_null(d.kind != DeviceKind::kSwMdev, d.rid), "iommu",
                       unit ? json(unit->name) : json(nullptr), "group", d.group, "parent",
                       pci ? json(nullptr) : json(topo.devices[d.parent].name), "pasid", d.pasid, "pri", d.pri,
                       "page_requests", std::move(requests), "bound_by", bound ? json(bound->ctx->id) : json(nullptr));
}

json fault_region_json(const FaultRegion& region) {
    return json_object("depth", region.depth(), "timeout_ms", region.timeout_ms, "pending", region.pending(), "lost",
                       region.lost, "delivered", region.delivered, "unreported", region.unreported,
                       "iopf_resolved", region.iopf_resolved, "timeouts", region.timeouts);
}

json dump_state(Model& model) {
    const Topology& topo = model.topology();
    json iommus = json::array(), devices = json::array(), contexts = json::array(), accounting = json::array();
    JsonScope scope(iommus, devices, contexts, accounting);  // (and each builder's own locals)
    for (const IommuUnit& unit : topo.iommus)
        push_json(iommus, iommu_json(unit));
    for (unsigned i = 0; i < topo.devices.size(); ++i) {
        if (topo.devices[i].present)
            push_json(devices, device_json(model, i));
    }
    model.for_each_context([&](const Context& ctx) { push_json(contexts, context_json(model, ctx)); });
    model.ledger().for_each_process(
        [&](pid_t pid, uint64_t pages) { push_json(accounting, json_object("pid", pid, "locked_pages", pages)); });
    json counters = json_object("contexts", model.context_count(), "routes", model.routes().size(), "iotlb_entries",
                                model.iotlb().size(), "locked_pages", model.ledger().total_locked_pages());
    JsonScope counters_scope(counters);
    return json_object("iommus", std::move(iommus), "devices", std::move(devices), "contexts", std::move(contexts),
                       "accounting", std::move(accounting), "counters", std::move(counters));
}

}  // namespace ciommu
