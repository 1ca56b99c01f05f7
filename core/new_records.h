// The contexts whose fault regions got records since the transport last
// looked (Model::note_new_records), and the object files that became
// readable: their readers and pollers are woken once the model lock is
// dropped.
#pragma once

#include <cstdint>
#include <vector>

namespace ciommu {

struct NewRecords {
    std::vector<uint64_t> contexts;  // ids, in the order noted
    bool everyone = false;           // a note found no memory: wake every reader
    // Object files (iommufd/object_file.h) that became readable: their
    // pollers are woken the same way.
    std::vector<uint64_t> object_files;
    bool every_object_file = false;
};

}  // namespace ciommu
