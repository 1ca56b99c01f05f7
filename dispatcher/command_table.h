// The one table of /dev/iommu commands.  Each command is one typed row
// (command_table.cpp, built with command_row.h): number, name, struct,
// minimum size, flag names, the struct's fields as the trace shows them,
// reserved fields and a typed handler.  Everything else about a command
// follows from its row: the argument checks (dispatcher.cpp, arg_checks.cpp),
// the trace decoder (control/trace_decoders.cpp), CHECK_EXTENSION
// (extensions.cpp) and the tests that compare the table with docs/uapi.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "../core/call_env.h"
#include "../toolkit/uapi_names.h"

namespace ciommu {

enum class ArgKind {
    kValue,   // the argument is a number (like VFIO_CHECK_EXTENSION)
    kStruct,  // the argument points to a struct the row's convention frames
};

// A number and its name: a flag bit, or one value of an enumeration
// (toolkit/uapi_names.h; rows name their own input flags with the uapi
// spelling only).
using NamedValue = UapiName;
using NameTable = std::span<const NamedValue>;

// How the trace prints a field (docs/trace.md, "Arguments").
enum class Show : uint8_t {
    kNumber,  // unsigned decimal
    kSigned,  // signed decimal (a file descriptor)
    kHex,     // "0x..." (addresses)
    kFlags,   // a list of names from `names`; unnamed bits as one hex string
    kEnum,    // a name from `names`, else the number
    kText,    // a char array: up to its NUL, non-printable bytes as \xNN
};

// Whether the caller passes the field, the daemon writes it back, or both.
enum class Dir : uint8_t { kIn, kOut, kInOut };

struct FieldSpec {
    const char* name = nullptr;
    uint16_t offset = 0;
    uint16_t size = 0;
    Show show = Show::kNumber;
    Dir dir = Dir::kIn;
    NameTable names{};
};

struct ReservedField {
    uint16_t offset = 0;
    uint16_t size = 0;  // 0: unused slot
    const char* name = "__reserved";
};

// The rules a family of commands shares: how its structs are framed and
// which errno each generic refusal gets.  The RFC's commands (kRfcConvention)
// start with argsz, flags; iommufd's (kIommufdConvention) start with a
// __u32 size and refuse unknown flags with EOPNOTSUPP.  The checks in
// arg_checks.cpp read only this, so a second ABI's table reuses them.
struct Convention {
    const char* name;
    const char* size_name;       // the leading __u32: "argsz" or "size"
    uint16_t flags_offset;       // where the __u32 flags lie (unless a row has none)
    int too_small;               // size < the row's minimum
    int too_big;                 // size > IOMMU_ARGSZ_MAX, or non-zero bytes past the struct
    int unknown_flags;           // a flag bit the row does not name
    int reserved_not_zero;       // a reserved field is not zero
    // VFIO reads its struct's first minsz bytes and nothing past its own
    // struct, whatever argsz says: no upper bound, no zero check.
    bool reads_struct_only = false;
};

// What the bytes past the struct are, for commands that write back more
// than the struct (the trace decodes them; the checks never read them).
enum class Tail : uint8_t {
    kNone,
    kDeviceInfoCaps,  // DEVICE_GET_INFO's capability chain
    kVfioInfoCaps,    // VFIO_IOMMU_GET_INFO's (iommufd profile; not decoded)
};

inline constexpr size_t kMaxFields = 12;
inline constexpr size_t kMaxFlags = 8;

struct CommandSpec {
    unsigned nr;              // _IOC_NR of the command
    const char* name;
    ArgKind kind;
    const Convention* convention;  // struct commands; nullptr for value commands
    uint32_t struct_size;     // sizeof the struct the daemon knows
    uint32_t min_size;        // offsetofend of the last mandatory field
    uint32_t valid_flags;     // the OR of flag_names' bits
    bool no_flags;            // the struct has no flags word (iommufd's
                              // DESTROY, OPTION, ...): flags_offset is not read
    bool copies_out;          // the struct is written back to the caller
                              // (the typed handler takes it non-const)
    bool output_tail;         // bytes past struct_size are output space
                              // (a capability chain): not checked for zero
    ReservedField reserved[2];
    Handler handler;          // the typed handler, behind its wrapper
    bool self_locked;         // the handler takes the model lock itself, to
                              // reach client memory or processes between
                              // its locked steps (docs/design.md, rule 2)

    // --- for the trace ---
    NamedValue flag_names[kMaxFlags];  // input flags; valid_flags derives from them
    size_t flag_count;
    FieldSpec fields[kMaxFields];      // every field but the convention's header
    size_t field_count;                // and the reserved ones, in struct order
    NameTable out_flag_names;          // non-empty: argsz and flags are written
                                       // back too, the flags named by these
    const char* value_key;                // value commands: the trace's key for
    const char* (*value_name)(uint64_t);  // the value's name (nullptr: none)
    Tail tail;

    constexpr std::span<const NamedValue> flags() const { return {flag_names, flag_count}; }
    constexpr std::span<const FieldSpec> field_list() const { return {fields, field_count}; }
};

// The uAPI a daemon serves (cuse-iommu --abi): the RFC's /dev/iommu
// (command_table.cpp) or upstream iommufd's with its VFIO compatibility
// ioctls (iommufd_table.cpp).  Both tables drive the same checks and the
// same model.
enum class Abi : uint8_t { kRfc, kIommufd };
// "rfc" / "iommufd".
const char* abi_name(Abi abi);

// nullptr for a number the daemon does not implement.
const CommandSpec* find_command(unsigned cmd, Abi abi = Abi::kRfc);
// Every implemented command (for documentation tests).
std::span<const CommandSpec> all_commands(Abi abi = Abi::kRfc);
// The iommufd profile's table (iommufd_table.cpp).
std::span<const CommandSpec> iommufd_commands();
// The largest struct_size in the table.
inline constexpr size_t kMaxStructSize = 256;

}  // namespace ciommu
