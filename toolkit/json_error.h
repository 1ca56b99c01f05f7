// An error in JSON input: where (a JSON pointer, RFC 6901; "" is the whole
// document) and what was wrong.  toolkit/json_reader.h records them.
#pragma once

#include <string>

namespace ciommu {

struct JsonError {
    std::string path;
    std::string message;
};

}  // namespace ciommu
