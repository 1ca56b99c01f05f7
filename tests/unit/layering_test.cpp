// The layer rule of docs/design.md ("Layers"), checked against the code:
// every #include "..." in the production folders must name a folder the
// table allows.  The table is read from docs/design.md itself, so the
// document and the code cannot drift apart without this test failing.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
const fs::path kSourceRoot = CUSE_IOMMU_SOURCE_DIR;

// What one folder may include: from its headers, and additionally from
// its sources (a model folder's rules are written against the core).
struct FolderRule {
    std::set<std::string> headers;
    std::set<std::string> sources_also;
};
using LayerRules = std::map<std::string, FolderRule>;

std::set<std::string> folders_named_in(const std::string& cell) {
    std::set<std::string> names;
    static const std::regex folder("`([a-z-]+)/`");
    for (std::sregex_iterator it(cell.begin(), cell.end(), folder), end; it != end; ++it)
        names.insert((*it)[1]);
    return names;
}

std::vector<std::string> split_row(const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream in(line);
    std::string cell;
    std::getline(in, cell, '|');  // before the first bar
    while (std::getline(in, cell, '|'))
        cells.push_back(cell);
    return cells;
}

// The rows of the "Layers" table: | `folder/` | holds | headers may include | sources may also include |
LayerRules read_layer_table(std::istream& doc) {
    LayerRules rules;
    std::string line;
    bool in_layers = false;
    while (std::getline(doc, line)) {
        if (line.rfind("## ", 0) == 0)
            in_layers = line == "## Layers";
        if (!in_layers || line.rfind("| `", 0) != 0)
            continue;
        const std::vector<std::string> cells = split_row(line);
        if (cells.size() < 4)
            continue;
        const std::set<std::string> self = folders_named_in(cells[0]);
        if (self.size() != 1)
            continue;
        rules[*self.begin()] = {folders_named_in(cells[2]), folders_named_in(cells[3])};
    }
    return rules;
}

// The folder an #include "target" written in `folder` refers to, or "" for
// one outside the project (a system or library header in quotes).
std::string included_folder(const std::string& folder, const std::string& target) {
    if (target.rfind("../", 0) == 0) {
        const std::string rest = target.substr(3);
        return rest.substr(0, rest.find('/'));
    }
    if (target.find('/') == std::string::npos) {
        if (fs::exists(kSourceRoot / folder / target))
            return folder;
        if (fs::exists(kSourceRoot / "uapi" / target))
            return "uapi";
    }
    return "";
}

// "file: includes target (folder/ may not)" for each include the rule
// forbids; `file` is relative to the source root, like "ioasid/iotlb.cpp".
std::vector<std::string> check_file(const LayerRules& rules, const std::string& file, std::istream& text) {
    std::vector<std::string> violations;
    const std::string folder = file.substr(0, file.find('/'));
    const bool header = file.ends_with(".h");
    const FolderRule& rule = rules.at(folder);
    static const std::regex include_line(R"re(^\s*#\s*include\s*"([^"]+)")re");
    std::string line;
    while (std::getline(text, line)) {
        std::smatch m;
        if (!std::regex_search(line, m, include_line))
            continue;
        const std::string target = m[1];
        const std::string to = included_folder(folder, target);
        if (to.empty() || to == folder || rule.headers.count(to) || (!header && rule.sources_also.count(to)))
            continue;
        violations.push_back(file + ": includes \"" + target + "\" (" + folder + "/ " +
                             (header ? "headers" : "sources") + " may not include " + to + "/)");
    }
    return violations;
}

LayerRules design_rules() {
    std::ifstream doc(kSourceRoot / "docs" / "design.md");
    REQUIRE(doc);
    return read_layer_table(doc);
}

std::vector<std::string> check_text(const LayerRules& rules, const std::string& file, const std::string& text) {
    std::istringstream in(text);
    return check_file(rules, file, in);
}

}  // namespace

TEST_CASE("docs/design.md's layer table names every production folder") {
    const LayerRules rules = design_rules();
    for (const char* folder :
         {"uapi", "toolkit", "ioasid", "devices", "fault-region", "iommufd", "core", "dispatcher", "control", "cuse",
          "iommuctl"})
        CHECK_MESSAGE(rules.count(folder), folder);
    // The model folders sit below the core; only their sources reach up to it.
    CHECK_FALSE(rules.at("ioasid").headers.count("core"));
    CHECK(rules.at("ioasid").sources_also.count("core"));
    CHECK(rules.at("core").headers.count("fault-region"));
}

TEST_CASE("every include in the production folders keeps the layer rule") {
    const LayerRules rules = design_rules();
    std::vector<std::string> violations;
    size_t files = 0;
    for (const auto& [folder, rule] : rules) {
        const fs::path dir = kSourceRoot / folder;
        REQUIRE_MESSAGE(fs::is_directory(dir), dir.string());
        for (const auto& entry : fs::recursive_directory_iterator(dir)) {
            const std::string ext = entry.path().extension();
            if (ext != ".h" && ext != ".cpp" && ext != ".c")
                continue;
            ++files;
            std::ifstream text(entry.path());
            const std::string file = fs::relative(entry.path(), kSourceRoot).string();
            for (std::string& v : check_file(rules, file, text))
                violations.push_back(std::move(v));
        }
    }
    CHECK(files > 100);  // the walk really saw the tree
    for (const std::string& v : violations)
        FAIL_CHECK(v);
}

TEST_CASE("the layer check refuses an upward include and accepts the allowed ones") {
    const LayerRules rules = design_rules();
    // Upward: a model folder reaching a higher one, a header reaching the core.
    CHECK(check_text(rules, "ioasid/iotlb.cpp", "#include \"../devices/mdev_pins.h\"\n").size() == 1);
    CHECK(check_text(rules, "devices/dma_engine.cpp", "#include \"../fault-region/fault_router.h\"\n").size() == 1);
    CHECK(check_text(rules, "devices/bound_device.h", "#include \"../core/model.h\"\n").size() == 1);
    CHECK(check_text(rules, "core/model.h", "  #  include \"../dispatcher/dispatcher.h\"\n").size() == 1);
    CHECK(check_text(rules, "dispatcher/dispatcher.cpp", "#include \"../cuse/call_gate.h\"\n").size() == 1);
    CHECK(check_text(rules, "iommuctl/client.cpp", "#include \"../control/json_line.h\"\n").size() == 1);
    // Allowed: downward, the folder itself, a model source reaching the
    // core, the uapi header by its bare name, library headers.
    CHECK(check_text(rules, "fault-region/fault_router.cpp",
                     "#include \"../devices/translation.h\"\n#include \"fault_router.h\"\n"
                     "#include \"../core/model.h\"\n#include \"cuse-iommu.h\"\n#include <vector>\n")
              .empty());
    CHECK(check_text(rules, "control/state_dump.cpp", "#include \"../dispatcher/dispatcher.h\"\n").empty());
}
