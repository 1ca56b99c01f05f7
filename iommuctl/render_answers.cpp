// The answers of dma / dma-status.
#include <sstream>

#include "args.h"
#include "format.h"
#include "render.h"

namespace iommuctl {

std::string render_dma(const json& answer, const std::string& device, std::optional<uint64_t> length) {
    std::ostringstream out;
    const json& status = field(answer, "status");
    out << "status: " << text(status);
    if (status == "pending")
        out << " (a page request was reported; the DMA is stalled until it is answered)";
    else if (status == "aborted")
        out << " (its page request was answered INVALID or FAILURE)";
    out << "\n";

    out << "bytes done: " << text(field(answer, "bytes_done"));
    if (length)
        out << " of " << *length;
    out << "\n";

    if (const json& data = field(answer, "data"); data.is_string()) {
        const auto bytes = from_hex(data.get_ref<const std::string&>());
        if (bytes && bytes->empty()) {
            // a read that moved nothing: no data to show
        } else if (!bytes) {
            out << "data: " << text(data) << " (not hex)\n";
        } else {
            out << "data (" << bytes->size() << (bytes->size() == 1 ? " byte" : " bytes") << "):\n";
            out << hexdump(*bytes, "  ");
        }
    }

    if (const json& fault = field(answer, "fault"); !fault.is_null()) {
        std::vector<std::string> parts;
        if (fault.is_object()) {
            if (!field(fault, "addr").is_null())
                parts.push_back("addr " + hex(field(fault, "addr")));
            if (!field(fault, "reason").is_null())
                parts.push_back("reason " + text(field(fault, "reason")));
            if (const json& flags = field(fault, "flags"); flags.is_array()) {
                std::string list;
                for (const json& f : flags)
                    list.append(list.empty() ? "" : ",").append(text(f));
                parts.push_back("flags " + (list.empty() ? std::string("none") : list));
            } else if (!flags.is_null()) {
                parts.push_back("flags " + hex(flags));
            }
            for (const auto& [key, value] : fault.items())
                if (key != "addr" && key != "reason" && key != "flags")
                    parts.push_back(printable(key) + " " + text(value));
        } else {
            parts.push_back(text(fault));
        }
        std::string line;
        for (const std::string& p : parts)
            line.append(line.empty() ? "" : ", ").append(p);
        out << "fault: " << line << "\n";
    }

    if (const json& id = field(answer, "dma_id"); !id.is_null() && id != 0) {
        out << "dma id: " << text(id) << "\n";
        if (status == "pending")
            out << "  (answer the page request, then: iommuctl dma-status " << printable(device) << " " << text(id)
                << ")\n";
    }
    return out.str();
}

}  // namespace iommuctl
