// What every fuzz target asserts about the model: sound after each
// operation (the invariant checker finds nothing), and empty once every
// context is released.  A violation aborts, which libFuzzer reports as a
// crash with the input that caused it.
#pragma once

namespace ciommu {
class Model;
}

namespace fuzz {

// Takes the model lock.
void require_sound(ciommu::Model& model);
// Takes the model lock.  No context, locked page, route, IOTLB entry or
// bound device left (stalled DMAs and page requests live in contexts).
void require_empty(ciommu::Model& model);

}  // namespace fuzz
