// Renderers: the dump's state (docs/control.md) as a tree for people or as
// Graphviz DOT, and the answers of dma/dma-status and set.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace iommuctl {

struct TreeOptions {
    size_t max_mappings = 16;  // per IOASID; 0: all the dump holds
};

std::string render_tree(const nlohmann::json& state, const TreeOptions& options = {});

// A digraph: contexts -> their root IOASIDs -> nested children; devices ->
// IOASIDs, one edge per attachment labelled with its PASID; mdevs -> their
// parents.  Node ids are generated; every name appears only inside escaped
// labels, so the output is valid DOT whatever the names.
std::string render_dot(const nlohmann::json& state);
// A DOT quoted string: "..." with " and \ escaped, & as &amp; (Graphviz
// decodes HTML entities in labels), newlines as \n and other control
// characters made visible.
std::string dot_quote(std::string_view s);

// A dma / dma-status answer for `device`; `length` is the requested length
// when known.
std::string render_dma(const nlohmann::json& answer, const std::string& device, std::optional<uint64_t> length);

// A fault_region object (the answer of set, part of dump).
std::string render_fault_region(const nlohmann::json& region);
// A device's page_requests object (the answer of set --device, part of dump).
std::string render_page_requests(const nlohmann::json& credits);

}  // namespace iommuctl
