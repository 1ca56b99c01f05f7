// The control protocol (docs/control.md), driven in-process: every command,
// every refusal (which must change nothing), and what dump shows.
#include <unistd.h>

#include "../../core/context.h"
#include "control_test_util.h"

using namespace ciommu;
using namespace ciommu::test;

namespace {

constexpr uint64_t K4 = 4096;
constexpr uint64_t kIova = 0x100000;
constexpr uint64_t kNic = 7, kAccel = 8;

// nic0 and accel0 bound and attached to one kernel-managed IOASID with two
// pages mapped at kIova; both report faults to the context.
struct Setup {
    explicit Setup(Fixture& fixture) : f(fixture), mem(2 * K4) {
        ioasid = f.alloc();
        REQUIRE(ioasid > 0);
        REQUIRE(f.map(ioasid, kIova, mem.ptr, 2 * K4) == 0);
        REQUIRE(f.bind("nic0", kNic) == 0);
        REQUIRE(f.bind("accel0", kAccel) == 0);
        REQUIRE(f.attach(kNic, ioasid) == 0);
        REQUIRE(f.attach(kAccel, ioasid) == 0);
        REQUIRE(f.fault_register(kNic) == 0);
        REQUIRE(f.fault_register(kAccel) == 0);
    }
    Fixture& f;
    Buffer mem;
    long ioasid;
};

}  // namespace

TEST_CASE("control: requests that name no command are refused") {
    Fixture f;
    check_refused(f, json::array({1, 2}), "a request is a JSON object, got an array");
    check_refused(f, {{"device", "nic0"}}, "cmd: missing; one of dump, dma, dma-status, fault, device-add");
    check_refused(f, {{"cmd", 5}}, "cmd: expected a string, got 5");
    check_refused(f, {{"cmd", "reboot"}}, "cmd: unknown command \"reboot\"");
    check_refused(f, {{"cmd", "dump"}, {"verbose", true}}, "verbose: unknown key; expected none");
    check_refused(f, {{"cmd", "set"}, {"context", 1}, {"fault_dpeth", 4}},
                  "fault_dpeth: unknown key; expected one of: context, fault_depth");
}

TEST_CASE("control: dump shows the topology, contexts, IOASIDs, devices, faults and accounting") {
    Fixture f;
    Setup s(f);
    REQUIRE(f.attach(kAccel, s.ioasid, 5) == 0);
    const long child = f.alloc(IOMMU_IOASID_USER_PGTABLE, s.ioasid, 0x10000);
    REQUIRE(child > 0);
    Buffer data(K4);
    iommu_sim_dma d;
    REQUIRE(f.dma(kAccel, 0x400000, data.ptr, 16, true, {}, &d) == 0);  // unmapped: a page request
    REQUIRE(d.status == IOMMU_SIM_DMA_PENDING);

    const json st = state(f);
    REQUIRE(st.at("iommus").size() == 2);
    const json& iommu0 = st["iommus"][0];
    CHECK(iommu0["name"] == "iommu0");
    CHECK(iommu0["address_width"] == 48);
    CHECK(iommu0["page_sizes"] == json::array({4096, 2u << 20, 1u << 30}));
    CHECK(iommu0["pasid_width"] == 20);
    CHECK(iommu0["iopf"] == true);
    CHECK(iommu0["nesting"] == "hardware");
    CHECK(iommu0["snoop_control"] == true);
    CHECK(iommu0["pgtable_formats"] == json::array({"x86_64"}));
    CHECK(iommu0["reserved_regions"] == json::parse(R"([{"start":4276092928,"last":4277141503,"type":"msi"}])"));
    CHECK(st["iommus"][1]["pgtable_formats"] == json::array());

    const json& devices = st.at("devices");
    CHECK(devices.size() == default_topology().devices.size());
    CHECK(entry(devices, "name", "nic0") == json{{"name", "nic0"}, {"type", "pci"}, {"bdf", "00:01.0"}, {"rid", 8},
                                                 {"iommu", "iommu0"}, {"group", 1}, {"parent", nullptr},
                                                 {"pasid", false}, {"pri", false}, {"page_requests", nullptr}, {"bound_by", f.ctx->id}});
    const json mdev0 = entry(devices, "name", "mdev0");
    CHECK(mdev0["type"] == "mdev");
    CHECK(mdev0["bdf"] == nullptr);
    CHECK(mdev0["parent"] == "gpu0");
    CHECK(mdev0["rid"] == 0x20);
    CHECK(mdev0["bound_by"] == nullptr);
    CHECK(entry(devices, "name", "vmdev0")["iommu"] == nullptr);

    REQUIRE(st.at("contexts").size() == 1);
    const json& ctx = st["contexts"][0];
    CHECK(ctx["id"] == f.ctx->id);
    CHECK(ctx["pid"] == getpid());
    const json parent = entry(ctx["ioasids"], "id", s.ioasid);
    CHECK(parent["kind"] == "kernel");
    CHECK(parent["parent"] == nullptr);
    CHECK(parent["attachments"] == 3);
    CHECK(parent["children"] == 1);
    CHECK(parent["mapping_count"] == 1);
    CHECK(parent["mapped_bytes"] == 2 * K4);
    CHECK(parent["mappings"] == json::array({{{"iova", kIova}, {"size", 2 * K4}, {"vaddr", ptr_value(s.mem.ptr)},
                                               {"pid", getpid()}, {"prot", {"read", "write"}}}}));
    CHECK_FALSE(parent.contains("mappings_truncated"));
    const json nested = entry(ctx["ioasids"], "id", child);
    CHECK(nested["kind"] == "user");
    CHECK(nested["parent"] == s.ioasid);
    CHECK(nested["user_pgd"] == 0x10000);
    CHECK(nested["pgtable_format"] == "x86_64");
    CHECK(nested["mappings"] == json::array());

    const json nic = entry(ctx["devices"], "cookie", kNic);
    CHECK(nic["name"] == "nic0");
    CHECK(nic["physical"] == "nic0");
    CHECK(nic["def_pasid"] == nullptr);
    CHECK(nic["fault_consumer"] == true);
    CHECK(nic["page_requests_stopped"] == false);
    CHECK(nic["attachments"] == json::array({{{"pasid", nullptr}, {"ioasid", s.ioasid}}}));
    CHECK(nic["pending_groups"] == json::array());
    const json accel = entry(ctx["devices"], "cookie", kAccel);
    CHECK(accel["attachments"].size() == 2);
    CHECK(entry(accel["attachments"], "pasid", 5)["ioasid"] == s.ioasid);
    REQUIRE(accel["pending_groups"].size() == 1);
    CHECK(accel["pending_groups"][0]["pasid"] == nullptr);
    CHECK(accel["pending_groups"][0]["dma_id"] == d.dma_id);

    CHECK(ctx["fault_region"]["pending"] == 1);
    CHECK(ctx["fault_region"]["depth"] == 256);
    CHECK(ctx["fault_region"]["timeout_ms"] == 10000);
    CHECK(ctx["dmas"] == json::array({{{"id", d.dma_id}, {"cookie", kAccel}, {"device", "accel0"},
                                       {"control", false}, {"write", true}, {"status", "pending"},
                                       {"bytes_done", 0}, {"length", 16}}}));
    CHECK(st["accounting"] == json::array({{{"pid", getpid()}, {"locked_pages", 2}}}));
    CHECK(st["counters"] == json{{"contexts", 1}, {"routes", 3}, {"iotlb_entries", 0}, {"locked_pages", 2}});
}

TEST_CASE("control: dump lists at most 4096 mappings per IOASID, mapping_count stays exact") {
    Fixture f;
    Buffer mem(K4);
    const long ioasid = f.alloc();
    for (uint64_t i = 0; i < 4097; ++i)
        REQUIRE(f.map(ioasid, kIova + 2 * i * K4, mem.ptr, K4) == 0);
    const json space = state(f)["contexts"][0]["ioasids"][0];
    CHECK(space["mappings"].size() == 4096);
    CHECK(space["mappings_truncated"] == true);
    CHECK(space["mapping_count"] == 4097);
    CHECK(space["mappings"][4095]["iova"] == kIova + 2 * 4095 * K4);
}

TEST_CASE("control: check walks the model and finds it consistent") {
    Fixture f;
    Buffer buf(4096);
    const long ioasid = f.alloc();
    REQUIRE(f.map(ioasid, 0x100000, buf.ptr, 4096) == 0);
    REQUIRE(f.bind("nic0", 1) == 0);
    REQUIRE(f.attach(1, ioasid) == 0);
    const json r = control(f, {{"cmd", "check"}});
    CHECK(r["ok"] == true);
    CHECK(r["problems"] == json::array());
    ++f.ctx->ioasids.find(static_cast<uint32_t>(ioasid))->attachments;  // break one thing
    const json broken = control(f, {{"cmd", "check"}});
    REQUIRE(broken["problems"].size() == 1);
    CHECK(broken["problems"][0].get<std::string>().find("attachments, has 1") != std::string::npos);
    --f.ctx->ioasids.find(static_cast<uint32_t>(ioasid))->attachments;
    check_refused(f, {{"cmd", "check"}, {"now", true}}, "now: unknown key");
}

TEST_CASE("control: set changes a PRI device's page-request credits, bound or not") {
    Fixture f;
    const json unbound = control(f, {{"cmd", "set"}, {"device", "accel0"}, {"page_requests", 2}});
    CHECK(unbound["page_requests"] == json{{"max", 2}, {"outstanding", nullptr}, {"held_dmas", nullptr}});
    const long ioasid = f.alloc();
    REQUIRE(f.bind("accel0", 7) == 0);  // a bind starts with the device's credits
    REQUIRE(f.attach(7, ioasid) == 0);
    REQUIRE(f.fault_register(7) == 0);
    char byte;
    iommu_sim_dma d;
    for (int i = 0; i < 2; ++i) {
        REQUIRE(f.dma(7, 0x40000000, &byte, 1, false, {}, &d) == 0);
        REQUIRE(d.status == IOMMU_SIM_DMA_PENDING);
    }
    CHECK(f.dma(7, 0x40000000, &byte, 1, false) == -EBUSY);
    const json raised = control(f, {{"cmd", "set"}, {"device", "accel0"}, {"page_requests", 3}});
    CHECK(raised["page_requests"] == json{{"max", 3}, {"outstanding", 2}, {"held_dmas", 2}});
    CHECK(f.dma(7, 0x40000000, &byte, 1, false, {}, &d) == 0);  // room for one more
    const json dumped = control(f, {{"cmd", "dump"}});
    CHECK(entry(dumped["state"]["devices"], "name", "accel0")["page_requests"] ==
          json{{"max", 3}, {"outstanding", 3}, {"held_dmas", 3}});

    check_refused(f, {{"cmd", "set"}, {"device", "nic0"}, {"page_requests", 4}}, "device: \"nic0\" cannot issue page");
    check_refused(f, {{"cmd", "set"}, {"device", "accel0"}, {"page_requests", 0}}, "page_requests: expected 1..1024");
    check_refused(f, {{"cmd", "set"}, {"device", "accel0"}}, "page_requests: missing");
    check_refused(f, {{"cmd", "set"}, {"device", "nope"}, {"page_requests", 4}}, "device: no device named");
    check_refused(f, {{"cmd", "set"}, {"device", "accel0"}, {"page_requests", 4}, {"context", 1}},
                  "context: unknown key");
}

TEST_CASE("control: set changes a context's fault region with IOMMU_FAULT_REGION_INFO's rules") {
    Fixture f;
    Setup s(f);
    const json r = control(f, {{"cmd", "set"}, {"context", f.ctx->id}, {"fault_depth", 2}, {"fault_timeout_ms", 0}});
    REQUIRE(r["ok"] == true);
    CHECK(r["fault_region"]["depth"] == 2);
    CHECK(r["fault_region"]["timeout_ms"] == 0);
    CHECK(f.region().depth == 2);
    CHECK(control(f, {{"cmd", "set"}, {"context", f.ctx->id}, {"fault_timeout_ms", "0x10"}})["fault_region"]
              ["timeout_ms"] == 16);

    REQUIRE(f.inject(kNic, kIova, IOMMU_FAULT_PERM_READ) == 0);
    REQUIRE(f.inject(kNic, kIova, IOMMU_FAULT_PERM_READ) == 0);
    const json id = f.ctx->id;
    check_refused(f, {{"cmd", "set"}, {"context", id}, {"fault_depth", 1}},
                  "fault_depth: 1 is fewer than the 2 records waiting to be read");
    check_refused(f, {{"cmd", "set"}, {"context", id}, {"fault_depth", 1}, {"fault_timeout_ms", 5}},
                  "fault_depth: 1 is fewer");  // and the timeout is not set either
    check_refused(f, {{"cmd", "set"}, {"context", id}, {"fault_depth", 0}}, "fault_depth: expected 1..65536, got 0");
    check_refused(f, {{"cmd", "set"}, {"context", id}, {"fault_depth", 65537}}, "fault_depth: expected 1..65536");
    check_refused(f, {{"cmd", "set"}, {"context", id}, {"fault_timeout_ms", 1ull << 32}},
                  "fault_timeout_ms: expected 0..4294967295");
    check_refused(f, {{"cmd", "set"}, {"context", id}}, "fault_depth: missing (give fault_depth and/or");
    check_refused(f, {{"cmd", "set"}, {"fault_depth", 4}}, "context: missing");
    check_refused(f, {{"cmd", "set"}, {"context", 999}, {"fault_depth", 4}}, "context: no context 999");
    check_refused(f, {{"cmd", "set"}, {"context", -1}, {"fault_depth", 4}},
                  "context: expected a non-negative integer or a hex string");
    check_refused(f, {{"cmd", "set"}, {"context", "0xzz"}, {"fault_depth", 4}}, "context: expected a non-negative");
    check_refused(f, {{"cmd", "set"}, {"context", "0x10000000000000000"}, {"fault_depth", 4}},
                  "context: \"0x10000000000000000\" does not fit in 64 bits");
    check_refused(f, {{"cmd", "set"}, {"context", 1.5}, {"fault_depth", 4}}, "context: expected a non-negative");
}

TEST_CASE("control: dma writes and reads a bound device's memory with hex data") {
    Fixture f;
    Setup s(f);
    json r = control(f, {{"cmd", "dma"}, {"device", "nic0"}, {"iova", "0x100ffe"}, {"length", 4}, {"write", true},
                         {"data", "DEADbeef"}});
    REQUIRE(r["ok"] == true);
    CHECK(r["status"] == "ok");
    CHECK(r["bytes_done"] == 4);
    CHECK_FALSE(r.contains("data"));
    CHECK_FALSE(r.contains("fault"));
    CHECK(static_cast<unsigned char>(s.mem.bytes()[0xffe]) == 0xde);
    CHECK(static_cast<unsigned char>(s.mem.bytes()[0x1001]) == 0xef);  // across the page boundary

    r = control(f, {{"cmd", "dma"}, {"device", "nic0"}, {"iova", kIova + 0xffd}, {"length", 5}, {"write", false}});
    CHECK(r["status"] == "ok");
    CHECK(r["data"] == "00deadbeef");

    // A read running off the mapping: the bytes before the fault come back.
    r = control(f, {{"cmd", "dma"}, {"device", "nic0"}, {"iova", kIova + 2 * K4 - 2}, {"length", 4}, {"write", false}});
    CHECK(r["status"] == "fault");
    CHECK(r["bytes_done"] == 2);
    CHECK(r["data"] == "0000");
    CHECK(r["fault"] == json{{"addr", kIova + 2 * K4}, {"reason", "not-mapped"}, {"flags", {"stage2"}}});
    auto records = f.records();
    REQUIRE(records.size() == 1);  // nic0 has no PRI: an unrecoverable fault, reported
    CHECK(records[0].cookie == kNic);
    CHECK(records[0].addr == kIova + 2 * K4);

    r = control(f, {{"cmd", "dma"}, {"device", "nic0"}, {"iova", 0xfee00000}, {"length", 1}, {"write", true},
                    {"data", "01"}});
    CHECK(r["status"] == "fault");
    CHECK(r["fault"]["reason"] == "reserved");
    CHECK(r["fault"]["flags"] == json::array({"write"}));
    CHECK(state(f)["contexts"][0]["dmas"] == json::array());  // nothing stalled, nothing kept
}

TEST_CASE("control: dma refusals name the field and change nothing") {
    Fixture f;
    Setup s(f);
    const json base = {{"cmd", "dma"}, {"device", "nic0"}, {"iova", kIova}, {"length", 2}, {"write", false}};
    auto with = [&](const json& changes) {
        json r = base;
        for (const auto& [k, v] : changes.items()) {
            if (v.is_null())
                r.erase(k);
            else
                r[k] = v;
        }
        return r;
    };
    check_refused(f, with({{"device", nullptr}}), "device: missing");
    check_refused(f, with({{"device", 3}}), "device: expected a string, got 3");
    check_refused(f, with({{"device", "nic9"}}), "device: no device named \"nic9\"");
    check_refused(f, with({{"device", "nic1"}}), "device: \"nic1\" is not bound");
    check_refused(f, with({{"iova", nullptr}}), "iova: missing");
    check_refused(f, with({{"iova", "4096"}}), "iova: expected a non-negative integer or a hex string");
    check_refused(f, with({{"length", 0}}), "length: expected 1..1048576, got 0");
    check_refused(f, with({{"length", (1 << 20) + 1}}), "length: expected 1..1048576, got 1048577");
    check_refused(f, with({{"iova", "0xffffffffffffffff"}}), "length: iova + length wraps past 2^64");
    check_refused(f, with({{"write", nullptr}}), "write: missing");
    check_refused(f, with({{"write", 1}}), "write: expected true or false, got 1");
    check_refused(f, with({{"data", "0000"}}), "data: only a write carries data");
    check_refused(f, with({{"write", true}}), "data: missing");
    check_refused(f, with({{"write", true}, {"data", "00"}}),
                  "data: expected 2 bytes (4 hex digits), got 2 characters");
    check_refused(f, with({{"write", true}, {"data", "00x0"}}), "data: not a hex digit at character 2");
    check_refused(f, with({{"write", true}, {"data", json::array()}}), "data: expected a string of hex digits");
    check_refused(f, with({{"pasid", 1}}), "pasid: \"nic0\" cannot carry a PASID");
    check_refused(f, with({{"device", "accel0"}, {"pasid", 0}}), "pasid: expected 1..1048575 (20 PASID bits), got 0");
    check_refused(f, with({{"device", "accel0"}, {"pasid", 1 << 20}}), "pasid: expected 1..1048575");
    check_refused(f, with({{"lenght", 2}}), "lenght: unknown key");
}

TEST_CASE("control: a dma that stalls on a page request completes after PAGE_RESPONSE") {
    Fixture f;
    Setup s(f);
    json r = control(f, {{"cmd", "dma"}, {"device", "accel0"}, {"iova", 0x400ff0}, {"length", 32}, {"write", false}});
    REQUIRE(r["ok"] == true);
    CHECK(r["status"] == "pending");
    CHECK(r["bytes_done"] == 0);
    CHECK(r["fault"]["reason"] == "not-mapped");
    CHECK_FALSE(r.contains("data"));
    const uint64_t id = r.at("dma_id");
    auto records = f.records();
    REQUIRE(records.size() == 1);
    CHECK((records[0].flags & IOMMU_FAULT_RECORD_RECOVERABLE) != 0);

    // The client cannot reap the control socket's DMA.
    long result = 0;
    f.dma_status(id, &result);
    CHECK(result == -ENOENT);
    const json pending = control(f, {{"cmd", "dma-status"}, {"device", "accel0"}, {"dma_id", id}});
    CHECK(pending["status"] == "pending");
    CHECK(pending["dma_id"] == id);
    CHECK(entry(state(f)["contexts"][0]["dmas"], "id", id)["control"] == true);

    std::memcpy(s.mem.bytes() + K4 - 16, "sixteen bytes...and sixteen more", 32);
    REQUIRE(f.map(s.ioasid, 0x400000, s.mem.ptr, K4) == 0);                // page 0x400000 -> mem page 0
    REQUIRE(f.map(s.ioasid, 0x401000, s.mem.bytes() + K4, K4) == 0);       // page 0x401000 -> mem page 1
    REQUIRE(f.respond(kAccel, records[0].grpid, IOMMU_PAGE_RESP_SUCCESS) == 0);
    const json done = control(f, {{"cmd", "dma-status"}, {"device", "accel0"}, {"dma_id", id}});
    REQUIRE(done["ok"] == true);
    CHECK(done["status"] == "ok");
    CHECK(done["bytes_done"] == 32);
    CHECK(done["data"] == "7369787465656e2062797465732e2e2e616e64207369787465656e206d6f7265");  // the text
    CHECK_FALSE(done.contains("dma_id"));

    check_refused(f, {{"cmd", "dma-status"}, {"device", "accel0"}, {"dma_id", id}},
                  "dma_id: no DMA " + std::to_string(id) + " of \"accel0\" from the control socket");
    check_refused(f, {{"cmd", "dma-status"}, {"device", "accel0"}, {"dma_id", 0}}, "dma_id: expected 1..");
    check_refused(f, {{"cmd", "dma-status"}, {"dma_id", 1}}, "device: missing");
}

TEST_CASE("control: a stalled dma whose device is unbound ends aborted and is still found") {
    Fixture f;
    Setup s(f);
    json r = control(f, {{"cmd", "dma"}, {"device", "accel0"}, {"iova", 0x400000}, {"length", 2}, {"write", true},
                         {"data", "abcd"}});
    REQUIRE(r["status"] == "pending");
    const uint64_t id = r["dma_id"];
    REQUIRE(f.unbind(kAccel) == 0);  // answers the page request INVALID
    r = control(f, {{"cmd", "dma-status"}, {"device", "accel0"}, {"dma_id", id}});
    CHECK(r["status"] == "aborted");
    CHECK(r["fault"]["addr"] == 0x400000);
    CHECK(state(f)["contexts"][0]["dmas"] == json::array());
}

TEST_CASE("control: fault injects through the routing table, into any context") {
    Fixture f;
    Setup s(f);
    Context* other = f.dispatcher.open(getpid());
    const long other_ioasid = f.alloc(0, 0, 0, other);
    REQUIRE(f.bind("nic1", 1, other) == 0);
    REQUIRE(f.attach(1, static_cast<uint32_t>(other_ioasid), {}, other) == 0);
    iommu_device_fault consumer{sizeof(consumer), 0, 1};
    REQUIRE(f.call(IOMMU_DEVICE_FAULT_REGISTER, consumer, other) == 0);

    json r = control(f, {{"cmd", "fault"}, {"device", "nic1"}, {"addr", "0x5000"}, {"perm", {"write", "exec"}},
                         {"reason", "permission"}});
    REQUIRE(r["ok"] == true);
    CHECK(r["context"] == other->id);
    CHECK(r["device"] == "nic1");
    CHECK(r["cookie"] == 1);
    CHECK(r["grpid"] == nullptr);
    auto records = f.records(other);
    REQUIRE(records.size() == 1);
    CHECK(records[0].reason == IOMMU_FAULT_REASON_PERMISSION);
    CHECK(records[0].perm == (IOMMU_FAULT_PERM_WRITE | IOMMU_FAULT_PERM_EXEC));
    CHECK(records[0].addr == 0x5000);
    CHECK(records[0].flags == IOMMU_FAULT_RECORD_STAGE2);
    CHECK(f.records().empty());

    // By requester ID (nic0 = 00:01.0 = 0x0008), default reason not-mapped.
    r = control(f, {{"cmd", "fault"}, {"rid", 8}, {"addr", 0x6000}, {"perm", {"read"}}});
    CHECK(r["context"] == f.ctx->id);
    records = f.records();
    REQUIRE(records.size() == 1);
    CHECK(records[0].cookie == kNic);
    CHECK(records[0].reason == IOMMU_FAULT_REASON_NOT_MAPPED);

    // A page request of accel0 on PASID 5; answering it resumes nothing (no DMA waits).
    REQUIRE(f.attach(kAccel, s.ioasid, 5) == 0);
    r = control(f, {{"cmd", "fault"}, {"device", "accel0"}, {"pasid", 5}, {"addr", 0x7000}, {"perm", {"read"}},
                    {"recoverable", true}});
    REQUIRE(r["grpid"].is_number());
    records = f.records();
    REQUIRE(records.size() == 1);
    CHECK(records[0].grpid == r["grpid"]);
    CHECK(records[0].pasid == 5);
    CHECK((records[0].flags & IOMMU_FAULT_RECORD_RECOVERABLE) != 0);
    CHECK(f.respond(kAccel, records[0].grpid, IOMMU_PAGE_RESP_SUCCESS) == 0);
    f.dispatcher.release(other);
}

TEST_CASE("control: fault refusals name the field and change nothing") {
    Fixture f;
    Setup s(f);
    REQUIRE(f.bind("vmdev0", 3) == 0);
    const json base = {{"cmd", "fault"}, {"device", "nic0"}, {"addr", 0x1000}, {"perm", {"read"}}};
    auto with = [&](const json& changes) {
        json r = base;
        for (const auto& [k, v] : changes.items()) {
            if (v.is_null())
                r.erase(k);
            else
                r[k] = v;
        }
        return r;
    };
    check_refused(f, with({{"device", nullptr}}), "device: missing (or give \"rid\")");
    check_refused(f, with({{"rid", 8}}), "device: give \"device\" or \"rid\", not both");
    check_refused(f, with({{"device", "nic2"}}), "device: \"nic2\" is not bound");
    check_refused(f, with({{"device", "nope"}}), "device: no device named \"nope\"");
    check_refused(f, with({{"device", "vmdev0"}}), "device: \"vmdev0\" is a software mdev");
    check_refused(f, with({{"pasid", 3}}), "pasid: \"nic0\" cannot carry a PASID");
    check_refused(f, with({{"pasid", 0}}), "pasid: expected 1..1048575, got 0");
    check_refused(f, with({{"device", nullptr}, {"rid", 0x10000}}), "rid: expected 0..65535");
    check_refused(f, with({{"device", nullptr}, {"rid", 0x99}}), "rid: no PCI device has RID 0x0099");
    check_refused(f, with({{"device", nullptr}, {"rid", 0x10}}),  // nic1: nothing attached
                  "nothing is attached at RID 0x0010 (no PASID) on \"iommu0\": the fault has nowhere to go");
    check_refused(f, with({{"device", "accel0"}, {"pasid", 9}}),
                  "nothing is attached at RID 0x0018 (PASID 9) on \"iommu0\"");
    check_refused(f, with({{"addr", nullptr}}), "addr: missing");
    check_refused(f, with({{"perm", json::array()}}), "perm: expected a non-empty array of \"read\", \"write\"");
    check_refused(f, with({{"perm", {"read", "fly"}}}),
                  "perm: expected each of \"read\", \"write\", \"exec\", \"priv\", got \"fly\"");
    check_refused(f, with({{"perm", {"read", "read"}}}), "perm: \"read\" is listed twice");
    check_refused(f, with({{"reason", "bad"}}), "reason: expected one of blocked, not-mapped");
    check_refused(f, with({{"recoverable", true}, {"reason", "permission"}}),
                  "reason: a recoverable fault (a page request) is always \"not-mapped\"");
    check_refused(f, with({{"recoverable", true}}),
                  "recoverable: \"nic0\" cannot issue page requests (no PRI, or its IOMMU has no IOPF)");
    check_refused(f, with({{"recoverable", "yes"}}), "recoverable: expected true or false");
}

TEST_CASE("control: device-add follows the topology file's rules; an added device binds like any") {
    Fixture f;
    json r = control(f, {{"cmd", "device-add"},
                         {"device", {{"name", "nic9"}, {"type", "pci"}, {"bdf", "00:09.0"}, {"iommu", "iommu0"},
                                     {"group", 9}, {"pri", true}, {"pasid", true}}}});
    REQUIRE(r["ok"] == true);
    CHECK(r["device"]["name"] == "nic9");
    CHECK(r["device"]["rid"] == 0x48);
    CHECK(r["device"]["bound_by"] == nullptr);
    r = control(f, {{"cmd", "device-add"}, {"device", {{"name", "mdev9"}, {"type", "mdev"}, {"parent", "nic9"}}}});
    REQUIRE(r["ok"] == true);
    CHECK(r["device"]["group"] == 10);  // one past every group used so far
    CHECK(r["device"]["pri"] == true);  // its parent's
    CHECK(r["device"]["iommu"] == "iommu0");

    Buffer mem(K4);
    const long ioasid = f.alloc();
    REQUIRE(f.map(ioasid, kIova, mem.ptr, K4) == 0);
    REQUIRE(f.bind("nic9", 42) == 0);
    REQUIRE(f.attach(42, ioasid) == 0);
    r = control(f, {{"cmd", "dma"}, {"device", "nic9"}, {"iova", kIova}, {"length", 3}, {"write", true},
                    {"data", "616263"}});
    CHECK(r["status"] == "ok");
    CHECK(std::string(mem.bytes(), 3) == "abc");
    CHECK(f.bind("mdev9", 43) == -EBUSY);  // its parent is assigned whole
    CHECK(entry(state(f)["devices"], "name", "nic9")["bound_by"] == f.ctx->id);

    auto add = [](const json& device) { return json{{"cmd", "device-add"}, {"device", device}}; };
    const json pci = {{"name", "new0"}, {"type", "pci"}, {"bdf", "00:0a.0"}, {"iommu", "iommu0"}, {"group", 11}};
    auto pci_with = [&](const char* key, const json& value) {
        json d = pci;
        d[key] = value;
        return add(d);
    };
    check_refused(f, {{"cmd", "device-add"}}, "device: missing");
    check_refused(f, add(json::array()), "device: expected an object, got an array");
    check_refused(f, pci_with("name", "nic0"), "device/name: a device named \"nic0\" is present already");
    check_refused(f, pci_with("name", "bad name"), "device/name: expected a name of 1..31 characters");
    check_refused(f, pci_with("bdf", "00:01.0"), "device/bdf: \"00:01.0\" is also the BDF of \"nic0\"");
    check_refused(f, pci_with("bdf", "zz"), "device/bdf: expected \"BB:DD.F\" (hex), got \"zz\"");
    check_refused(f, pci_with("iommu", "iommu7"), "device/iommu: no IOMMU named \"iommu7\"");
    check_refused(f, pci_with("group", 5), "device/group: group 5 holds \"legacy0\" behind \"iommu1\", but this "
                                           "device is behind \"iommu0\" (a group sits behind one IOMMU)");
    check_refused(f, pci_with("group", 6), "device/group: group 6 is the group of mdev \"mdev0\"");
    check_refused(f, pci_with("colour", "red"), "device/colour: unknown key");
    check_refused(f, add({{"name", "m"}, {"type", "mdev"}}), "device/parent: missing");
    check_refused(f, add({{"name", "m"}, {"type", "mdev"}, {"parent", "ghost"}}), "device/parent: no device named");
    check_refused(f, add({{"name", "m"}, {"type", "mdev"}, {"parent", "mdev0"}}),
                  "device/parent: \"mdev0\" is of type \"mdev\"; a parent must be of type \"pci\"");
    check_refused(f, add({{"name", "m"}, {"type", "mdev"}, {"parent", "legacy0"}}),
                  "device/parent: parent \"legacy0\" sits behind \"iommu1\", which has no PASID support");
    check_refused(f, add({{"name", "m"}, {"type", "mdev"}, {"parent", "nic0"}}),
                  "device/parent: parent \"nic0\" is not PASID-capable");
    check_refused(f, add({{"name", "m"}, {"type", "mdev"}, {"parent", "gpu0"}, {"group", 3}}),
                  "device/group: not allowed for type \"mdev\"");
    check_refused(f, add({{"name", "m"}, {"type", "toaster"}}), "device/type: expected \"pci\" or \"mdev\"");
}

TEST_CASE("control: device-add stops when the daemon's room for devices is used up") {
    Fixture f;
    for (size_t i = 0; i < Model::kDeviceHeadroom; ++i) {
        const json r = control(f, {{"cmd", "device-add"},
                                   {"device", {{"name", "sw" + std::to_string(i)}, {"type", "sw-mdev"},
                                               {"parent", "gpu0"}}}});
        REQUIRE(r["ok"] == true);
    }
    check_refused(f,
                  {{"cmd", "device-add"}, {"device", {{"name", "one-more"}, {"type", "sw-mdev"}, {"parent", "gpu0"}}}},
                  "device: no room for another device: the daemon adds at most 256 devices while it runs");
    // Removing gives no room back (indices are never reused), and breaks nothing.
    CHECK(control(f, {{"cmd", "device-remove"}, {"name", "sw0"}})["ok"] == true);
    CHECK(f.bind("sw1", 1) == 0);
}

TEST_CASE("control: device-remove revokes a bound device: its owner reads REVOKED and the cookie is gone") {
    Fixture f;
    Setup s(f);
    Buffer data(16);
    iommu_sim_dma d;
    REQUIRE(f.dma(kAccel, 0x400000, data.ptr, 8, false, {}, &d) == 0);
    REQUIRE(d.status == IOMMU_SIM_DMA_PENDING);
    const json stalled = control(f, {{"cmd", "dma"}, {"device", "accel0"}, {"iova", 0x500000}, {"length", 1},
                                     {"write", false}});
    REQUIRE(stalled["status"] == "pending");
    REQUIRE(f.records().size() == 2);

    const json r = control(f, {{"cmd", "device-remove"}, {"name", "accel0"}});
    REQUIRE(r["ok"] == true);
    CHECK(r["revoked"] == f.ctx->id);
    CHECK(r["mdevs"] == json::array());
    auto records = f.records();
    REQUIRE(records.size() == 1);
    CHECK(records[0].flags == IOMMU_FAULT_RECORD_REVOKED);
    CHECK(records[0].cookie == kAccel);
    CHECK(f.dma_status(d.dma_id).status == IOMMU_SIM_DMA_ABORTED);  // its page request was answered INVALID
    const json ended = control(f, {{"cmd", "dma-status"}, {"device", "accel0"}, {"dma_id", stalled["dma_id"]}});
    CHECK(ended["status"] == "aborted");  // found although the device is gone
    CHECK(f.unbind(kAccel) == -ENOENT);
    CHECK(f.attach(kAccel, s.ioasid) == -ENOENT);
    CHECK(f.bind("accel0", 9) == -ENODEV);
    const json st = state(f);
    for (const json& dev : st["devices"])
        CHECK(dev["name"] != "accel0");
    CHECK(st["contexts"][0]["devices"].size() == 1);
    CHECK(st["counters"]["routes"] == 1);

    // The name is free again: a device added under it is a new device.
    REQUIRE(control(f, {{"cmd", "device-add"},
                        {"device", {{"name", "accel0"}, {"type", "pci"}, {"bdf", "00:03.0"}, {"iommu", "iommu0"},
                                    {"group", 3}}}})["ok"] == true);
    CHECK(f.bind("accel0", kAccel) == 0);
    check_refused(f, {{"cmd", "device-remove"}, {"name", "ghost"}}, "name: no device named \"ghost\"");
    check_refused(f, {{"cmd", "device-remove"}}, "name: missing");
}

TEST_CASE("control: removing an mdev parent removes its mdevs, revoking their binds") {
    Fixture f;
    Context* other = f.dispatcher.open(getpid());
    REQUIRE(f.bind("mdev0", 10) == 0);
    REQUIRE(f.bind("vmdev0", 11, other) == 0);
    const json r = control(f, {{"cmd", "device-remove"}, {"name", "gpu0"}});
    REQUIRE(r["ok"] == true);
    CHECK(r["revoked"] == nullptr);
    CHECK(r["mdevs"] == json::array({{{"name", "mdev0"}, {"revoked", f.ctx->id}},
                                     {{"name", "mdev1"}, {"revoked", nullptr}},
                                     {{"name", "vmdev0"}, {"revoked", other->id}}}));
    CHECK(f.records().at(0).cookie == 10);
    CHECK(f.records(other).at(0).cookie == 11);
    CHECK(state(f)["devices"].size() == default_topology().devices.size() - 4);
    check_refused(f, {{"cmd", "device-add"}, {"device", {{"name", "m"}, {"type", "mdev"}, {"parent", "gpu0"}}}},
                  "device/parent: no device named \"gpu0\"");
    f.dispatcher.release(other);
}
