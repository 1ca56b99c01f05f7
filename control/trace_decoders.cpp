#include "trace_decoders.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <linux/ioctl.h>

#include "../dispatcher/command_table.h"
#include "../toolkit/uapi_names.h"
#include "../toolkit/hex_text.h"
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

using Names = NameTable;

// ["READ","WRITE"]; bits without a name come last, together, as one hex
// string ("0x8").
Json flag_names(uint32_t flags, Names names) {
    Json list = Json::array();
    for (const NamedValue& n : names) {
        if (flags & n.value) {
            list.push_back(n.uapi);
            flags &= ~n.value;
        }
    }
    if (flags)
        list.push_back(hex_number(flags));
    return list;
}

// A name for a known value, the number otherwise.
Json value_name(uint32_t value, Names names) {
    for (const NamedValue& n : names) {
        if (value == n.value)
            return n.uapi;
    }
    return value;
}

// A char array (a device name): up to its NUL (or all of it), printable ASCII as is,
// any other byte as \xNN, so the line is valid UTF-8 whatever was passed.
void text_field(Json& j, const char* key, const char* name, size_t size) {
    const size_t len = strnlen(name, size);
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
    j[key] = text;
    if (len == size)
        j[std::string(key) + "_unterminated"] = true;
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
        cap["id"] = value_name(header.id, kDeviceInfoCapIds);
        cap["version"] = header.version;
        switch (header.id) {
        case IOMMU_DEVICE_INFO_CAP_PAGE_SIZES:
            cap["pgsize_bitmap"] = hex_number(load<iommu_info_cap_page_sizes>(at).pgsize_bitmap);
            break;
        case IOMMU_DEVICE_INFO_CAP_IOVA_RANGES: {
            const auto c = load<iommu_info_cap_iova_ranges>(at);
            Json ranges = Json::array();
            for (uint32_t i = 0; i < std::min<uint32_t>(c.nr_ranges, 256); ++i) {
                const size_t pos = sizeof(c) + i * sizeof(iommu_iova_range);
                if (pos + sizeof(iommu_iova_range) > at.size())
                    break;
                const auto r = load<iommu_iova_range>(at.subspan(pos));
                ranges.push_back({{"start", hex_number(r.start)}, {"last", hex_number(r.last)}});
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
                    {{"start", hex_number(r.start)}, {"last", hex_number(r.last)}, {"type", value_name(r.type, kResvRegionTypes)}});
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
                    formats.push_back(value_name(bit, kPgtableFormats));
            }
            cap["pgtable_formats"] = std::move(formats);
            break;
        }
        case IOMMU_DEVICE_INFO_CAP_PASID: {
            const auto c = load<iommu_info_cap_pasid>(at);
            cap["pasid_width"] = c.pasid_width;
            cap["flags"] = flag_names(c.flags, kPasidCapFlags);
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


// --- the generic decoder: every struct command, from its row ---

// A little-endian unsigned field of 1..8 bytes.
uint64_t load_uint(const std::byte* at, size_t size) {
    uint64_t value = 0;
    std::memcpy(&value, at, std::min(size, sizeof(value)));
    return value;
}

// One field of the zero-extended struct `s`, as its row says to show it.
void put_field(Json& j, const FieldSpec& f, const std::byte* s) {
    const std::byte* at = s + f.offset;
    const uint64_t value = load_uint(at, f.size);
    switch (f.show) {
    case Show::kNumber: j[f.name] = value; break;
    case Show::kSigned:  // sign-extend from the field's width
        j[f.name] = static_cast<int64_t>(value << (64 - 8 * f.size)) >> (64 - 8 * f.size);
        break;
    case Show::kHex: j[f.name] = hex_number(value); break;
    case Show::kFlags: j[f.name] = flag_names(static_cast<uint32_t>(value), f.names); break;
    case Show::kEnum: j[f.name] = value_name(static_cast<uint32_t>(value), f.names); break;
    case Show::kText: text_field(j, f.name, reinterpret_cast<const char*>(at), f.size); break;
    }
}

// The struct the bytes start, zero-extended (or cut) to the row's struct:
// what the daemon's zeroed argument buffer holds after the copy-in.
struct Zeroed {
    explicit Zeroed(const CommandSpec& spec, Bytes bytes) {
        std::memcpy(data, bytes.data(), std::min<size_t>(bytes.size(), spec.struct_size));
    }
    alignas(8) std::byte data[kMaxStructSize] = {};
};

// The convention's header, size first, then the flags by `names`.
void put_header(Json& j, const CommandSpec& spec, const std::byte* s, Names names) {
    const Convention& c = *spec.convention;
    j[c.size_name] = load_uint(s, sizeof(uint32_t));
    if (!spec.no_flags)
        j["flags"] = flag_names(static_cast<uint32_t>(load_uint(s + c.flags_offset, sizeof(uint32_t))), names);
}

// Header, input fields in the row's order, then any reserved field that is
// not zero (that is an EINVAL).
Json struct_args(const CommandSpec& spec, Bytes in) {
    const Zeroed s(spec, in);
    Json j;
    put_header(j, spec, s.data, spec.flags());
    for (const FieldSpec& f : spec.field_list()) {
        if (f.dir != Dir::kOut)
            put_field(j, f, s.data);
    }
    for (const ReservedField& r : spec.reserved) {
        if (const uint64_t value = r.size ? load_uint(s.data + r.offset, r.size) : 0)
            j[r.name] = value;
    }
    return j;
}

// What the daemon wrote back: the header if the row says it is an output,
// the output fields, and the tail the row names.
Json struct_out(const CommandSpec& spec, Bytes out) {
    const Zeroed s(spec, out);
    Json j;
    if (!spec.out_flag_names.empty())
        put_header(j, spec, s.data, spec.out_flag_names);
    for (const FieldSpec& f : spec.field_list()) {
        if (f.dir != Dir::kIn)
            put_field(j, f, s.data);
    }
    if (spec.tail == Tail::kDeviceInfoCaps) {
        if (const auto first = static_cast<uint32_t>(load_uint(s.data + offsetof(iommu_device_info, cap_offset), 4)))
            j["caps"] = decode_caps(out, first);
    }
    return j;
}

uint32_t load_u32(Bytes bytes) { return load<uint32_t>(bytes); }

}  // namespace

std::string command_name(unsigned cmd, Abi abi) {
    if (const CommandSpec* spec = find_command(cmd, abi))
        return spec->name;
    char text[16];
    std::snprintf(text, sizeof(text), "0x%x", cmd);
    return text;
}

// Every row decodes through the generic decoder.
bool has_decoder(unsigned cmd, Abi abi) { return find_command(cmd, abi) != nullptr; }

Json decode_args(unsigned cmd, uint64_t arg, std::span<const std::byte> in, Abi abi) {
    const CommandSpec* spec = find_command(cmd, abi);
    if (!spec)
        return {{"arg", hex_number(arg)}};
    if (spec->kind == ArgKind::kValue) {
        Json j{{"value", arg}};
        if (spec->value_name) {
            const char* name = spec->value_name(arg);
            j[spec->value_key] = name ? Json(name) : Json(static_cast<uint32_t>(arg));
        }
        return j;
    }
    if (in.size() < sizeof(uint32_t))  // not even argsz could be read: EFAULT
        return {{"bytes_readable", in.size()}};
    Json j = struct_args(*spec, in);
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

Json decode_out(unsigned cmd, std::span<const std::byte> out, Abi abi) {
    const CommandSpec* spec = find_command(cmd, abi);
    if (!spec || spec->kind != ArgKind::kStruct || !spec->copies_out || out.empty())
        return Json::object();
    return struct_out(*spec, out);
}

Json decode_fault_record(const iommu_fault_record& r) {
    Json j;
    j["flags"] = flag_names(r.flags, kFaultRecordFlags);
    j["reason"] = value_name(r.reason, kFaultReasons);
    j["cookie"] = r.cookie;
    j["ioasid"] = r.ioasid;
    j["pasid"] = r.pasid;
    j["perm"] = flag_names(r.perm, kFaultPerms);
    j["grpid"] = r.grpid;
    j["addr"] = hex_number(r.addr);
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
    const Json name = value_name(code, kPageResponseCodes);
    return name.is_string() ? name.get<std::string>() : std::to_string(code);
}

}  // namespace ciommu::trace
