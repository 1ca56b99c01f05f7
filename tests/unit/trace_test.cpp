// --trace (docs/trace.md): the TraceWriter over an in-process daemon.  A
// scripted client (calls, errors, a page request and its answer, injected
// and lost faults, an unknown command) is traced and every line checked;
// two runs of it normalise to the same bytes; concurrent callers still
// produce whole lines in seq order.
#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "../../toolkit/hex_text.h"
#include <vector>

#include <nlohmann/json.hpp>

#include "../../control/trace_decoders.h"
#include "../../control/trace_writer.h"
#include "fixture.h"

using namespace ciommu;
using namespace ciommu::test;
using Json = nlohmann::ordered_json;

namespace {

constexpr uint64_t K4 = 4096;
constexpr uint64_t kAccel = 7;

struct TempFile {
    TempFile() {
        char name[] = "/tmp/cuse-iommu-trace-XXXXXX";
        const int fd = mkstemp(name);
        REQUIRE(fd >= 0);
        close(fd);
        path = name;
    }
    ~TempFile() { unlink(path.c_str()); }
    std::vector<std::string> raw_lines() const {
        std::ifstream in(path);
        std::vector<std::string> lines;
        for (std::string line; std::getline(in, line);)
            lines.push_back(line);
        return lines;
    }
    // Every line parsed; a line that is not one whole JSON object fails.
    std::vector<Json> lines() const {
        std::vector<Json> parsed;
        for (const std::string& line : raw_lines()) {
            Json j = Json::parse(line, nullptr, false);
            REQUIRE_MESSAGE(j.is_object(), line);
            parsed.push_back(std::move(j));
        }
        return parsed;
    }
    std::string path;
};

std::unique_ptr<TraceWriter> open_trace(Fixture& f, const TempFile& file) {
    std::string error;
    auto trace = TraceWriter::open(file.path, f.dispatcher, f.model, &error);
    REQUIRE_MESSAGE(trace, error);
    return trace;
}

// docs/trace.md, "Comparing two runs": the same fields the documented
// one-liners and scripts/trace-normalize.sh drop.
std::vector<std::string> normalise(std::vector<Json> lines) {
    std::vector<std::string> out;
    for (Json& j : lines) {
        for (const char* key : {"time", "latency_us", "pid", "tid"})
            j.erase(key);
        if (j.contains("args") && j["args"].is_object()) {
            for (const char* key : {"vaddr", "data", "arg"})
                j["args"].erase(key);
        }
        out.push_back(j.dump());
    }
    return out;
}

unsigned unknown_command() { return _IO(IOMMU_TYPE, 0xcf); }

// The scripted client.  Returns what the checks need to know.
struct ScriptResult {
    long ioasid = 0;
    uint64_t dma_id = 0;
    uint32_t grpid = 0;
    uintptr_t vaddr = 0;
};

ScriptResult run_script(Fixture& f) {
    ScriptResult r;
    Buffer mem(4 * K4);
    r.vaddr = reinterpret_cast<uintptr_t>(mem.ptr);
    REQUIRE(f.value(IOMMU_GET_API_VERSION, 0) == IOMMU_API_VERSION);
    REQUIRE(f.value(IOMMU_CHECK_EXTENSION, IOMMU_EXT_USER_PAGE_TABLE) == 1);
    r.ioasid = f.alloc();
    REQUIRE(r.ioasid > 0);
    REQUIRE(f.map(r.ioasid, 0x100000, mem.ptr, K4) == 0);
    REQUIRE(f.map(r.ioasid, 0x100800, mem.ptr, K4) == -EINVAL);          // misaligned
    REQUIRE(f.map(r.ioasid, 0x100000, mem.ptr, K4, kRW | 0x80) == -EINVAL);  // unknown flag
    REQUIRE(f.bind("accel0", kAccel) == 0);
    REQUIRE(f.attach(kAccel, r.ioasid) == 0);
    REQUIRE(f.fault_register(kAccel) == 0);

    // A DMA into an unmapped page: a page request, then the user's answer.
    char text[] = "hi";
    iommu_sim_dma d{};
    REQUIRE(f.dma(kAccel, 0x200000, text, 2, true, {}, &d) == 0);
    REQUIRE(d.status == IOMMU_SIM_DMA_PENDING);
    r.dma_id = d.dma_id;
    auto records = f.records();
    REQUIRE(records.size() == 1);
    r.grpid = records[0].grpid;
    REQUIRE(f.map(r.ioasid, 0x200000, mem.bytes() + K4, K4) == 0);
    REQUIRE(f.respond(kAccel, r.grpid, IOMMU_PAGE_RESP_SUCCESS) == 0);
    REQUIRE(f.dma_status(r.dma_id).status == IOMMU_SIM_DMA_OK);

    // An injected unrecoverable fault; then a region of depth 1 loses one.
    REQUIRE(f.inject(kAccel, 0x300000, IOMMU_FAULT_PERM_READ) == 0);
    long result = 0;
    f.region(IOMMU_FAULT_REGION_SET_DEPTH, 1, 0, &result);
    REQUIRE(result == 0);
    REQUIRE(f.inject(kAccel, 0x301000, IOMMU_FAULT_PERM_WRITE) == 0);  // lost
    REQUIRE(f.records().size() == 1);
    REQUIRE(f.inject(kAccel, 0x302000, IOMMU_FAULT_PERM_READ) == 0);   // LOST_BEFORE
    REQUIRE(f.records().size() == 1);

    // An unknown command.
    REQUIRE(f.dispatcher.ioctl(*f.ctx, Caller::self(), unknown_command(), 0x1000) == -ENOTTY);

    // A page request answered by detach.
    REQUIRE(f.dma(kAccel, 0x400000, text, 1, false, {}, &d) == 0);
    REQUIRE(d.status == IOMMU_SIM_DMA_PENDING);
    REQUIRE(f.detach(kAccel) == 0);

    iommu_device_info info{};
    info.argsz = 512;  // room for the capability chain
    std::vector<std::byte> bytes(512), out;
    std::memcpy(bytes.data(), &info, sizeof(info));
    const uint64_t cookie = kAccel;
    std::memcpy(bytes.data() + offsetof(iommu_device_info, cookie), &cookie, sizeof(cookie));
    REQUIRE(f.raw(IOMMU_DEVICE_GET_INFO, bytes, &out).result == 0);

    REQUIRE(f.unmap(r.ioasid, 0x100000, 0x200000) == 2 * K4);
    f.stats();
    REQUIRE(f.unbind(kAccel) == 0);
    REQUIRE(f.free_ioasid(r.ioasid) == 0);
    return r;
}

// The index of the first line at or after `from` that has key == value.
size_t find_line(const std::vector<Json>& lines, const char* key, const Json& value, size_t from = 0) {
    for (size_t i = from; i < lines.size(); ++i) {
        if (lines[i].contains(key) && lines[i][key] == value)
            return i;
    }
    FAIL("no line with " << key << " = " << value.dump());
    return lines.size();
}

}  // namespace

TEST_CASE("every uAPI call and fault event of a scripted client becomes one JSON line") {
    TempFile file;
    Fixture f;
    auto trace = open_trace(f, file);
    const ScriptResult r = run_script(f);
    trace.reset();  // flushed and closed
    const auto lines = file.lines();
    REQUIRE(lines.size() > 30);

    const std::regex iso8601(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$)");
    std::map<std::string, int> types;
    for (size_t i = 0; i < lines.size(); ++i) {
        const Json& j = lines[i];
        INFO(j.dump());
        CHECK(j.begin().key() == "type");  // type, seq, time come first
        CHECK(j["seq"] == i + 1);
        REQUIRE(j["time"].is_string());
        CHECK(std::regex_match(j["time"].get<std::string>(), iso8601));
        CHECK(j["context"] == f.ctx->id);
        const std::string type = j["type"];
        ++types[type];
        if (type == "call") {
            CHECK(j["pid"] == getpid());
            CHECK(j["tid"] == gettid());
            CHECK(j["command"].is_string());
            CHECK(j["args"].is_object());
            CHECK(j["latency_us"].is_number());
            CHECK(j["latency_us"].get<double>() >= 0);
            CHECK(j.contains("result") != j.contains("errno"));
            CHECK(j.contains("errno") == j.contains("errno_value"));
        } else if (type == "fault") {
            CHECK((j["event"] == "record" || j["event"] == "lost"));
            CHECK(j["record"].is_object());
        } else {
            CHECK(type == "page-response");
        }
    }
    CHECK(types["fault"] == 5);  // 2 page requests, 3 injected faults (1 of them lost)
    CHECK(types["page-response"] == 2);

    SUBCASE("value commands") {
        size_t i = find_line(lines, "command", "GET_API_VERSION");
        CHECK(lines[i]["args"] == Json{{"value", 0}});
        CHECK(lines[i]["result"] == IOMMU_API_VERSION);
        i = find_line(lines, "command", "CHECK_EXTENSION");
        CHECK(lines[i]["args"] == Json{{"value", IOMMU_EXT_USER_PAGE_TABLE}, {"extension", "USER_PAGE_TABLE"}});
        CHECK(lines[i]["result"] == 1);
    }
    SUBCASE("IOASID_ALLOC and MAP_DMA, decoded, with flag names and hex addresses") {
        size_t i = find_line(lines, "command", "IOASID_ALLOC");
        CHECK(lines[i]["args"]["flags"] == Json::array());
        CHECK(lines[i]["args"]["user_pgd"] == "0x0");
        CHECK(lines[i]["result"] == r.ioasid);
        CHECK_FALSE(lines[i].contains("out"));
        i = find_line(lines, "command", "MAP_DMA");
        const Json expected = {{"argsz", sizeof(iommu_map_dma)}, {"flags", {"READ", "WRITE"}},
                               {"ioasid", r.ioasid},          {"vaddr", hex_number(r.vaddr)},
                               {"iova", "0x100000"},          {"size", K4}};
        CHECK(lines[i]["args"] == expected);
        CHECK(lines[i]["result"] == 0);
        CHECK_FALSE(lines[i].contains("errno"));
    }
    SUBCASE("a failed call: the errno by name and number") {
        size_t i = find_line(lines, "errno", "EINVAL");
        CHECK(lines[i]["command"] == "MAP_DMA");
        CHECK(lines[i]["args"]["iova"] == "0x100800");
        CHECK(lines[i]["errno_value"] == EINVAL);
        CHECK_FALSE(lines[i].contains("result"));
        i = find_line(lines, "errno", "EINVAL", i + 1);
        CHECK(lines[i]["args"]["flags"] == Json{"READ", "WRITE", "0x80"});  // the unknown bit in hex
    }
    SUBCASE("bind and attach") {
        size_t i = find_line(lines, "command", "DEVICE_BIND");
        CHECK(lines[i]["args"]["name"] == "accel0");
        CHECK(lines[i]["args"]["cookie"] == kAccel);
        i = find_line(lines, "command", "DEVICE_ATTACH");
        CHECK(lines[i]["args"] == Json{{"argsz", sizeof(iommu_device_attach)}, {"flags", Json::array()},
                                      {"cookie", kAccel}, {"ioasid", r.ioasid}, {"pasid", 0}});
    }
    SUBCASE("a page request: its record before the SIM_DMA that raised it, then the answer") {
        size_t i = find_line(lines, "type", "fault");
        const Json& fault = lines[i];
        CHECK(fault["event"] == "record");
        const Json record = {{"flags", {"RECOVERABLE", "LAST", "STAGE2"}},
                             {"reason", "NOT_MAPPED"},
                             {"cookie", kAccel},
                             {"ioasid", r.ioasid},
                             {"pasid", 0},
                             {"perm", {"WRITE"}},
                             {"grpid", r.grpid},
                             {"addr", "0x200000"},
                             {"seq", 1}};
        CHECK(fault["record"] == record);
        REQUIRE(i + 1 < lines.size());
        const Json& dma = lines[i + 1];
        CHECK(dma["command"] == "SIM_DMA");
        CHECK(dma["args"]["flags"] == Json{"WRITE"});
        CHECK(dma["args"]["iova"] == "0x200000");
        CHECK(dma["args"]["length"] == 2);
        CHECK(dma["out"]["status"] == "PENDING");
        CHECK(dma["out"]["dma_id"] == r.dma_id);
        CHECK(dma["result"] == 0);

        i = find_line(lines, "type", "page-response");
        CHECK(lines[i]["cookie"] == kAccel);
        CHECK(lines[i]["grpid"] == r.grpid);
        CHECK(lines[i]["code"] == "SUCCESS");
        CHECK(lines[i]["origin"] == "user");
        REQUIRE(i + 1 < lines.size());
        CHECK(lines[i + 1]["command"] == "PAGE_RESPONSE");
        CHECK(lines[i + 1]["args"]["code"] == "SUCCESS");
        CHECK(lines[i + 1]["args"]["grpid"] == r.grpid);
        i = find_line(lines, "command", "SIM_DMA_STATUS", i);
        CHECK(lines[i]["out"]["status"] == "OK");
        CHECK(lines[i]["out"]["bytes_done"] == 2);
    }
    SUBCASE("injected faults: a record, a lost one (its seq used up), LOST_BEFORE on the next") {
        size_t i = find_line(lines, "command", "SIM_INJECT_FAULT");
        CHECK(lines[i]["args"]["perm"] == Json{"READ"});
        CHECK(lines[i]["args"]["addr"] == "0x300000");
        const Json& injected = lines[i - 1];
        CHECK(injected["event"] == "record");
        CHECK(injected["record"]["reason"] == "NOT_MAPPED");
        CHECK(injected["record"]["addr"] == "0x300000");
        CHECK(injected["record"]["grpid"] == 0);
        CHECK(injected["record"]["seq"] == 2);
        i = find_line(lines, "event", "lost");
        CHECK(lines[i]["record"]["addr"] == "0x301000");
        CHECK(lines[i]["record"]["perm"] == Json{"WRITE"});
        CHECK(lines[i]["record"]["seq"] == 3);
        i = find_line(lines, "event", "record", i);
        CHECK(lines[i]["record"]["addr"] == "0x302000");
        CHECK(lines[i]["record"]["seq"] == 4);
        const Json& flags = lines[i]["record"]["flags"];
        CHECK(std::find(flags.begin(), flags.end(), "LOST_BEFORE") != flags.end());
        i = find_line(lines, "command", "FAULT_REGION_INFO");
        CHECK(lines[i]["args"]["flags"] == Json{"SET_DEPTH"});
        CHECK(lines[i]["args"]["depth"] == 1);
        CHECK(lines[i]["out"]["depth"] == 1);
        CHECK(lines[i]["out"]["pending"] == 1);
    }
    SUBCASE("an unknown command: its number in hex, ENOTTY") {
        char name[16];
        std::snprintf(name, sizeof(name), "0x%x", unknown_command());
        size_t i = find_line(lines, "command", name);
        CHECK(lines[i]["errno"] == "ENOTTY");
        CHECK(lines[i]["errno_value"] == ENOTTY);
        CHECK(lines[i]["args"] == Json{{"arg", "0x1000"}});
    }
    SUBCASE("a page request answered by detach") {
        size_t i = find_line(lines, "origin", "detach");
        CHECK(lines[i]["code"] == "INVALID");
        CHECK(lines[i + 1]["command"] == "DEVICE_DETACH");
    }
    SUBCASE("out: only the output fields; GET_INFO's capability chain decoded") {
        size_t i = find_line(lines, "command", "DEVICE_GET_INFO");
        const Json& out = lines[i]["out"];
        CHECK(out["flags"] == Json{"PASID", "PRI", "ENFORCE_SNOOP", "CAPS", "DIRTY_TRACKING"});
        REQUIRE(out["caps"].is_array());
        std::set<std::string> ids;
        for (const Json& cap : out["caps"])
            ids.insert(cap["id"].get<std::string>());
        CHECK(ids == std::set<std::string>{"PAGE_SIZES", "IOVA_RANGES", "RESV_REGIONS", "NESTING", "PASID", "PRI"});
        i = find_line(lines, "command", "UNMAP_DMA");
        CHECK(lines[i]["out"] == Json{{"size", 2 * K4}});
        i = find_line(lines, "command", "GET_STATS");
        CHECK(lines[i]["args"] == Json{{"argsz", sizeof(iommu_stats)}, {"flags", Json::array()}});
        CHECK(lines[i]["out"]["ioasids"] == 1);
        CHECK(lines[i]["out"]["devices"] == 1);
    }
}

TEST_CASE("two runs of the same client differ only in the documented fields") {
    TempFile first, second;
    for (const TempFile* file : {&first, &second}) {
        Fixture f;
        auto trace = open_trace(f, *file);
        run_script(f);
    }
    const auto a = first.lines(), b = second.lines();
    REQUIRE(a.size() == b.size());
    CHECK(first.raw_lines() != second.raw_lines());  // times and latencies at least
    CHECK(normalise(a) == normalise(b));

    // The helper script gives the same verdict, with each tool it can use.
    // A missing tool is a failure, not a skip: a check that quietly does not
    // run would pass on the machine where the script is least tested.
    for (const char* tool : {"python3", "jq"}) {
        if (std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) != 0) {
            FAIL_CHECK(std::string(tool) << " is not installed, so scripts/trace-normalize.sh cannot be checked "
                                            "with it (scripts/test.sh installs it: BUILD_PACKAGES in scripts/lib.sh)");
            continue;
        }
        auto normalised = [&](const TempFile& file, const TempFile& out) {
            const std::string cmd = std::string("TRACE_NORMALIZE_TOOL=") + tool + " " CUSE_IOMMU_SCRIPTS
                                    "/trace-normalize.sh " + file.path + " > " + out.path;
            REQUIRE(std::system(cmd.c_str()) == 0);
            return out.raw_lines();
        };
        TempFile out_a, out_b;
        const auto na = normalised(first, out_a), nb = normalised(second, out_b);
        INFO(tool);
        REQUIRE(na.size() == a.size());
        CHECK(na == nb);
        CHECK(na == normalise(a));  // the script drops exactly what the docs say
    }
}

TEST_CASE("concurrent callers: every line is one whole JSON object, seq in file order") {
    TempFile file;
    Fixture f;
    const long ioasid = f.alloc();
    REQUIRE(f.bind("accel0", kAccel) == 0);
    REQUIRE(f.attach(kAccel, ioasid) == 0);
    REQUIRE(f.fault_register(kAccel) == 0);
    auto trace = open_trace(f, file);

    constexpr int kThreads = 4, kRounds = 100, kInjects = 300;
    std::atomic<int> failures{0};
    std::map<pid_t, int> calls_by_tid;
    std::mutex calls_mutex;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            Buffer mem(K4);
            int calls = 0;
            for (int round = 0; round < kRounds; ++round) {
                const long id = f.alloc();
                failures += id <= 0;
                failures += f.map(id, 0x100000, mem.ptr, K4) != 0;
                failures += f.map(id, 0x100000, mem.ptr, K4) != -EEXIST;
                failures += f.unmap(id, 0x100000, K4) != static_cast<long long>(K4);
                failures += f.free_ioasid(id) != 0;
                calls += 5;
            }
            std::lock_guard guard(calls_mutex);
            calls_by_tid[gettid()] = calls;
        });
    }
    threads.emplace_back([&] {  // fault events (records, then lost ones) meanwhile
        for (int i = 0; i < kInjects; ++i)
            failures += f.inject(kAccel, 0x800000 + i * K4, IOMMU_FAULT_PERM_READ) != 0;
        std::lock_guard guard(calls_mutex);
        calls_by_tid[gettid()] = kInjects;
    });
    for (auto& thread : threads)
        thread.join();
    trace.reset();
    REQUIRE(failures == 0);

    const auto lines = file.lines();  // fails on any line that is not a whole object
    REQUIRE(lines.size() == kThreads * kRounds * 5 + 2 * kInjects);
    std::map<pid_t, int> seen_by_tid;
    int records = 0, lost = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
        CHECK(lines[i]["seq"] == i + 1);
        if (lines[i]["type"] == "call") {
            ++seen_by_tid[lines[i]["tid"].get<pid_t>()];
            CHECK(lines[i]["pid"] == getpid());
        } else {
            REQUIRE(lines[i]["type"] == "fault");
            (lines[i]["event"] == "record" ? records : lost) += 1;
        }
    }
    CHECK(seen_by_tid == calls_by_tid);
    CHECK(records == 256);  // the region's default depth; nobody reads
    CHECK(lost == kInjects - 256);
}

TEST_CASE("open and release: one line each; release lists what the close reclaimed") {
    TempFile file;
    Fixture f;
    auto trace = open_trace(f, file);
    Context* second = f.dispatcher.open(getpid());
    const uint64_t id = second->id;
    Buffer mem(2 * K4);
    const long ioasid = f.alloc(0, 0, 0, second);
    REQUIRE(ioasid > 0);
    REQUIRE(f.alloc(0, 0, 0, second) > 0);
    REQUIRE(f.map(ioasid, 0x100000, mem.ptr, K4, kRW, second) == 0);
    REQUIRE(f.map(ioasid, 0x200000, mem.bytes() + K4, K4, kRW, second) == 0);
    REQUIRE(f.bind("accel0", kAccel, second) == 0);
    REQUIRE(f.attach(kAccel, ioasid, {}, second) == 0);
    iommu_device_fault consumer{};
    consumer.argsz = sizeof(consumer);
    consumer.cookie = kAccel;
    REQUIRE(f.call(IOMMU_DEVICE_FAULT_REGISTER, consumer, second) == 0);
    char byte = 'x';
    iommu_sim_dma d{};
    d.argsz = sizeof(d);
    d.flags = IOMMU_SIM_DMA_WRITE;
    d.cookie = kAccel;
    d.iova = 0x300000;  // unmapped: a page request, left pending
    d.length = 1;
    d.data = reinterpret_cast<uintptr_t>(&byte);
    REQUIRE(f.call(IOMMU_SIM_DMA, d, second) == 0);
    REQUIRE(d.status == IOMMU_SIM_DMA_PENDING);
    f.dispatcher.release(second);
    trace.reset();

    const auto lines = file.lines();
    REQUIRE(lines.size() >= 3);
    const Json& open = lines.front();
    CHECK(open == Json{{"type", "open"}, {"seq", 1}, {"time", open["time"]}, {"context", id}, {"pid", getpid()}});
    // The close answers the pending page request before the release line.
    const size_t answered = find_line(lines, "type", "page-response");
    CHECK(lines[answered]["origin"] == "detach");  // closing detaches first
    CHECK(lines[answered]["code"] == "INVALID");
    const Json& release = lines.back();
    CHECK(release["type"] == "release");
    CHECK(release["seq"] == lines.size());
    CHECK(answered < lines.size() - 1);
    CHECK(release["context"] == id);
    CHECK(release["pid"] == getpid());
    CHECK(release["reclaimed"] == Json{{"devices", {"accel0"}}, {"ioasids", 2}, {"mappings", 2}});

    SUBCASE("an empty context reclaims nothing") {
        TempFile again;
        auto trace2 = open_trace(f, again);
        f.dispatcher.release(f.dispatcher.open(getpid()));
        trace2.reset();
        const auto two = again.lines();
        REQUIRE(two.size() == 2);
        CHECK(two[0]["type"] == "open");
        CHECK(two[1]["type"] == "release");
        CHECK(two[1]["reclaimed"] == Json{{"devices", Json::array()}, {"ioasids", 0}, {"mappings", 0}});
    }
}

TEST_CASE("a closed trace hears nothing more; an unwritable path is refused") {
    TempFile file;
    Fixture f;
    auto trace = open_trace(f, file);
    f.alloc();
    trace.reset();
    f.alloc();
    REQUIRE(f.bind("accel0", kAccel) == 0);
    CHECK(file.lines().size() == 1);

    std::string error;
    CHECK(TraceWriter::open("/nonexistent-dir/trace.jsonl", f.dispatcher, f.model, &error) == nullptr);
    CHECK(error == std::strerror(ENOENT));
}

TEST_CASE("decoders: the iommufd profile's calls decode with its own table (size, no flags word)") {
    for (const CommandSpec& spec : all_commands(Abi::kIommufd)) {
        INFO(spec.name);
        const unsigned cmd = _IO(IOMMU_TYPE, spec.nr);
        CHECK(trace::has_decoder(cmd, Abi::kIommufd));
        CHECK(trace::command_name(cmd, Abi::kIommufd) == spec.name);
        if (spec.kind == ArgKind::kStruct) {
            const Json args = trace::decode_args(cmd, 0, struct_bytes(spec.struct_size, 0, spec.struct_size),
                                                 Abi::kIommufd);
            CHECK(args[spec.convention->size_name] == spec.struct_size);
            // A row with no flags word shows none, unless a field of its
            // own is named so (HWPT_GET_DIRTY_BITMAP's is the third word).
            const auto fields = spec.field_list();
            const bool flags_field = std::any_of(fields.begin(), fields.end(),
                                                 [](const FieldSpec& f) { return std::string_view(f.name) == "flags" && f.dir != Dir::kOut; });
            CHECK(args.contains("flags") == (!spec.no_flags || flags_field));
        }
    }
    // IOMMU_DESTROY's number is a free one to the RFC's table.
    CHECK(trace::command_name(_IO(IOMMU_TYPE, 0x80)) == "0x3b80");
    std::vector<std::byte> destroy = struct_bytes(8, 0, 8);
    const uint32_t id = 5;
    std::memcpy(destroy.data() + 4, &id, sizeof(id));
    CHECK(trace::decode_args(_IO(IOMMU_TYPE, 0x80), 0, destroy, Abi::kIommufd) == Json{{"size", 8}, {"id", 5}});
}

TEST_CASE("decoders: one per command; only the bytes passed, zero-extended") {
    for (const CommandSpec& spec : all_commands()) {
        INFO(spec.name);
        const unsigned cmd = _IO(IOMMU_TYPE, spec.nr);
        CHECK(trace::has_decoder(cmd));
        CHECK(trace::command_name(cmd) == spec.name);
        if (spec.kind == ArgKind::kStruct) {  // a whole zero struct decodes to its argsz and no flags
            std::vector<std::byte> bytes = struct_bytes(spec.struct_size, 0, spec.struct_size);
            const Json args = trace::decode_args(cmd, 0, bytes);
            CHECK(args["argsz"] == spec.struct_size);
            CHECK(args["flags"] == Json::array());
            CHECK_FALSE(args.contains("tail_bytes"));
            CHECK_FALSE(args.contains("bytes_readable"));
        }
    }
    CHECK_FALSE(trace::has_decoder(_IO(IOMMU_TYPE, 0xcf)));  // a free number: no row

    // An older, shorter IOASID_ALLOC: the fields it lacks read as zero.
    Json args = trace::decode_args(IOMMU_IOASID_ALLOC, 0, struct_bytes(8, 0, 8));
    CHECK(args == Json{{"argsz", 8}, {"flags", Json::array()}, {"parent_ioasid", 0}, {"pgtable_format", 0},
                       {"user_pgd", "0x0"}});
    // Bytes past the struct the daemon knows; argsz declared but unreadable.
    args = trace::decode_args(IOMMU_MAP_DMA, 0, struct_bytes(48, IOMMU_MAP_DMA_IOPF | 1, 48));
    CHECK(args["flags"] == Json{"READ", "IOPF"});
    CHECK(args["tail_bytes"] == 8);
    args = trace::decode_args(IOMMU_MAP_DMA, 0, struct_bytes(40, 0, 16));
    CHECK(args["bytes_readable"] == 16);
    CHECK(args["size"] == 0);
    CHECK(trace::decode_args(IOMMU_MAP_DMA, 0, struct_bytes(40, 0, 2)) == Json{{"bytes_readable", 2}});

    // A device name with bytes that are not printable, and one with no NUL.
    iommu_device_bind bind{};
    bind.argsz = sizeof(bind);
    std::memcpy(bind.name, "ab\x01\xff", 4);
    std::vector<std::byte> bytes(sizeof(bind));
    std::memcpy(bytes.data(), &bind, sizeof(bind));
    CHECK(trace::decode_args(IOMMU_DEVICE_BIND, 0, bytes)["name"] == "ab\\x01\\xff");
    std::memset(bind.name, 'x', sizeof(bind.name));
    std::memcpy(bytes.data(), &bind, sizeof(bind));
    args = trace::decode_args(IOMMU_DEVICE_BIND, 0, bytes);
    CHECK(args["name"] == std::string(IOMMU_DEVICE_NAME_LEN, 'x'));
    CHECK(args["name_unterminated"] == true);

    // Nothing copied back: no out fields.
    CHECK(trace::decode_out(IOMMU_SIM_DMA, {}) == Json::object());
    CHECK(trace::decode_out(IOMMU_MAP_DMA, bytes) == Json::object());

    CHECK(trace::errno_name(EOPNOTSUPP) == "EOPNOTSUPP");
    CHECK(trace::errno_name(ENOTTY) == "ENOTTY");
    CHECK(trace::errno_name(100000) == "E100000");
    CHECK(trace::page_response_code_name(IOMMU_PAGE_RESP_FAILURE) == "FAILURE");
    CHECK(trace::page_response_code_name(9) == "9");
    CHECK(hex_number(0x100000) == "0x100000");
}

// The generic decoder's field kinds, whole lines, as docs/trace.md shows them.
TEST_CASE("decoders: signed, enumerations with a named special value, reserved, flags, out order") {
    auto bytes_of = [](const auto& s) {
        std::vector<std::byte> bytes(sizeof(s));
        std::memcpy(bytes.data(), &s, sizeof(s));
        return bytes;
    };
    const iommu_fault_eventfd efd{sizeof(efd), 0, -1, 0};
    CHECK(trace::decode_args(IOMMU_FAULT_SET_EVENTFD, 0, bytes_of(efd)) ==
          Json{{"argsz", 16}, {"flags", Json::array()}, {"fd", -1}});

    const iommu_invalidate_cache inv{sizeof(inv), 0, 3, IOMMU_INV_GRAN_RANGE,
                                     IOMMU_INV_CACHE_IOTLB | 0x40, IOMMU_INV_PASID_RID, 0x2000, 4096};
    CHECK(trace::decode_args(IOMMU_INVALIDATE_CACHE, 0, bytes_of(inv)) ==
          Json{{"argsz", 40}, {"flags", Json::array()}, {"ioasid", 3}, {"granularity", "RANGE"},
               {"cache", {"IOTLB", "0x40"}}, {"pasid", "RID"}, {"addr", "0x2000"}, {"size", 4096}});

    const iommu_map_dma map{sizeof(map), IOMMU_MAP_DMA_WRITE, 1, 5, 0x7000, 0x1000, 4096};
    CHECK(trace::decode_args(IOMMU_MAP_DMA, 0, bytes_of(map)) ==
          Json{{"argsz", 40}, {"flags", {"WRITE"}}, {"ioasid", 1}, {"vaddr", "0x7000"}, {"iova", "0x1000"},
               {"size", 4096}, {"__reserved", 5}});

    iommu_sim_dma_status st{};
    st.argsz = sizeof(st);
    st.dma_id = 9;
    st.status = IOMMU_SIM_DMA_FAULT;
    st.fault_reason = IOMMU_FAULT_REASON_PERMISSION;
    st.bytes_done = 64;
    st.fault_addr = 0x3000;
    st.fault_flags = IOMMU_FAULT_WRITE | IOMMU_FAULT_STAGE2;
    CHECK(trace::decode_args(IOMMU_SIM_DMA_STATUS, 0, bytes_of(st)) ==
          Json{{"argsz", 48}, {"flags", Json::array()}, {"dma_id", 9}});
    CHECK(trace::decode_out(IOMMU_SIM_DMA_STATUS, bytes_of(st)) ==
          Json{{"status", "FAULT"}, {"bytes_done", 64}, {"fault_addr", "0x3000"}, {"fault_reason", "PERMISSION"},
               {"fault_flags", {"WRITE", "STAGE2"}}});

    const iommu_unmap_dma unmap{sizeof(unmap), IOMMU_UNMAP_DMA_ALL, 2, 0, 0, 8192};
    CHECK(trace::decode_out(IOMMU_UNMAP_DMA, bytes_of(unmap)) == Json{{"size", 8192}});
    CHECK(trace::decode_args(IOMMU_CHECK_EXTENSION, IOMMU_EXT_DMA_NO_SNOOP, {}) ==
          Json{{"value", IOMMU_EXT_DMA_NO_SNOOP}, {"extension", "DMA_NO_SNOOP"}});
    CHECK(trace::decode_args(IOMMU_CHECK_EXTENSION, 99, {}) == Json{{"value", 99}, {"extension", 99}});
    CHECK(trace::decode_args(IOMMU_GET_API_VERSION, 0, {}) == Json{{"value", 0}});
}

TEST_CASE("the daemon refuses a --trace file it cannot open, before touching /dev/cuse") {
    const std::string command = std::string(CUSE_IOMMU_DAEMON) + " --trace /nonexistent-dir/t.jsonl 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char buf[256];
    while (size_t n = fread(buf, 1, sizeof(buf), pipe))
        output.append(buf, n);
    const int status = pclose(pipe);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    CHECK(output.find("--trace /nonexistent-dir/t.jsonl") != std::string::npos);
    CHECK(output.find(std::strerror(ENOENT)) != std::string::npos);
    CHECK(output.find("/dev/cuse") == std::string::npos);
}
