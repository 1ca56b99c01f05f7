#include "trace_decoders.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <linux/ioctl.h>

#include "../dispatcher/command_table.h"
#include "cuse-iommu.h"

namespace ciommu::trace {
namespace {

using Bytes = std::span<const std::byte>;

// The struct the bytes start, zero-extended (or cut) to sizeof(T): what the
// daemon's zeroed argument buffer holds after the copy-in.
template <typename T> T load(Bytes bytes) {
    T value{};
    std::memcpy(&value, bytes.data(), std::min(bytes.size(), sizeof(T)));
    return value;
}

struct FlagName {
    uint32_t bit;
    const char* name;
};
using Names = std::initializer_list<FlagName>;

// ["READ","WRITE"]; bits without a name come last, together, as one hex
// string ("0x8").
Json flag_names(uint32_t flags, Names names) {
    Json list = Json::array();
    for (const FlagName& n : names) {
        if (flags & n.bit) {
            list.push_back(n.name);
            flags &= ~n.bit;
        }
    }
    if (flags)
        list.push_back(hex(flags));
    return list;
}

// A name for a known value, the number otherwise.
Json value_name(uint32_t value, Names names) {
    for (const FlagName& n : names) {
        if (value == n.bit)
            return n.name;
    }
    return value;
}

const Names kNoFlags{};
const Names kAllocFlags{{IOMMU_IOASID_USER_PGTABLE, "USER_PGTABLE"},
                        {IOMMU_IOASID_IDENTITY, "IDENTITY"},
                        {IOMMU_IOASID_ENFORCE_SNOOP, "ENFORCE_SNOOP"}};
const Names kMapFlags{{IOMMU_MAP_DMA_READ, "READ"}, {IOMMU_MAP_DMA_WRITE, "WRITE"}, {IOMMU_MAP_DMA_IOPF, "IOPF"}};
const Names kUnmapFlags{{IOMMU_UNMAP_DMA_ALL, "ALL"}};
const Names kAttachFlags{{IOMMU_ATTACH_PASID, "PASID"}};
const Names kSimDmaFlags{{IOMMU_SIM_DMA_WRITE, "WRITE"}, {IOMMU_SIM_DMA_PASID, "PASID"}};
const Names kRegionFlags{{IOMMU_FAULT_REGION_SET_DEPTH, "SET_DEPTH"},
                         {IOMMU_FAULT_REGION_SET_TIMEOUT, "SET_TIMEOUT"}};
const Names kInjectFlags{{IOMMU_SIM_FAULT_RAW, "RAW"},
                         {IOMMU_SIM_FAULT_PASID, "PASID"},
                         {IOMMU_SIM_FAULT_RECOVERABLE, "RECOVERABLE"}};
const Names kPinFlags{{IOMMU_SIM_PIN_WRITE, "WRITE"}};
const Names kInfoFlags{{IOMMU_DEVICE_INFO_MDEV, "MDEV"},
                       {IOMMU_DEVICE_INFO_SW_MDEV, "SW_MDEV"},
                       {IOMMU_DEVICE_INFO_PASID, "PASID"},
                       {IOMMU_DEVICE_INFO_PRI, "PRI"},
                       {IOMMU_DEVICE_INFO_ENFORCE_SNOOP, "ENFORCE_SNOOP"},
                       {IOMMU_DEVICE_INFO_CAPS, "CAPS"}};
const Names kPerm{{IOMMU_FAULT_PERM_READ, "READ"},
                  {IOMMU_FAULT_PERM_WRITE, "WRITE"},
                  {IOMMU_FAULT_PERM_EXEC, "EXEC"},
                  {IOMMU_FAULT_PERM_PRIV, "PRIV"}};
const Names kFaultFlags{{IOMMU_FAULT_WRITE, "WRITE"}, {IOMMU_FAULT_STAGE1, "STAGE1"}, {IOMMU_FAULT_STAGE2, "STAGE2"}};
const Names kRecordFlags{{IOMMU_FAULT_RECORD_RECOVERABLE, "RECOVERABLE"},
                         {IOMMU_FAULT_RECORD_LAST, "LAST"},
                         {IOMMU_FAULT_RECORD_PASID_VALID, "PASID_VALID"},
                         {IOMMU_FAULT_RECORD_STAGE1, "STAGE1"},
                         {IOMMU_FAULT_RECORD_STAGE2, "STAGE2"},
                         {IOMMU_FAULT_RECORD_LOST_BEFORE, "LOST_BEFORE"},
                         {IOMMU_FAULT_RECORD_REVOKED, "REVOKED"}};
const Names kReasons{{IOMMU_FAULT_REASON_BLOCKED, "BLOCKED"},
                     {IOMMU_FAULT_REASON_NOT_MAPPED, "NOT_MAPPED"},
                     {IOMMU_FAULT_REASON_PERMISSION, "PERMISSION"},
                     {IOMMU_FAULT_REASON_RESERVED, "RESERVED"},
                     {IOMMU_FAULT_REASON_ADDR_SIZE, "ADDR_SIZE"}};
const Names kDmaStatus{{IOMMU_SIM_DMA_OK, "OK"},
                       {IOMMU_SIM_DMA_FAULT, "FAULT"},
                       {IOMMU_SIM_DMA_PENDING, "PENDING"},
                       {IOMMU_SIM_DMA_ABORTED, "ABORTED"}};
const Names kFormats{{IOMMU_PGTABLE_FORMAT_X86_64, "X86_64"}};
const Names kGranularity{{IOMMU_INV_GRAN_ALL, "ALL"}, {IOMMU_INV_GRAN_PASID, "PASID"}, {IOMMU_INV_GRAN_RANGE, "RANGE"}};
const Names kCaches{{IOMMU_INV_CACHE_IOTLB, "IOTLB"}, {IOMMU_INV_CACHE_DEVTLB, "DEVTLB"}, {IOMMU_INV_CACHE_PASID, "PASID"}};
const Names kRespCodes{{IOMMU_PAGE_RESP_SUCCESS, "SUCCESS"},
                       {IOMMU_PAGE_RESP_INVALID, "INVALID"},
                       {IOMMU_PAGE_RESP_FAILURE, "FAILURE"}};
const Names kExtensions{{IOMMU_EXT_MAP_TYPE1V2, "MAP_TYPE1V2"},
                        {IOMMU_EXT_MAP_NEWTYPE, "MAP_NEWTYPE"},
                        {IOMMU_EXT_IOASID_NESTING, "IOASID_NESTING"},
                        {IOMMU_EXT_USER_PAGE_TABLE, "USER_PAGE_TABLE"},
                        {IOMMU_EXT_USER_PASID_TABLE, "USER_PASID_TABLE"},
                        {IOMMU_EXT_MULTIDEV_GROUP, "MULTIDEV_GROUP"},
                        {IOMMU_EXT_DMA_NO_SNOOP, "DMA_NO_SNOOP"},
                        {IOMMU_EXT_DIRTY_TRACKING, "DIRTY_TRACKING"}};
const Names kCapIds{{IOMMU_DEVICE_INFO_CAP_PAGE_SIZES, "PAGE_SIZES"},
                    {IOMMU_DEVICE_INFO_CAP_IOVA_RANGES, "IOVA_RANGES"},
                    {IOMMU_DEVICE_INFO_CAP_RESV_REGIONS, "RESV_REGIONS"},
                    {IOMMU_DEVICE_INFO_CAP_NESTING, "NESTING"},
                    {IOMMU_DEVICE_INFO_CAP_PASID, "PASID"},
                    {IOMMU_DEVICE_INFO_CAP_PRI, "PRI"}};
const Names kResvTypes{{IOMMU_RESV_RESERVED, "RESERVED"}, {IOMMU_RESV_MSI, "MSI"}, {IOMMU_RESV_DIRECT, "DIRECT"}};
const Names kNestingFlags{{IOMMU_NESTING_SUPPORTED, "SUPPORTED"}, {IOMMU_NESTING_HARDWARE, "HARDWARE"}};
const Names kPasidFlags{{IOMMU_PASID_IOPF, "IOPF"}};

// Every struct starts with argsz, flags.
template <typename T> Json head(const T& s, Names flags) {
    Json j;
    j["argsz"] = s.argsz;
    j["flags"] = flag_names(s.flags, flags);
    return j;
}

// A reserved field shows only when it is not zero (that is an EINVAL).
void reserved(Json& j, uint64_t value) {
    if (value)
        j["__reserved"] = value;
}

// A device name: up to its NUL (or all 32 bytes), printable ASCII as is,
// any other byte as \xNN, so the line is valid UTF-8 whatever was passed.
void device_name(Json& j, const char (&name)[IOMMU_DEVICE_NAME_LEN]) {
    const size_t len = strnlen(name, sizeof(name));
    std::string text;
    for (size_t i = 0; i < len; ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (c >= 0x20 && c < 0x7f) {
            text += static_cast<char>(c);
        } else {
            char esc[8];
            std::snprintf(esc, sizeof(esc), "\\x%02x", c);
            text += esc;
        }
    }
    j["name"] = text;
    if (len == sizeof(name))
        j["name_unterminated"] = true;
}

// --- one decoder per struct kind: args (input fields) and out (output fields) ---

Json args_ioasid_alloc(Bytes b) {
    const auto s = load<iommu_ioasid_alloc>(b);
    Json j = head(s, kAllocFlags);
    j["parent_ioasid"] = s.parent_ioasid;
    j["pgtable_format"] = s.pgtable_format ? value_name(s.pgtable_format, kFormats) : Json(0);
    j["user_pgd"] = hex(s.user_pgd);
    return j;
}

Json args_ioasid_free(Bytes b) {
    const auto s = load<iommu_ioasid_free>(b);
    Json j = head(s, kNoFlags);
    j["ioasid"] = s.ioasid;
    reserved(j, s.__reserved);
    return j;
}

Json args_map_dma(Bytes b) {
    const auto s = load<iommu_map_dma>(b);
    Json j = head(s, kMapFlags);
    j["ioasid"] = s.ioasid;
    j["vaddr"] = hex(s.vaddr);
    j["iova"] = hex(s.iova);
    j["size"] = s.size;
    reserved(j, s.__reserved);
    return j;
}

Json args_unmap_dma(Bytes b) {
    const auto s = load<iommu_unmap_dma>(b);
    Json j = head(s, kUnmapFlags);
    j["ioasid"] = s.ioasid;
    j["iova"] = hex(s.iova);
    j["size"] = s.size;
    reserved(j, s.__reserved);
    return j;
}
Json out_unmap_dma(Bytes b) {
    const auto s = load<iommu_unmap_dma>(b);
    return {{"size", s.size}};
}

Json args_invalidate_cache(Bytes b) {
    const auto s = load<iommu_invalidate_cache>(b);
    Json j = head(s, kNoFlags);
    j["ioasid"] = s.ioasid;
    j["granularity"] = value_name(s.granularity, kGranularity);
    j["cache"] = flag_names(s.cache, kCaches);
    j["pasid"] = s.pasid == IOMMU_INV_PASID_RID ? Json("RID") : Json(s.pasid);
    j["addr"] = hex(s.addr);
    j["size"] = s.size;
    return j;
}

Json args_device_bind(Bytes b) {
    const auto s = load<iommu_device_bind>(b);
    Json j = head(s, kNoFlags);
    device_name(j, s.name);
    j["cookie"] = s.cookie;
    return j;
}

Json args_device_unbind(Bytes b) {
    const auto s = load<iommu_device_unbind>(b);
    Json j = head(s, kNoFlags);
    j["cookie"] = s.cookie;
    return j;
}

Json args_device_info(Bytes b) {
    const auto s = load<iommu_device_info>(b);
    Json j = head(s, kNoFlags);
    j["cookie"] = s.cookie;
    reserved(j, s.__reserved);
    return j;
}

// The capability chain after the struct; every read is bounded by what was
// copied back.
Json decode_caps(Bytes b, uint32_t first) {
    Json caps = Json::array();
    uint32_t offset = first;
    for (int count = 0; offset != 0 && count < 32; ++count) {
        if (offset < sizeof(iommu_device_info) || offset + sizeof(iommu_info_cap_header) > b.size()) {
            caps.push_back({{"bad_offset", offset}});
            break;
        }
        const Bytes at = b.subspan(offset);
        const auto header = load<iommu_info_cap_header>(at);
        Json cap;
        cap["id"] = value_name(header.id, kCapIds);
        cap["version"] = header.version;
        switch (header.id) {
        case IOMMU_DEVICE_INFO_CAP_PAGE_SIZES:
            cap["pgsize_bitmap"] = hex(load<iommu_info_cap_page_sizes>(at).pgsize_bitmap);
            break;
        case IOMMU_DEVICE_INFO_CAP_IOVA_RANGES: {
            const auto c = load<iommu_info_cap_iova_ranges>(at);
            Json ranges = Json::array();
            for (uint32_t i = 0; i < std::min<uint32_t>(c.nr_ranges, 256); ++i) {
                const size_t pos = sizeof(c) + i * sizeof(iommu_iova_range);
                if (pos + sizeof(iommu_iova_range) > at.size())
                    break;
                const auto r = load<iommu_iova_range>(at.subspan(pos));
                ranges.push_back({{"start", hex(r.start)}, {"last", hex(r.last)}});
            }
            cap["ranges"] = std::move(ranges);
            break;
        }
        case IOMMU_DEVICE_INFO_CAP_RESV_REGIONS: {
            const auto c = load<iommu_info_cap_resv_regions>(at);
            Json regions = Json::array();
            for (uint32_t i = 0; i < std::min<uint32_t>(c.nr_regions, 256); ++i) {
                const size_t pos = sizeof(c) + i * sizeof(iommu_resv_region);
                if (pos + sizeof(iommu_resv_region) > at.size())
                    break;
                const auto r = load<iommu_resv_region>(at.subspan(pos));
                regions.push_back(
                    {{"start", hex(r.start)}, {"last", hex(r.last)}, {"type", value_name(r.type, kResvTypes)}});
            }
            cap["regions"] = std::move(regions);
            break;
        }
        case IOMMU_DEVICE_INFO_CAP_NESTING: {
            const auto c = load<iommu_info_cap_nesting>(at);
            cap["flags"] = flag_names(c.flags, kNestingFlags);
            Json formats = Json::array();
            for (unsigned bit = 0; bit < 32; ++bit) {
                if (c.pgtable_formats & (1u << bit))
                    formats.push_back(value_name(bit, kFormats));
            }
            cap["pgtable_formats"] = std::move(formats);
            break;
        }
        case IOMMU_DEVICE_INFO_CAP_PASID: {
            const auto c = load<iommu_info_cap_pasid>(at);
            cap["pasid_width"] = c.pasid_width;
            cap["flags"] = flag_names(c.flags, kPasidFlags);
            break;
        }
        case IOMMU_DEVICE_INFO_CAP_PRI: {
            const auto c = load<iommu_info_cap_pri>(at);
            cap["max_requests"] = c.max_requests;
            cap["outstanding"] = c.outstanding;
            cap["held_dmas"] = c.held_dmas;
            break;
        }
        default:
            break;
        }
        caps.push_back(std::move(cap));
        if (header.next != 0 && header.next <= offset) {  // a chain must move forward
            caps.push_back({{"bad_offset", header.next}});
            break;
        }
        offset = header.next;
    }
    return caps;
}

Json out_device_info(Bytes b) {
    const auto s = load<iommu_device_info>(b);
    Json j;
    j["argsz"] = s.argsz;
    j["flags"] = flag_names(s.flags, kInfoFlags);
    j["cap_offset"] = s.cap_offset;
    if (s.cap_offset)
        j["caps"] = decode_caps(b, s.cap_offset);
    return j;
}

Json args_device_attach(Bytes b) {
    const auto s = load<iommu_device_attach>(b);
    Json j = head(s, kAttachFlags);
    j["cookie"] = s.cookie;
    j["ioasid"] = s.ioasid;
    j["pasid"] = s.pasid;
    return j;
}

Json args_device_detach(Bytes b) {
    const auto s = load<iommu_device_detach>(b);
    Json j = head(s, kAttachFlags);
    j["cookie"] = s.cookie;
    j["pasid"] = s.pasid;
    reserved(j, s.__reserved);
    return j;
}

Json args_stats(Bytes b) { return head(load<iommu_stats>(b), kNoFlags); }
Json out_stats(Bytes b) {
    const auto s = load<iommu_stats>(b);
    Json j;
    j["locked_pages"] = s.locked_pages;
    j["ioasids"] = s.ioasids;
    j["devices"] = s.devices;
    j["mappings"] = s.mappings;
    j["iotlb_hits"] = s.iotlb_hits;
    j["iotlb_misses"] = s.iotlb_misses;
    return j;
}

Json args_daemon_stats(Bytes b) { return head(load<iommu_sim_daemon_stats>(b), kNoFlags); }
Json out_daemon_stats(Bytes b) {
    const auto s = load<iommu_sim_daemon_stats>(b);
    Json j;
    j["contexts"] = s.contexts;
    j["ioasids"] = s.ioasids;
    j["mappings"] = s.mappings;
    j["mapped_bytes"] = s.mapped_bytes;
    return j;
}

Json args_sim_dma(Bytes b) {
    const auto s = load<iommu_sim_dma>(b);
    Json j = head(s, kSimDmaFlags);
    j["cookie"] = s.cookie;
    j["pasid"] = s.pasid;
    j["iova"] = hex(s.iova);
    j["length"] = s.length;
    j["data"] = hex(s.data);
    return j;
}
Json out_sim_dma(Bytes b) {
    const auto s = load<iommu_sim_dma>(b);
    Json j;
    j["status"] = value_name(s.status, kDmaStatus);
    j["bytes_done"] = s.bytes_done;
    j["fault_addr"] = hex(s.fault_addr);
    j["fault_reason"] = value_name(s.fault_reason, kReasons);
    j["fault_flags"] = flag_names(s.fault_flags, kFaultFlags);
    j["dma_id"] = s.dma_id;
    return j;
}

Json args_dma_status(Bytes b) {
    const auto s = load<iommu_sim_dma_status>(b);
    Json j = head(s, kNoFlags);
    j["dma_id"] = s.dma_id;
    reserved(j, s.__reserved);
    return j;
}
Json out_dma_status(Bytes b) {
    const auto s = load<iommu_sim_dma_status>(b);
    Json j;
    j["status"] = value_name(s.status, kDmaStatus);
    j["bytes_done"] = s.bytes_done;
    j["fault_addr"] = hex(s.fault_addr);
    j["fault_reason"] = value_name(s.fault_reason, kReasons);
    j["fault_flags"] = flag_names(s.fault_flags, kFaultFlags);
    return j;
}

Json args_device_fault(Bytes b) {
    const auto s = load<iommu_device_fault>(b);
    Json j = head(s, kNoFlags);
    j["cookie"] = s.cookie;
    return j;
}

Json args_fault_eventfd(Bytes b) {
    const auto s = load<iommu_fault_eventfd>(b);
    Json j = head(s, kNoFlags);
    j["fd"] = s.fd;
    reserved(j, s.__reserved);
    return j;
}

Json args_page_response(Bytes b) {
    const auto s = load<iommu_page_response>(b);
    Json j = head(s, kNoFlags);
    j["cookie"] = s.cookie;
    j["grpid"] = s.grpid;
    j["code"] = value_name(s.code, kRespCodes);
    return j;
}

Json args_region_info(Bytes b) {
    const auto s = load<iommu_fault_region_info>(b);
    Json j = head(s, kRegionFlags);
    j["depth"] = s.depth;
    j["timeout_ms"] = s.timeout_ms;
    return j;
}
Json out_region_info(Bytes b) {
    const auto s = load<iommu_fault_region_info>(b);
    Json j;
    j["depth"] = s.depth;
    j["timeout_ms"] = s.timeout_ms;
    j["pending"] = s.pending;
    j["lost"] = s.lost;
    j["delivered"] = s.delivered;
    j["unreported"] = s.unreported;
    j["iopf_resolved"] = s.iopf_resolved;
    j["timeouts"] = s.timeouts;
    return j;
}

Json args_inject_fault(Bytes b) {
    const auto s = load<iommu_sim_inject_fault>(b);
    Json j = head(s, kInjectFlags);
    j["cookie"] = s.cookie;
    j["rid"] = s.rid;
    j["pasid"] = s.pasid;
    j["addr"] = hex(s.addr);
    j["perm"] = flag_names(s.perm, kPerm);
    j["reason"] = value_name(s.reason, kReasons);
    return j;
}

Json args_mdev_pin(Bytes b) {
    const auto s = load<iommu_sim_mdev_pin>(b);
    Json j = head(s, kPinFlags);
    j["cookie"] = s.cookie;
    j["iova"] = hex(s.iova);
    j["npages"] = s.npages;
    reserved(j, s.__reserved);
    return j;
}

// The decoder table: one row per struct command (value commands decode
// in decode_args).  out: nullptr for commands that copy nothing back.
using Decode = Json (*)(Bytes);
struct Row {
    unsigned nr;
    Decode args;
    Decode out;
};

constexpr Row kRows[] = {
    {IOMMU_NR_DEVICE_GET_INFO, args_device_info, out_device_info},
    {IOMMU_NR_IOASID_ALLOC, args_ioasid_alloc, nullptr},
    {IOMMU_NR_IOASID_FREE, args_ioasid_free, nullptr},
    {IOMMU_NR_MAP_DMA, args_map_dma, nullptr},
    {IOMMU_NR_UNMAP_DMA, args_unmap_dma, out_unmap_dma},
    {IOMMU_NR_INVALIDATE_CACHE, args_invalidate_cache, nullptr},
    {IOMMU_NR_DEVICE_BIND, args_device_bind, nullptr},
    {IOMMU_NR_DEVICE_UNBIND, args_device_unbind, nullptr},
    {IOMMU_NR_DEVICE_ATTACH, args_device_attach, nullptr},
    {IOMMU_NR_DEVICE_DETACH, args_device_detach, nullptr},
    {IOMMU_NR_GET_STATS, args_stats, out_stats},
    {IOMMU_NR_SIM_DAEMON_STATS, args_daemon_stats, out_daemon_stats},
    {IOMMU_NR_SIM_DMA, args_sim_dma, out_sim_dma},
    {IOMMU_NR_DEVICE_FAULT_REGISTER, args_device_fault, nullptr},
    {IOMMU_NR_DEVICE_FAULT_UNREGISTER, args_device_fault, nullptr},
    {IOMMU_NR_FAULT_SET_EVENTFD, args_fault_eventfd, nullptr},
    {IOMMU_NR_PAGE_RESPONSE, args_page_response, nullptr},
    {IOMMU_NR_FAULT_REGION_INFO, args_region_info, out_region_info},
    {IOMMU_NR_SIM_INJECT_FAULT, args_inject_fault, nullptr},
    {IOMMU_NR_SIM_DMA_STATUS, args_dma_status, out_dma_status},
    {IOMMU_NR_SIM_MDEV_PIN, args_mdev_pin, nullptr},
    {IOMMU_NR_SIM_MDEV_UNPIN, args_mdev_pin, nullptr},
};

const Row* find_row(unsigned nr) {
    for (const Row& row : kRows) {
        if (row.nr == nr)
            return &row;
    }
    return nullptr;
}

uint32_t load_u32(Bytes bytes) { return load<uint32_t>(bytes); }

}  // namespace

std::string hex(uint64_t value) {
    char text[24];
    std::snprintf(text, sizeof(text), "0x%" PRIx64, value);
    return text;
}

std::string command_name(unsigned cmd) {
    if (const CommandSpec* spec = find_command(cmd))
        return spec->name;
    char text[16];
    std::snprintf(text, sizeof(text), "0x%x", cmd);
    return text;
}

bool has_decoder(unsigned cmd) {
    const CommandSpec* spec = find_command(cmd);
    if (!spec)
        return false;
    return spec->kind == ArgKind::kValue || find_row(spec->nr) != nullptr;
}

Json decode_args(unsigned cmd, uint64_t arg, std::span<const std::byte> in) {
    const CommandSpec* spec = find_command(cmd);
    if (!spec)
        return {{"arg", hex(arg)}};
    if (spec->kind == ArgKind::kValue) {
        Json j{{"value", arg}};
        if (spec->nr == IOMMU_NR_CHECK_EXTENSION)
            j["extension"] = value_name(static_cast<uint32_t>(arg), kExtensions);
        return j;
    }
    if (in.size() < sizeof(uint32_t))  // not even argsz could be read: EFAULT
        return {{"bytes_readable", in.size()}};
    const Row* row = find_row(spec->nr);
    Json j = row ? row->args(in) : Json{{"argsz", load_u32(in)}};
    // What the caller declared but the transport could not read (EFAULT),
    // and bytes past the struct the daemon knows (E2BIG unless all zero).
    const uint32_t argsz = load_u32(in);
    const size_t expected = spec->output_tail ? std::min<size_t>(argsz, spec->struct_size) : argsz;
    if (in.size() < expected)
        j["bytes_readable"] = in.size();
    if (!spec->output_tail && in.size() > spec->struct_size)
        j["tail_bytes"] = in.size() - spec->struct_size;
    return j;
}

Json decode_out(unsigned cmd, std::span<const std::byte> out) {
    const CommandSpec* spec = find_command(cmd);
    const Row* row = spec ? find_row(spec->nr) : nullptr;
    if (!row || !row->out || out.empty())
        return Json::object();
    return row->out(out);
}

Json decode_fault_record(const iommu_fault_record& r) {
    Json j;
    j["flags"] = flag_names(r.flags, kRecordFlags);
    j["reason"] = value_name(r.reason, kReasons);
    j["cookie"] = r.cookie;
    j["ioasid"] = r.ioasid;
    j["pasid"] = r.pasid;
    j["perm"] = flag_names(r.perm, kPerm);
    j["grpid"] = r.grpid;
    j["addr"] = hex(r.addr);
    j["seq"] = r.seq;
    if (r.__reserved[0] || r.__reserved[1])
        j["__reserved"] = {r.__reserved[0], r.__reserved[1]};
    return j;
}

std::string errno_name(int err) {
    if (const char* name = strerrorname_np(err))
        return name;
    std::string name = "E";  // built in two steps: GCC 12 -O2 sees a false -Wrestrict in "E" + ...
    name += std::to_string(err);
    return name;
}

std::string page_response_code_name(uint32_t code) {
    const Json name = value_name(code, kRespCodes);
    return name.is_string() ? name.get<std::string>() : std::to_string(code);
}

}  // namespace ciommu::trace
