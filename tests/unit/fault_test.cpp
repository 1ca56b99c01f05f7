// The fault region's state machine (issue 4): consumers, records, page
// requests and their answers, timeouts, overflow, clean-up, eventfd,
// injection, and nested IOPF.
#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <sys/eventfd.h>
#include <sys/wait.h>

#include "fixture.h"
#include "../../fault-region/eventfd_signal.h"

using namespace ciommu;
using namespace ciommu::test;

namespace {

constexpr uint64_t K4 = 4096;
constexpr uint64_t kAccel = 7, kNic = 8;
constexpr uint64_t kIova = 0x100000;

// accel0 (PRI, IOPF) and nic0 attached to one IOASID, accel0 a consumer.
struct FaultSetup {
    Fixture& f;
    Buffer mem{4 * K4};
    long ioasid;

    explicit FaultSetup(Fixture& fixture) : f(fixture) {
        ioasid = f.alloc();
        REQUIRE(f.bind("accel0", kAccel) == 0);
        REQUIRE(f.bind("nic0", kNic) == 0);
        REQUIRE(f.attach(kAccel, ioasid) == 0);
        REQUIRE(f.attach(kNic, ioasid) == 0);
        REQUIRE(f.fault_register(kAccel) == 0);
    }
    // A DMA write of `len` bytes at iova by accel0.
    iommu_sim_dma write(uint64_t iova, const char* text, uint64_t len, uint64_t cookie = kAccel) {
        iommu_sim_dma d;
        REQUIRE(f.dma(cookie, iova, const_cast<char*>(text), len, true, {}, &d) == 0);
        return d;
    }
};

}  // namespace

TEST_CASE("a page request stalls the DMA until SUCCESS, then it completes") {
    Fixture f;
    FaultSetup s(f);
    const char text[] = "resolved lazily";
    iommu_sim_dma d = s.write(kIova + 0x10, text, sizeof(text));
    REQUIRE(d.status == IOMMU_SIM_DMA_PENDING);
    CHECK(d.dma_id != 0);
    CHECK(d.bytes_done == 0);

    auto records = f.records();
    REQUIRE(records.size() == 1);
    const iommu_fault_record& r = records[0];
    CHECK(r.flags == (IOMMU_FAULT_RECORD_RECOVERABLE | IOMMU_FAULT_RECORD_LAST | IOMMU_FAULT_RECORD_STAGE2));
    CHECK(r.cookie == kAccel);
    CHECK(r.ioasid == static_cast<uint32_t>(s.ioasid));
    CHECK(r.addr == kIova + 0x10);
    CHECK(r.perm == IOMMU_FAULT_PERM_WRITE);
    CHECK(r.reason == IOMMU_FAULT_REASON_NOT_MAPPED);
    CHECK(r.seq == 1);
    CHECK(r.grpid != 0);
    CHECK(f.dma_status(d.dma_id).status == IOMMU_SIM_DMA_PENDING);

    REQUIRE(f.map(s.ioasid, kIova, s.mem.ptr, K4) == 0);  // the user fixes the mapping
    REQUIRE(f.respond(kAccel, r.grpid, IOMMU_PAGE_RESP_SUCCESS) == 0);
    const auto done = f.dma_status(d.dma_id);
    CHECK(done.status == IOMMU_SIM_DMA_OK);
    CHECK(done.bytes_done == sizeof(text));
    CHECK(std::string(s.mem.bytes() + 0x10) == text);
    long result = 0;
    f.dma_status(d.dma_id, &result);
    CHECK(result == -ENOENT);  // reaped
    CHECK(f.respond(kAccel, r.grpid, IOMMU_PAGE_RESP_SUCCESS) == -EINVAL);  // answered already
}

TEST_CASE("a DMA over several missing pages faults page by page") {
    Fixture f;
    FaultSetup s(f);
    std::string text(2 * K4, 'x');
    iommu_sim_dma d = s.write(kIova + K4 - 8, text.data(), 16);  // crosses into the next page
    REQUIRE(d.status == IOMMU_SIM_DMA_PENDING);
    for (int page = 0; page < 2; ++page) {
        auto records = f.records();
        REQUIRE(records.size() == 1);
        CHECK(records[0].addr == kIova + K4 - 8 + page * 8);
        REQUIRE(f.map(s.ioasid, (records[0].addr & ~(K4 - 1)), s.mem.bytes() + page * K4, K4) == 0);
        REQUIRE(f.respond(kAccel, records[0].grpid, IOMMU_PAGE_RESP_SUCCESS) == 0);
    }
    CHECK(f.dma_status(d.dma_id).status == IOMMU_SIM_DMA_OK);
}

TEST_CASE("INVALID aborts; FAILURE aborts and stops page requests until re-attach") {
    Fixture f;
    FaultSetup s(f);
    iommu_sim_dma d = s.write(kIova, "a", 1);
    auto r = f.records().at(0);
    CHECK(f.respond(kAccel, r.grpid, 3) == -EINVAL);  // unknown code
    CHECK(f.respond(99, r.grpid, IOMMU_PAGE_RESP_INVALID) == -ENOENT);
    CHECK(f.respond(kAccel, r.grpid + 1000, IOMMU_PAGE_RESP_INVALID) == -EINVAL);
    REQUIRE(f.respond(kAccel, r.grpid, IOMMU_PAGE_RESP_INVALID) == 0);
    CHECK(f.dma_status(d.dma_id).status == IOMMU_SIM_DMA_ABORTED);

    d = s.write(kIova, "b", 1);
    r = f.records().at(0);
    REQUIRE(f.respond(kAccel, r.grpid, IOMMU_PAGE_RESP_FAILURE) == 0);
    CHECK(f.dma_status(d.dma_id).status == IOMMU_SIM_DMA_ABORTED);
    const auto before = f.region().unreported;
    CHECK(s.write(kIova, "c", 1).status == IOMMU_SIM_DMA_ABORTED);  // not reported any more
    CHECK(f.records().empty());
    CHECK(f.region().unreported == before + 1);

    REQUIRE(f.detach(kAccel) == 0);
    REQUIRE(f.attach(kAccel, s.ioasid) == 0);
    CHECK(s.write(kIova, "d", 1).status == IOMMU_SIM_DMA_PENDING);  // reported again
}

TEST_CASE("one consumer per device; not while page requests are pending") {
    Fixture f;
    FaultSetup s(f);
    CHECK(f.fault_register(kAccel) == -EBUSY);
    CHECK(f.fault_register(99) == -ENOENT);
    CHECK(f.fault_register(kNic, IOMMU_DEVICE_FAULT_UNREGISTER) == -ENOENT);  // has none
    iommu_sim_dma d = s.write(kIova, "a", 1);
    CHECK(f.fault_register(kAccel, IOMMU_DEVICE_FAULT_UNREGISTER) == -EBUSY);
    REQUIRE(f.respond(kAccel, f.records().at(0).grpid, IOMMU_PAGE_RESP_INVALID) == 0);
    CHECK(f.fault_register(kAccel, IOMMU_DEVICE_FAULT_UNREGISTER) == 0);
    // Without a consumer a page request is answered INVALID at once.
    CHECK(s.write(kIova, "b", 1).status == IOMMU_SIM_DMA_ABORTED);
    CHECK(f.records().empty());
    (void)d;
}

TEST_CASE("unrecoverable faults are reported with a reason and need no answer") {
    Fixture f;
    FaultSetup s(f);
    REQUIRE(f.map(s.ioasid, kIova, s.mem.ptr, K4, IOMMU_MAP_DMA_READ) == 0);
    // nic0 has no consumer: counted, not reported.
    CHECK(s.write(kIova, "x", 1, kNic).status == IOMMU_SIM_DMA_FAULT);
    CHECK(f.records().empty());
    CHECK(f.region().unreported == 1);

    REQUIRE(f.fault_register(kNic) == 0);
    CHECK(s.write(kIova, "x", 1, kNic).status == IOMMU_SIM_DMA_FAULT);
    CHECK(s.write(kIova + 2 * K4, "x", 1, kNic).status == IOMMU_SIM_DMA_FAULT);  // no PRI: not a request
    auto records = f.records();
    REQUIRE(records.size() == 2);
    CHECK(records[0].reason == IOMMU_FAULT_REASON_PERMISSION);
    CHECK(records[0].flags == IOMMU_FAULT_RECORD_STAGE2);
    CHECK(records[1].reason == IOMMU_FAULT_REASON_NOT_MAPPED);
    CHECK((records[1].flags & IOMMU_FAULT_RECORD_RECOVERABLE) == 0);
    // accel0 writing read-only memory is a permission fault, never a request.
    CHECK(s.write(kIova, "x", 1).status == IOMMU_SIM_DMA_FAULT);
    CHECK(f.records().at(0).reason == IOMMU_FAULT_REASON_PERMISSION);
}

TEST_CASE("the response timeout answers INVALID") {
    Fixture f;
    auto now = Model::Clock::now();
    f.model.set_clock([&now] { return now; });
    FaultSetup s(f);
    long result = 0;
    CHECK(f.region(IOMMU_FAULT_REGION_SET_TIMEOUT, 0, 100, &result).timeout_ms == 100);
    REQUIRE(result == 0);
    iommu_sim_dma d = s.write(kIova, "a", 1);
    now += std::chrono::milliseconds(99);
    f.dispatcher.expire_page_requests();
    CHECK(f.dma_status(d.dma_id).status == IOMMU_SIM_DMA_PENDING);
    now += std::chrono::milliseconds(1);
    f.dispatcher.expire_page_requests();
    CHECK(f.dma_status(d.dma_id).status == IOMMU_SIM_DMA_ABORTED);
    CHECK(f.region().timeouts == 1);
    CHECK(f.respond(kAccel, f.records().at(0).grpid, IOMMU_PAGE_RESP_SUCCESS) == -EINVAL);

    f.region(IOMMU_FAULT_REGION_SET_TIMEOUT, 0, 0);  // 0: never
    d = s.write(kIova, "b", 1);
    now += std::chrono::hours(24);
    f.dispatcher.expire_page_requests();
    CHECK(f.dma_status(d.dma_id).status == IOMMU_SIM_DMA_PENDING);
}

TEST_CASE("detach, unbind and close answer pending page requests INVALID") {
    Fixture f;
    FaultSetup s(f);
    iommu_sim_dma d = s.write(kIova, "a", 1);
    REQUIRE(f.detach(kAccel) == 0);
    CHECK(f.dma_status(d.dma_id).status == IOMMU_SIM_DMA_ABORTED);

    REQUIRE(f.attach(kAccel, s.ioasid) == 0);
    d = s.write(kIova, "b", 1);
    REQUIRE(f.unbind(kAccel) == 0);
    CHECK(f.dma_status(d.dma_id).status == IOMMU_SIM_DMA_ABORTED);

    Context* other = f.dispatcher.open(getpid());
    const long id = f.alloc(0, 0, 0, other);
    REQUIRE(f.bind("accel0", 1, other) == 0);
    REQUIRE(f.attach(1, id, {}, other) == 0);
    iommu_device_fault reg{sizeof(reg), 0, 1};
    REQUIRE(f.call(IOMMU_DEVICE_FAULT_REGISTER, reg, other) == 0);
    f.dispatcher.release(other);  // with a page request pending: ASan watches
    CHECK(f.bind("accel0", 2) == 0);
}

TEST_CASE("overflow is never silent") {
    Fixture f;
    FaultSetup s(f);
    long result = 0;
    f.region(IOMMU_FAULT_REGION_SET_DEPTH, 0, 0, &result);
    CHECK(result == -EINVAL);
    f.region(IOMMU_FAULT_REGION_SET_DEPTH, IOMMU_FAULT_REGION_DEPTH_MAX + 1, 0, &result);
    CHECK(result == -EINVAL);
    REQUIRE(f.region(IOMMU_FAULT_REGION_SET_DEPTH, 2).depth == 2);

    for (int i = 0; i < 3; ++i)
        REQUIRE(f.inject(kAccel, kIova + i * K4, IOMMU_FAULT_PERM_READ) == 0);
    CHECK(f.region().pending == 2);
    CHECK(f.region().lost == 1);
    f.region(IOMMU_FAULT_REGION_SET_DEPTH, 1, 0, &result);
    CHECK(result == -EBUSY);  // fewer than are waiting
    // A page request that finds the region full is answered INVALID at once.
    CHECK(s.write(kIova, "a", 1).status == IOMMU_SIM_DMA_ABORTED);
    CHECK(f.region().lost == 2);

    auto records = f.records();
    REQUIRE(records.size() == 2);
    CHECK(records[0].seq == 1);
    CHECK(records[1].seq == 2);
    REQUIRE(f.inject(kAccel, kIova, IOMMU_FAULT_PERM_READ) == 0);
    records = f.records();
    REQUIRE(records.size() == 1);
    CHECK(records[0].seq == 5);  // 3 and 4 were lost
    CHECK((records[0].flags & IOMMU_FAULT_RECORD_LOST_BEFORE) != 0);
    CHECK(f.region().delivered == 3);
}

TEST_CASE("injected faults: by cookie, raw by RID, and an mdev by its defPASID") {
    Fixture f;
    FaultSetup s(f);
    const DeviceSpec& nic = *f.model.topology().find_device("nic0");
    REQUIRE(f.fault_register(kNic) == 0);
    CHECK(f.inject(kNic, 0x5000, IOMMU_FAULT_PERM_WRITE, IOMMU_SIM_FAULT_RAW, nic.rid, 0,
                   IOMMU_FAULT_REASON_PERMISSION) == 0);
    auto records = f.records();
    REQUIRE(records.size() == 1);
    CHECK(records[0].cookie == kNic);
    CHECK(records[0].reason == IOMMU_FAULT_REASON_PERMISSION);
    CHECK(records[0].perm == IOMMU_FAULT_PERM_WRITE);

    CHECK(f.inject(0, 1, IOMMU_FAULT_PERM_READ, IOMMU_SIM_FAULT_RAW, 0x7777) == -ENOENT);  // no such RID
    CHECK(f.inject(kNic, 1, IOMMU_FAULT_PERM_READ, IOMMU_SIM_FAULT_RAW | IOMMU_SIM_FAULT_PASID, nic.rid, 5) ==
          -ENOENT);  // nothing attached at that PASID
    CHECK(f.inject(kNic, 1, IOMMU_FAULT_PERM_READ, IOMMU_SIM_FAULT_RECOVERABLE) == -EOPNOTSUPP);  // no PRI
    CHECK(f.inject(kNic, 1, 0) == -EINVAL);
    CHECK(f.inject(kNic, 1, 1u << 4) == -EINVAL);
    CHECK(f.inject(kNic, 1, IOMMU_FAULT_PERM_READ, 0, 0, 0, 99) == -EINVAL);
    CHECK(f.inject(99, 1, IOMMU_FAULT_PERM_READ) == -ENOENT);

    REQUIRE(f.bind("mdev0", 0xabc) == 0);
    REQUIRE(f.attach(0xabc, s.ioasid) == 0);
    REQUIRE(f.fault_register(0xabc) == 0);
    CHECK(f.inject(0xabc, 0x9000, IOMMU_FAULT_PERM_READ, IOMMU_SIM_FAULT_RECOVERABLE) == -EOPNOTSUPP);  // gpu0: no PRI
    CHECK(f.inject(0xabc, 0x9000, IOMMU_FAULT_PERM_READ) == 0);
    records = f.records();
    REQUIRE(records.size() == 1);
    CHECK(records[0].cookie == 0xabc);  // routed through parent RID + defPASID back to the mdev
    CHECK((records[0].flags & IOMMU_FAULT_RECORD_PASID_VALID) == 0);  // the defPASID stays hidden
    CHECK(records[0].ioasid == static_cast<uint32_t>(s.ioasid));

    // An injected page request (accel0) is pending like a real one; nothing waits on its answer.
    CHECK(f.inject(kAccel, 0x9000, IOMMU_FAULT_PERM_READ, IOMMU_SIM_FAULT_RECOVERABLE) == 0);
    records = f.records();
    REQUIRE(records.size() == 1);
    CHECK((records[0].flags & IOMMU_FAULT_RECORD_RECOVERABLE) != 0);
    CHECK(f.fault_register(kAccel, IOMMU_DEVICE_FAULT_UNREGISTER) == -EBUSY);
    CHECK(f.respond(kAccel, records[0].grpid, IOMMU_PAGE_RESP_SUCCESS) == 0);
}

TEST_CASE("records signal the registered eventfd") {
    Fixture f;
    FaultSetup s(f);
    const int efd = eventfd(0, EFD_NONBLOCK);
    REQUIRE(efd >= 0);
    iommu_fault_eventfd set{sizeof(set), 0, efd, 0};
    REQUIRE(f.call(IOMMU_FAULT_SET_EVENTFD, set) == 0);
    REQUIRE(f.inject(kAccel, 0x1000, IOMMU_FAULT_PERM_READ) == 0);
    REQUIRE(f.inject(kAccel, 0x2000, IOMMU_FAULT_PERM_READ) == 0);
    uint64_t count = 0;
    REQUIRE(read(efd, &count, sizeof(count)) == sizeof(count));
    CHECK(count == 2);

    set.fd = -1;
    REQUIRE(f.call(IOMMU_FAULT_SET_EVENTFD, set) == 0);
    REQUIRE(f.inject(kAccel, 0x3000, IOMMU_FAULT_PERM_READ) == 0);
    CHECK(read(efd, &count, sizeof(count)) == -1);  // nothing signalled
    close(efd);

    int pipefd[2];
    REQUIRE(pipe(pipefd) == 0);
    set.fd = pipefd[0];
    CHECK(f.call(IOMMU_FAULT_SET_EVENTFD, set) == -EINVAL);  // not an eventfd
    close(pipefd[0]);
    close(pipefd[1]);
    set.fd = 987654;
    CHECK(f.call(IOMMU_FAULT_SET_EVENTFD, set) == -EBADF);
}

TEST_CASE("an eventfd at its maximum saturates like eventfd_signal: never a blocked daemon") {
    // A client can put its eventfd's counter at 2^64 - 2 itself; a write(2)
    // of 1 then blocks (with the model lock held, every client would wait).
    // Run in a child, so a daemon that blocks fails the test, not hangs it.
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        Fixture f;
        FaultSetup s(f);
        const int efd = eventfd(0, 0);  // blocking, as a client's may be
        const uint64_t almost_full = 0xfffffffffffffffeull;
        if (efd < 0 || write(efd, &almost_full, sizeof(almost_full)) != sizeof(almost_full))
            _exit(2);
        iommu_fault_eventfd set{sizeof(set), 0, efd, 0};
        if (f.call(IOMMU_FAULT_SET_EVENTFD, set) != 0)
            _exit(3);
        for (int i = 0; i < 3; ++i) {
            if (f.inject(kAccel, 0x1000 + i * K4, IOMMU_FAULT_PERM_READ) != 0)
                _exit(4);
        }
        uint64_t count = 0;
        if (read(efd, &count, sizeof(count)) != sizeof(count) || count < almost_full)
            _exit(5);  // the notification is there for a reader
        if (f.inject(kAccel, 0x9000, IOMMU_FAULT_PERM_READ) != 0 || read(efd, &count, sizeof(count)) != 8 ||
            count != 1)
            _exit(6);  // once read, the next record signals it again
        _exit(f.records().size() == 4 ? 0 : 7);
    }
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 200 && done == 0; ++i) {  // 10 s
        done = waitpid(child, &status, WNOHANG);
        if (done == 0)
            usleep(50 * 1000);
    }
    if (done == 0) {
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
        FAIL("the daemon blocked signalling a full eventfd");
    }
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a forked child signals eventfds with an AIO context of its own") {
    // The parent's AIO context means nothing in a child (io_submit fails
    // there): the child must set up its own, and notice it forked without
    // asking getpid() at every signal.
    const int parent_efd = eventfd(0, EFD_NONBLOCK);
    REQUIRE(parent_efd >= 0);
    EventfdSignaller::instance().signal(parent_efd);  // the parent's context exists now
    uint64_t count = 0;
    REQUIRE(read(parent_efd, &count, sizeof(count)) == sizeof(count));
    CHECK(count == 1);
    close(parent_efd);

    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        const int efd = eventfd(0, EFD_NONBLOCK);
        EventfdSignaller::instance().signal(efd);
        uint64_t got = 0;
        _exit(efd >= 0 && read(efd, &got, sizeof(got)) == sizeof(got) && got == 1 ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("the records listener hears which context got records") {
    Fixture f;
    std::vector<uint64_t> heard;
    f.dispatcher.set_records_listener([&](uint64_t id) { heard.push_back(id); });
    FaultSetup s(f);
    REQUIRE(f.inject(kAccel, 0x1000, IOMMU_FAULT_PERM_READ) == 0);
    REQUIRE(heard.size() == 1);
    CHECK(heard[0] == f.ctx->id);
    CHECK(f.dispatcher.faults_pending(f.ctx->id));
    iommu_fault_record one[1];
    CHECK(f.dispatcher.read_faults(f.ctx->id, one) == 1);
    CHECK_FALSE(f.dispatcher.faults_pending(f.ctx->id));
    CHECK(f.dispatcher.read_faults(12345, one) == 0);  // no such context
}

TEST_CASE("nested IOPF: stage-2 faults on IOPF mappings never reach the user") {
    // Nested IOPF ("[RFC PATCH v3 8/8] vfio: Add nested IOPF support", Shenming
    // Lu, May 2021): the parent maps the guest's memory with IOPF; stage-1
    // faults go to the user, stage-2 ones on IOPF mappings are the host's.
    Fixture f;
    Buffer tables(4 * K4), data(2 * K4);
    const uint64_t tables_gpa = 0x10000000, data_gpa = 0x20000000, iova = 0x40000000;
    auto entry = [&](int table, int index) -> uint64_t& {
        return reinterpret_cast<uint64_t*>(tables.bytes() + table * K4)[index];
    };
    const uint64_t rw = 3;
    entry(0, 0) = (tables_gpa + K4) | rw;
    entry(1, 1) = (tables_gpa + 2 * K4) | rw;
    entry(2, 0) = (tables_gpa + 3 * K4) | rw;
    entry(3, 0) = data_gpa | rw;
    entry(3, 2) = 0x30000000 | rw;  // a stage-1 output the parent does not map

    bool consumer_first = false;
    SUBCASE("consumer first, then the IOPF mapping") { consumer_first = true; }
    SUBCASE("the IOPF mapping first, then the consumer") { consumer_first = false; }
    const long parent = f.alloc();
    REQUIRE(f.bind("accel0", kAccel) == 0);
    if (consumer_first)
        REQUIRE(f.fault_register(kAccel) == 0);
    REQUIRE(f.map(parent, tables_gpa, tables.ptr, 4 * K4, IOMMU_MAP_DMA_READ) == 0);
    const uint64_t locked_before = f.stats().locked_pages;
    REQUIRE(f.map(parent, data_gpa, data.ptr, 2 * K4, kRW | IOMMU_MAP_DMA_IOPF) == 0);
    CHECK(f.stats().locked_pages == locked_before);  // not pinned at MAP
    if (!consumer_first)
        REQUIRE(f.fault_register(kAccel) == 0);
    const long child = f.alloc(IOMMU_IOASID_USER_PGTABLE, parent, tables_gpa);
    REQUIRE(f.attach(kAccel, child, 5u) == 0);

    char text[] = "iopf";
    iommu_sim_dma d;
    REQUIRE(f.dma(kAccel, iova, text, sizeof(text), true, 5u, &d) == 0);
    CHECK(d.status == IOMMU_SIM_DMA_OK);
    CHECK(std::string(data.bytes()) == text);
    CHECK(f.records().empty());
    CHECK(f.region().iopf_resolved == 1);
    CHECK(f.stats().locked_pages == locked_before + 1);  // pinned on demand

    REQUIRE(f.dma(kAccel, iova + K4, text, 4, false, 5u, &d) == 0);  // stage 1 not present
    CHECK(d.status == IOMMU_SIM_DMA_PENDING);
    auto records = f.records();
    REQUIRE(records.size() == 1);
    CHECK((records[0].flags & IOMMU_FAULT_RECORD_STAGE1) != 0);
    CHECK((records[0].flags & IOMMU_FAULT_RECORD_PASID_VALID) != 0);
    CHECK(records[0].pasid == 5);
    CHECK(records[0].ioasid == static_cast<uint32_t>(child));
    entry(3, 1) = (data_gpa + K4) | rw;  // the user fixes its table
    REQUIRE(f.respond(kAccel, records[0].grpid, IOMMU_PAGE_RESP_SUCCESS) == 0);
    CHECK(f.dma_status(d.dma_id).status == IOMMU_SIM_DMA_OK);
    CHECK(f.region().iopf_resolved == 2);  // its stage 2 was IOPF too

    REQUIRE(f.dma(kAccel, iova + 2 * K4, text, 4, false, 5u, &d) == 0);  // stage 2, not IOPF
    CHECK(d.status == IOMMU_SIM_DMA_FAULT);
    records = f.records();
    REQUIRE(records.size() == 1);
    CHECK((records[0].flags & IOMMU_FAULT_RECORD_STAGE2) != 0);
    CHECK((records[0].flags & IOMMU_FAULT_RECORD_RECOVERABLE) == 0);
    CHECK(records[0].ioasid == static_cast<uint32_t>(parent));

    REQUIRE(f.detach(kAccel, 5u) == 0);
    REQUIRE(f.free_ioasid(child) == 0);
    REQUIRE(f.unmap(parent, data_gpa, 2 * K4) == 2 * K4);
    CHECK(f.stats().locked_pages == locked_before);  // only faulted-in pages were charged, and return
}

TEST_CASE("review fixes: permissions, context limits, IOPF capability, FAILURE, group ids") {
    Fixture f;
    FaultSetup s(f);

    SUBCASE("an injected fault keeps every permission bit") {
        REQUIRE(f.inject(kAccel, 0x1000, IOMMU_FAULT_PERM_READ | IOMMU_FAULT_PERM_EXEC | IOMMU_FAULT_PERM_PRIV) == 0);
        CHECK(f.records().at(0).perm == (IOMMU_FAULT_PERM_READ | IOMMU_FAULT_PERM_EXEC | IOMMU_FAULT_PERM_PRIV));
    }
    SUBCASE("a raw fault may only hit the caller's own devices") {
        Context* other = f.dispatcher.open(getpid());
        const DeviceSpec& accel = *f.model.topology().find_device("accel0");
        iommu_sim_inject_fault raw{sizeof(raw), IOMMU_SIM_FAULT_RAW, 0, accel.rid, 0, 0x1000, IOMMU_FAULT_PERM_READ, 0};
        CHECK(f.call(IOMMU_SIM_INJECT_FAULT, raw, other) == -ENOENT);
        CHECK(f.call(IOMMU_SIM_INJECT_FAULT, raw) == 0);
        f.dispatcher.release(other);
    }
    SUBCASE("an IOMMU without IOPF cannot fault IOPF pages in") {
        const long id = f.alloc();
        REQUIRE(f.map(id, kIova, s.mem.ptr, K4, kRW | IOMMU_MAP_DMA_IOPF) == 0);
        REQUIRE(f.bind("legacy0", 3) == 0);
        REQUIRE(f.attach(3, id) == 0);
        CHECK(s.write(kIova, "x", 1, 3).status == IOMMU_SIM_DMA_FAULT);
        CHECK(f.region().iopf_resolved == 0);
        REQUIRE(f.attach(kAccel, id, 2u) == 0);  // iommu0 can
        iommu_sim_dma d;
        REQUIRE(f.dma(kAccel, kIova, const_cast<char*>("y"), 1, true, 2u, &d) == 0);
        CHECK(d.status == IOMMU_SIM_DMA_OK);
        CHECK(f.region().iopf_resolved == 1);
    }
    SUBCASE("an IOPF page the host cannot fault in is not the user's page request") {
        Buffer gone(K4);
        REQUIRE(f.map(s.ioasid, kIova, gone.ptr, K4, kRW | IOMMU_MAP_DMA_IOPF) == 0);
        REQUIRE(munmap(gone.ptr, K4) == 0);
        gone.ptr = nullptr;
        const iommu_sim_dma d = s.write(kIova, "x", 1);
        CHECK(d.status == IOMMU_SIM_DMA_FAULT);
        CHECK((f.records().at(0).flags & IOMMU_FAULT_RECORD_RECOVERABLE) == 0);
    }
    SUBCASE("FAILURE answers every other pending group of the device too") {
        const iommu_sim_dma a = s.write(kIova, "a", 1);
        const iommu_sim_dma b = s.write(kIova + K4, "b", 1);
        auto records = f.records();
        REQUIRE(records.size() == 2);
        REQUIRE(f.respond(kAccel, records[0].grpid, IOMMU_PAGE_RESP_FAILURE) == 0);
        CHECK(f.dma_status(a.dma_id).status == IOMMU_SIM_DMA_ABORTED);
        CHECK(f.dma_status(b.dma_id).status == IOMMU_SIM_DMA_ABORTED);
        CHECK(f.respond(kAccel, records[1].grpid, IOMMU_PAGE_RESP_SUCCESS) == -EINVAL);
    }
    SUBCASE("group ids are not reused when a cookie is bound again") {
        s.write(kIova, "a", 1);
        const uint32_t old_group = f.records().at(0).grpid;
        REQUIRE(f.unbind(kAccel) == 0);
        REQUIRE(f.bind("accel0", kAccel) == 0);
        REQUIRE(f.attach(kAccel, s.ioasid) == 0);
        REQUIRE(f.fault_register(kAccel) == 0);
        s.write(kIova, "b", 1);
        const uint32_t new_group = f.records().at(0).grpid;
        CHECK(new_group != old_group);
        CHECK(f.respond(kAccel, old_group, IOMMU_PAGE_RESP_SUCCESS) == -EINVAL);
    }
}
