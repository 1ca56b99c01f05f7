// The real iommuctl binary against a fake control socket: the exact request
// each sub-command sends, what it prints, its exit status (0 success, 1 an
// error answer, 2 usage or no daemon), and --help for every sub-command.
#include <doctest/doctest.h>

#include <fstream>
#include <unistd.h>

#include "fake_server.h"
#include "run.h"

using namespace iommuctl_test;
using nlohmann::json;

namespace {

const json kOk = {{"ok", true}};

std::string write_temp(const std::string& text) {
    char path[] = "/tmp/iommuctl-device-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    std::ofstream(path) << text;
    return path;
}

// Runs iommuctl against a fresh fake server answering `answer` to `cmd`;
// checks it sent exactly one request line, on one connection, equal to `expected`.
Run expect_request(const std::vector<std::string>& args, const json& expected, const json& answer = kOk,
                   const std::string& input = "") {
    FakeServer server;
    server.answer(expected.at("cmd").get<std::string>(), answer);
    const Run r = iommuctl_at(server.path(), args, input);
    INFO("args: ", json(args).dump(), "\nstdout: ", r.out, "\nstderr: ", r.err);
    CHECK(r.status == 0);
    CHECK(r.err == "");
    CHECK(server.connections() == 1);
    const auto lines = server.lines();
    REQUIRE(lines.size() == 1);
    CHECK(json::parse(lines[0]) == expected);
    return r;
}

}  // namespace

TEST_CASE("every sub-command sends the documented request") {
    SUBCASE("dump") {
        expect_request({"dump"}, {{"cmd", "dump"}}, {{"ok", true}, {"state", json::object()}});
    }
    SUBCASE("dma: a read") {
        expect_request({"dma", "nic0", "0x100000", "16"},
                       {{"cmd", "dma"}, {"device", "nic0"}, {"iova", 0x100000}, {"length", 16}, {"write", false}});
    }
    SUBCASE("dma: --write HEX with separators and 0x, --pasid") {
        expect_request({"dma", "accel0", "8192", "4", "--write", "0xDE:ad:be:EF", "--pasid", "0x5"},
                       {{"cmd", "dma"},
                        {"device", "accel0"},
                        {"iova", 8192},
                        {"length", 4},
                        {"write", true},
                        {"data", "deadbeef"},
                        {"pasid", 5}});
    }
    SUBCASE("dma: --write-text=TEXT, options before the arguments") {
        expect_request({"dma", "--write-text=hello", "nic0", "0xfff000", "5"}, {{"cmd", "dma"},
                                                                                {"device", "nic0"},
                                                                                {"iova", 0xfff000},
                                                                                {"length", 5},
                                                                                {"write", true},
                                                                                {"data", "68656c6c6f"}});
    }
    SUBCASE("dma: a 64-bit IOVA") {
        expect_request(
            {"dma", "nic0", "0xffffffffffff0000", "1"},
            {{"cmd", "dma"}, {"device", "nic0"}, {"iova", 0xffffffffffff0000ull}, {"length", 1}, {"write", false}});
    }
    SUBCASE("dma-status") {
        expect_request({"dma-status", "accel0", "9"}, {{"cmd", "dma-status"}, {"device", "accel0"}, {"dma_id", 9}},
                       {{"ok", true}, {"status", "ok"}, {"bytes_done", 0}, {"data", ""}});
    }
    SUBCASE("fault: a device, the default permission") {
        expect_request(
            {"fault", "nic0", "4096"},
            {{"cmd", "fault"}, {"device", "nic0"}, {"addr", 4096}, {"perm", {"read"}}, {"recoverable", false}});
    }
    SUBCASE("fault: a recoverable one with a PASID and permissions in any order") {
        expect_request({"fault", "accel0", "0x7000", "--pasid", "5", "--perm", "w,r", "--recoverable"},
                       {{"cmd", "fault"},
                        {"device", "accel0"},
                        {"addr", 0x7000},
                        {"pasid", 5},
                        {"perm", {"read", "write"}},
                        {"recoverable", true}});
    }
    SUBCASE("fault: --rid as BB:DD.F, full permission names, a reason") {
        expect_request({"fault", "--rid", "00:02.1", "0xdead000", "--perm", "exec,p,read", "--reason", "permission"},
                       {{"cmd", "fault"},
                        {"rid", 0x11},
                        {"addr", 0xdead000},
                        {"perm", {"read", "exec", "priv"}},
                        {"recoverable", false},
                        {"reason", "permission"}});
    }
    SUBCASE("fault: --rid as a number") {
        expect_request({"fault", "--rid=0x28", "0", "--reason=addr-size"}, {{"cmd", "fault"},
                                                                            {"rid", 0x28},
                                                                            {"addr", 0},
                                                                            {"perm", {"read"}},
                                                                            {"recoverable", false},
                                                                            {"reason", "addr-size"}});
    }
    SUBCASE("device add FILE (comments allowed)") {
        const std::string path = write_temp(R"(// a hot-plugged NIC
            { "name": "nic9", "type": "pci", "bdf": "00:09.0", /* behind */ "iommu": "iommu0", "group": 9,
              "pasid": true })");
        expect_request({"device", "add", path}, {{"cmd", "device-add"},
                                                 {"device",
                                                  {{"name", "nic9"},
                                                   {"type", "pci"},
                                                   {"bdf", "00:09.0"},
                                                   {"iommu", "iommu0"},
                                                   {"group", 9},
                                                   {"pasid", true}}}});
        unlink(path.c_str());
    }
    SUBCASE("device add - (standard input)") {
        expect_request({"device", "add", "-"},
                       {{"cmd", "device-add"}, {"device", {{"name", "mdev9"}, {"type", "mdev"}, {"parent", "gpu0"}}}},
                       kOk, R"({"name": "mdev9", "type": "mdev", "parent": "gpu0"})");
    }
    SUBCASE("device remove") {
        expect_request({"device", "remove", "nic9"}, {{"cmd", "device-remove"}, {"name", "nic9"}},
                       {{"ok", true}, {"revoked", nullptr}});
    }
    SUBCASE("set: both settings") {
        expect_request({"set", "1", "--fault-depth", "64", "--fault-timeout-ms", "0x1f4"},
                       {{"cmd", "set"}, {"context", 1}, {"fault_depth", 64}, {"fault_timeout_ms", 500}});
    }
    SUBCASE("set: a device's page-request credits") {
        expect_request({"set", "--device", "accel0", "--page-requests", "4"},
                       {{"cmd", "set"}, {"device", "accel0"}, {"page_requests", 4}});
    }
    SUBCASE("set: one setting") {
        expect_request({"set", "2", "--fault-timeout-ms=0"}, {{"cmd", "set"}, {"context", 2}, {"fault_timeout_ms", 0}});
    }
}

TEST_CASE("dma prints the status, the bytes and the fault") {
    SUBCASE("a read: hex and text") {
        const Run r = expect_request(
            {"dma", "nic0", "0x100000", "20"},
            {{"cmd", "dma"}, {"device", "nic0"}, {"iova", 0x100000}, {"length", 20}, {"write", false}},
            {{"ok", true}, {"status", "ok"}, {"bytes_done", 20}, {"data", "48656c6c6f2c20494f4d4d55210a00ff01020304"}});
        CHECK(r.out ==
              "status: ok\n"
              "bytes done: 20 of 20\n"
              "data (20 bytes):\n"
              "  00000000  48 65 6c 6c 6f 2c 20 49  4f 4d 4d 55 21 0a 00 ff  |Hello, IOMMU!...|\n"
              "  00000010  01 02 03 04                                       |....|\n");
    }
    SUBCASE("a write that faults part-way") {
        const Run r = expect_request({"dma", "nic0", "0x1ffe", "4", "--write", "01020304"},
                                     {{"cmd", "dma"},
                                      {"device", "nic0"},
                                      {"iova", 0x1ffe},
                                      {"length", 4},
                                      {"write", true},
                                      {"data", "01020304"}},
                                     {{"ok", true},
                                      {"status", "fault"},
                                      {"bytes_done", 2},
                                      {"fault", {{"addr", 0x2000}, {"reason", "not-mapped"}, {"flags", {"stage2"}}}}});
        CHECK(r.out ==
              "status: fault\n"
              "bytes done: 2 of 4\n"
              "fault: addr 0x2000, reason not-mapped, flags stage2\n");
    }
    SUBCASE("pending, then dma-status") {
        const Run r = expect_request(
            {"dma", "accel0", "0x7000", "8", "--pasid", "5"},
            {{"cmd", "dma"}, {"device", "accel0"}, {"iova", 0x7000}, {"length", 8}, {"write", false}, {"pasid", 5}},
            {{"ok", true},
             {"status", "pending"},
             {"bytes_done", 0},
             {"dma_id", 3},
             {"fault", {{"addr", 0x7000}, {"reason", "not-mapped"}, {"flags", {"stage2"}}}}});
        CHECK(r.out ==
              "status: pending (a page request was reported; the DMA is stalled until it is answered)\n"
              "bytes done: 0 of 8\n"
              "fault: addr 0x7000, reason not-mapped, flags stage2\n"
              "dma id: 3\n"
              "  (answer the page request, then: iommuctl dma-status accel0 3)\n");
        const Run s =
            expect_request({"dma-status", "accel0", "3"}, {{"cmd", "dma-status"}, {"device", "accel0"}, {"dma_id", 3}},
                           {{"ok", true}, {"status", "ok"}, {"bytes_done", 8}, {"data", "0000000000000000"}});
        CHECK(s.out ==
              "status: ok\n"
              "bytes done: 8\n"
              "data (8 bytes):\n"
              "  00000000  00 00 00 00 00 00 00 00                           |........|\n");
    }
    SUBCASE("a long read: repeated lines collapse") {
        const Run r =
            expect_request({"dma", "nic0", "0", "64"},
                           {{"cmd", "dma"}, {"device", "nic0"}, {"iova", 0}, {"length", 64}, {"write", false}},
                           {{"ok", true}, {"status", "ok"}, {"bytes_done", 64}, {"data", std::string(128, 'a')}});
        CHECK(r.out ==
              "status: ok\n"
              "bytes done: 64 of 64\n"
              "data (64 bytes):\n"
              "  00000000  aa aa aa aa aa aa aa aa  aa aa aa aa aa aa aa aa  |................|\n"
              "  *\n"
              "  00000040\n");
    }
}

TEST_CASE("check: consistent, or each problem and exit 1") {
    const Run ok = expect_request({"check"}, {{"cmd", "check"}}, {{"ok", true}, {"problems", json::array()}});
    CHECK(ok.out == "model consistent\n");
    FakeServer server;
    server.answer("check", {{"ok", true}, {"problems", {"ledger: total 2 locked pages", "iotlb: stale"}}});
    const Run bad = iommuctl_at(server.path(), {"check"});
    CHECK(bad.status == 1);
    CHECK(bad.out == "problem: ledger: total 2 locked pages\nproblem: iotlb: stale\n");
}

TEST_CASE("fault, set and device print what the daemon did") {
    SUBCASE("fault") {
        const Run r = expect_request({"fault", "accel0", "0x7000", "--pasid", "5", "--perm", "r,w", "--recoverable"},
                                     {{"cmd", "fault"},
                                      {"device", "accel0"},
                                      {"addr", 0x7000},
                                      {"pasid", 5},
                                      {"perm", {"read", "write"}},
                                      {"recoverable", true}},
                                     {{"ok", true}, {"context", 1}, {"device", "accel0"}, {"cookie", 2}, {"grpid", 7}});
        CHECK(r.out ==
              "injected a page request for accel0 PASID 5 at 0x7000 (read,write) -> context 1, device "
              "accel0 (cookie 0x2), page request group 7\n");
    }
    SUBCASE("fault by RID, a bare {ok: true} answer") {
        const Run r = expect_request({"fault", "--rid", "8", "0x1000", "--reason", "blocked"}, {{"cmd", "fault"},
                                                                                                {"rid", 8},
                                                                                                {"addr", 0x1000},
                                                                                                {"perm", {"read"}},
                                                                                                {"recoverable", false},
                                                                                                {"reason", "blocked"}});
        CHECK(r.out == "injected a fault for RID 0x0008 at 0x1000 (read, blocked)\n");
    }
    SUBCASE("set") {
        const Run r =
            expect_request({"set", "1", "--fault-depth", "64"}, {{"cmd", "set"}, {"context", 1}, {"fault_depth", 64}},
                           {{"ok", true},
                            {"fault_region",
                             {{"depth", 64},
                              {"timeout_ms", 1000},
                              {"pending", 0},
                              {"lost", 0},
                              {"delivered", 3},
                              {"unreported", 0},
                              {"iopf_resolved", 1},
                              {"timeouts", 0}}}});
        CHECK(r.out ==
              "context 1 fault region: depth 64, timeout 1000 ms; pending 0, delivered 3, lost 0, "
              "unreported 0, IOPF resolved 1, timeouts 0\n");
    }
    SUBCASE("device add: the daemon's description of the device") {
        const Run r = expect_request({"device", "add", "-"},
                                     {{"cmd", "device-add"}, {"device", {{"name", "nic9"}, {"type", "pci"}}}},
                                     {{"ok", true},
                                      {"device",
                                       {{"name", "nic9"},
                                        {"type", "pci"},
                                        {"bdf", "00:09.0"},
                                        {"rid", 0x48},
                                        {"iommu", "iommu0"},
                                        {"group", 9},
                                        {"parent", nullptr},
                                        {"bound_by", nullptr}}}},
                                     R"({"name": "nic9", "type": "pci"})");
        CHECK(r.out == "added nic9 (pci, 00:09.0, rid 0x0048, iommu0, group 9)\n");
    }
    SUBCASE("device remove: a bound device and its mdevs") {
        const Run r = expect_request(
            {"device", "remove", "gpu0"}, {{"cmd", "device-remove"}, {"name", "gpu0"}},
            {{"ok", true},
             {"revoked", 3},
             {"mdevs", {{{"name", "mdev0"}, {"revoked", 2}}, {{"name", "mdev1"}, {"revoked", nullptr}}}}});
        CHECK(r.out ==
              "removed mdev0 (an mdev of gpu0); revoked its bind by context 2\n"
              "removed mdev1 (an mdev of gpu0)\n"
              "removed gpu0; revoked its bind by context 3\n");
    }
}

TEST_CASE("an error answer: exit 1, the daemon's message on stderr") {
    const std::vector<std::vector<std::string>> commands = {{"dump"},
                                                            {"dump", "--json"},
                                                            {"dump", "--dot"},
                                                            {"dma", "nic7", "0", "4"},
                                                            {"dma-status", "nic0", "1"},
                                                            {"fault", "nic7", "0"},
                                                            {"device", "add", "-"},
                                                            {"device", "remove", "nic7"},
                                                            {"set", "9", "--fault-depth", "1"}};
    FakeServer server;
    for (const char* cmd : {"dump", "dma", "dma-status", "fault", "device-add", "device-remove", "set"})
        server.answer(cmd, {{"ok", false}, {"error", std::string("device: no device named \"nic7\" (") + cmd + ")"}});
    for (const auto& args : commands) {
        server.clear();
        const Run r = iommuctl_at(server.path(), args, R"({"name": "nic7"})");
        INFO("args: ", json(args).dump(), "\nstderr: ", r.err);
        CHECK(r.status == 1);
        CHECK(r.out == "");
        CHECK(r.err.find("device: no device named \"nic7\"") != std::string::npos);
        CHECK(r.err.starts_with("iommuctl: " + args[0]));
        CHECK(server.lines().size() == 1);
    }
}

TEST_CASE("usage errors: exit 2, a message, nothing sent") {
    const std::string missing_file = "/nonexistent/device.json";
    const std::string not_object = write_temp("[1, 2]");
    const std::string not_json = write_temp("{\"name\": ");
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{}, "usage: iommuctl"},
        {{"frobnicate"}, "unknown command 'frobnicate'"},
        {{"--bogus", "dump"}, "unknown option '--bogus'"},
        {{"dump", "--bogus"}, "unknown option '--bogus'"},
        {{"dump", "extra"}, "unexpected argument 'extra'"},
        {{"dump", "--json", "--dot"}, "--json and --dot exclude each other"},
        {{"dma", "nic0", "0x100000"}, "missing arguments: expected DEVICE IOVA LENGTH"},
        {{"dma", "nic0", "0x10000g", "4"}, "IOVA: expected a number (decimal or 0x-hex), got '0x10000g'"},
        {{"dma", "nic0", "-1", "4"}, "IOVA: expected a number"},
        {{"dma", "nic0", "0", "18446744073709551616"}, "LENGTH: 18446744073709551616 is out of range"},
        {{"dma", "nic0", "0", "4", "--write", "010203"}, "LENGTH is 4 but --write gives 3 bytes"},
        {{"dma", "nic0", "0", "4", "--write", "0102030"}, "--write: an odd number of hex digits"},
        {{"dma", "nic0", "0", "4", "--write", "zz"}, "--write: 'z' is not a hex digit"},
        {{"dma", "nic0", "0", "2", "--write-text", "abc"}, "LENGTH is 2 but --write-text gives 3 bytes"},
        {{"dma", "nic0", "0", "2", "--write", "0102", "--write-text", "ab"}, "exclude each other"},
        {{"dma", "nic0", "0", "2", "--pasid", "0x100000000"}, "--pasid: 0x100000000 is out of range"},
        {{"dma", "nic0", "0", "2", "--pasid"}, "--pasid needs a value"},
        {{"dma", "nic0", "0", "2", "--pasid", "1", "--pasid", "2"}, "--pasid given twice"},
        {{"dma-status", "nic0"}, "missing arguments: expected DEVICE DMA_ID"},
        {{"fault", "nic0"}, "missing arguments: expected DEVICE ADDR"},
        {{"fault", "nic0", "0", "--rid", "8"}, "unexpected argument '0'"},
        {{"fault", "--rid", "00:20.0", "0"}, "RID: expected BB:DD.F"},
        {{"fault", "--rid", "0x10000", "0"}, "RID: 0x10000 is out of range"},
        {{"fault", "nic0", "0", "--perm", "r,q"}, "--perm: 'q' is not one of r, w, x, p"},
        {{"fault", "nic0", "0", "--perm", ""}, "--perm: '' is not one of"},
        {{"fault", "nic0", "0", "--reason", "bogus"}, "--reason: 'bogus' is not one of"},
        {{"fault", "nic0", "0", "--reason", "permission", "--recoverable"}, "--reason is for unrecoverable faults"},
        {{"fault", "nic0", "0", "--recoverable=yes"}, "--recoverable takes no value"},
        {{"device"}, "device: expected 'add' or 'remove'"},
        {{"device", "plug"}, "unknown sub-command 'plug'"},
        {{"device", "add"}, "missing arguments: expected FILE or -"},
        {{"device", "add", missing_file}, missing_file + ": cannot open: No such file or directory"},
        {{"device", "add", not_object}, "expected one device object"},
        {{"device", "add", not_json}, "not JSON"},
        {{"device", "remove"}, "missing arguments: expected NAME"},
        {{"set", "1"}, "nothing to set"},
        {{"set", "--device", "accel0"}, "--device needs --page-requests N"},
        {{"set", "1", "--page-requests", "4"}, "--page-requests needs --device NAME"},
        {{"set", "--device", "accel0", "--page-requests", "4", "--fault-depth", "4"}, "--device sets page requests only"},
        {{"set", "one", "--fault-depth", "4"}, "CONTEXT: expected a number"},
        {{"set", "1", "--fault-depth", "0x"}, "--fault-depth: expected a number"},
        {{"--timeout", "0", "dump"}, "--timeout must be at least 1 ms"},
        {{"dump", "--socket"}, "--socket needs a value"},
    };
    FakeServer server;
    server.answer("dump", {{"ok", true}, {"state", json::object()}});
    // Not a structured binding: INFO() captures args in a lambda, which
    // clang 14 refuses for a binding (C++20 allows it; clang 16 does too).
    for (const auto& test_case : cases) {
        const std::vector<std::string>& args = test_case.first;
        const std::string& message = test_case.second;
        const Run r = iommuctl_at(server.path(), args);
        INFO("args: ", json(args).dump(), "\nstderr: ", r.err);
        CHECK(r.status == 2);
        CHECK(r.out == "");
        CHECK(r.err.find(message) != std::string::npos);
    }
    CHECK(server.connections() == 0);
    unlink(not_object.c_str());
    unlink(not_json.c_str());
}

TEST_CASE("no usable daemon: exit 2 with a clear message") {
    SUBCASE("no socket at the path") {
        const Run r = iommuctl({"--socket", "/nonexistent/cuse-iommu.sock", "dump"});
        CHECK(r.status == 2);
        CHECK(r.out == "");
        CHECK(r.err.find("cannot reach the daemon's control socket /nonexistent/cuse-iommu.sock: No such file or "
                         "directory (is cuse-iommu running") != std::string::npos);
    }
    SUBCASE("a file that is not a socket") {
        const std::string path = write_temp("");
        const Run r = iommuctl({"--socket", path, "dump"});
        unlink(path.c_str());
        CHECK(r.status == 2);
        CHECK(r.err.find("Connection refused") != std::string::npos);
    }
    SUBCASE("a socket path too long for sun_path") {
        const Run r = iommuctl({"--socket", "/tmp/" + std::string(200, 'x'), "dump"});
        CHECK(r.status == 2);
        CHECK(r.err.find("socket path too long") != std::string::npos);
    }
    SUBCASE("the daemon hangs up without answering") {
        FakeServer server;
        server.set_mode(FakeServer::Mode::kHangUp);
        const Run r = iommuctl_at(server.path(), {"dump"});
        CHECK(r.status == 2);
        CHECK(r.err.find("closed the connection without answering") != std::string::npos);
        CHECK(server.lines().size() == 1);
    }
    SUBCASE("the daemon never answers: --timeout") {
        FakeServer server;
        server.set_mode(FakeServer::Mode::kSilent);
        const Run r = iommuctl_at(server.path(), {"--timeout", "200", "dma", "nic0", "0", "1"});
        CHECK(r.status == 2);
        CHECK(r.err.find("no answer from the daemon's control socket " + server.path() + " within 200 ms") !=
              std::string::npos);
    }
    SUBCASE("malformed answers") {
        for (const std::string answer : {"this is not JSON\n", "[1, 2]\n", "{\"ok\": 1}\n", "{\"error\": \"x\"}\n"}) {
            FakeServer server;
            server.answer_raw("dump", answer);
            const Run r = iommuctl_at(server.path(), {"dump"});
            INFO("answer: ", answer);
            CHECK(r.status == 2);
            CHECK(r.err.find("malformed answer") != std::string::npos);
        }
    }
    SUBCASE("a dump answer without a state") {
        FakeServer server;
        server.answer("dump", kOk);
        const Run r = iommuctl_at(server.path(), {"dump"});
        CHECK(r.status == 2);
        CHECK(r.err.find("no \"state\" object") != std::string::npos);
    }
    SUBCASE("an answer whose error is not a string still exits 1") {
        FakeServer server;
        server.answer("dump", {{"ok", false}, {"error", 42}});
        const Run r = iommuctl_at(server.path(), {"dump"});
        CHECK(r.status == 1);
        CHECK(r.err.find("refused") != std::string::npos);
    }
}

TEST_CASE("the socket: --socket, $CUSE_IOMMU_SOCKET, the default") {
    FakeServer server;
    server.answer("device-remove", kOk);
    const std::vector<std::string> remove = {"device", "remove", "nic0"};

    const Run from_env = iommuctl(remove, "", {"CUSE_IOMMU_SOCKET=" + server.path()});
    CHECK(from_env.status == 0);
    CHECK(from_env.out == "removed nic0\n");

    // --socket wins over the environment, before or after the sub-command, with or without '='.
    for (const auto& args :
         std::vector<std::vector<std::string>>{{"--socket", server.path(), "device", "remove", "nic0"},
                                               {"--socket=" + server.path(), "device", "remove", "nic0"},
                                               {"device", "remove", "nic0", "--socket", server.path()},
                                               {"device", "remove", "--socket=" + server.path(), "nic0"}}) {
        const Run r = iommuctl(args, "", {"CUSE_IOMMU_SOCKET=/nonexistent/env.sock"});
        INFO("args: ", json(args).dump(), "\nstderr: ", r.err);
        CHECK(r.status == 0);
    }
    CHECK(server.lines().size() == 5);

    const Run from_bad_env = iommuctl(remove, "", {"CUSE_IOMMU_SOCKET=/nonexistent/env.sock"});
    CHECK(from_bad_env.status == 2);
    CHECK(from_bad_env.err.find("/nonexistent/env.sock") != std::string::npos);

    // Neither: the documented default (the test machine may or may not run a daemon there).
    const Run help = iommuctl({"--help"});
    CHECK(help.out.find("else /run/cuse-iommu.sock") != std::string::npos);
}

TEST_CASE("--help for every sub-command: exit 0, usage on stdout, nothing sent") {
    const std::vector<std::string> names = {"dump",          "dma", "dma-status", "fault", "device add",
                                            "device remove", "set", "check"};
    FakeServer server;
    for (const std::string& name : names) {
        std::vector<std::string> words;
        for (size_t start = 0; start <= name.size();) {
            const size_t space = std::min(name.find(' ', start), name.size());
            words.push_back(name.substr(start, space - start));
            start = space + 1;
        }
        for (const char* flag : {"--help", "-h"}) {
            std::vector<std::string> args = words;
            args.push_back(flag);
            const Run r = iommuctl_at(server.path(), args);
            INFO("args: ", json(args).dump());
            CHECK(r.status == 0);
            CHECK(r.err == "");
            CHECK(r.out.starts_with("usage: iommuctl " + name));
            CHECK(r.out.find("example: iommuctl " + name) != std::string::npos);
            CHECK(r.out.find("--socket PATH") != std::string::npos);
        }
        // --help wins over bad arguments and an unreachable daemon.
        std::vector<std::string> args = {"--socket", "/nonexistent/x.sock"};
        args.insert(args.end(), words.begin(), words.end());
        args.insert(args.end(), {"bogus", "--help"});
        const Run bad = iommuctl(args);
        CHECK(bad.status == 0);
        CHECK(bad.out.starts_with("usage: iommuctl " + name));

        std::vector<std::string> help = {"help"};
        help.insert(help.end(), words.begin(), words.end());
        const Run via_help = iommuctl(help);
        CHECK(via_help.status == 0);
        CHECK(via_help.out.starts_with("usage: iommuctl " + name));
    }
    CHECK(server.connections() == 0);

    const Run top = iommuctl({"--help"});
    CHECK(top.status == 0);
    for (const std::string& name : names)
        CHECK(top.out.find("  " + name + " ") != std::string::npos);
    CHECK(top.out.find("exit status: 0 success; 1 the daemon refused") != std::string::npos);
    CHECK(iommuctl({"help"}).out == top.out);

    const Run device = iommuctl({"device", "--help"});
    CHECK(device.status == 0);
    CHECK(device.out.find("iommuctl device remove NAME") != std::string::npos);
    CHECK(iommuctl({"help", "nosuch"}).status == 2);
}
