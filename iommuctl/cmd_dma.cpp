// iommuctl dma DEVICE IOVA LENGTH [--write HEX | --write-text TEXT] [--pasid N]
// iommuctl dma-status DEVICE DMA_ID
#include <cstdint>
#include <ostream>

#include "args.h"
#include "cli.h"
#include "client.h"
#include "render.h"

namespace iommuctl {

const char kDmaHelp[] =
    "usage: iommuctl dma DEVICE IOVA LENGTH [--write HEX | --write-text TEXT] [--pasid N]\n"
    "\n"
    "Makes the bound device DEVICE do DMA of LENGTH bytes (1 .. 1 MiB) at IOVA,\n"
    "translated as the hardware would, into the memory of the process that\n"
    "mapped it.  Without --write* it reads, and shows the bytes as hex and text.\n"
    "Prints the status (ok, fault, pending, aborted), the bytes done, the fault\n"
    "(address, reason, flags) when not ok, and the DMA id when pending.\n"
    "\n"
    "  --write HEX        write these bytes (\"48656c6c6f\", \"0x4865\", \"48 65 6c\");\n"
    "                     exactly LENGTH of them\n"
    "  --write-text TEXT  write the bytes of TEXT (no terminating NUL); LENGTH\n"
    "                     must be its length\n"
    "  --pasid N          tag the DMA with PASID N\n"
    "\n"
    "Numbers are decimal or 0x-hex.\n"
    "example: iommuctl dma nic0 0x100000 16\n"
    "         iommuctl dma accel0 0x2000 5 --write-text hello --pasid 5\n";

const char kDmaStatusHelp[] =
    "usage: iommuctl dma-status DEVICE DMA_ID\n"
    "\n"
    "Asks about a DMA that was pending (stalled on a page request): prints its\n"
    "status, bytes done and read data as `dma` does.  A finished DMA is then\n"
    "forgotten by the daemon.\n"
    "\n"
    "example: iommuctl dma-status accel0 7\n";

int cmd_dma(Env& env, const std::vector<std::string>& words) {
    const ParsedArgs args = parse_args(words, {{"--write", true}, {"--write-text", true}, {"--pasid", true}}, env);
    expect_positional(args, 3, "DEVICE IOVA LENGTH");
    const std::string& device = args.positional[0];
    const uint64_t iova = parse_number(args.positional[1], "IOVA");
    const uint64_t length = parse_number(args.positional[2], "LENGTH");
    if (args.has("--write") && args.has("--write-text"))
        throw UsageError("--write and --write-text exclude each other");

    nlohmann::json request = {{"cmd", "dma"}, {"device", device}, {"iova", iova}, {"length", length}};
    std::vector<uint8_t> data;
    if (auto hex = args.value("--write")) {
        data = parse_hex_bytes(*hex, "--write");
    } else if (auto text = args.value("--write-text")) {
        if (text->empty())
            throw UsageError("--write-text: no bytes");
        data.assign(text->begin(), text->end());
    }
    const bool write = !data.empty();
    if (write && data.size() != length)
        throw UsageError("LENGTH is " + std::to_string(length) + " but " +
                         (args.has("--write") ? "--write" : "--write-text") + " gives " + std::to_string(data.size()) +
                         (data.size() == 1 ? " byte" : " bytes"));
    request["write"] = write;
    if (write)
        request["data"] = to_hex(data);
    if (auto pasid = args.value("--pasid"))
        request["pasid"] = parse_number(*pasid, "--pasid", UINT32_MAX);

    const nlohmann::json answer = call_daemon(env, request);
    env.out << render_dma(answer, device, length);
    return kExitOk;
}

int cmd_dma_status(Env& env, const std::vector<std::string>& words) {
    const ParsedArgs args = parse_args(words, {}, env);
    expect_positional(args, 2, "DEVICE DMA_ID");
    const std::string& device = args.positional[0];
    const uint64_t id = parse_number(args.positional[1], "DMA_ID");
    const nlohmann::json answer = call_daemon(env, {{"cmd", "dma-status"}, {"device", device}, {"dma_id", id}});
    env.out << render_dma(answer, device, std::nullopt);
    return kExitOk;
}

}  // namespace iommuctl
