// Reading one JSON document (a control request) into a tree the caller
// owns, so that a parse that fails half-way -- bad input, too deep, or out
// of memory -- leaves what it built where the caller can release it
// without allocating (safe_json.h).  json::parse() keeps its partial tree
// to itself and destroys it while unwinding, which allocates.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ciommu {

// Parses text into out (which must be null); "" or why it is not one JSON
// document no deeper than max_depth.  Throws std::bad_alloc, with out
// holding the part built (release it).
std::string parse_json_line(std::string_view text, nlohmann::json& out, int max_depth);

}  // namespace ciommu
