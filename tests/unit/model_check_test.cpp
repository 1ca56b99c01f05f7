// The invariant checker (core/model_check.h) must see every kind of
// inconsistency it claims to: each case breaks one cross-reference behind
// the model's back and expects a complaint naming it.  (Every Fixture also
// runs the checker when it ends, so every other test checks the model too.)
#include <doctest/doctest.h>

#include <algorithm>

#include "../../devices/device_ops.h"
#include "fixture.h"

using namespace ciommu;
using namespace ciommu::test;

namespace {

constexpr uint64_t kNic = 1, kAccel = 7;

// A model with something of every kind: a mapping, attachments, a route, an
// IOTLB entry, a charge, a stalled DMA and its page request.
struct Populated {
    Fixture& f;
    Buffer buf{2 * 4096};
    long ioasid;
    iommu_sim_dma stalled{};

    explicit Populated(Fixture& fixture) : f(fixture) {
        ioasid = f.alloc();
        REQUIRE(f.map(ioasid, 0x100000, buf.ptr, 4096) == 0);
        REQUIRE(f.bind("nic0", kNic) == 0);
        REQUIRE(f.attach(kNic, ioasid) == 0);
        char byte;
        REQUIRE(f.dma(kNic, 0x100000, &byte, 1, false) == 0);  // fills the IOTLB
        REQUIRE(f.bind("accel0", kAccel) == 0);
        REQUIRE(f.attach(kAccel, ioasid) == 0);
        REQUIRE(f.fault_register(kAccel) == 0);
        REQUIRE(f.dma(kAccel, 0x200000, &byte, 1, false, {}, &stalled) == 0);
        REQUIRE(stalled.status == IOMMU_SIM_DMA_PENDING);
    }
    IoAddressSpace& space() { return *f.ctx->ioasids.find(static_cast<uint32_t>(ioasid)); }
    BoundDevice& dev(uint64_t cookie) { return *f.ctx->find_device(cookie); }
};

// Whether the checker complains with a sentence containing `words`.
bool complains(Fixture& f, const std::string& words) {
    std::lock_guard guard(f.model.lock());
    const auto problems = check_model(f.model);
    return std::any_of(problems.begin(), problems.end(),
                       [&](const std::string& p) { return p.find(words) != std::string::npos; });
}

}  // namespace

TEST_CASE("the checker finds a sound populated model sound") {
    Fixture f;
    Populated p(f);
    std::lock_guard guard(f.model.lock());
    CHECK(check_model(f.model).empty());
}

TEST_CASE("the checker sees each broken cross-reference") {
    Fixture f;
    Populated p(f);
    const ProcessRef self = f.model.processes().for_caller(getpid());

    SUBCASE("a charge without a pin, and a pin without a charge") {
        REQUIRE(f.model.ledger().pin(*self, 0x7f0000000000, 1) == 0);
        CHECK(complains(f, "pins, its mappings and mdev pins make 0"));
        f.model.ledger().unpin(*self, 0x7f0000000000, 1);
        f.model.ledger().unpin(*self, reinterpret_cast<uintptr_t>(p.buf.ptr), 1);
        CHECK(complains(f, "but not charged"));
        REQUIRE(f.model.ledger().pin(*self, reinterpret_cast<uintptr_t>(p.buf.ptr), 1) == 0);
    }
    SUBCASE("an attachment count") {
        ++p.space().attachments;
        CHECK(complains(f, "attachments, has"));
        --p.space().attachments;
    }
    SUBCASE("a route that is gone") {
        const RouteKey route = *route_of(f.model, p.dev(kNic).attachments.at(kNoPasid));
        Attachment* a = f.model.routes().find(route);
        f.model.routes().remove(route);
        CHECK(complains(f, "has no route to it"));
        CHECK(complains(f, "no route leads to its space"));  // the nic's IOTLB entry
        f.model.routes().add(route, a);
    }
    SUBCASE("a DMA slot count") {
        ++p.dev(kAccel).held_dmas;
        CHECK(complains(f, "held DMAs, has"));
        --p.dev(kAccel).held_dmas;
    }
    SUBCASE("a stalled DMA nobody waits on") {
        auto groups = std::move(p.dev(kAccel).page_requests);
        CHECK(complains(f, "is waited on by 0 page requests"));
        p.dev(kAccel).page_requests = std::move(groups);
    }
    SUBCASE("a group claim") {
        f.model.devices().claim_group(p.dev(kNic).spec->group, f.ctx);
        CHECK(complains(f, "claimed by 2 devices"));
        f.model.devices().release_group(p.dev(kNic).spec->group);
    }
    SUBCASE("constraints that are not the IOMMUs'") {
        p.space().attached_units.clear();
        CHECK(complains(f, "attached_units is not the IOMMUs of its attachments"));
        CHECK(complains(f, "its constraints are not those of its IOMMUs"));
        p.space().attached_units[0] = 2;
    }
    std::lock_guard guard(f.model.lock());
    CHECK(check_model(f.model).empty());  // each case put back what it broke
}
