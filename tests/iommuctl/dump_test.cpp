// iommuctl dump: the human tree, --json, and --dot rendered by Graphviz.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "fake_server.h"
#include "run.h"
#include "sample_state.h"

using namespace iommuctl_test;
using nlohmann::json;

namespace {

const char kSampleTree[] = R"(IOMMUs
  iommu0  48-bit  pages 4K,2M,1G  PASID 20-bit  IOPF  nesting hardware  snoop control  formats x86_64
    reserved 0xfee00000-0xfeefffff  msi
  iommu1  39-bit  pages 4K  no PASID  nesting none
    reserved 0xe0000000-0xefffffff  reserved
    reserved 0xfee00000-0xfeefffff  msi

Devices
  nic0     pci      00:01.0      rid 0x0008  iommu0    group 1             bound by context 1
  accel0   pci      00:03.0      rid 0x0018  iommu0    group 3  PASID PRI  bound by context 1
  gpu0     pci      00:04.0      rid 0x0020  iommu0    group 4  PASID      unbound
  mdev0    mdev     parent gpu0  rid 0x0020  iommu0    group 6             bound by context 2
  vmdev0   sw-mdev  parent gpu0  rid 0x0020  no IOMMU  group 8             unbound
  legacy0  pci      00:05.0      rid 0x0028  iommu1    group 5             unbound

Contexts
  context 1  pid 4242  IOTLB 12 hits, 3 misses
    IOASID 1  kernel  1 child  dirty tracking  2 mappings (12 KiB)
      0x100000-0x101fff  8 KiB  -> 0x7f0000000000  pid 4242  rw
      0x200000-0x200fff  4 KiB  -> 0x7f0000010000  pid 4242  r-
      attached: nic0 (RID), accel0 (PASID 5)
      IOASID 2  user  parent 1  x86_64 table at 0x40000000  enforce snoop
        attached: accel0 (PASID 7)
    IOASID 3  identity
      attached: nothing
    devices
      nic0    cookie 0x1                  -> IOASID 1 (RID)
      accel0  cookie 0x2  fault consumer  -> IOASID 1 (PASID 5), IOASID 2 (PASID 7)
    fault region: depth 32, timeout 1000 ms; pending 2, delivered 4, lost 0, unreported 0, IOPF resolved 2, timeouts 0
    DMAs
      #9  accel0  read from iommuctl  pending  0 of 4096 bytes
  context 2  pid 4300  IOTLB 0 hits, 0 misses
    IOASID 1  kernel  1 mapping (2 MiB)
      0x0-0x1fffff  2 MiB  -> 0x7f544a44c000  pid 4300  -w
      attached: mdev0 (defPASID 1)
    devices
      mdev0  cookie 0x10  parent gpu0, defPASID 1  -> IOASID 1 (defPASID 1)
    fault region: depth 128, timeout 5000 ms; pending 0, delivered 0, lost 0, unreported 0, IOPF resolved 0, timeouts 0

Pending faults
  context 1  fault region  2 records not read yet
  context 1  accel0        page request group 3, PASID 5, stalls DMA #9: awaiting a response
  context 1  accel0        page request group 4, injected: awaiting a response

Accounting
  pid 4242  3 locked pages (12 KiB)
  pid 4300  512 locked pages (2 MiB)

Counters
  contexts 2  iotlb_entries 6  locked_pages 515  routes 4
)";

Run dump(const json& state, const std::vector<std::string>& options = {}) {
    FakeServer server;
    server.answer("dump", {{"ok", true}, {"state", state}});
    std::vector<std::string> args = {"dump"};
    args.insert(args.end(), options.begin(), options.end());
    Run r = iommuctl_at(server.path(), args);
    CHECK(server.requests() == std::vector<json>{{{"cmd", "dump"}}});
    return r;
}

// Renders DOT text with `dot -Tsvg`; false (and a loud MESSAGE) without Graphviz.
bool render_svg(const std::string& dot_text, Run& result) {
    if (find_in_path("dot").empty()) {
        MESSAGE(
            "*** Graphviz 'dot' is not installed: NOT checking that `iommuctl dump --dot` renders "
            "(scripts/lib.sh installs graphviz) ***");
        return false;
    }
    char path[] = "/tmp/iommuctl-dot-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    std::ofstream(path) << dot_text;
    result = run({"dot", "-Tsvg", path});
    unlink(path);
    return true;
}

json hostile_state() {
    // Names no topology accepts, as a broken or future daemon might send them.
    return json::parse(R"({
      "iommus": [],
      "devices": [
        {"name": "evil\"quote", "type": "pci", "bdf": "00:01.0", "rid": 8, "iommu": "u", "group": 1,
         "parent": null, "pasid": true, "pri": false, "bound_by": "ctx \"one\""},
        {"name": "back\\slash\\", "type": "mdev", "bdf": null, "rid": 8, "iommu": "u", "group": 2,
         "parent": "evil\"quote", "pasid": false, "pri": false, "bound_by": null},
        {"name": "two\nlines", "type": "pci\\N", "bdf": "{ } ; -> -- [ ]", "rid": 9, "iommu": null, "group": 3,
         "parent": null, "pasid": false, "pri": false, "bound_by": null},
        {"name": "<b>&amp;</b>", "type": "sw-mdev", "bdf": null, "rid": null, "iommu": null, "group": 4,
         "parent": "missing \u0001 parent", "pasid": false, "pri": false, "bound_by": null},
        {"name": "digraph", "type": "subgraph", "bdf": "node", "rid": 10, "iommu": "edge", "group": 5,
         "parent": null, "pasid": false, "pri": false, "bound_by": null},
        {"name": "größe✓", "type": "pci", "bdf": "", "rid": 11, "iommu": "u", "group": 6,
         "parent": null, "pasid": false, "pri": false, "bound_by": null}
      ],
      "contexts": [
        {"id": "ctx \"one\"", "pid": "}\n{",
         "ioasids": [
           {"id": "a\"1", "kind": "kernel\\", "parent": null, "mapping_count": 1, "mapped_bytes": 4096},
           {"id": "a\\2", "kind": "user", "parent": "a\"1"},
           {"id": 3, "kind": "user", "parent": 4},
           {"id": 4, "kind": "user", "parent": 3}
         ],
         "devices": [
           {"cookie": 1, "name": "evil\"quote", "physical": "evil\"quote", "def_pasid": null,
            "attachments": [{"pasid": null, "ioasid": "a\"1"}, {"pasid": "5\"", "ioasid": "a\\2"},
                            {"pasid": 6, "ioasid": "not listed"}]},
           {"cookie": 2, "name": "not in the topology", "attachments": [{"pasid": null, "ioasid": 3}]}
         ]}
      ],
      "accounting": [],
      "counters": {}
    })");
}

}  // namespace

TEST_CASE("dump prints the state as a tree") {
    const Run r = dump(sample_state());
    CHECK(r.status == 0);
    CHECK(r.err == "");
    CHECK(r.out == kSampleTree);
}

TEST_CASE("dump of an empty model") {
    const Run r = dump({{"iommus", json::array()},
                        {"devices", json::array()},
                        {"contexts", json::array()},
                        {"accounting", json::array()},
                        {"counters", json::object()}});
    CHECK(r.status == 0);
    CHECK(r.out ==
          "IOMMUs\n  none\n\nDevices\n  none\n\nContexts\n  none (nothing has /dev/iommu open)\n\n"
          "Pending faults\n  none\n\nAccounting\n  no locked pages\n\nCounters\n  none\n");
}

TEST_CASE("dump lists 16 mappings per IOASID unless --all-mappings") {
    json state = sample_state();
    json& ioasid = state["contexts"][0]["ioasids"][0];
    ioasid["mappings"] = json::array();
    for (uint64_t i = 0; i < 20; ++i)
        ioasid["mappings"].push_back(
            {{"iova", i << 12}, {"size", 4096}, {"vaddr", 0x10000 + (i << 12)}, {"pid", 1}, {"prot", {"read"}}});
    ioasid["mapping_count"] = 25;  // the dump's own limit left 5 out
    ioasid["mappings_truncated"] = true;

    const Run some = dump(state);
    CHECK(some.out.find("      0xf000-0xffff  4 KiB  -> 0x1f000  pid 1  r-\n"
                        "      ... 9 more (iommuctl dump --all-mappings)\n") != std::string::npos);
    CHECK(some.out.find("0x10000-0x10fff") == std::string::npos);

    const Run all = dump(state, {"--all-mappings"});
    CHECK(all.out.find("      0x13000-0x13fff  4 KiB  -> 0x23000  pid 1  r-\n"
                       "      ... 5 more (not in the dump)\n") != std::string::npos);
}

TEST_CASE("dump --json prints the raw state, pretty") {
    const Run r = dump(sample_state(), {"--json"});
    CHECK(r.status == 0);
    CHECK(json::parse(r.out) == sample_state());
    CHECK(r.out.starts_with("{\n  \"accounting\": [\n"));
}

TEST_CASE("dump --dot renders with Graphviz") {
    const Run r = dump(sample_state(), {"--dot"});
    CHECK(r.status == 0);
    CHECK(r.out.starts_with("digraph \"cuse-iommu\" {\n"));
    // The edges the brief asks for: contexts -> IOASIDs -> nested children,
    // devices -> IOASIDs labelled with the PASID, mdevs -> parents.
    CHECK(r.out.find("  c0 -> c0a0;\n") != std::string::npos);
    CHECK(r.out.find("  c0a0 -> c0a1 [style=dashed, label=\"nested\"];\n") != std::string::npos);
    CHECK(r.out.find("  d1 -> c0a1 [color=\"#3060c0\", label=\"PASID 7\"];\n") != std::string::npos);
    CHECK(r.out.find("  d0 -> c0a0 [color=\"#3060c0\", label=\"RID\"];\n") != std::string::npos);
    CHECK(r.out.find("  d3 -> c1a0 [color=\"#3060c0\", label=\"defPASID 1\"];\n") != std::string::npos);
    CHECK(r.out.find("  d3 -> d2 [style=dotted, arrowhead=empty, label=\"parent\"];\n") != std::string::npos);

    Run svg{};
    if (!render_svg(r.out, svg))
        return;
    INFO("dot stderr: ", svg.err);
    CHECK(svg.status == 0);
    CHECK(svg.err == "");
    CHECK(svg.out.find("<svg") != std::string::npos);
    for (const char* name : {"context 1", "context 2", "nic0", "accel0", "gpu0", "mdev0", "vmdev0", "legacy0",
                             "IOASID 2", "PASID 5", "defPASID 1", "nested", "parent"})
        CHECK_MESSAGE(svg.out.find(std::string(">") + name + "<") != std::string::npos, std::string(name));
}

TEST_CASE("dump --dot is valid DOT whatever the names") {
    const Run r = dump(hostile_state(), {"--dot"});
    CHECK(r.status == 0);
    Run svg{};
    if (!render_svg(r.out, svg))
        return;
    INFO("dot input:\n", r.out, "\ndot stderr: ", svg.err);
    CHECK(svg.status == 0);
    CHECK(svg.err == "");
    for (const char* text : {"evil&quot;quote", "back\\slash\\", "two", "lines", "&lt;b&gt;&amp;amp;&lt;/b&gt;",
                             "digraph", "größe✓", "context ctx &quot;one&quot;", "IOASID a&quot;1", "IOASID a\\2",
                             "PASID 5&quot;", "not in the topology", "missing \\x01 parent", "pci\\N"})
        CHECK_MESSAGE(svg.out.find(text) != std::string::npos, std::string(text));

    // The tree copes too, and shows control characters visibly.
    const Run tree = dump(hostile_state());
    CHECK(tree.status == 0);
    CHECK(tree.out.find("two\\nlines") != std::string::npos);
    CHECK(tree.out.find("missing \\x01 parent") != std::string::npos);
}
