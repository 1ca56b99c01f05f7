// The topology JSON parser: the default topology, numbers, BDFs, and a table
// of bad documents, each rejected with the JSON pointer of the value at fault.
#include <doctest/doctest.h>

#include <cstdio>
#include <functional>
#include <string>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "../../devices/topology.h"
#include "../../toolkit/hex_text.h"

using namespace ciommu;
using nlohmann::json;

namespace {

constexpr uint64_t K4 = 4096, M2 = 2u << 20, G1 = 1u << 30;

Topology parsed(std::variant<Topology, TopologyError> result) {
    if (const auto* err = std::get_if<TopologyError>(&result))
        FAIL(describe(*err));
    return std::get<Topology>(std::move(result));
}

TopologyError error_of(std::string_view text) {
    auto result = parse_topology(text);
    REQUIRE_MESSAGE(std::holds_alternative<TopologyError>(result), "accepted: " << text);
    return std::get<TopologyError>(result);
}

json default_doc() {
    return json::parse(default_topology_json(), nullptr, true, /*ignore_comments=*/true);
}

const DeviceSpec& device(const Topology& topo, std::string_view name) {
    const DeviceSpec* d = topo.find_device(name);
    REQUIRE_MESSAGE(d != nullptr, name);
    return *d;
}

// The default's IOMMUs as docs/topology.md states them, checked field by
// field against values written here, not against another parse.
void check_documented_iommus(const Topology& topo) {
    REQUIRE(topo.iommus.size() == 2);

    const IommuUnit& u0 = topo.iommus[0];
    CHECK(u0.name == "iommu0");
    CHECK(u0.pgsize_bitmap == (K4 | M2 | G1));
    CHECK(u0.address_width == 48);
    REQUIRE(u0.reserved.size() == 1);
    CHECK(u0.reserved[0].start == 0xfee00000);
    CHECK(u0.reserved[0].last == 0xfeefffff);
    CHECK(u0.reserved[0].type == ResvType::kMsi);
    CHECK(u0.nesting == Nesting::kHardware);
    CHECK(u0.pasid_width == 20);
    CHECK(u0.iopf);
    CHECK(u0.snoop_control);
    CHECK(u0.dirty_tracking);
    CHECK(u0.pgtable_formats == 1u << IOMMU_PGTABLE_FORMAT_X86_64);

    const IommuUnit& u1 = topo.iommus[1];
    CHECK(u1.name == "iommu1");
    CHECK(u1.pgsize_bitmap == K4);
    CHECK(u1.address_width == 39);
    REQUIRE(u1.reserved.size() == 2);
    CHECK(u1.reserved[0].type == ResvType::kReserved);
    CHECK(u1.reserved[0].start == 0xe0000000);
    CHECK(u1.reserved[0].last == 0xefffffff);
    CHECK(u1.reserved[1].type == ResvType::kMsi);
    CHECK(u1.nesting == Nesting::kNone);
    CHECK(u1.pasid_width == 0);
    CHECK_FALSE(u1.iopf);
    CHECK_FALSE(u1.snoop_control);
    CHECK_FALSE(u1.dirty_tracking);
    CHECK(u1.pgtable_formats == 0);
}

// The default's devices as docs/topology.md states them, in document order.
void check_documented_devices(const Topology& topo) {
    struct Expect {
        const char* name;
        DeviceKind kind;
        const char* bdf;
        uint16_t rid;
        unsigned iommu;
        unsigned group;
        const char* parent;
        bool pasid, pri;
    };
    const Expect expected[] = {
        {"nic0", DeviceKind::kPci, "00:01.0", 0x08, 0, 1, nullptr, false, false},
        {"nic1", DeviceKind::kPci, "00:02.0", 0x10, 0, 2, nullptr, false, false},
        {"nic2", DeviceKind::kPci, "00:02.1", 0x11, 0, 2, nullptr, false, false},
        {"accel0", DeviceKind::kPci, "00:03.0", 0x18, 0, 3, nullptr, true, true},
        {"gpu0", DeviceKind::kPci, "00:04.0", 0x20, 0, 4, nullptr, true, false},
        {"mdev0", DeviceKind::kMdev, "", 0x20, 0, 6, "gpu0", false, false},
        {"mdev1", DeviceKind::kMdev, "", 0x20, 0, 7, "gpu0", false, false},
        {"vmdev0", DeviceKind::kSwMdev, "", 0x20, kNoIndex, 8, "gpu0", false, false},
        {"legacy0", DeviceKind::kPci, "00:05.0", 0x28, 1, 5, nullptr, false, false},
    };
    REQUIRE(topo.devices.size() == std::size(expected));
    for (size_t i = 0; i < std::size(expected); ++i) {
        const Expect& e = expected[i];
        CAPTURE(e.name);
        const DeviceSpec& d = topo.devices[i];
        CHECK(d.name == e.name);
        CHECK(d.kind == e.kind);
        CHECK(d.bdf == e.bdf);
        CHECK(d.rid == e.rid);
        CHECK(d.iommu == e.iommu);
        CHECK(d.group == e.group);
        CHECK(d.parent == (e.parent ? topo.index_of(device(topo, e.parent)) : kNoIndex));
        CHECK(d.pasid == e.pasid);
        CHECK(d.pri == e.pri);
        CHECK(topo.index_of(d) == i);
        CHECK(topo.find_device(e.name) == &d);
    }
}

}  // namespace

TEST_CASE("the default topology has two IOMMUs as documented") {
    check_documented_iommus(default_topology());
}

TEST_CASE("the default topology's devices") {
    const Topology& topo = default_topology();
    check_documented_devices(topo);
    CHECK(topo.find_device("nope") == nullptr);
    CHECK(topo.find_device("") == nullptr);
    const DeviceSpec stranger = topo.devices[0];
    CHECK(topo.index_of(stranger) == kNoIndex);
    CHECK(iommu_of(topo, device(topo, "mdev0")) == &topo.iommus[0]);
    CHECK(iommu_of(topo, device(topo, "vmdev0")) == nullptr);
    CHECK(iommu_of(topo, device(topo, "legacy0")) == &topo.iommus[1]);
}

TEST_CASE("default_topology() is parsed once; default_topology_json() is the documented default") {
    CHECK(&default_topology() == &default_topology());
    // A fresh parse of the text, checked against the stated values (checked
    // against default_topology() it could not fail: both come from this text).
    const Topology again = parsed(parse_topology(default_topology_json()));
    check_documented_iommus(again);
    check_documented_devices(again);
}

TEST_CASE("BDF -> RID") {
    struct Case {
        const char* bdf;
        std::optional<uint16_t> rid;
    };
    const Case cases[] = {
        {"00:00.0", 0x0000}, {"00:01.0", 0x0008}, {"00:02.1", 0x0011}, {"01:00.0", 0x0100},
        {"ff:1f.7", 0xffff}, {"0A:1b.3", 0x0adb}, {"00:20.0", std::nullopt}, {"00:01.8", std::nullopt},
        {"0:01.0", std::nullopt}, {"0000:00:01.0", std::nullopt}, {"00-01.0", std::nullopt},
        {"00:01:0", std::nullopt}, {"zz:00.0", std::nullopt}, {"", std::nullopt}, {"00:01.0 ", std::nullopt},
    };
    for (const Case& c : cases) {
        CAPTURE(c.bdf);
        CHECK(parse_bdf(c.bdf) == c.rid);
    }
}

TEST_CASE("numbers are JSON integers or hex strings; sizes may carry K/M/G/T") {
    const char* text = R"({
      "iommus": [{
        "name": "u", "address_width": "0x27", "pasid_width": "0x10",
        "page_sizes": [4096, "0x200000", "1G"],
        "reserved_regions": [
          { "start": 4276092928, "last": "0xFEEFFFFF", "type": "msi" },
          { "start": "0x100000", "size": 8192, "type": "direct" },
          { "start": "0x7fff000000", "size": "16M", "type": "reserved" }
        ]
      }],
      "devices": [ { "name": "d", "type": "pci", "bdf": "00:01.0", "iommu": "u", "group": "0x7" } ]
    })";
    const Topology topo = parsed(parse_topology(text));
    const IommuUnit& u = topo.iommus[0];
    CHECK(u.address_width == 39);
    CHECK(u.pasid_width == 16);
    CHECK(u.pgsize_bitmap == (K4 | M2 | G1));
    // Sorted by start, whatever the document's order.
    REQUIRE(u.reserved.size() == 3);
    CHECK(u.reserved[0].start == 0x100000);
    CHECK(u.reserved[0].last == 0x101fff);
    CHECK(u.reserved[0].type == ResvType::kDirect);
    CHECK(u.reserved[1].start == 0xfee00000);
    CHECK(u.reserved[1].last == 0xfeefffff);
    CHECK(u.reserved[2].last == 0x7fffffffff);  // ends exactly at the 39-bit limit
    CHECK(topo.devices[0].group == 7);
    // Optional keys take their "absent" defaults.
    CHECK(u.nesting == Nesting::kNone);
    CHECK_FALSE(u.iopf);
    CHECK_FALSE(topo.devices[0].pasid);
}

TEST_CASE("mdev groups are synthesized after the PCI groups; a parent may come later") {
    const char* text = R"({
      "iommus": [{ "name": "u", "address_width": 48, "page_sizes": ["4K"], "pasid_width": 8 }],
      "devices": [
        { "name": "m", "type": "mdev", "parent": "p" },
        { "name": "s", "type": "sw-mdev", "parent": "q" },
        { "name": "p", "type": "pci", "bdf": "00:01.0", "iommu": "u", "group": 40, "pasid": true, "pri": true },
        { "name": "q", "type": "pci", "bdf": "00:02.0", "iommu": "u", "group": 9 }
      ]
    })";
    const Topology topo = parsed(parse_topology(text));
    const DeviceSpec& m = device(topo, "m");
    const DeviceSpec& s = device(topo, "s");
    CHECK(m.group == 41);
    CHECK(s.group == 42);
    CHECK(m.parent == 2);
    CHECK(m.rid == 0x08);
    CHECK(m.iommu == 0);
    CHECK(m.pri);  // page requests go out through the parent
    CHECK_FALSE(m.pasid);
    CHECK(s.parent == 3);
    CHECK(s.rid == 0x10);
    CHECK(s.iommu == kNoIndex);
    CHECK_FALSE(s.pri);
}

TEST_CASE("a software mdev may sit on a parent whose IOMMU has no PASIDs") {
    json d = default_doc();
    d["devices"][7]["parent"] = "legacy0";
    const Topology topo = parsed(parse_topology(d.dump()));
    CHECK(device(topo, "vmdev0").rid == 0x28);
}

namespace {

// The bad-document table edits the default document (see default_topology.cpp):
// iommus 0 iommu0, 1 iommu1; devices 0 nic0, 1 nic1, 2 nic2, 3 accel0, 4 gpu0,
// 5 mdev0, 6 mdev1, 7 vmdev0 (sw-mdev), 8 legacy0.
enum class Op { kSet, kRemove, kAppend };

struct BadCase {
    const char* what;
    Op op;
    const char* at;    // JSON pointer of the edit
    json value;        // kSet, kAppend
    const char* path;  // the error's path; nullptr: the same as `at`
    const char* word;  // appears in the message
};

void apply(json& doc, const BadCase& c) {
    const json::json_pointer at(c.at);
    if (c.op == Op::kSet)
        doc[at] = c.value;
    else if (c.op == Op::kAppend)
        doc[at].push_back(c.value);
    else
        doc[at.parent_pointer()].erase(at.back());
}

void check_rejected(const json& doc, const char* path, const char* word) {
    const TopologyError e = error_of(doc.dump());
    CHECK(e.path == path);
    CHECK_MESSAGE(e.message.find(word) != std::string::npos, e.message);
}

json region(const char* start, const char* size, const char* type) {
    return {{"start", start}, {"size", size}, {"type", type}};
}

}  // namespace

TEST_CASE("bad documents are rejected with the path of the value at fault") {
    constexpr Op kSet = Op::kSet, kRemove = Op::kRemove, kAppend = Op::kAppend;
    const json many_regions = [] {
        json regions = json::array();
        for (int i = 0; i < 65; ++i)
            regions.push_back({{"start", i * 0x10000}, {"size", "4K"}, {"type", "reserved"}});
        return regions;
    }();
    const BadCase cases[] = {
        // The document.
        {"unknown top-level key", kSet, "/extra", 1, nullptr, "unknown key"},
        {"no iommus", kRemove, "/iommus", {}, nullptr, "missing"},
        {"no devices", kRemove, "/devices", {}, nullptr, "missing"},
        {"iommus not an array", kSet, "/iommus", json::object(), nullptr, "array"},
        {"a key with / and ~", kSet, "/a~1b~0", 1, nullptr, "unknown key"},
        // IOMMU units.
        {"iommu not an object", kSet, "/iommus/1", "iommu1", nullptr, "object"},
        {"iommu unknown key", kSet, "/iommus/0/colour", "red", nullptr, "unknown key"},
        {"iommu without name", kRemove, "/iommus/0/name", {}, nullptr, "missing"},
        {"iommu name with a space", kSet, "/iommus/0/name", "iommu 0", nullptr, "[A-Za-z0-9_.-]"},
        {"iommu name empty", kSet, "/iommus/0/name", "", nullptr, "1..31"},
        {"iommu name a number", kSet, "/iommus/0/name", 0, nullptr, "got 0"},
        {"duplicate iommu name", kSet, "/iommus/1/name", "iommu0", nullptr, "duplicate"},
        {"no address_width", kRemove, "/iommus/0/address_width", {}, nullptr, "missing"},
        {"address_width 31", kSet, "/iommus/0/address_width", 31, nullptr, "32..48"},
        {"address_width 49", kSet, "/iommus/0/address_width", 49, nullptr, "got 49"},
        {"address_width decimal string", kSet, "/iommus/0/address_width", "48", nullptr, "hex string"},
        {"address_width float", kSet, "/iommus/0/address_width", 48.0, nullptr, "integer"},
        {"address_width negative", kSet, "/iommus/0/address_width", -48, nullptr, "non-negative"},
        {"no page_sizes", kRemove, "/iommus/0/page_sizes", {}, nullptr, "missing"},
        {"page_sizes not an array", kSet, "/iommus/0/page_sizes", "4K", nullptr, "array"},
        {"page_sizes without 4K", kSet, "/iommus/0/page_sizes", {"2M"}, nullptr, "must include 4K"},
        {"page_sizes empty", kSet, "/iommus/0/page_sizes", json::array(), nullptr, "must include 4K"},
        {"page size not a power of 2", kSet, "/iommus/0/page_sizes/1", "3M", nullptr, "power of two"},
        {"page size below 4K", kSet, "/iommus/0/page_sizes/1", 2048, nullptr, ">= 4K"},
        {"page size twice", kSet, "/iommus/0/page_sizes/1", 4096, nullptr, "twice"},
        {"page size as wide as the space", kAppend, "/iommus/1/page_sizes", "512G", "/iommus/1/page_sizes/1", "39-bit"},
        {"page size bad suffix", kSet, "/iommus/0/page_sizes/1", "2Q", nullptr, "size"},
        {"page size overflows", kSet, "/iommus/0/page_sizes/1", "99999999T", nullptr, "64 bits"},
        // Reserved regions.
        {"regions not an array", kSet, "/iommus/0/reserved_regions", 1, nullptr, "array"},
        {"region not an object", kSet, "/iommus/0/reserved_regions/0", 1, nullptr, "object"},
        {"region unknown key", kSet, "/iommus/0/reserved_regions/0/end", 1, nullptr, "unknown key"},
        {"region without start", kRemove, "/iommus/0/reserved_regions/0/start", {}, nullptr, "missing"},
        {"region start misaligned", kSet, "/iommus/0/reserved_regions/0/start", "0xfee00800", nullptr, "4K-aligned"},
        {"region start overflows", kSet, "/iommus/0/reserved_regions/0/start", "0x10000000000000000", nullptr,
         "64 bits"},
        {"region last and size", kSet, "/iommus/0/reserved_regions/0/size", "1M", "/iommus/0/reserved_regions/0",
         "not both"},
        {"region without last or size", kRemove, "/iommus/0/reserved_regions/0/last", {}, nullptr, "missing"},
        {"region last misaligned", kSet, "/iommus/0/reserved_regions/0/last", "0xfeeffffe", nullptr, "4K boundary"},
        {"region last before start", kSet, "/iommus/0/reserved_regions/0/last", "0xfedfffff", nullptr, "before"},
        {"region size 0", kSet, "/iommus/1/reserved_regions/0/size", 0, nullptr, "non-zero"},
        {"region size misaligned", kSet, "/iommus/1/reserved_regions/0/size", "0x1800", nullptr, "multiple of 4K"},
        {"region wraps", kSet, "/iommus/1/reserved_regions/0/start", "0xfffffffffffff000",
         "/iommus/1/reserved_regions/0/size", "wraps"},
        {"region past the width", kAppend, "/iommus/1/reserved_regions", region("0x7ffffff000", "8K", "msi"),
         "/iommus/1/reserved_regions/2/size", "39-bit"},
        {"region without type", kRemove, "/iommus/0/reserved_regions/0/type", {}, nullptr, "missing"},
        {"region type unknown", kSet, "/iommus/0/reserved_regions/0/type", "mmio", nullptr, "\"msi\""},
        {"regions overlap", kAppend, "/iommus/1/reserved_regions", region("0xefff0000", "128K", "direct"),
         "/iommus/1/reserved_regions/2", "overlaps /iommus/1/reserved_regions/0"},
        {"overlap found below", kAppend, "/iommus/1/reserved_regions", region("0xdffff000", "8K", "direct"),
         "/iommus/1/reserved_regions/2", "overlaps /iommus/1/reserved_regions/0"},
        {"too many regions", kSet, "/iommus/0/reserved_regions", many_regions, nullptr, "at most 64"},
        // Nesting, PASIDs, faults, snooping.
        {"nesting unknown", kSet, "/iommus/0/nesting", "full", nullptr, "\"hardware\""},
        {"nesting a bool", kSet, "/iommus/0/nesting", true, nullptr, "got true"},
        {"pasid_width 21", kSet, "/iommus/0/pasid_width", 21, nullptr, "0..20"},
        {"iopf a string", kSet, "/iommus/0/iopf", "yes", nullptr, "true or false"},
        {"snoop_control a number", kSet, "/iommus/0/snoop_control", 1, nullptr, "true or false"},
        {"format unknown", kSet, "/iommus/0/pgtable_formats/0", "arm64", nullptr, "\"x86_64\""},
        {"format twice", kAppend, "/iommus/0/pgtable_formats", "x86_64", "/iommus/0/pgtable_formats/1", "twice"},
        {"formats without nesting", kSet, "/iommus/1/pgtable_formats", {"x86_64"}, nullptr, "need nesting"},
        {"nesting without formats", kRemove, "/iommus/0/pgtable_formats", {}, "/iommus/0/nesting", "pgtable_formats"},
        // Devices.
        {"devices not an array", kSet, "/devices", "nic0", nullptr, "array"},
        {"device not an object", kSet, "/devices/0", "nic0", nullptr, "object"},
        {"device without type", kRemove, "/devices/0/type", {}, nullptr, "missing"},
        {"device type unknown", kSet, "/devices/0/type", "usb", nullptr, "\"sw-mdev\""},
        {"device unknown key", kSet, "/devices/0/speed", 10, nullptr, "unknown key"},
        {"device without name", kRemove, "/devices/0/name", {}, nullptr, "missing"},
        {"device name too long", kSet, "/devices/0/name", std::string(32, 'n'), nullptr, "1..31"},
        {"duplicate device name", kSet, "/devices/8/name", "nic0", nullptr, "/devices/0"},
        {"pci without bdf", kRemove, "/devices/0/bdf", {}, nullptr, "missing"},
        {"bdf garbage", kSet, "/devices/3/bdf", "zz", nullptr, "expected \"BB:DD.F\" (hex), got \"zz\""},
        {"bdf device 0x20", kSet, "/devices/0/bdf", "00:20.0", nullptr, "BB:DD.F"},
        {"bdf with a domain", kSet, "/devices/0/bdf", "0000:00:01.0", nullptr, "BB:DD.F"},
        {"bdf a number", kSet, "/devices/0/bdf", 8, nullptr, "got 8"},
        {"duplicate bdf", kSet, "/devices/8/bdf", "00:01.0", nullptr, "\"nic0\""},
        {"pci without iommu", kRemove, "/devices/0/iommu", {}, nullptr, "missing"},
        {"dangling iommu", kSet, "/devices/0/iommu", "iommu9", nullptr, "\"iommu9\""},
        {"pci without group", kRemove, "/devices/0/group", {}, nullptr, "missing"},
        {"group negative", kSet, "/devices/0/group", -1, nullptr, "non-negative"},
        {"group too large", kSet, "/devices/0/group", 0x80000000u, nullptr, "2147483647"},
        {"group across IOMMUs", kSet, "/devices/8/group", 2, nullptr, "one IOMMU"},
        {"pasid a string", kSet, "/devices/3/pasid", "true", nullptr, "true or false"},
        {"pri null", kSet, "/devices/3/pri", nullptr, nullptr, "got null"},
        // mdevs.
        {"mdev with a bdf", kSet, "/devices/5/bdf", "00:06.0", nullptr, "not allowed for type \"mdev\""},
        {"mdev with a group", kSet, "/devices/5/group", 9, nullptr, "comes from the parent"},
        {"sw-mdev with an iommu", kSet, "/devices/7/iommu", "iommu0", nullptr, "\"sw-mdev\""},
        {"mdev unknown key", kSet, "/devices/5/vendor", "x", nullptr, "unknown key"},
        {"mdev without parent", kRemove, "/devices/5/parent", {}, nullptr, "missing"},
        {"dangling parent", kSet, "/devices/5/parent", "gpu9", nullptr, "\"gpu9\""},
        {"parent is an mdev", kSet, "/devices/6/parent", "mdev0", nullptr, "must be of type \"pci\""},
        {"parent is itself", kSet, "/devices/7/parent", "vmdev0", nullptr, "must be of type \"pci\""},
        {"mdev parent's IOMMU lacks PASIDs", kSet, "/devices/5/parent", "legacy0", nullptr, "defPASID"},
        {"mdev parent not PASID-capable", kSet, "/devices/5/parent", "nic0", nullptr, "not PASID-capable"},
    };
    for (const BadCase& c : cases) {
        CAPTURE(c.what);
        json doc = default_doc();
        apply(doc, c);
        check_rejected(doc, c.path ? c.path : c.at, c.word);
    }
}

TEST_CASE("bad documents that take more than one edit") {
    json doc = default_doc();
    SUBCASE("a 31-character name is fine, twice is a duplicate") {
        doc["devices"][0]["name"] = doc["devices"][1]["name"] = std::string(31, 'n');
        check_rejected(doc, "/devices/1/name", "duplicate");
    }
    SUBCASE("BDFs compare as numbers, not text") {
        doc["devices"][0]["bdf"] = "0a:00.0";
        doc["devices"][8]["bdf"] = "0A:00.0";
        check_rejected(doc, "/devices/8/bdf", "\"nic0\"");
    }
    SUBCASE("a region whose last is past the width") {
        json& r = doc["iommus"][1]["reserved_regions"][1];
        r.erase("size");
        r["last"] = "0x8000000fff";
        check_rejected(doc, "/iommus/1/reserved_regions/1/last", "0x7fffffffff");
    }
}

TEST_CASE("errors in the JSON text itself") {
    struct Case {
        const char* what;
        const char* text;
        const char* path;
        const char* word;
    };
    const Case cases[] = {
        {"empty", "", "", "parse error"},
        {"syntax", R"({"iommus": [}, "devices": []})", "", "line 1"},
        {"trailing garbage", R"({"iommus": [], "devices": []} x)", "", "parse error"},
        {"not an object", "[]", "", "expected an object, got an array"},
        {"duplicate top-level key", R"({"iommus": [], "devices": [], "iommus": []})", "/iommus", "duplicate key"},
        {"duplicate key deep down",
         R"({"devices": [], "iommus": [{"name": "u", "address_width": 48, "page_sizes": ["4K"],
             "reserved_regions": [{"start": 0, "size": "4K", "type": "msi"},
                                  {"start": 8192, "type": "msi", "size": "4K", "type": "direct"}]}]})",
         "/iommus/0/reserved_regions/1/type", "duplicate key"},
        {"duplicate key after nested arrays",
         R"({"iommus": [[1, [2]], {"x": {"y": []}}], "devices": [{}, {"a": 1, "a": 2}]})", "/devices/1/a",
         "duplicate key"},
        // Found by fuzz_topology: a number no double holds was answered
        // with the parser's internal exception text and no path.
        {"number too large", R"({"devices": [], "iommus": [{"name": "u", "address_width": 1e999}]})",
         "/iommus/0/address_width", "number out of range"},
        {"number too large in an array", R"({"devices": [1, -1e999], "iommus": []})", "/devices/1",
         "number out of range"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        const TopologyError e = error_of(c.text);
        CHECK(e.message.find("internal") == std::string::npos);
        CHECK(e.path == c.path);
        CHECK_MESSAGE(e.message.find(c.word) != std::string::npos, e.message);
    }
}

TEST_CASE("comments are allowed; an empty topology is valid") {
    const Topology topo = parsed(parse_topology(R"({
      // nothing to simulate
      "iommus": [], /* and no devices */ "devices": []
    })"));
    CHECK(topo.iommus.empty());
    CHECK(topo.devices.empty());
}

TEST_CASE("describe() names the path and the problem") {
    json doc = default_doc();
    doc["devices"][3]["bdf"] = "zz";
    CHECK(describe(error_of(doc.dump())) == R"(topology: /devices/3/bdf: expected "BB:DD.F" (hex), got "zz")");
    CHECK(describe(TopologyError{"", "x.json: No such file or directory"}) ==
          "topology: x.json: No such file or directory");
}

TEST_CASE("load_topology_file") {
    SUBCASE("a missing file: path \"\" and the OS message") {
        auto result = load_topology_file("/nonexistent/topology.json");
        REQUIRE(std::holds_alternative<TopologyError>(result));
        const auto& e = std::get<TopologyError>(result);
        CHECK(e.path == "");
        CHECK(e.message == "/nonexistent/topology.json: No such file or directory");
    }
    SUBCASE("a directory") {
        auto result = load_topology_file("/");
        REQUIRE(std::holds_alternative<TopologyError>(result));
        CHECK(std::get<TopologyError>(result).message == "/: Is a directory");
    }
    SUBCASE("a file holding the default") {
        char name[] = "/tmp/topology_test_XXXXXX";
        const int fd = mkstemp(name);
        REQUIRE(fd >= 0);
        const std::string_view text = default_topology_json();
        REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
        close(fd);
        auto result = load_topology_file(name);
        unlink(name);
        const Topology loaded = parsed(result);
        check_documented_iommus(loaded);
        check_documented_devices(loaded);
    }
}

TEST_CASE("usable IOVA ranges: the aperture minus every reserved region") {
    const auto unit = [](std::vector<ReservedRegion> reserved) {
        return IommuUnit{"u", K4, 32, std::move(reserved), Nesting::kNone, 0, false, false, 0, false};
    };
    const auto ranges = [](const IommuUnit& u) {
        std::vector<std::pair<uint64_t, uint64_t>> out;
        for (const IovaRange& r : usable_iova_ranges(u))
            out.emplace_back(r.start, r.last);
        return out;
    };
    using V = std::vector<std::pair<uint64_t, uint64_t>>;
    constexpr uint64_t kLast = 0xffffffff;
    CHECK(ranges(unit({})) == V{{0, kLast}});
    CHECK(ranges(unit({{0, 0xfff, ResvType::kReserved}})) == V{{0x1000, kLast}});
    CHECK(ranges(unit({{0xfffff000, kLast, ResvType::kMsi}})) == V{{0, 0xffffefff}});
    CHECK(ranges(unit({{0x1000, 0x1fff, ResvType::kMsi}, {0x2000, 0x2fff, ResvType::kDirect}})) ==
          V{{0, 0xfff}, {0x3000, kLast}});
    CHECK(ranges(unit({{0, kLast, ResvType::kReserved}})) == V{});
    CHECK(ranges(default_topology().iommus[0]) == V{{0, 0xfedfffff}, {0xfef00000, 0xffffffffffff}});
    CHECK(aperture_last(default_topology().iommus[1]) == 0x7fffffffff);
}
