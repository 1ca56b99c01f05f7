#include "model_check.h"

#include <map>
#include <set>
#include <string>
#include <utility>

#include "../devices/device_ops.h"
#include "../devices/stalled_dma.h"
#include "../iommufd/access.h"
#include "../iommufd/device.h"
#include "../iommufd/fault_queue.h"
#include "../iommufd/hw_pagetable.h"
#include "../iommufd/ioas.h"
#include "model.h"

namespace ciommu {
namespace {

using Problems = std::vector<std::string>;

std::string ctx_name(const Context& ctx) { return "context " + std::to_string(ctx.id); }
std::string dev_name(const BoundDevice& dev) {
    return ctx_name(*dev.ctx) + " device " + dev.spec->name + " (cookie " + std::to_string(dev.cookie) + ")";
}

// The device table and the contexts' bound devices name each other.
void check_devices(Model& model, Problems& out) {
    const Topology& topo = model.topology();
    DeviceTable& table = model.devices();
    std::map<unsigned, std::pair<const Context*, unsigned>> groups;  // group -> owner, devices
    std::map<unsigned, unsigned> mdevs;                              // parent -> bound mdevs
    std::map<unsigned, std::set<uint32_t>> def_pasids;               // parent -> defPASIDs
    model.for_each_context([&](Context& ctx) {
        for (const auto& [cookie, dev] : ctx.devices) {
            if (dev->cookie != cookie || dev->ctx != &ctx)
                out.push_back(dev_name(*dev) + ": filed under cookie " + std::to_string(cookie) + " of " +
                              ctx_name(ctx));
            if (dev->index >= topo.devices.size() || dev->spec != &topo.devices[dev->index])
                out.push_back(dev_name(*dev) + ": its spec is not topology device " + std::to_string(dev->index));
            if (table.bound(dev->index) != dev.get())
                out.push_back(dev_name(*dev) + ": the device table does not name it");
            auto& [owner, count] = groups[dev->spec->group];
            if (owner && owner != &ctx)
                out.push_back(dev_name(*dev) + ": its group is bound in two contexts");
            owner = &ctx;
            ++count;
            if (dev->spec->kind != DeviceKind::kPci)
                ++mdevs[dev->spec->parent];
            if (dev->spec->kind == DeviceKind::kMdev)
                def_pasids[dev->spec->parent].insert(dev->def_pasid);
        }
    });
    table.for_each_bound([&](unsigned index, BoundDevice* dev) {
        Context* ctx = model.find_context(dev->ctx->id);
        if (ctx != dev->ctx || ctx->find_device(dev->cookie) != dev)
            out.push_back("device table: device " + std::to_string(index) + " names a binding no context has");
    });
    table.for_each_group([&](unsigned group, const Context* owner, unsigned bound) {
        auto it = groups.find(group);
        if (it == groups.end() || it->second != std::make_pair(owner, bound))
            out.push_back("device table: group " + std::to_string(group) + " claimed by " + std::to_string(bound) +
                          " devices of another owner than the bound devices say");
        else
            groups.erase(it);
    });
    for (const auto& [group, claim] : groups)
        out.push_back("device table: group " + std::to_string(group) + " has bound devices but no claim");
    table.for_each_parent([&](unsigned parent, unsigned count) {
        if (mdevs[parent] != count)
            out.push_back("device table: " + std::to_string(count) + " mdevs counted on parent " +
                          std::to_string(parent) + ", " + std::to_string(mdevs[parent]) + " bound");
        mdevs.erase(parent);
    });
    for (const auto& [parent, count] : mdevs)
        out.push_back("device table: parent " + std::to_string(parent) + " has bound mdevs it does not count");
    for (const auto& [parent, pasids] : def_pasids) {
        const std::set<uint32_t>* allocated = table.def_pasids_of(parent);
        if (!allocated || *allocated != pasids)
            out.push_back("device table: the defPASIDs of parent " + std::to_string(parent) +
                          " are not those its bound mdevs hold");
    }
}

// Every attachment: its space, its route; every route: its attachment.
void check_attachments(Model& model, Problems& out) {
    std::set<const Attachment*> live;
    model.for_each_context([&](Context& ctx) {
        std::map<const IoAddressSpace*, unsigned> attached;
        std::map<IoAddressSpace*, std::map<unsigned, unsigned>> units;
        for (const auto& [cookie, dev] : ctx.devices) {
            for (const auto& [key, a] : dev->attachments) {
                live.insert(&a);
                IoAddressSpace* space = ctx.ioasids.find(a.ioasid);
                if (a.dev != dev.get() || a.pasid != key || a.space != space || !space)
                    out.push_back(dev_name(*dev) + ": attachment " + std::to_string(key) + " names the wrong " +
                                  "device, PASID or space");
                ++attached[a.space];
                if (dev->spec->kind == DeviceKind::kSwMdev || !space)
                    continue;
                IoAddressSpace* stage2 = space->kind() == IoasKind::kUserPgtable ? ctx.ioasids.find(space->parent_id)
                                         : space->kind() == IoasKind::kKernelManaged ? space
                                                                                     : nullptr;
                if (stage2)
                    ++units[stage2][dev->spec->iommu];
                if (auto route = route_of(model, a); !route || model.routes().find(*route) != &a)
                    out.push_back(dev_name(*dev) + ": attachment " + std::to_string(key) + " has no route to it");
            }
        }
        ctx.ioasids.for_each([&](uint32_t id, const IoAddressSpace& space) {
            const std::string where = ctx_name(ctx) + " ioasid " + std::to_string(id);
            if (space.attachments != attached[&space])
                out.push_back(where + ": counts " + std::to_string(space.attachments) + " attachments, has " +
                              std::to_string(attached[&space]));
            unsigned children = 0;
            ctx.ioasids.for_each([&](uint32_t, const IoAddressSpace& other) {
                children += other.kind() == IoasKind::kUserPgtable && other.parent_id == id;
            });
            if (space.children != children)
                out.push_back(where + ": counts " + std::to_string(space.children) + " children, has " +
                              std::to_string(children));
            if (space.kind() == IoasKind::kUserPgtable) {
                IoAddressSpace* parent = ctx.ioasids.find(space.parent_id);
                if (!parent || parent->kind() != IoasKind::kKernelManaged)
                    out.push_back(where + ": its parent is not a live kernel-managed space");
            }
            if (space.kind() == IoasKind::kIdentity && !space.identity_owner)
                out.push_back(where + ": an identity space without an owner");
            auto& mine = units[const_cast<IoAddressSpace*>(&space)];
            if (space.attached_units != mine)
                out.push_back(where + ": attached_units is not the IOMMUs of its attachments");
            const Constraints c = constraints_of(model, space.attached_units);
            if (space.aperture_end() != c.aperture_end || space.reserved() != c.reserved)
                out.push_back(where + ": its constraints are not those of its IOMMUs");
            space.check(out, where);
        });
    });
    model.routes().for_each([&](const RouteKey& key, const Attachment* a) {
        if (!live.count(a))
            out.push_back("routing table: a route of RID " + std::to_string(key.rid) + " leads to no attachment");
    });
}

// Every charge is the sum of what pins its page: pinned mapping pages and
// software-mdev pins and the iommufd profile's pinned areas, per process.
void check_ledger(Model& model, Problems& out) {
    std::map<std::pair<uint64_t, uint64_t>, uint64_t> expected;  // {serial, VA page} -> pins
    model.for_each_context([&](Context& ctx) {
        ctx.ioasids.for_each([&](uint32_t, const IoAddressSpace& space) {
            if (space.borrowed_pins)
                return;  // counted with the IOAS whose domain it is
            space.for_each_pinned_page(
                [&](const Process& owner, uint64_t va) { ++expected[{owner.serial(), va >> kPageShift}]; });
        });
        ctx.iommufd.objects.for_each(ObjectKind::kIoas, [&](const IommufdObject& object) {
            static_cast<const Ioas&>(object).iopt.for_each_pinned_page(
                [&](const Process& owner, uint64_t va) { ++expected[{owner.serial(), va >> kPageShift}]; });
        });
        for (const auto& [cookie, dev] : ctx.devices) {
            dev->pins.for_each([&](const PinnedRange& range) {
                for (const PagePin& pin : range.charges)  // held by each of its pins
                    expected[{pin.owner->serial(), pin.vaddr >> kPageShift}] += range.count;
            });
        }
    });
    model.ledger().for_each_charge([&](uint64_t serial, uint64_t page, uint32_t refs) {
        auto it = expected.find({serial, page});
        const uint64_t want = it == expected.end() ? 0 : it->second;
        if (refs != want)
            out.push_back("ledger: page " + std::to_string(page) + " of process serial " + std::to_string(serial) +
                          " has " + std::to_string(refs) + " pins, its mappings and mdev pins make " +
                          std::to_string(want));
        if (it != expected.end())
            expected.erase(it);
    });
    for (const auto& [key, pins] : expected)
        out.push_back("ledger: page " + std::to_string(key.second) + " of process serial " +
                      std::to_string(key.first) + " is pinned " + std::to_string(pins) + " times but not charged");
    model.ledger().check(out);
}

// Every IOTLB entry comes from a live route and space, and lands where the
// space's mapping (or identity owner) says.
void check_iotlb(Model& model, Problems& out) {
    std::set<const IoAddressSpace*> spaces;
    model.for_each_context([&](Context& ctx) {
        ctx.ioasids.for_each([&](uint32_t, const IoAddressSpace& space) { spaces.insert(&space); });
    });
    model.iotlb().check(out);
    model.iotlb().for_each([&](const IotlbKey& key, const IotlbEntry& e) {
        const std::string where = "iotlb: the entry of RID " + std::to_string(key.rid) + " page " +
                                  std::to_string(key.page);
        if (!spaces.count(e.s2) || (e.s1 && !spaces.count(e.s1))) {
            out.push_back(where + ": its space is gone");
            return;
        }
        const Attachment* a = model.routes().find(RouteKey{key.unit, key.rid, key.pasid});
        if (!a || a->space != (e.s1 ? e.s1 : e.s2))
            out.push_back(where + ": no route leads to its space");
        if (e.s2->kind() == IoasKind::kIdentity) {
            if (e.owner != e.s2->identity_owner.get())
                out.push_back(where + ": not the identity space's owner");
            return;
        }
        const auto target = e.s2->lookup(e.s2_page << kPageShift);
        if (!target || !target->pinned || target->owner != e.owner)
            out.push_back(where + ": its stage-2 page is not a pinned page of that owner");
    });
}

// Page-request groups and the DMAs they stall, DMA slots, regions.
void check_faults(Model& model, const CheckOptions& options, Problems& out) {
    model.for_each_context([&](Context& ctx) {
        std::map<uint64_t, unsigned> waited_on;  // dma id -> groups naming it
        for (const auto& [cookie, dev] : ctx.devices) {
            unsigned held = 0;
            for (const auto& [id, job] : ctx.dmas)
                held += job.binding == dev->binding;
            if (options.calls_in_flight ? held > dev->held_dmas : held != dev->held_dmas)
                out.push_back(dev_name(*dev) + ": counts " + std::to_string(dev->held_dmas) + " held DMAs, has " +
                              std::to_string(held));
            for (const auto& [grpid, group] : dev->page_requests) {
                if (!dev->attachments.count(group.attachment_key))
                    out.push_back(dev_name(*dev) + ": page request " + std::to_string(grpid) +
                                  " came through an attachment that is gone");
                if (group.dma_id == 0)
                    continue;
                ++waited_on[group.dma_id];
                auto job = ctx.dmas.find(group.dma_id);
                if (job == ctx.dmas.end() || job->second.binding != dev->binding || job->second.running ||
                    job->second.status != IOMMU_SIM_DMA_PENDING)
                    out.push_back(dev_name(*dev) + ": page request " + std::to_string(grpid) +
                                  " stalls no PENDING DMA of its binding");
            }
        }
        for (const auto& [id, job] : ctx.dmas) {
            if (id >= ctx.next_dma_id)
                out.push_back(ctx_name(ctx) + ": DMA " + std::to_string(id) + " has an id not handed out yet");
            const bool waiting = job.status == IOMMU_SIM_DMA_PENDING && !job.running;
            if (waiting && waited_on[id] != 1)
                out.push_back(ctx_name(ctx) + ": PENDING DMA " + std::to_string(id) + " is waited on by " +
                              std::to_string(waited_on[id]) + " page requests");
            if (job.running && !job.resume_owed && !options.calls_in_flight)
                out.push_back(ctx_name(ctx) + ": DMA " + std::to_string(id) + " is running with no call in flight");
            if (job.resume_owed && (!job.running || job.status != IOMMU_SIM_DMA_PENDING || waited_on[id]))
                out.push_back(ctx_name(ctx) + ": DMA " + std::to_string(id) +
                              " is owed a resume but is not an answered, running-marked PENDING job");
        }
        if (ctx.dmas.size() > kContextDmaLimit)
            out.push_back(ctx_name(ctx) + ": holds more DMAs than its limit");
        if (ctx.faults.pending() > ctx.faults.depth())
            out.push_back(ctx_name(ctx) + ": more records waiting than its fault region holds");
    });
}

// The object node's files and the objects they are the fds of name each
// other: a bound file of a live context names an object that names it
// back, and an object naming a file is that file's.
void check_object_files(Model& model, Problems& out) {
    auto file_of = [](const IommufdObject& object) -> uint64_t {
        if (object.kind == ObjectKind::kFault)
            return static_cast<const FaultQueue&>(object).file;
        if (object.kind == ObjectKind::kAccess)
            return static_cast<const Access&>(object).file;
        return 0;
    };
    model.for_each_context([&](Context& ctx) {
        for (const ObjectKind kind : {ObjectKind::kFault, ObjectKind::kAccess}) {
            ctx.iommufd.objects.for_each(kind, [&](const IommufdObject& object) {
                const uint64_t id = file_of(object);
                const ObjectFile* file = id ? model.object_files().find(id) : nullptr;
                if (id && (!file || file->context_id != ctx.id || file->object_id != object.id))
                    out.push_back(ctx_name(ctx) + ": object " + std::to_string(object.id) + " names object file " +
                                  std::to_string(id) + ", which is not bound to it");
            });
        }
    });
    model.object_files().for_each([&](uint64_t id, const ObjectFile& file) {
        Context* ctx = file.bound() ? model.find_context(file.context_id) : nullptr;
        const IommufdObject* object = ctx ? ctx->iommufd.objects.find(file.object_id, file.kind) : nullptr;
        if (ctx && (!object || file_of(*object) != id))
            out.push_back("object file " + std::to_string(id) + ": its object " + std::to_string(file.object_id) +
                          " does not name it");
    });
}

// The iommufd profile's topology devices: each is the RFC bound device of
// its id, attached exactly where its page tables say, through their
// spaces; each topology page table's space is in the context's table.
void check_topology_devices(Model& model, Problems& out) {
    model.for_each_context([&](Context& ctx) {
        const ObjectTable& objects = ctx.iommufd.objects;
        auto space_of = [&](uint32_t hwpt_id) -> uint32_t {
            if (const auto* paging = objects.get<HwptPaging>(hwpt_id))
                return paging->topology() ? paging->topology()->ioasid() : 0;
            const auto* nested = objects.get<HwptNested>(hwpt_id);
            return nested ? nested->stage1_ioasid() : 0;
        };
        objects.for_each(ObjectKind::kDevice, [&](const IommufdObject& object) {
            const auto& idev = static_cast<const Device&>(object);
            if (!idev.is_topology())
                return;
            const std::string name = ctx_name(ctx) + " topology device " + std::to_string(idev.id);
            const BoundDevice* dev = ctx.find_device(idev.id);
            if (!dev || dev->index != idev.topology) {
                out.push_back(name + ": is not the RFC bound device of its id");
                return;
            }
            std::map<uint32_t, uint32_t> expected = idev.pasid_hwpts;  // attachment key -> page table
            if (idev.hwpt_id)
                expected[kNoPasid] = idev.hwpt_id;
            if (expected.size() != dev->attachments.size())
                out.push_back(name + ": has " + std::to_string(expected.size()) + " page tables, " +
                              std::to_string(dev->attachments.size()) + " attachments");
            for (const auto& [key, hwpt_id] : expected) {
                auto it = dev->attachments.find(key);
                const uint32_t space = space_of(hwpt_id);
                if (!space || it == dev->attachments.end() || it->second.ioasid != space)
                    out.push_back(name + ": is not attached through page table " + std::to_string(hwpt_id));
            }
        });
        objects.for_each(ObjectKind::kHwptPaging, [&](const IommufdObject& object) {
            const TopologyDomain* domain = static_cast<const HwptPaging&>(object).topology();
            if (domain && (!domain->space() || !domain->space()->borrowed_pins))
                out.push_back(ctx_name(ctx) + ": page table " + std::to_string(object.id) + " has lost its space");
        });
    });
}

// The iommufd profile's accesses: all of them are those an unmap
// notifies.  An emulated device's (a software mdev's) is the RFC bound
// device of its id, which it never attaches there; an access pins only
// while on an IOAS that exists.
void check_accesses(Model& model, Problems& out) {
    model.for_each_context([&](Context& ctx) {
        size_t count = 0;
        ctx.iommufd.objects.for_each(ObjectKind::kAccess, [&](const IommufdObject& object) {
            ++count;
            const auto& access = static_cast<const Access&>(object);
            const std::string name = ctx_name(ctx) + " access " + std::to_string(access.id);
            if (!ctx.iommufd.accesses.count(access.id))
                out.push_back(name + ": an unmap would not tell it");
            if (access.ioas_id ? !ctx.iommufd.objects.get<Ioas>(access.ioas_id) : !access.pins.empty())
                out.push_back(name + ": pins with no IOAS, or names one that is gone");
            if (!access.is_emulated_device())
                return;
            const BoundDevice* dev = ctx.find_device(access.id);
            if (!dev || dev->index != access.emulated_device || dev->spec->kind != DeviceKind::kSwMdev)
                out.push_back(name + ": is not the RFC bound software mdev of its id");
            else if (!dev->attachments.empty() || !dev->pins.empty())
                out.push_back(name + ": is attached or pinning in the RFC model");
        });
        if (count != ctx.iommufd.accesses.size())
            out.push_back(ctx_name(ctx) + ": " + std::to_string(ctx.iommufd.accesses.size()) +
                          " accesses to notify of unmaps, " + std::to_string(count) + " access objects");
    });
}

}  // namespace

std::vector<std::string> check_model(Model& model, CheckOptions options) {
    Problems problems;
    check_devices(model, problems);
    check_attachments(model, problems);
    check_ledger(model, problems);
    check_iotlb(model, problems);
    check_faults(model, options, problems);
    check_object_files(model, problems);
    check_topology_devices(model, problems);
    check_accesses(model, problems);
    return problems;
}

}  // namespace ciommu
