// The contexts whose fault regions got records since the transport last
// looked (Model::note_new_records): their readers and pollers are woken
// once the model lock is dropped.
#pragma once

#include <cstdint>
#include <vector>

namespace ciommu {

struct NewRecords {
    std::vector<uint64_t> contexts;  // ids, in the order noted
    bool everyone = false;           // a note found no memory: wake every reader
};

}  // namespace ciommu
