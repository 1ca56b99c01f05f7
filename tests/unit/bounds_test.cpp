// What one client can make the daemon hold, and for how long (issue 9):
// page-request credits, lazily pinned maps that cost one record, IOMMU
// constraints that do not grow with attachments, and DMAs a binding leaves
// behind.
#include <doctest/doctest.h>

#include <cerrno>
#include <optional>

#include "../../devices/stalled_dma.h"
#include "fixture.h"

using namespace ciommu;
using namespace ciommu::test;

namespace {

constexpr uint64_t K4 = 4096;
constexpr uint64_t kAccel = 7;
constexpr uint64_t kUnmapped = 0x40000000;  // nothing is ever mapped here

// accel0 (PRI, IOPF) attached to a kernel-managed IOASID, a consumer whose
// page requests never time out.
struct PriSetup {
    Fixture& f;
    long ioasid;
    char byte = 0;

    explicit PriSetup(Fixture& fixture) : f(fixture) {
        ioasid = f.alloc();
        REQUIRE(f.bind("accel0", kAccel) == 0);
        REQUIRE(f.attach(kAccel, ioasid) == 0);
        REQUIRE(f.fault_register(kAccel) == 0);
        long result = 0;
        f.region(IOMMU_FAULT_REGION_SET_TIMEOUT, 0, 0, &result);
        REQUIRE(result == 0);
    }
    // A one-byte read DMA into unmapped memory: a page request (PENDING).
    long stall(iommu_sim_dma* out = nullptr, uint64_t length = 1) {
        iommu_sim_dma d{};
        std::vector<char> sink(length);
        const long result = f.dma(kAccel, kUnmapped, sink.data(), length, false, {}, &d);
        if (out)
            *out = d;
        return result;
    }
};

// accel0's PRI capability, from IOMMU_DEVICE_GET_INFO's chain.
std::optional<iommu_info_cap_pri> pri_cap(Fixture& f, uint64_t cookie) {
    std::vector<std::byte> bytes(512), out;
    iommu_device_info info{};
    info.argsz = static_cast<uint32_t>(bytes.size());
    info.cookie = cookie;
    std::memcpy(bytes.data(), &info, sizeof(info));
    REQUIRE(f.raw(IOMMU_DEVICE_GET_INFO, bytes, &out).result == 0);
    std::memcpy(&info, out.data(), sizeof(info));
    for (uint32_t at = info.cap_offset; at != 0;) {
        iommu_info_cap_header header;
        std::memcpy(&header, out.data() + at, sizeof(header));
        if (header.id == IOMMU_DEVICE_INFO_CAP_PRI) {
            iommu_info_cap_pri cap;
            std::memcpy(&cap, out.data() + at, sizeof(cap));
            return cap;
        }
        at = header.next;
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("page-request credits: EBUSY before anything happens, room again once answered and reaped") {
    Fixture f;
    PriSetup s(f);
    const auto fresh = pri_cap(f, kAccel);
    REQUIRE(fresh);
    CHECK(fresh->max_requests == IOMMU_PRI_REQUESTS_DEFAULT);
    CHECK(fresh->outstanding == 0);
    CHECK(fresh->held_dmas == 0);

    std::vector<iommu_sim_dma> stalled(IOMMU_PRI_REQUESTS_DEFAULT);
    for (auto& d : stalled) {
        REQUIRE(s.stall(&d) == 0);
        REQUIRE(d.status == IOMMU_SIM_DMA_PENDING);
    }
    const auto full = pri_cap(f, kAccel);
    CHECK(full->outstanding == IOMMU_PRI_REQUESTS_DEFAULT);
    CHECK(full->held_dmas == IOMMU_PRI_REQUESTS_DEFAULT);
    const size_t records = f.records().size();
    CHECK(records == IOMMU_PRI_REQUESTS_DEFAULT);

    CHECK(s.stall() == -EBUSY);  // a DMA the device has no room for
    CHECK(f.inject(kAccel, 0x1000, IOMMU_FAULT_PERM_READ, IOMMU_SIM_FAULT_RECOVERABLE) == -EBUSY);
    CHECK(f.inject(kAccel, 0x1000, IOMMU_FAULT_PERM_READ) == 0);  // an unrecoverable one needs no credit
    CHECK(f.records().size() == 1);                                // only that one: EBUSY reported nothing

    // Answered but not reaped: the DMA is still held.
    REQUIRE(f.respond(kAccel, 1, IOMMU_PAGE_RESP_INVALID) == 0);
    CHECK(pri_cap(f, kAccel)->outstanding == IOMMU_PRI_REQUESTS_DEFAULT - 1);
    CHECK(s.stall() == -EBUSY);
    CHECK(f.dma_status(stalled[0].dma_id).status == IOMMU_SIM_DMA_ABORTED);  // reaped
    CHECK(pri_cap(f, kAccel)->held_dmas == IOMMU_PRI_REQUESTS_DEFAULT - 1);
    iommu_sim_dma again;
    CHECK(s.stall(&again) == 0);
    CHECK(again.status == IOMMU_SIM_DMA_PENDING);
}

TEST_CASE("what a binding held goes with the unbind: statuses stay to reap, data does not") {
    Fixture f;
    PriSetup s(f);
    iommu_sim_dma d;
    REQUIRE(s.stall(&d, IOMMU_SIM_DMA_MAX) == 0);  // a 1 MiB buffer held for the answer
    REQUIRE(d.status == IOMMU_SIM_DMA_PENDING);
    REQUIRE(f.unbind(kAccel) == 0);
    const DmaJob& held = f.ctx->dmas.at(d.dma_id);
    CHECK(held.status == IOMMU_SIM_DMA_ABORTED);
    CHECK(held.bytes.capacity() == 0);  // freed: a bind/unbind loop cannot pile up buffers
    REQUIRE(f.bind("accel0", kAccel) == 0);  // a new binding starts with every credit
    CHECK(pri_cap(f, kAccel)->held_dmas == 0);
    CHECK(f.dma_status(d.dma_id).status == IOMMU_SIM_DMA_ABORTED);  // and the old one still reaps
}

TEST_CASE("a context holds at most kContextDmaLimit DMAs, whatever devices come and go") {
    Fixture f;
    PriSetup s(f);
    long result = 0;
    f.region(IOMMU_FAULT_REGION_SET_DEPTH, IOMMU_FAULT_REGION_DEPTH_MAX, 0, &result);  // no record lost
    REQUIRE(result == 0);
    size_t held = 0;
    while (held < kContextDmaLimit + IOMMU_PRI_REQUESTS_DEFAULT) {
        iommu_sim_dma d;
        const long r = s.stall(&d);
        if (r == -EBUSY) {  // this binding is full: let it go, bind again
            REQUIRE(f.unbind(kAccel) == 0);
            REQUIRE(f.bind("accel0", kAccel) == 0);
            REQUIRE(f.attach(kAccel, s.ioasid) == 0);
            REQUIRE(f.fault_register(kAccel) == 0);
            if (s.stall(&d) == -EBUSY)
                break;  // the context's own limit
        }
        ++held;
    }
    CHECK(f.ctx->dmas.size() == kContextDmaLimit);
}

TEST_CASE("a lazily pinned map of any size costs one record") {
    Fixture f;
    Buffer buf(K4);
    const long ioasid = f.alloc();
    const uint64_t huge = uint64_t{1} << 46;  // 64 TiB: an entry per page would be 2^34 of them
    CHECK(f.map(ioasid, 0, buf.ptr, huge, kRW | IOMMU_MAP_DMA_IOPF) == 0);
    CHECK(f.daemon_stats().mapped_bytes == huge);
    CHECK(f.ctx->ioasids.find(static_cast<uint32_t>(ioasid))->table_bytes() < 1024);
    CHECK(f.stats().locked_pages == 0);  // nothing pinned until a device touches it
    CHECK(f.unmap(ioasid, 0, huge) == static_cast<long long>(huge));
}

TEST_CASE("IOMMU constraints cost one step per IOMMU, whatever the number of attachments") {
    Fixture f;
    const long ioasid = f.alloc();
    REQUIRE(f.bind("accel0", kAccel) == 0);
    const IoAddressSpace& space = *f.ctx->ioasids.find(static_cast<uint32_t>(ioasid));
    CHECK(space.reserved().empty());
    constexpr uint32_t kPasids = 2000;
    for (uint32_t pasid = 1; pasid <= kPasids; ++pasid)
        REQUIRE(f.attach(kAccel, ioasid, pasid) == 0);
    REQUIRE(f.attach(kAccel, ioasid) == 0);
    CHECK(space.reserved().size() == 1);  // iommu0's MSI window, once -- not once per attachment
    CHECK(space.attached_units.at(0) == kPasids + 1);
    for (uint32_t pasid = 1; pasid <= kPasids; ++pasid)
        REQUIRE(f.detach(kAccel, pasid) == 0);
    CHECK(space.reserved().size() == 1);  // the whole-device attachment still needs it
    REQUIRE(f.detach(kAccel) == 0);
    CHECK(space.reserved().empty());  // the last one gone: free to map there again
    CHECK(space.aperture_end() == kApertureEnd);
}
