// The fault region over the wire (issue 4): read() of whole fault records
// (blocking, O_NONBLOCK, FUSE_INTERRUPT), poll() with a kernel poll handle
// and FUSE_NOTIFY_POLL, and a page request's round trip from a stalled DMA
// to IOMMU_PAGE_RESPONSE.  Records come from accel0 (PRI and PASID capable,
// behind iommu0, which reports I/O page faults) and nic0 of the default
// topology, through IOMMU_SIM_INJECT_FAULT and IOMMU_SIM_DMA.
//
// A request the daemon must leave unanswered is checked with quiet_for();
// every other wait is bounded by FakeKernel::kTimeout.
#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <vector>

#include "daemon.h"

using namespace protocol;
using namespace std::chrono_literals;

namespace {

constexpr size_t kRecord = sizeof(iommu_fault_record);
static_assert(kRecord == 64, "the uAPI fixes the record at 64 bytes");

constexpr uint64_t kAccel = 0xacce1000acce1;  // cookies the "user" chose
constexpr uint64_t kNic = 0x41c0041c;
constexpr uint64_t kKh = 0x6b68000000000001;  // the kernel's poll handle
constexpr auto kQuiet = 200ms;                // "no reply" means: none in this long
constexpr uint32_t kNonblock = FakeKernel::kOpenFlags | O_NONBLOCK;
constexpr unsigned kPollIn = POLLIN | POLLRDNORM;

// The records of a READ reply; fails the test unless it is a whole number.
std::vector<iommu_fault_record> records_of(const std::optional<Reply>& reply) {
    REQUIRE(reply);
    REQUIRE(reply->error() == 0);
    REQUIRE(reply->payload.size() % kRecord == 0);
    std::vector<iommu_fault_record> records(reply->payload.size() / kRecord);
    if (!records.empty())
        std::memcpy(records.data(), reply->payload.data(), reply->payload.size());
    return records;
}

struct FaultSession : Session {
    // Binds `name` as `cookie` in `file`, makes the file's fault region the
    // device's consumer, and attaches the whole device to a new
    // kernel-managed IOASID, which it returns.
    uint32_t attach_device(const char* name, uint64_t cookie, uint64_t file = 0) {
        iommu_device_bind bind{};
        bind.argsz = sizeof(bind);
        std::strncpy(bind.name, name, sizeof(bind.name) - 1);
        bind.cookie = cookie;
        REQUIRE(call(&bind, IOMMU_DEVICE_BIND, file).result == 0);
        iommu_device_fault consumer{};
        consumer.argsz = sizeof(consumer);
        consumer.cookie = cookie;
        REQUIRE(call(&consumer, IOMMU_DEVICE_FAULT_REGISTER, file).result == 0);
        const uint32_t ioasid = alloc(file);
        iommu_device_attach attach{};
        attach.argsz = sizeof(attach);
        attach.cookie = cookie;
        attach.ioasid = ioasid;
        REQUIRE(call(&attach, IOMMU_DEVICE_ATTACH, file).result == 0);
        return ioasid;
    }
    // IOMMU_SIM_INJECT_FAULT from the bound device: 0 or -errno.
    long inject(uint64_t cookie, uint64_t addr, uint32_t perm, uint32_t reason, uint64_t file = 0,
                uint32_t flags = 0) {
        iommu_sim_inject_fault f{};
        f.argsz = sizeof(f);
        f.flags = flags;
        f.cookie = cookie;
        f.addr = addr;
        f.perm = perm;
        f.reason = reason;
        return call(&f, IOMMU_SIM_INJECT_FAULT, file).result;
    }
    long inject_write_fault(uint64_t cookie, uint64_t addr, uint64_t file = 0) {
        return inject(cookie, addr, IOMMU_FAULT_PERM_WRITE, IOMMU_FAULT_REASON_PERMISSION, file);
    }
    long page_response(uint64_t cookie, uint32_t grpid, uint32_t code, uint64_t file = 0) {
        iommu_page_response r{};
        r.argsz = sizeof(r);
        r.cookie = cookie;
        r.grpid = grpid;
        r.code = code;
        return call(&r, IOMMU_PAGE_RESPONSE, file).result;
    }
    iommu_fault_region_info region_info(uint64_t file = 0) {
        iommu_fault_region_info info{};
        info.argsz = sizeof(info);
        REQUIRE(call(&info, IOMMU_FAULT_REGION_INFO, file).result == 0);
        return info;
    }
    // IOMMU_SIM_DMA_STATUS; the ioctl's result is returned through *result.
    iommu_sim_dma_status dma_status(uint64_t dma_id, long* result, uint64_t file = 0) {
        iommu_sim_dma_status st{};
        st.argsz = sizeof(st);
        st.dma_id = dma_id;
        *result = call(&st, IOMMU_SIM_DMA_STATUS, file).result;
        return st;
    }
};

// The unrecoverable fault inject_write_fault() makes, as the record says it.
void check_write_fault(const iommu_fault_record& r, uint64_t cookie, uint32_t ioasid, uint64_t addr,
                       uint64_t seq) {
    CHECK(r.flags == IOMMU_FAULT_RECORD_STAGE2);  // a kernel-managed table; no PASID
    CHECK(r.reason == IOMMU_FAULT_REASON_PERMISSION);
    CHECK(r.cookie == cookie);
    CHECK(r.ioasid == ioasid);
    CHECK(r.pasid == 0);
    CHECK(r.perm == IOMMU_FAULT_PERM_WRITE);
    CHECK(r.grpid == 0);
    CHECK(r.addr == addr);
    CHECK(r.seq == seq);
    CHECK(r.__reserved[0] == 0);
    CHECK(r.__reserved[1] == 0);
}

}  // namespace

TEST_CASE("a blocking READ waits for a fault, then returns exactly its record") {
    FaultSession s;
    const uint32_t ioasid = s.attach_device("accel0", kAccel);
    // Room for 8 records: the read returns when the first one arrives.
    const uint64_t read = s.kernel.send_read(s.fh, 8 * kRecord);
    CHECK(s.kernel.quiet_for(kQuiet));

    // Another caller thread's ioctl while the READ waits; their replies may
    // come in either order.
    REQUIRE(s.inject_write_fault(kAccel, 0x123456) == 0);
    const std::vector<iommu_fault_record> records = records_of(s.kernel.receive(read));
    REQUIRE(records.size() == 1);
    check_write_fault(records[0], kAccel, ioasid, 0x123456, 1);

    const iommu_fault_region_info info = s.region_info();
    CHECK(info.pending == 0);
    CHECK(info.delivered == 1);
    CHECK(info.lost == 0);
    CHECK(s.kernel.quiet_for(50ms));
}

TEST_CASE("READ sizes and O_NONBLOCK") {
    FaultSession s;
    const uint32_t ioasid = s.attach_device("accel0", kAccel);

    SUBCASE("an empty region: O_NONBLOCK -> EAGAIN, nothing waits") {
        std::optional<Reply> reply = s.kernel.read(s.fh, 4 * kRecord, kNonblock);
        REQUIRE(reply);
        CHECK(reply->error() == -EAGAIN);
        // A record after the EAGAIN is not sent to the finished READ.
        REQUIRE(s.inject_write_fault(kAccel, 0x1000) == 0);
        CHECK(s.kernel.quiet_for(50ms));
        CHECK(s.region_info().pending == 1);
    }
    SUBCASE("not a multiple of 64 -> EINVAL, with or without records waiting") {
        std::optional<Reply> reply = s.kernel.read(s.fh, 100);
        REQUIRE(reply);
        CHECK(reply->error() == -EINVAL);
        REQUIRE(s.inject_write_fault(kAccel, 0x1000) == 0);
        for (const uint32_t size : {1u, 63u, 65u, 100u, 127u}) {
            CAPTURE(size);
            reply = s.kernel.read(s.fh, size);
            REQUIRE(reply);
            CHECK(reply->error() == -EINVAL);
            reply = s.kernel.read(s.fh, size, kNonblock);
            REQUIRE(reply);
            CHECK(reply->error() == -EINVAL);
        }
        CHECK(s.region_info().pending == 1);  // nothing was consumed
    }
    SUBCASE("a READ of 0 bytes -> 0 bytes at once, even blocking and empty") {
        std::optional<Reply> reply = s.kernel.read(s.fh, 0);
        REQUIRE(reply);
        CHECK(reply->error() == 0);
        CHECK(reply->payload.empty());
        REQUIRE(s.inject_write_fault(kAccel, 0x1000) == 0);
        reply = s.kernel.read(s.fh, 0, kNonblock);
        REQUIRE(reply);
        CHECK(reply->error() == 0);
        CHECK(reply->payload.empty());
        CHECK(s.region_info().pending == 1);
    }
    SUBCASE("room for more records than wait: just those, oldest first") {
        for (uint64_t i = 0; i < 3; ++i)
            REQUIRE(s.inject_write_fault(kAccel, 0x10000 + i * 0x1000) == 0);
        // Room for exactly one: one.
        std::vector<iommu_fault_record> records = records_of(s.kernel.read(s.fh, kRecord, kNonblock));
        REQUIRE(records.size() == 1);
        check_write_fault(records[0], kAccel, ioasid, 0x10000, 1);
        // Room for 16, two wait: two.
        records = records_of(s.kernel.read(s.fh, 16 * kRecord));
        REQUIRE(records.size() == 2);
        check_write_fault(records[0], kAccel, ioasid, 0x11000, 2);
        check_write_fault(records[1], kAccel, ioasid, 0x12000, 3);
        // Drained: O_NONBLOCK says so again.
        std::optional<Reply> reply = s.kernel.read(s.fh, 16 * kRecord, kNonblock);
        REQUIRE(reply);
        CHECK(reply->error() == -EAGAIN);
        CHECK(s.region_info().delivered == 3);
    }
}

TEST_CASE("POLL: a kernel poll handle is notified when a record arrives") {
    FaultSession s;
    s.attach_device("accel0", kAccel);
    // The observer file polls too: it gets no records, so no wake-up.
    constexpr uint64_t kObserverKh = kKh + 1;
    CHECK(s.kernel.poll(s.observer, kObserverKh, FUSE_POLL_SCHEDULE_NOTIFY, POLLIN) == 0);

    CHECK(s.kernel.poll(s.fh, kKh, FUSE_POLL_SCHEDULE_NOTIFY, POLLIN) == 0);
    CHECK_FALSE(s.kernel.next_notification(50ms));

    REQUIRE(s.inject_write_fault(kAccel, 0x2000) == 0);
    const std::optional<uint64_t> woken = s.kernel.next_poll_wakeup();
    REQUIRE(woken);
    CHECK(*woken == kKh);
    CHECK_FALSE(s.kernel.next_notification(100ms));  // once, and not the observer's

    // The kernel polls again after a wake-up: now readable.
    CHECK(s.kernel.poll(s.fh, kKh, FUSE_POLL_SCHEDULE_NOTIFY, POLLIN) == kPollIn);
    CHECK(s.kernel.poll(s.fh, kKh, 0, POLLIN) == kPollIn);  // a plain poll() sees the same

    // Read it: nothing to read any more.
    REQUIRE(records_of(s.kernel.read(s.fh, kRecord, kNonblock)).size() == 1);
    CHECK(s.kernel.poll(s.fh, kKh, FUSE_POLL_SCHEDULE_NOTIFY, POLLIN) == 0);

    // The handle registered by that poll is notified by the next record.
    REQUIRE(s.inject_write_fault(kAccel, 0x3000) == 0);
    const std::optional<uint64_t> again = s.kernel.next_poll_wakeup();
    REQUIRE(again);
    CHECK(*again == kKh);
    CHECK_FALSE(s.kernel.next_notification(100ms));
}

TEST_CASE("POLL without FUSE_POLL_SCHEDULE_NOTIFY leaves no handle to notify") {
    FaultSession s;
    s.attach_device("accel0", kAccel);
    CHECK(s.kernel.poll(s.fh, kKh, 0, POLLIN) == 0);
    REQUIRE(s.inject_write_fault(kAccel, 0x2000) == 0);
    CHECK_FALSE(s.kernel.next_notification(kQuiet));
    CHECK(s.kernel.poll(s.fh, kKh, 0, POLLIN) == kPollIn);
}

TEST_CASE("an INTERRUPT of a waiting READ answers it EINTR; the next record is kept") {
    FaultSession s;
    const uint32_t ioasid = s.attach_device("accel0", kAccel);
    const uint64_t read = s.kernel.send_read(s.fh, 4 * kRecord);

    SUBCASE("interrupted while it waits") {
        CHECK(s.kernel.quiet_for(kQuiet));
        s.kernel.interrupt(read);
    }
    SUBCASE("interrupted right behind it (maybe before the daemon has it waiting)") {
        s.kernel.interrupt(read);
    }
    std::optional<Reply> reply = s.kernel.receive(read);
    REQUIRE(reply);
    CHECK(reply->error() == -EINTR);
    CHECK(reply->payload.empty());
    // An INTERRUPT that found its request is not answered itself.
    CHECK(s.kernel.quiet_for(100ms));

    // The record that comes next is not handed to the interrupted READ
    // (receive() fails the test on a second reply to it).
    REQUIRE(s.inject_write_fault(kAccel, 0x4000) == 0);
    CHECK(s.kernel.quiet_for(50ms));
    const std::vector<iommu_fault_record> records = records_of(s.kernel.read(s.fh, 4 * kRecord));
    REQUIRE(records.size() == 1);
    check_write_fault(records[0], kAccel, ioasid, 0x4000, 1);
    CHECK(s.region_info().delivered == 1);
    CHECK_FALSE(s.kernel.take_stashed(read | kInterruptBit));
}

TEST_CASE("an INTERRUPT racing a record: the READ gets it or EINTR, and it is never lost") {
    FaultSession s;
    s.attach_device("accel0", kAccel);
    iommu_sim_inject_fault fault{};
    fault.argsz = sizeof(fault);
    fault.cookie = kAccel;
    fault.perm = IOMMU_FAULT_PERM_WRITE;
    // The ioctl's only round, so that the fault and the INTERRUPT go out
    // back to back.
    fuse_ioctl_in in{};
    in.fh = s.fh;
    in.cmd = IOMMU_SIM_INJECT_FAULT;
    in.arg = reinterpret_cast<uintptr_t>(&fault);

    constexpr int kRounds = 40;
    int got_record = 0, got_eintr = 0;
    std::vector<uint64_t> interrupts;
    for (int i = 0; i < kRounds; ++i) {
        CAPTURE(i);
        fault.addr = 0x100000 + uint64_t(i) * 0x1000;
        const uint64_t read = s.kernel.send_read(s.fh, 4 * kRecord);
        // Now and then let the READ settle first.  Not an assertion: a late
        // EAGAIN for an earlier round's INTERRUPT may arrive meanwhile (it is
        // stashed for its unique, not lost).
        if (i % 4 == 0)
            s.kernel.quiet_for(5ms);
        const uint64_t inject = s.kernel.next_unique();
        if (i % 2) {
            s.kernel.interrupt(read);
            s.kernel.send(FUSE_IOCTL, inject, {bytes_of(in)});
        } else {
            s.kernel.send(FUSE_IOCTL, inject, {bytes_of(in)});
            s.kernel.interrupt(read);
        }
        interrupts.push_back(read | kInterruptBit);
        const std::optional<Reply> injected = s.kernel.receive(inject);
        REQUIRE(injected);
        REQUIRE(injected->error() == 0);
        const std::optional<Reply> reply = s.kernel.receive(read);
        REQUIRE(reply);
        if (reply->error() == -EINTR) {
            ++got_eintr;
            // The record waits for the next read.
            const std::vector<iommu_fault_record> records = records_of(s.kernel.read(s.fh, 4 * kRecord, kNonblock));
            REQUIRE(records.size() == 1);
            CHECK(records[0].addr == fault.addr);
            CHECK(records[0].seq == uint64_t(i) + 1);
        } else {
            ++got_record;
            const std::vector<iommu_fault_record> records = records_of(reply);
            REQUIRE(records.size() == 1);
            CHECK(records[0].addr == fault.addr);
            CHECK(records[0].seq == uint64_t(i) + 1);
            const std::optional<Reply> empty = s.kernel.read(s.fh, 4 * kRecord, kNonblock);
            REQUIRE(empty);
            CHECK(empty->error() == -EAGAIN);
        }
    }
    MESSAGE(got_record << " READs got their record, " << got_eintr << " were interrupted");
    CHECK(got_record + got_eintr == kRounds);
    const iommu_fault_region_info info = s.region_info();
    CHECK(info.delivered == kRounds);
    CHECK(info.lost == 0);
    CHECK(info.pending == 0);
    // An INTERRUPT that came after its READ was answered is queued by
    // libfuse and answered EAGAIN when later requests arrive; any answer to
    // an INTERRUPT must be that.
    for (int i = 0; i < 2 * kRounds; ++i)
        CHECK(s.kernel.ioctl(s.fh, IOMMU_GET_API_VERSION, uint64_t{0}).result == IOMMU_API_VERSION);
    for (const uint64_t unique : interrupts) {
        if (const std::optional<Reply> answer = s.kernel.take_stashed(unique))
            CHECK(answer->error() == -EAGAIN);
    }
}

TEST_CASE("a record wakes only the READs of its own context") {
    FaultSession s;
    const uint64_t other = s.kernel.open();
    const uint32_t accel_ioasid = s.attach_device("accel0", kAccel);
    const uint32_t nic_ioasid = s.attach_device("nic0", kNic, other);

    const uint64_t read_a = s.kernel.send_read(s.fh, 4 * kRecord);
    const uint64_t read_b = s.kernel.send_read(other, 4 * kRecord);
    CHECK(s.kernel.quiet_for(kQuiet));

    // nic0's fault belongs to `other`: only read_b returns.
    REQUIRE(s.inject_write_fault(kNic, 0x5000, other) == 0);
    std::vector<iommu_fault_record> records = records_of(s.kernel.receive(read_b));
    REQUIRE(records.size() == 1);
    check_write_fault(records[0], kNic, nic_ioasid, 0x5000, 1);
    CHECK_FALSE(s.kernel.take_stashed(read_a));
    CHECK(s.kernel.quiet_for(kQuiet));

    // And the other way round, with `other` waiting again (so that neither
    // file's waiters come first by luck).
    const uint64_t read_b2 = s.kernel.send_read(other, 4 * kRecord);
    CHECK(s.kernel.quiet_for(kQuiet / 2));
    REQUIRE(s.inject_write_fault(kAccel, 0x6000) == 0);
    records = records_of(s.kernel.receive(read_a));
    REQUIRE(records.size() == 1);
    check_write_fault(records[0], kAccel, accel_ioasid, 0x6000, 1);  // its own sequence
    CHECK_FALSE(s.kernel.take_stashed(read_b2));
    CHECK(s.kernel.quiet_for(kQuiet));

    REQUIRE(s.inject_write_fault(kNic, 0x7000, other) == 0);
    records = records_of(s.kernel.receive(read_b2));
    REQUIRE(records.size() == 1);
    check_write_fault(records[0], kNic, nic_ioasid, 0x7000, 2);
    CHECK(s.kernel.quiet_for(50ms));
    CHECK(s.region_info(other).delivered == 2);
    CHECK(s.region_info().delivered == 1);
    CHECK(s.kernel.release(other) == 0);
}

TEST_CASE("two READs waiting on one context: one record answers one of them") {
    FaultSession s;
    const uint32_t ioasid = s.attach_device("accel0", kAccel);
    const uint64_t first = s.kernel.send_read(s.fh, 4 * kRecord);
    CHECK(s.kernel.quiet_for(kQuiet / 2));
    const uint64_t second = s.kernel.send_read(s.fh, 4 * kRecord);
    CHECK(s.kernel.quiet_for(kQuiet / 2));

    REQUIRE(s.inject_write_fault(kAccel, 0x7000) == 0);
    std::vector<iommu_fault_record> records = records_of(s.kernel.receive(first));  // oldest first
    REQUIRE(records.size() == 1);
    check_write_fault(records[0], kAccel, ioasid, 0x7000, 1);
    CHECK_FALSE(s.kernel.take_stashed(second));
    CHECK(s.kernel.quiet_for(kQuiet));

    REQUIRE(s.inject_write_fault(kAccel, 0x8000) == 0);
    records = records_of(s.kernel.receive(second));
    REQUIRE(records.size() == 1);
    check_write_fault(records[0], kAccel, ioasid, 0x8000, 2);
}

TEST_CASE("a page request over the wire: stalled DMA, record, MAP_DMA, PAGE_RESPONSE, done") {
    FaultSession s;
    const uint32_t ioasid = s.attach_device("accel0", kAccel);
    const uint64_t kPage = kPageSize;
    // A device write of 64 bytes across two IOVA pages, neither mapped yet.
    const uint64_t base = 0x40000000;
    const uint64_t iova = base + kPage - 32;
    unsigned char source[64];
    for (size_t i = 0; i < sizeof(source); ++i)
        source[i] = static_cast<unsigned char>(0xc0 + i);
    GuardedPages target(2);  // what the IOVA pages will map to

    // A READ waits before the DMA starts; the page request answers it.
    const uint64_t read = s.kernel.send_read(s.fh, 4 * kRecord);
    CHECK(s.kernel.quiet_for(100ms));

    iommu_sim_dma dma{};
    dma.argsz = sizeof(dma);
    dma.flags = IOMMU_SIM_DMA_WRITE;
    dma.cookie = kAccel;
    dma.iova = iova;
    dma.length = sizeof(source);
    dma.data = reinterpret_cast<uintptr_t>(source);
    REQUIRE(s.call(&dma, IOMMU_SIM_DMA).result == 0);
    CHECK(dma.status == IOMMU_SIM_DMA_PENDING);
    CHECK(dma.dma_id != 0);
    CHECK(dma.bytes_done == 0);
    CHECK(dma.fault_addr == iova);
    CHECK(dma.fault_reason == IOMMU_FAULT_REASON_NOT_MAPPED);

    std::vector<iommu_fault_record> records = records_of(s.kernel.receive(read));
    REQUIRE(records.size() == 1);
    const iommu_fault_record first = records[0];
    CHECK(first.flags == (IOMMU_FAULT_RECORD_RECOVERABLE | IOMMU_FAULT_RECORD_LAST | IOMMU_FAULT_RECORD_STAGE2));
    CHECK(first.reason == IOMMU_FAULT_REASON_NOT_MAPPED);
    CHECK(first.cookie == kAccel);
    CHECK(first.ioasid == ioasid);
    CHECK(first.perm == IOMMU_FAULT_PERM_WRITE);
    CHECK(first.grpid != 0);
    CHECK(first.addr == iova);
    CHECK(first.seq == 1);

    long result = 0;
    iommu_sim_dma_status st = s.dma_status(dma.dma_id, &result);
    CHECK(result == 0);
    CHECK(st.status == IOMMU_SIM_DMA_PENDING);  // still stalled: not reaped

    // Fix the first page and answer: the DMA moves on and stalls again on
    // the second page, a new group; this PAGE_RESPONSE's records wake the
    // next READ just the same.
    const uint64_t read2 = s.kernel.send_read(s.fh, 4 * kRecord);
    CHECK(s.kernel.quiet_for(50ms));
    REQUIRE(s.map(ioasid, base, target.begin(), kPage).result == 0);
    CHECK(s.page_response(kAccel, first.grpid, IOMMU_PAGE_RESP_SUCCESS) == 0);
    records = records_of(s.kernel.receive(read2));
    REQUIRE(records.size() == 1);
    const iommu_fault_record second = records[0];
    CHECK(second.flags == first.flags);
    CHECK(second.grpid != first.grpid);
    CHECK(second.addr == base + kPage);
    CHECK(second.seq == 2);
    st = s.dma_status(dma.dma_id, &result);
    CHECK(result == 0);
    CHECK(st.status == IOMMU_SIM_DMA_PENDING);
    CHECK(st.bytes_done == 32);
    CHECK(std::memcmp(target.begin() + kPage - 32, source, 32) == 0);  // the first part is in

    // The group is answered: a second answer is refused.
    CHECK(s.page_response(kAccel, first.grpid, IOMMU_PAGE_RESP_SUCCESS) == -EINVAL);

    REQUIRE(s.map(ioasid, base + kPage, target.begin() + kPage, kPage).result == 0);
    CHECK(s.page_response(kAccel, second.grpid, IOMMU_PAGE_RESP_SUCCESS) == 0);
    st = s.dma_status(dma.dma_id, &result);
    CHECK(result == 0);
    CHECK(st.status == IOMMU_SIM_DMA_OK);
    CHECK(st.bytes_done == sizeof(source));
    CHECK(std::memcmp(target.begin() + kPage - 32, source, sizeof(source)) == 0);
    // Reaped once finished and reported.
    s.dma_status(dma.dma_id, &result);
    CHECK(result == -ENOENT);

    const iommu_fault_region_info info = s.region_info();
    CHECK(info.pending == 0);
    CHECK(info.delivered == 2);
    CHECK(info.timeouts == 0);
    CHECK(s.kernel.quiet_for(50ms));
}

TEST_CASE("RELEASE of a context with a pending page request cleans up") {
    FaultSession s;
    const iommu_sim_daemon_stats before = s.stats();
    GuardedPages buffer;
    unsigned char source[16] = {1, 2, 3};

    const uint64_t leaky = s.kernel.open();
    const uint32_t ioasid = s.attach_device("accel0", kAccel, leaky);
    REQUIRE(s.map(ioasid, 0x100000, buffer.begin(), kPageSize, leaky).result == 0);
    // A poll handle the kernel still holds, a stalled DMA with its page
    // request unread, and an injected page request nobody answers.
    CHECK(s.kernel.poll(leaky, kKh, FUSE_POLL_SCHEDULE_NOTIFY, POLLIN) == 0);
    iommu_sim_dma dma{};
    dma.argsz = sizeof(dma);
    dma.flags = IOMMU_SIM_DMA_WRITE;
    dma.cookie = kAccel;
    dma.iova = 0x200000;
    dma.length = sizeof(source);
    dma.data = reinterpret_cast<uintptr_t>(source);
    REQUIRE(s.call(&dma, IOMMU_SIM_DMA, leaky).result == 0);
    REQUIRE(dma.status == IOMMU_SIM_DMA_PENDING);
    REQUIRE(s.inject(kAccel, 0x300000, IOMMU_FAULT_PERM_READ, 0, leaky, IOMMU_SIM_FAULT_RECOVERABLE) == 0);
    const std::optional<uint64_t> woken = s.kernel.next_poll_wakeup();
    REQUIRE(woken);
    CHECK(*woken == kKh);
    CHECK(s.kernel.poll(leaky, kKh, FUSE_POLL_SCHEDULE_NOTIFY, POLLIN) == kPollIn);  // re-armed
    CHECK(s.region_info(leaky).pending == 2);

    const iommu_sim_daemon_stats during = s.stats();
    CHECK(during.contexts == before.contexts + 1);
    CHECK(during.ioasids == before.ioasids + 1);
    CHECK(during.mappings == before.mappings + 1);
    CHECK(during.mapped_bytes == before.mapped_bytes + kPageSize);

    CHECK(s.kernel.release(leaky) == 0);
    const iommu_sim_daemon_stats after = s.stats();
    CHECK(after.contexts == before.contexts);
    CHECK(after.ioasids == before.ioasids);
    CHECK(after.mappings == before.mappings);
    CHECK(after.mapped_bytes == before.mapped_bytes);
    CHECK(s.kernel.quiet_for(100ms));  // no stray reply, no wake-up for the dead file

    // accel0 and its group are free again; the new consumer starts afresh
    // and the old poll handle is not woken by its records.
    const uint32_t fresh = s.attach_device("accel0", kAccel);
    REQUIRE(s.inject(kAccel, 0x300000, IOMMU_FAULT_PERM_READ, 0, 0, IOMMU_SIM_FAULT_RECOVERABLE) == 0);
    const std::vector<iommu_fault_record> records = records_of(s.kernel.read(s.fh, 4 * kRecord, kNonblock));
    REQUIRE(records.size() == 1);
    CHECK(records[0].ioasid == fresh);
    CHECK(records[0].seq == 1);
    CHECK(records[0].grpid != 0);
    CHECK(s.page_response(kAccel, records[0].grpid, IOMMU_PAGE_RESP_SUCCESS) == 0);
    CHECK_FALSE(s.kernel.next_notification(100ms));
}

TEST_CASE("a READ still waiting when the daemon stops is answered, not leaked") {
    // Without the answer LeakSanitizer reports libfuse's request at exit.
    SUBCASE("the kernel hangs up") {
        FaultSession s;
        const uint64_t read = s.kernel.send_read(s.fh, kRecord);
        CHECK(s.kernel.quiet_for(100ms));
        CHECK(s.kernel.hangup().has_value());
        (void)read;
    }
    SUBCASE("the daemon is told to exit") {
        FaultSession s;
        s.kernel.send_read(s.fh, kRecord);
        CHECK(s.kernel.quiet_for(100ms));
        CHECK(s.kernel.stop_with_exit().has_value());
    }
}

TEST_CASE("a READ the size of a kernel piece of a larger read is served short, never refused or filled") {
    // An unaligned 134400-byte read() reaches the daemon as a first request of
    // 131064 bytes (32 pages less the buffer's 8-byte offset): not whole
    // records, yet it must return records; and a full 128 KiB request must
    // come back short, or the kernel would block the caller on the next piece.
    FaultSession s;
    s.attach_device("accel0", kAccel);
    iommu_fault_region_info depth{};
    depth.argsz = sizeof(depth);
    depth.flags = IOMMU_FAULT_REGION_SET_DEPTH;
    depth.depth = 4096;
    REQUIRE(s.call(&depth, IOMMU_FAULT_REGION_INFO).result == 0);
    for (int i = 0; i < 2100; ++i)
        REQUIRE(s.inject_write_fault(kAccel, 0x1000 + uint64_t(i) * 0x1000) == 0);

    CHECK(records_of(s.kernel.read(s.fh, 131064)).size() == 2047);  // 131064 / 64 = 2047.875
    REQUIRE(s.region_info().pending == 2100 - 2047);
    for (int i = 0; i < 2047; ++i)
        REQUIRE(s.inject_write_fault(kAccel, 0x1000) == 0);
    CHECK(records_of(s.kernel.read(s.fh, 131072)).size() == 2047);  // exactly 2048 fit: one less
    CHECK(s.kernel.read(s.fh, 126976 - 8)->error() == -EINVAL);      // a plain size: whole records only
}
