// `iommuctl dump`: the state as an indented tree.
#include <functional>
#include <set>
#include <sstream>

#include "format.h"
#include "render.h"

namespace iommuctl {

namespace {

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
    std::string out;
    for (const std::string& p : parts) {
        if (p.empty())
            continue;
        if (!out.empty())
            out += sep;
        out += p;
    }
    return out;
}

std::string prot_text(const json& prot) {
    if (prot.is_number()) {
        const uint64_t bits = as_u64(prot).value_or(0);
        std::string s = (bits & 1) ? "r" : "-";
        s += (bits & 2) ? "w" : "-";
        if (bits & ~uint64_t{3})
            s += "+" + hex(bits & ~uint64_t{3});
        return s;
    }
    if (prot.is_array()) {  // ["read", "write"]
        std::string letters = "--";
        std::vector<std::string> other;
        for (const json& p : prot) {
            if (p == "read")
                letters[0] = 'r';
            else if (p == "write")
                letters[1] = 'w';
            else
                other.push_back(text(p));
        }
        return join({letters, join(other, ",")}, "+");
    }
    return text(prot);
}

// An attachment's PASID: a whole-device attachment is by RID, or for an
// IOMMU-backed mdev by its defPASID.
std::string attachment_label(const json& pasid, const json& def_pasid) {
    if (!pasid.is_null())
        return "PASID " + text(pasid);
    return def_pasid.is_null() ? "RID" : "defPASID " + text(def_pasid);
}

std::string list_text(const json& values) {
    if (!values.is_array())
        return text(values);
    std::vector<std::string> parts;
    for (const json& v : values)
        parts.push_back(v.is_number() ? page_size(v) : text(v));
    return join(parts, ",");
}

// page_sizes: an array of sizes, or a bitmap.
std::string page_sizes_text(const json& sizes) {
    if (sizes.is_number()) {
        const uint64_t bitmap = as_u64(sizes).value_or(0);
        std::vector<std::string> parts;
        for (int bit = 0; bit < 64; ++bit)
            if (bitmap & (uint64_t{1} << bit))
                parts.push_back(page_size(json(uint64_t{1} << bit)));
        return join(parts, ",");
    }
    return list_text(sizes);
}

void render_iommus(const json& state, std::ostream& out) {
    const json& iommus = array_field(state, "iommus");
    out << "IOMMUs\n";
    if (iommus.empty())
        out << "  none\n";
    for (const json& u : iommus) {
        std::vector<std::string> parts{text(field(u, "name"))};
        if (!field(u, "address_width").is_null())
            parts.push_back(text(field(u, "address_width")) + "-bit");
        if (!field(u, "page_sizes").is_null())
            parts.push_back("pages " + page_sizes_text(field(u, "page_sizes")));
        const json& pasid = field(u, "pasid_width");
        if (!pasid.is_null())
            parts.push_back(as_u64(pasid).value_or(1) == 0 ? "no PASID" : "PASID " + text(pasid) + "-bit");
        if (field(u, "iopf") == true)
            parts.push_back("IOPF");
        if (!field(u, "nesting").is_null())
            parts.push_back("nesting " + text(field(u, "nesting")));
        if (field(u, "snoop_control") == true)
            parts.push_back("snoop control");
        const json& formats = field(u, "pgtable_formats");
        if (formats.is_array() ? !formats.empty() : !formats.is_null())
            parts.push_back("formats " + list_text(formats));
        out << "  " << join(parts, "  ") << "\n";
        for (const json& r : array_field(u, "reserved_regions"))
            out << "    reserved " << hex(field(r, "start")) << "-" << hex(field(r, "last")) << "  "
                << text(field(r, "type")) << "\n";
    }
}

void render_devices(const json& state, std::ostream& out) {
    const json& devices = array_field(state, "devices");
    out << "Devices\n";
    if (devices.empty()) {
        out << "  none\n";
        return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const json& d : devices) {
        std::vector<std::string> row{text(field(d, "name")), text(field(d, "type"))};
        const json& parent = field(d, "parent");
        row.push_back(!parent.is_null() ? "parent " + text(parent) : text(field(d, "bdf")));
        row.push_back(field(d, "rid").is_null()
                          ? ""
                          : "rid " + (field(d, "rid").is_number() ? hex(as_u64(field(d, "rid")).value_or(0), 4)
                                                                  : text(field(d, "rid"))));
        row.push_back(field(d, "iommu").is_null() ? "no IOMMU" : text(field(d, "iommu")));
        row.push_back(field(d, "group").is_null() ? "" : "group " + text(field(d, "group")));
        std::vector<std::string> features;
        if (field(d, "pasid") == true)
            features.push_back("PASID");
        if (field(d, "pri") == true)
            features.push_back("PRI");
        if (const json& credits = field(d, "page_requests"); credits.is_object())
            features.push_back("(" + text(field(credits, "max")) + " page requests)");
        row.push_back(join(features, " "));
        const json& bound = field(d, "bound_by");
        row.push_back(bound.is_null() ? "unbound" : "bound by context " + text(bound));
        rows.push_back(std::move(row));
    }
    out << table(rows, "  ");
}

struct ContextView {
    // IOASID id (as JSON text) -> the attachments naming it.
    std::map<std::string, std::vector<std::string>> attached;
    std::map<std::string, std::string> device_by_cookie;
};

void render_ioasid(const ContextView& view, const json& ioasid,
                   const std::map<std::string, std::vector<const json*>>& children, std::set<std::string>& shown,
                   const std::string& indent, const TreeOptions& options, std::ostream& out) {
    const std::string id = field(ioasid, "id").dump();
    if (!shown.insert(id).second)
        return;  // a cycle in what the daemon sent: show each IOASID once
    std::vector<std::string> head{"IOASID " + text(field(ioasid, "id")), text(field(ioasid, "kind"))};
    if (!field(ioasid, "parent").is_null())
        head.push_back("parent " + text(field(ioasid, "parent")));
    const json& kids = field(ioasid, "children");  // a count, or a list of ids
    if (kids.is_array() && !kids.empty()) {
        std::vector<std::string> ids;
        for (const json& k : kids)
            ids.push_back(text(k));
        head.push_back("children " + join(ids, ","));
    } else if (const auto n = kids.is_number() ? as_u64(kids) : std::nullopt; n && *n) {
        head.push_back(std::to_string(*n) + (*n == 1 ? " child" : " children"));
    }
    if (!field(ioasid, "pgtable_format").is_null() || !field(ioasid, "user_pgd").is_null()) {
        std::string table_text =
            field(ioasid, "pgtable_format").is_null() ? "user" : text(field(ioasid, "pgtable_format"));
        if (!field(ioasid, "user_pgd").is_null())
            table_text += " table at " + hex(field(ioasid, "user_pgd"));
        head.push_back(table_text);
    }
    if (field(ioasid, "enforce_snoop") == true)
        head.push_back("enforce snoop");
    if (field(ioasid, "dirty_tracking") == true)
        head.push_back("dirty tracking");
    const json& count = field(ioasid, "mapping_count");
    if (!count.is_null() && (count != 0 || field(ioasid, "kind") == "kernel")) {  // only kernel-managed IOASIDs map
        std::string m = text(count) + (count == 1 ? " mapping" : " mappings");
        if (const auto bytes = as_u64(field(ioasid, "mapped_bytes")); bytes && *bytes)
            m += " (" + human_bytes(*bytes) + ")";
        head.push_back(m);
    }
    out << indent << join(head, "  ") << "\n";

    const std::string inner = indent + "  ";
    const json& mappings = array_field(ioasid, "mappings");
    std::vector<std::vector<std::string>> rows;
    size_t listed = 0;
    for (const json& m : mappings) {
        if (options.max_mappings && listed == options.max_mappings)
            break;
        ++listed;
        const auto iova = as_u64(field(m, "iova"));
        const auto size = as_u64(field(m, "size"));
        std::string range = hex(field(m, "iova"));
        if (iova && size && *size)
            range += "-" + hex(*iova + *size - 1);
        rows.push_back({range, size ? human_bytes(*size) : text(field(m, "size")), "-> " + hex(field(m, "vaddr")),
                        field(m, "pid").is_null() ? "" : "pid " + text(field(m, "pid")), prot_text(field(m, "prot"))});
    }
    out << table(rows, inner);
    const uint64_t total = as_u64(count).value_or(mappings.size());
    if (listed < total)
        out << inner << "... " << (total - listed) << " more "
            << (listed < mappings.size() ? "(iommuctl dump --all-mappings)" : "(not in the dump)") << "\n";

    auto it = view.attached.find(id);
    out << inner << "attached: " << (it == view.attached.end() ? "nothing" : join(it->second, ", ")) << "\n";

    if (auto c = children.find(id); c != children.end())
        for (const json* child : c->second)
            render_ioasid(view, *child, children, shown, inner, options, out);
}

void render_context(const json& ctx, const TreeOptions& options, std::ostream& out) {
    ContextView view;
    for (const json& dev : array_field(ctx, "devices")) {
        view.device_by_cookie[field(dev, "cookie").dump()] = text(field(dev, "name"));
        for (const json& a : array_field(dev, "attachments"))
            view.attached[field(a, "ioasid").dump()].push_back(
                text(field(dev, "name")) + " (" + attachment_label(field(a, "pasid"), field(dev, "def_pasid")) + ")");
    }

    std::vector<std::string> head{"context " + text(field(ctx, "id"))};
    if (!field(ctx, "pid").is_null())
        head.push_back("pid " + text(field(ctx, "pid")));
    if (!field(ctx, "iotlb_hits").is_null() || !field(ctx, "iotlb_misses").is_null())
        head.push_back("IOTLB " + text(field(ctx, "iotlb_hits")) + " hits, " + text(field(ctx, "iotlb_misses")) +
                       " misses");
    out << "  " << join(head, "  ") << "\n";

    // IOASIDs: roots first, each child under its parent.
    const json& ioasids = array_field(ctx, "ioasids");
    std::set<std::string> ids;
    for (const json& s : ioasids)
        ids.insert(field(s, "id").dump());
    std::map<std::string, std::vector<const json*>> children;
    std::vector<const json*> roots;
    for (const json& s : ioasids) {
        const json& parent = field(s, "parent");
        if (!parent.is_null() && ids.count(parent.dump()))
            children[parent.dump()].push_back(&s);
        else
            roots.push_back(&s);
    }
    if (ioasids.empty())
        out << "    no IOASIDs\n";
    std::set<std::string> shown;
    for (const json* s : roots)
        render_ioasid(view, *s, children, shown, "    ", options, out);
    for (const json& s : ioasids)  // only in a parent cycle
        if (!shown.count(field(s, "id").dump()))
            render_ioasid(view, s, children, shown, "    ", options, out);

    const json& devices = array_field(ctx, "devices");
    if (devices.empty()) {
        out << "    no devices bound\n";
    } else {
        out << "    devices\n";
        std::vector<std::vector<std::string>> rows;
        for (const json& dev : devices) {
            std::vector<std::string> extra;
            const json& physical = field(dev, "physical");
            if (!physical.is_null() && physical != field(dev, "name"))
                extra.push_back("parent " + text(physical));
            if (!field(dev, "def_pasid").is_null())
                extra.push_back("defPASID " + text(field(dev, "def_pasid")));
            if (field(dev, "fault_consumer") == true)
                extra.push_back("fault consumer");
            if (field(dev, "page_requests_stopped") == true)
                extra.push_back("page requests stopped");
            std::vector<std::string> attachments;
            for (const json& a : array_field(dev, "attachments"))
                attachments.push_back("IOASID " + text(field(a, "ioasid")) + " (" +
                                      attachment_label(field(a, "pasid"), field(dev, "def_pasid")) + ")");
            rows.push_back({text(field(dev, "name")), "cookie " + hex(field(dev, "cookie")), join(extra, ", "),
                            attachments.empty() ? "not attached" : "-> " + join(attachments, ", ")});
        }
        out << table(rows, "      ");
    }

    if (const json& region = field(ctx, "fault_region"); !region.is_null())
        out << "    fault region: " << render_fault_region(region) << "\n";

    const json& dmas = array_field(ctx, "dmas");
    if (!dmas.empty()) {
        out << "    DMAs\n";
        std::vector<std::vector<std::string>> rows;
        for (const json& d : dmas) {
            auto name = view.device_by_cookie.find(field(d, "cookie").dump());
            std::string device = !field(d, "device").is_null()         ? text(field(d, "device"))
                                 : name != view.device_by_cookie.end() ? name->second
                                                                       : "cookie " + hex(field(d, "cookie"));
            std::string kind = field(d, "write") == true ? "write" : field(d, "write") == false ? "read" : "";
            if (field(d, "control") == true)
                kind += kind.empty() ? "from iommuctl" : " from iommuctl";
            rows.push_back({"#" + text(field(d, "id")), device, kind, text(field(d, "status")),
                            text(field(d, "bytes_done")) + " of " + text(field(d, "length")) + " bytes"});
        }
        out << table(rows, "      ");
    }
}

void render_pending(const json& state, std::ostream& out) {
    out << "Pending faults\n";
    std::vector<std::vector<std::string>> rows;
    for (const json& ctx : array_field(state, "contexts")) {
        const std::string where = "context " + text(field(ctx, "id"));
        const auto pending = as_u64(field(field(ctx, "fault_region"), "pending"));
        if (pending && *pending)
            rows.push_back({where, "fault region",
                            std::to_string(*pending) + (*pending == 1 ? " record" : " records") + " not read yet"});
        for (const json& dev : array_field(ctx, "devices"))
            for (const json& g : array_field(dev, "pending_groups")) {
                std::vector<std::string> what{"page request group " + text(field(g, "grpid"))};
                if (!field(g, "pasid").is_null())
                    what.push_back("PASID " + text(field(g, "pasid")));
                const json& dma = field(g, "dma_id");
                what.push_back(dma.is_null() || dma == 0 ? "injected" : "stalls DMA #" + text(dma));
                rows.push_back({where, text(field(dev, "name")), join(what, ", ") + ": awaiting a response"});
            }
    }
    if (rows.empty())
        out << "  none\n";
    out << table(rows, "  ");
}

}  // namespace

std::string render_page_requests(const json& credits) {
    if (!credits.is_object())
        return text(credits);
    std::string out = "at most " + text(field(credits, "max"));
    if (field(credits, "outstanding").is_null())
        return out + " (unbound)";
    return out + "; " + text(field(credits, "outstanding")) + " outstanding, " + text(field(credits, "held_dmas")) +
           " DMAs held";
}

std::string render_fault_region(const json& region) {
    if (!region.is_object())
        return text(region);
    std::vector<std::string> settings, counters;
    if (!field(region, "depth").is_null())
        settings.push_back("depth " + text(field(region, "depth")));
    if (!field(region, "timeout_ms").is_null())
        settings.push_back("timeout " + text(field(region, "timeout_ms")) + " ms");
    static const std::pair<const char*, const char*> kCounters[] = {
        {"pending", "pending"},       {"delivered", "delivered"},         {"lost", "lost"},
        {"unreported", "unreported"}, {"iopf_resolved", "IOPF resolved"}, {"timeouts", "timeouts"}};
    std::set<std::string> known{"depth", "timeout_ms"};
    for (const auto& [key, label] : kCounters) {
        known.insert(key);
        if (!field(region, key).is_null())
            counters.push_back(std::string(label) + " " + text(field(region, key)));
    }
    for (const auto& [key, value] : region.items())  // whatever else the daemon reports
        if (!known.count(key))
            counters.push_back(printable(key) + " " + text(value));
    return join({join(settings, ", "), join(counters, ", ")}, "; ");
}

std::string render_tree(const json& state, const TreeOptions& options) {
    std::ostringstream out;
    render_iommus(state, out);
    out << "\n";
    render_devices(state, out);
    out << "\n";

    const json& contexts = array_field(state, "contexts");
    out << "Contexts\n";
    if (contexts.empty())
        out << "  none (nothing has /dev/iommu open)\n";
    for (const json& ctx : contexts)
        render_context(ctx, options, out);
    out << "\n";

    render_pending(state, out);
    out << "\n";

    out << "Accounting\n";
    const json& accounting = array_field(state, "accounting");
    if (accounting.empty())
        out << "  no locked pages\n";
    std::vector<std::vector<std::string>> rows;
    for (const json& a : accounting) {
        const auto pages = as_u64(field(a, "locked_pages"));
        rows.push_back({"pid " + text(field(a, "pid")), pages ? std::to_string(*pages) +
                                                                    (*pages == 1 ? " locked page" : " locked pages") +
                                                                    " (" + human_bytes(*pages * 4096) + ")"
                                                              : text(field(a, "locked_pages")) + " locked pages"});
    }
    out << table(rows, "  ");
    out << "\n";

    out << "Counters\n";
    std::vector<std::string> counters;
    if (const json& c = field(state, "counters"); c.is_object())
        for (const auto& [key, value] : c.items())
            counters.push_back(printable(key) + " " + text(value));
    out << "  " << (counters.empty() ? "none" : join(counters, "  ")) << "\n";
    return out.str();
}

}  // namespace iommuctl
