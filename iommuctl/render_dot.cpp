// `iommuctl dump --dot`: the state as a Graphviz digraph.
#include <cstdio>
#include <map>
#include <sstream>

#include "format.h"
#include "render.h"

namespace iommuctl {

std::string dot_quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (c == '&') {
            out += "&amp;";  // Graphviz decodes entities in labels: keep "&lt;" literal
        } else if (c == '\n') {
            out += "\\n";  // a line break in a label
        } else if (u < 0x20 || u == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\\\x%02x", u);  // shown as \xNN
            out += buf;
        } else {
            out.push_back(c);
        }
    }
    return out + "\"";
}

namespace {

// A label from lines of text: each line is escaped, then joined with \n.
std::string label(std::initializer_list<std::string> lines) {
    std::string joined;
    for (const std::string& line : lines) {
        if (line.empty())
            continue;
        if (!joined.empty())
            joined.push_back('\n');
        joined += line;
    }
    return dot_quote(joined);
}

std::string join_words(const std::string& a, const std::string& b) {
    return a.empty() ? b : b.empty() ? a : a + " " + b;
}

// Names as the daemon sent them (not made printable: dot_quote escapes).
std::string raw(const json& value) {
    return value.is_null() ? "" : value.is_string() ? value.get<std::string>() : value.dump();
}

}  // namespace

std::string render_dot(const json& state) {
    std::ostringstream out;
    out << "digraph \"cuse-iommu\" {\n"
           "  graph [rankdir=LR, fontname=\"Helvetica\"];\n"
           "  node [fontname=\"Helvetica\", fontsize=10];\n"
           "  edge [fontname=\"Helvetica\", fontsize=9];\n";

    // Devices first, so attachments and parents can refer to them.
    std::map<std::string, std::string> device_node;  // name -> node id
    const json& devices = array_field(state, "devices");
    size_t extra = 0;
    auto node_for_device = [&](const json& name) -> std::string {
        const std::string key = raw(name);
        auto it = device_node.find(key);
        if (it != device_node.end())
            return it->second;
        // A device the topology list did not have (should not happen): show it anyway.
        const std::string id = "dx" + std::to_string(extra++);
        device_node.emplace(key, id);
        out << "  " << id << " [shape=component, label=" << dot_quote(key) << "];\n";
        return id;
    };
    out << "\n  // devices\n";
    for (size_t i = 0; i < devices.size(); ++i) {
        const json& d = devices[i];
        std::string id = "d";  // (not "d" + to_string(): GCC 12's -Wrestrict false positive at -O2)
        id += std::to_string(i);
        device_node.emplace(raw(field(d, "name")), id);
        const json& parent = field(d, "parent");
        const std::string where = !parent.is_null() ? "" : field(d, "bdf").is_null() ? "" : raw(field(d, "bdf"));
        const json& bound = field(d, "bound_by");
        out << "  " << id << " [shape=component, "
            << (bound.is_null() ? "style=dashed" : "style=filled, fillcolor=\"#fff3c4\"") << ", label="
            << label({raw(field(d, "name")), join_words(raw(field(d, "type")), where),
                      bound.is_null() ? "unbound" : "context " + raw(bound)})
            << "];\n";
    }
    for (size_t i = 0; i < devices.size(); ++i) {
        const json& parent = field(devices[i], "parent");
        if (parent.is_null())
            continue;
        const std::string target = node_for_device(parent);  // may declare a node: not inside the edge
        out << "  d" << i << " -> " << target << " [style=dotted, arrowhead=empty, label=\"parent\"];\n";
    }

    const json& contexts = array_field(state, "contexts");
    for (size_t c = 0; c < contexts.size(); ++c) {
        const json& ctx = contexts[c];
        const std::string cid = "c" + std::to_string(c);
        out << "\n  // contexts[" << c << "]\n";
        out << "  " << cid << " [shape=box, style=\"rounded,filled\", fillcolor=\"#dde8ff\", label="
            << label({"context " + raw(field(ctx, "id")),
                      field(ctx, "pid").is_null() ? "" : "pid " + raw(field(ctx, "pid"))})
            << "];\n";
        const json& ioasids = array_field(ctx, "ioasids");
        std::map<std::string, std::string> ioasid_node;  // id (JSON text) -> node id
        for (size_t a = 0; a < ioasids.size(); ++a)
            ioasid_node.emplace(field(ioasids[a], "id").dump(), cid + "a" + std::to_string(a));
        for (size_t a = 0; a < ioasids.size(); ++a) {
            const json& s = ioasids[a];
            const std::string aid = cid + "a" + std::to_string(a);
            std::string mappings;
            const auto n = as_u64(field(s, "mapping_count"));
            if (n && (*n || field(s, "kind") == "kernel")) {  // only kernel-managed IOASIDs map
                mappings = std::to_string(*n) + (*n == 1 ? " mapping" : " mappings");
                if (const auto bytes = as_u64(field(s, "mapped_bytes")); bytes && *bytes)
                    mappings += ", " + human_bytes(*bytes);
            }
            out << "  " << aid << " [shape=ellipse, label="
                << label({"IOASID " + raw(field(s, "id")), raw(field(s, "kind")), mappings}) << "];\n";
            const json& parent = field(s, "parent");
            auto p = parent.is_null() ? ioasid_node.end() : ioasid_node.find(parent.dump());
            if (p != ioasid_node.end())
                out << "  " << p->second << " -> " << aid << " [style=dashed, label=\"nested\"];\n";
            else
                out << "  " << cid << " -> " << aid << ";\n";
        }
        for (const json& dev : array_field(ctx, "devices")) {
            const std::string did = node_for_device(field(dev, "name"));
            for (const json& at : array_field(dev, "attachments")) {
                auto target = ioasid_node.find(field(at, "ioasid").dump());
                if (target == ioasid_node.end())
                    continue;  // an IOASID the dump did not list
                const json& pasid = field(at, "pasid");
                std::string text = pasid.is_null() ? "RID" : "PASID " + raw(pasid);
                if (pasid.is_null() && !field(dev, "def_pasid").is_null())
                    text = "defPASID " + raw(field(dev, "def_pasid"));
                out << "  " << did << " -> " << target->second << " [color=\"#3060c0\", label=" << dot_quote(text)
                    << "];\n";
            }
        }
    }
    out << "}\n";
    return out.str();
}

}  // namespace iommuctl
