// What follows from the command table's rows: which numbers answer ENOTTY,
// CHECK_EXTENSION's answers, docs/uapi.md's tables, and the shared checks
// under another ABI's convention (a test-only iommufd-style row).
#include <doctest/doctest.h>

#include <cerrno>
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../../dispatcher/arg_checks.h"
#include "../../dispatcher/command_row.h"
#include "../../dispatcher/extensions.h"
#include "fixture.h"

using namespace ciommu;
using namespace ciommu::test;

namespace {

// The cells of a markdown table row, trimmed, backticks removed; empty if
// the line is not a table row.
std::vector<std::string> cells(const std::string& line) {
    std::vector<std::string> out;
    if (line.empty() || line[0] != '|')
        return out;
    std::stringstream in(line.substr(1));
    std::string cell;
    while (std::getline(in, cell, '|')) {
        std::string text;
        for (char c : cell) {
            if (c != '`')
                text += c;
        }
        const size_t begin = text.find_first_not_of(' ');
        const size_t end = text.find_last_not_of(' ');
        out.push_back(begin == std::string::npos ? "" : text.substr(begin, end - begin + 1));
    }
    return out;
}

std::vector<std::vector<std::string>> uapi_md_rows() {
    std::ifstream file(CUSE_IOMMU_SCRIPTS "/../docs/uapi.md");
    REQUIRE(file);
    std::vector<std::vector<std::string>> rows;
    for (std::string line; std::getline(file, line);) {
        if (auto row = cells(line); !row.empty())
            rows.push_back(std::move(row));
    }
    return rows;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

TEST_CASE("every number of our type without a row is ENOTTY; every row's number is served") {
    Fixture f;
    for (unsigned nr = 0; nr < 256; ++nr) {
        CAPTURE(nr);
        const unsigned cmd = _IO(IOMMU_TYPE, nr);
        const long result = f.raw(cmd, struct_bytes(16, 0, 16)).result;
        if (find_command(cmd))
            CHECK(result != -ENOTTY);
        else
            CHECK(result == -ENOTTY);
    }
}

TEST_CASE("CHECK_EXTENSION answers from the extension table; a command's extension needs its row") {
    Fixture f;
    for (const Extension& e : all_extensions()) {
        CAPTURE(e.name);
        long expected = e.by == Extension::By::kModel ? 1 : 0;
        if (e.by == Extension::By::kCommand)
            expected = find_command(_IO(IOMMU_TYPE, e.command_nr)) != nullptr;
        CHECK(f.value(IOMMU_CHECK_EXTENSION, e.value) == expected);
    }
    CHECK(f.value(IOMMU_CHECK_EXTENSION, uint64_t{1} << 32 | IOMMU_EXT_MAP_TYPE1V2) == 0);
}

TEST_CASE("docs/uapi.md: the numbering plan's implemented commands are exactly the rows") {
    std::map<unsigned, std::string> documented;  // nr -> "NAME kind"
    for (const auto& row : uapi_md_rows()) {
        if (row.size() >= 4 && starts_with(row[0], "0x") && starts_with(row[1], "IOMMU_") &&
            row[3] == "implemented")
            documented[std::stoul(row[0], nullptr, 16)] = row[1].substr(6) + " " + row[2];
    }
    std::map<unsigned, std::string> rows;
    for (const CommandSpec& spec : all_commands())
        rows[spec.nr] = std::string(spec.name) + (spec.kind == ArgKind::kValue ? " value" : " struct");
    CHECK(documented == rows);
}

TEST_CASE("docs/uapi.md: the per-command table says what each struct row checks") {
    // "| NAME | 24 | 8 (flags) | READ, WRITE | __reserved | yes |": a command
    // name first, a size second.
    std::map<std::string, std::vector<std::string>> documented;
    for (const auto& row : uapi_md_rows()) {
        if (row.size() >= 6 && !row[1].empty() && std::isdigit(static_cast<unsigned char>(row[1][0])) &&
            row[0].find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == std::string::npos)
            documented[row[0]] = row;
    }
    size_t struct_rows = 0;
    for (const CommandSpec& spec : all_commands()) {
        if (spec.kind != ArgKind::kStruct)
            continue;
        ++struct_rows;
        CAPTURE(spec.name);
        REQUIRE(documented.count(spec.name) == 1);
        const auto& row = documented[spec.name];
        CHECK(std::stoul(row[1]) == spec.struct_size);
        CHECK(std::stoul(row[2]) == spec.min_size);
        // Valid flags: the documented names end with the row's names, in order.
        std::vector<std::string> flags;
        if (row[3] != "none") {
            std::stringstream in(row[3]);
            for (std::string name; std::getline(in, name, ',');)
                flags.push_back(name.substr(name.find_first_not_of(' ')));
        }
        REQUIRE(flags.size() == spec.flag_count);
        for (size_t i = 0; i < flags.size(); ++i)
            CHECK(ends_with(flags[i], std::string(spec.flag_names[i].uapi)));
        CHECK((row[4] != "—") == (spec.reserved[0].size != 0));
        CHECK(starts_with(row[5], "yes") == spec.copies_out);
    }
    CHECK(documented.size() == struct_rows);
}

TEST_CASE("docs/uapi.md: the extension table gives CHECK_EXTENSION's answers") {
    Fixture f;
    size_t documented = 0;
    for (const auto& row : uapi_md_rows()) {
        if (row.size() < 3 || !starts_with(row[1], "IOMMU_EXT_"))
            continue;
        ++documented;
        CAPTURE(row[1]);
        const unsigned long value = std::stoul(row[0]);
        const char* name = extension_name(value);
        REQUIRE(name != nullptr);
        CHECK(row[1].substr(10) == name);
        CHECK(f.value(IOMMU_CHECK_EXTENSION, value) == std::stol(row[2]));
    }
    CHECK(documented == all_extensions().size());
}

// ---- the convention seam: a second ABI's row reuses the shared checks ----

namespace {

struct test_iommufd_cmd {  // iommufd's shape: __u32 size first
    __u32 size;
    __u32 flags;
    __u32 id;
    __u32 __reserved;
    __aligned_u64 addr;
};
constexpr uint32_t kTestFlagA = 1u << 0;

long test_handler(CallEnv&, const test_iommufd_cmd&) { return 0; }

constexpr CommandSpec kTestRow = [] {
    using S = test_iommufd_cmd;
    return rows::struct_row<test_handler>(kIommufdConvention, 0x80, "TEST_IOMMUFD")
        .min_end(OFFSET_END(S, id))
        .flags({{kTestFlagA, "A"}})
        .fields({IN(id, kNumber), IN(addr, kHex)})
        .reserved(RESERVED(__reserved));
}();

// The compile-time coverage check itself: a row missing a field, or
// listing one twice, does not tile its struct.
constexpr CommandSpec missing_field() {
    using S = test_iommufd_cmd;
    return rows::struct_row<test_handler>(kIommufdConvention, 0x80, "T").fields({IN(id, kNumber)}).spec;
}
constexpr CommandSpec field_twice() {
    using S = test_iommufd_cmd;
    return rows::struct_row<test_handler>(kIommufdConvention, 0x80, "T")
        .fields({IN(id, kNumber), IN(id, kNumber), IN(addr, kHex)})
        .reserved(RESERVED(__reserved))
        .spec;
}
static_assert(rows::fields_tile_struct(kTestRow));
static_assert(!rows::fields_tile_struct(missing_field()));
static_assert(!rows::fields_tile_struct(field_twice()));
static_assert(kTestRow.valid_flags == kTestFlagA && !kTestRow.copies_out);

std::vector<std::byte> test_args(uint32_t size, uint32_t flags, uint32_t reserved = 0) {
    test_iommufd_cmd s{size, flags, 7, reserved, 0x1000};
    std::vector<std::byte> bytes(sizeof(s));
    std::memcpy(bytes.data(), &s, sizeof(s));
    return bytes;
}

}  // namespace

TEST_CASE("an iommufd-convention row: the shared checks give that ABI's errnos") {
    const auto ok = test_args(sizeof(test_iommufd_cmd), kTestFlagA);
    CHECK(check_size(kTestRow, sizeof(test_iommufd_cmd)) == 0);
    CHECK(check_flags_and_reserved(kTestRow, ok.data()) == 0);

    CHECK(check_size(kTestRow, OFFSET_END(test_iommufd_cmd, id) - 1) == -EINVAL);
    CHECK(check_size(kTestRow, IOMMU_ARGSZ_MAX + 1) == -E2BIG);
    CHECK(check_flags_and_reserved(kTestRow, test_args(24, 1u << 1).data()) == -EOPNOTSUPP);
    CHECK(check_flags_and_reserved(kTestRow, test_args(24, 0, 1).data()) == -EOPNOTSUPP);

    auto longer = ok;
    longer.resize(sizeof(test_iommufd_cmd) + 8);
    CHECK(check_tail(kTestRow, longer) == 0);  // zeros past the struct: an older daemon's caller
    longer.back() = std::byte{1};
    CHECK(check_tail(kTestRow, longer) == -E2BIG);

    // The same bytes under the RFC's convention: EINVAL, as every RFC row.
    CommandSpec rfc = kTestRow;
    rfc.convention = &kRfcConvention;
    CHECK(check_flags_and_reserved(rfc, test_args(24, 1u << 1).data()) == -EINVAL);
    CHECK(check_flags_and_reserved(rfc, test_args(24, 0, 1).data()) == -EINVAL);
}

// ---- docs/trace.md's args/out table says what the rows' fields say ----

namespace {

// The backticked names of a cell outside parentheses, and those of a
// parenthesis that starts with "flag" (the command's flag names).
struct TraceCell {
    std::vector<std::string> names, flags;
};

TraceCell parse_trace_cell(const std::string& cell) {
    TraceCell out;
    int depth = 0;
    bool flag_group = false;
    std::string group_start;
    for (size_t i = 0; i < cell.size(); ++i) {
        const char c = cell[i];
        if (c == '(') {
            ++depth;
            flag_group = cell.compare(i + 1, 4, "flag") == 0;
        } else if (c == ')') {
            --depth;
        } else if (c == '`') {
            const size_t end = cell.find('`', i + 1);
            const std::string name = cell.substr(i + 1, end - i - 1);
            if (depth == 0)
                out.names.push_back(name);
            else if (flag_group)
                out.flags.push_back(name);
            i = end;
        }
    }
    return out;
}

std::vector<std::string> split_cells(const std::string& line) {
    std::vector<std::string> out;
    std::stringstream in(line.substr(1));
    for (std::string cell; std::getline(in, cell, '|');)
        out.push_back(cell);
    return out;
}

}  // namespace

TEST_CASE("docs/trace.md: each command's args and out fields are its row's") {
    std::ifstream file(CUSE_IOMMU_SCRIPTS "/../docs/trace.md");
    REQUIRE(file);
    std::set<std::string> seen;
    for (std::string line; std::getline(file, line);) {
        if (line.rfind("| `", 0) != 0)
            continue;
        const auto row = split_cells(line);
        if (row.size() < 3)
            continue;
        for (const std::string& name : parse_trace_cell(row[0]).names) {
            const CommandSpec* spec = nullptr;
            for (const CommandSpec& s : all_commands())
                spec = name == s.name ? &s : spec;
            if (!spec || spec->kind != ArgKind::kStruct)
                continue;  // another table of the page
            CAPTURE(name);
            seen.insert(name);
            std::vector<std::string> in, out, flags;
            for (const FieldSpec& f : spec->field_list()) {
                if (f.dir != Dir::kOut)
                    in.push_back(f.name);
                if (f.dir != Dir::kIn)
                    out.push_back(f.name);
            }
            if (!spec->out_flag_names.empty())
                out.insert(out.begin(), {spec->convention->size_name, "flags"});
            if (spec->tail == Tail::kDeviceInfoCaps)
                out.push_back("caps");
            for (const NamedValue& n : spec->flags())
                flags.push_back(std::string(n.uapi));
            const TraceCell args = parse_trace_cell(row[1]);
            CHECK(args.names == in);
            CHECK(args.flags == flags);
            CHECK(parse_trace_cell(row[2]).names == out);
        }
    }
    size_t struct_rows = 0;
    for (const CommandSpec& s : all_commands())
        struct_rows += s.kind == ArgKind::kStruct;
    CHECK(seen.size() == struct_rows);
}
