// The extensions CHECK_EXTENSION answers for.  An extension is either a
// property of the model (answered from this table) or served by a command,
// in which case it is there exactly when the command has a row: adding the
// row turns it on (docs/uapi.md, "Extensions").
#pragma once

#include <cstdint>
#include <span>

namespace ciommu {

struct Extension {
    uint32_t value;  // IOMMU_EXT_*
    const char* name;
    enum class By : uint8_t {
        kModel,      // the model has the behaviour
        kNotModelled,
        kCommand,    // there iff `command_nr` has a row in the table
    } by;
    unsigned command_nr = 0;
};

std::span<const Extension> all_extensions();
// 1 if the daemon has the extension, else 0 (unknown values included).
long extension_supported(uint64_t value);
// "MAP_TYPE1V2"; nullptr for a value without a name.
const char* extension_name(uint64_t value);

}  // namespace ciommu
