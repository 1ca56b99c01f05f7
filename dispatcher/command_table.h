// The one table of /dev/iommu commands: number -> argument layout, minimum
// size, valid flags, reserved fields, handler.  Every argument check that is
// the same for all commands is driven from here (see dispatcher.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "../core/call_env.h"

namespace ciommu {

enum class ArgKind {
    kValue,   // the argument is a number (like VFIO_CHECK_EXTENSION)
    kStruct,  // the argument points to a struct that starts with argsz, flags
};

struct ReservedField {
    uint16_t offset = 0;
    uint16_t size = 0;  // 0: unused slot
};

struct CommandSpec {
    unsigned nr;              // _IOC_NR of the command
    const char* name;
    ArgKind kind;
    uint32_t struct_size;     // sizeof the struct the daemon knows
    uint32_t min_size;        // offsetofend of the last mandatory field
    uint32_t valid_flags;     // flag bits the command defines
    bool copies_out;          // the struct is written back to the caller
    bool output_tail;         // bytes past struct_size are output space
                              // (a capability chain): not checked for zero
    ReservedField reserved[2];
    Handler handler;
    bool self_locked;         // the handler takes the model lock itself, to
                              // reach client memory or processes between
                              // its locked steps (docs/design.md, rule 2)
};

// nullptr for a number the daemon does not implement.
const CommandSpec* find_command(unsigned cmd);
// Every implemented command (for documentation tests).
std::span<const CommandSpec> all_commands();
// The largest struct_size in the table.
inline constexpr size_t kMaxStructSize = 256;

}  // namespace ciommu
