// End to end: the real iommuctl against the real control socket — a
// ControlServer on a temporary path serving the unit-test Fixture's
// dispatcher on its own io_context thread.  The test process owns the mapped
// memory, so the DMA iommuctl asks for lands in a buffer the test can see.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "../../control/control_server.h"
#include "../unit/fixture.h"
#include "run.h"

using namespace iommuctl_test;
using namespace ciommu;
using namespace ciommu::test;
using nlohmann::json;

namespace {

constexpr uint64_t kNic = 0x11, kAccel = 0x12;
constexpr uint64_t kIova = 0x100000;

struct LiveDaemon {
    LiveDaemon() {
        char dir_pattern[] = "/tmp/iommuctl-e2e-XXXXXX";
        REQUIRE(mkdtemp(dir_pattern) != nullptr);
        dir = dir_pattern;
        path = dir + "/control.sock";
        server = std::make_unique<ControlServer>(io, f.dispatcher, path);
        REQUIRE(server->start() == "");
        thread = std::thread([this] { io.run(); });
    }
    ~LiveDaemon() {
        work.reset();
        io.stop();
        thread.join();
        server.reset();  // removes the socket file
        rmdir(dir.c_str());
    }

    Fixture f;
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work = boost::asio::make_work_guard(io);
    std::string dir, path;
    std::unique_ptr<ControlServer> server;
    std::thread thread;
};

}  // namespace

TEST_CASE("end to end: dump --json, dma and fault against a live ControlServer") {
    LiveDaemon d;
    Fixture& f = d.f;
    Buffer mem(2 * 4096);
    std::memcpy(mem.bytes(), "Hello, IOMMU!", 13);
    const long ioasid = f.alloc();
    REQUIRE(ioasid > 0);
    REQUIRE(f.map(static_cast<uint32_t>(ioasid), kIova, mem.ptr, 2 * 4096) == 0);
    REQUIRE(f.bind("nic0", kNic) == 0);
    REQUIRE(f.attach(kNic, static_cast<uint32_t>(ioasid)) == 0);
    REQUIRE(f.fault_register(kNic) == 0);

    // dump --json: the raw state, with what the fixture set up.
    const Run dump = iommuctl_at(d.path, {"dump", "--json"});
    REQUIRE(dump.status == 0);
    const json state = json::parse(dump.out);
    REQUIRE(state.at("contexts").size() == 1);
    const json& ctx = state["contexts"][0];
    CHECK(ctx["id"] == f.ctx->id);
    CHECK(ctx["pid"] == getpid());
    REQUIRE(ctx.at("ioasids").size() == 1);
    CHECK(ctx["ioasids"][0]["id"] == ioasid);
    CHECK(ctx["ioasids"][0]["kind"] == "kernel");
    CHECK(ctx["ioasids"][0]["mappings"][0]["iova"] == kIova);
    CHECK(ctx["ioasids"][0]["mappings"][0]["size"] == 2 * 4096);
    REQUIRE(ctx.at("devices").size() == 1);
    CHECK(ctx["devices"][0]["name"] == "nic0");
    CHECK(ctx["devices"][0]["cookie"] == kNic);
    CHECK(ctx["devices"][0]["attachments"] ==
          json::parse(R"([{"pasid": null, "ioasid": )" + std::to_string(ioasid) + "}]"));

    // The tree and the DOT of the same state render without complaint.
    const Run tree = iommuctl_at(d.path, {"dump"});
    CHECK(tree.status == 0);
    INFO("tree:\n", tree.out);
    CHECK(tree.out.find("      nic0  cookie 0x11  fault consumer  -> IOASID 1 (RID)\n") != std::string::npos);
    CHECK(tree.out.find("      0x100000-0x101fff  8 KiB") != std::string::npos);
    const Run dot = iommuctl_at(d.path, {"dump", "--dot"});
    CHECK(dot.status == 0);
    CHECK(dot.out.find("label=\"RID\"") != std::string::npos);

    // dma: a read of what the test wrote, then a write the test can see.
    const Run read = iommuctl_at(d.path, {"dma", "nic0", "0x100000", "13"});
    CHECK(read.status == 0);
    CHECK(read.out.find("status: ok\nbytes done: 13 of 13\n") == 0);
    CHECK(read.out.find("|Hello, IOMMU!|") != std::string::npos);

    const Run write = iommuctl_at(d.path, {"dma", "nic0", "0x100ffe", "5", "--write-text", "world"});
    CHECK(write.status == 0);
    CHECK(write.out == "status: ok\nbytes done: 5 of 5\n");
    CHECK(std::memcmp(mem.bytes() + 0xffe, "world", 5) == 0);  // across the page boundary

    const Run fault = iommuctl_at(d.path, {"dma", "nic0", "0x101ffe", "4"});
    CHECK(fault.status == 0);
    CHECK(fault.out.find("status: fault\nbytes done: 2 of 4\n") == 0);
    CHECK(fault.out.find("fault: addr 0x102000, reason not-mapped") != std::string::npos);

    // An error answer: exit 1 with the daemon's message.
    const Run unbound = iommuctl_at(d.path, {"dma", "nic1", "0x100000", "4"});
    CHECK(unbound.status == 1);
    CHECK(unbound.err.find("nic1") != std::string::npos);

    // fault: the record arrives in the context's fault region.
    f.records();  // the DMA fault's record
    const Run injected = iommuctl_at(d.path, {"fault", "nic0", "0x5000", "--perm", "w"});
    CHECK(injected.status == 0);
    CHECK(injected.out.starts_with("injected a fault for nic0 at 0x5000 (write)"));
    const auto records = f.records();
    REQUIRE(records.size() == 1);
    CHECK(records[0].addr == 0x5000);
    CHECK(records[0].cookie == kNic);
    CHECK(records[0].perm == IOMMU_FAULT_PERM_WRITE);

    const Run by_rid = iommuctl_at(d.path, {"fault", "--rid", "00:01.0", "0x6000", "--reason", "permission"});
    CHECK(by_rid.status == 0);
    REQUIRE(f.records().size() == 1);

    const Run nowhere = iommuctl_at(d.path, {"fault", "--rid", "00:05.0", "0x6000"});
    CHECK(nowhere.status == 1);

    // A DMA stalled on a page request: pending, then answered, then dma-status.
    REQUIRE(f.bind("accel0", kAccel) == 0);
    REQUIRE(f.attach(kAccel, static_cast<uint32_t>(ioasid)) == 0);
    REQUIRE(f.fault_register(kAccel) == 0);
    const Run pending = iommuctl_at(d.path, {"dma", "accel0", "0x400000", "4"});
    CHECK(pending.status == 0);
    REQUIRE(pending.out.starts_with("status: pending"));
    const size_t at = pending.out.find("dma id: ");
    REQUIRE(at != std::string::npos);
    const std::string id = pending.out.substr(at + 8, pending.out.find('\n', at) - at - 8);
    const auto requests = f.records();
    REQUIRE(requests.size() == 1);
    CHECK((requests[0].flags & IOMMU_FAULT_RECORD_RECOVERABLE) != 0);

    Buffer late(4096);
    std::memcpy(late.bytes(), "late", 4);
    REQUIRE(f.map(static_cast<uint32_t>(ioasid), 0x400000, late.ptr, 4096) == 0);
    REQUIRE(f.respond(kAccel, requests[0].grpid, IOMMU_PAGE_RESP_SUCCESS) == 0);
    const Run done = iommuctl_at(d.path, {"dma-status", "accel0", id});
    CHECK(done.status == 0);
    CHECK(done.out.starts_with("status: ok\nbytes done: 4\n"));
    CHECK(done.out.find("|late|") != std::string::npos);
    // ... and then forgotten.
    const Run again = iommuctl_at(d.path, {"dma-status", "accel0", id});
    CHECK(again.status == 1);
    CHECK(again.err.find("dma_id") != std::string::npos);
}
