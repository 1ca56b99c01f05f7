// VFIO type1v2 map/unmap rules of a kernel-managed address space.
#include <doctest/doctest.h>

#include <cerrno>
#include <memory>
#include <utility>
#include <vector>

#include "../../ioasid/io_address_space.h"
#include "../../ioasid/ioasid_table.h"

using namespace ciommu;

namespace {

constexpr uint64_t K4 = 4096;

// Bookkeeping only: these owners have no memory to reach.
const ProcessRef kOwner = Process::unbacked(1);

MapRequest req(uint64_t iova, uint64_t size, uint64_t vaddr = 0x10000000, uint32_t prot = kProtRead) {
    return {iova, size, vaddr, prot, kOwner};
}

MapRequest iopf_req(uint64_t iova, uint64_t size, uint64_t vaddr = 0x10000000) {
    return {iova, size, vaddr, kProtRead | kProtWrite, kOwner, true};
}

void ignore_page(const Process&, uint64_t) {}

long long unmap(IoAddressSpace& space, uint64_t iova, uint64_t size) {
    return space.unmap(iova, size, ignore_page);
}

}  // namespace

TEST_CASE("map requests are checked against the type1 rules") {
    IoAddressSpace space;
    space.insert(req(0x100000, 4 * K4));  // [1 MiB, 1 MiB + 16 KiB)

    struct Case {
        const char* what;
        MapRequest request;
        long expected;
    };
    const Case cases[] = {
        {"plain 4 KiB", req(0x200000, K4), 0},
        {"read+write", req(0x200000, K4, 0x10000000, kProtRead | kProtWrite), 0},
        {"no permission", req(0x200000, K4, 0x10000000, 0), -EINVAL},
        {"unknown permission bit", req(0x200000, K4, 0x10000000, 4), -EINVAL},
        {"size 0", req(0x200000, 0), -EINVAL},
        {"misaligned iova", req(0x200800, K4), -EINVAL},
        {"misaligned size", req(0x200000, K4 + 1), -EINVAL},
        {"misaligned vaddr", req(0x200000, K4, 0x10000010), -EINVAL},
        {"iova+size wraps", req(~uint64_t{0} - K4 + 1, 2 * K4), -EINVAL},
        {"vaddr+size wraps", req(0x200000, 2 * K4, ~uint64_t{0} - K4 + 1), -EINVAL},
        {"ends past the aperture", req(kApertureEnd - K4, 2 * K4), -EINVAL},
        {"last page of the aperture", req(kApertureEnd - K4, K4), 0},
        {"overlaps the start", req(0x100000 - K4, 2 * K4), -EEXIST},
        {"inside", req(0x101000, K4), -EEXIST},
        {"overlaps the end", req(0x103000, 2 * K4), -EEXIST},
        {"covers it", req(0x0ff000, 8 * K4), -EEXIST},
        {"adjacent below", req(0x100000 - K4, K4), 0},
        {"adjacent above", req(0x104000, K4), 0},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        CHECK(space.check_map(c.request) == c.expected);
    }
    CHECK(space.mapping_count() == 1);  // checking changes nothing
}

TEST_CASE("unmap removes whole mappings and never splits one") {
    IoAddressSpace space;
    space.insert(req(0x100000, 2 * K4));  // A: [0x100000, 0x102000)
    space.insert(req(0x102000, K4));      // B: [0x102000, 0x103000)
    space.insert(req(0x200000, K4));      // C

    SUBCASE("a range that cuts A's start fails and removes nothing") {
        CHECK(unmap(space, 0x101000, 2 * K4) == -EINVAL);
        CHECK(space.mapping_count() == 3);
    }
    SUBCASE("a range that cuts A's end fails") {
        CHECK(unmap(space, 0x0ff000, 2 * K4) == -EINVAL);
        CHECK(space.mapping_count() == 3);
    }
    SUBCASE("exactly A and B") {
        CHECK(unmap(space, 0x100000, 3 * K4) == 3 * K4);
        CHECK(space.mapping_count() == 1);
        CHECK(space.mapped_bytes() == K4);
    }
    SUBCASE("a wide range over everything") {
        CHECK(unmap(space, 0, 0x400000) == 4 * K4);
        CHECK(space.mapping_count() == 0);
    }
    SUBCASE("a hole unmaps nothing and succeeds") {
        CHECK(unmap(space, 0x300000, K4) == 0);
        CHECK(space.mapping_count() == 3);
    }
    SUBCASE("bad shapes") {
        CHECK(unmap(space, 0x100000, 0) == -EINVAL);
        CHECK(unmap(space, 0x100800, K4) == -EINVAL);
        CHECK(unmap(space, 0x100000, 100) == -EINVAL);
        CHECK(unmap(space, ~uint64_t{0} - K4 + 1, 2 * K4) == -EINVAL);
        CHECK(space.mapping_count() == 3);
    }
    SUBCASE("unmap all") {
        CHECK(space.unmap_all(ignore_page) == 4 * K4);
        CHECK(space.mapping_count() == 0);
        CHECK(space.mapped_bytes() == 0);
    }
}

TEST_CASE("lookup finds the page and the byte an IOVA lands on") {
    IoAddressSpace space;
    space.insert(req(0x100000, 2 * K4, 0x7000000, kProtRead | kProtWrite));
    auto target = space.lookup(0x101ff8);
    REQUIRE(target.has_value());
    CHECK(target->vaddr == 0x7001ff8);
    CHECK(target->owner == kOwner.get());
    CHECK(target->prot == (kProtRead | kProtWrite));
    CHECK_FALSE(space.lookup(0x102000).has_value());
    CHECK_FALSE(space.lookup(0x0fffff).has_value());
    CHECK_FALSE(space.lookup(~uint64_t{0}).has_value());
}

TEST_CASE("unmap reports every page it removes with its owner") {
    IoAddressSpace space;
    const ProcessRef a = Process::unbacked(11), b = Process::unbacked(22);
    space.insert({0x100000, 2 * K4, 0x7000000, kProtRead, a});
    space.insert({0x200000, K4, 0x9000000, kProtRead, b});
    std::vector<std::pair<pid_t, uint64_t>> pages;
    CHECK(space.unmap(0, 0x400000, [&](const Process& owner, uint64_t va) { pages.emplace_back(owner.pid(), va); }) ==
          3 * K4);
    const std::vector<std::pair<pid_t, uint64_t>> expected = {{11, 0x7000000}, {11, 0x7001000}, {22, 0x9000000}};
    CHECK(pages == expected);
    CHECK(space.table_bytes() == 0);  // empty tables are freed
    CHECK(a.use_count() == 1);        // the space holds its owners no longer
}

TEST_CASE("a lazily pinned (IOPF) mapping costs one record, whatever its size") {
    IoAddressSpace space;
    const uint64_t huge = uint64_t{1} << 46;  // 64 TiB: one entry per page would be 2^34 entries
    REQUIRE(space.check_map(iopf_req(0, huge)) == 0);
    REQUIRE(space.insert(iopf_req(0, huge)) == 0);
    CHECK(space.mapping_count() == 1);
    CHECK(space.mapped_bytes() == huge);
    CHECK(space.table_bytes() < 1024);

    auto target = space.lookup(0x12345678);
    REQUIRE(target.has_value());
    CHECK(target->vaddr == 0x10000000 + 0x12345678);
    CHECK_FALSE(target->pinned);
    space.fault_in(0x12345678);
    CHECK(space.lookup(0x12345000)->pinned);  // its page got an entry
    CHECK_FALSE(space.lookup(0x12346000)->pinned);
    CHECK(space.mapping_count() == 1);       // still one mapping

    CHECK(space.check_map(req(huge - K4, K4)) == -EEXIST);  // it overlaps
    CHECK(unmap(space, K4, K4) == -EINVAL);                  // never split, even where faulted in
    CHECK(unmap(space, 0x12345000, K4) == -EINVAL);
    std::vector<uint64_t> unpinned;
    CHECK(space.unmap_all([&](const Process&, uint64_t va) { unpinned.push_back(va); }) == huge);
    CHECK(unpinned == std::vector<uint64_t>{0x10000000 + 0x12345000});  // only what was pinned
    CHECK(space.mapping_count() == 0);
    CHECK(space.mapped_bytes() == 0);
    CHECK(space.table_bytes() == 0);
}

TEST_CASE("IOPF and pinned mappings side by side: listing, unmap boundaries, constraints") {
    IoAddressSpace space;
    space.insert(req(0x100000, 2 * K4, 0x7000000));
    space.insert(iopf_req(0x200000, 4 * K4, 0x8000000));
    space.insert(req(0x300000, K4, 0x9000000));
    space.fault_in(0x200000);  // the first page of the IOPF range

    std::vector<std::pair<uint64_t, bool>> listed;
    space.for_each_mapping([&](const IoAddressSpace::MappingInfo& m) {
        listed.emplace_back(m.iova, m.iopf);
        return true;
    });
    const std::vector<std::pair<uint64_t, bool>> expected = {{0x100000, false}, {0x200000, true}, {0x300000, false}};
    CHECK(listed == expected);

    CHECK(space.check_fits(kApertureEnd, {{0x203000, 0x203fff}}) == -EADDRINUSE);  // in the IOPF range
    CHECK(space.check_fits(0x200000, {}) == -ERANGE);
    CHECK(unmap(space, 0x200000, 2 * K4) == -EINVAL);  // cuts the IOPF range's end
    CHECK(unmap(space, 0x200000, 4 * K4) == 4 * K4);    // exactly it
    CHECK(space.mapping_count() == 2);
    CHECK(space.lookup(0x200000) == std::nullopt);
}

TEST_CASE("constraints from attached IOMMUs") {
    IoAddressSpace space;
    space.set_constraints(uint64_t{1} << 39, {{0xfee00000, 0xfeefffff}});
    CHECK(space.check_map(req(0xfee00000, K4)) == -EADDRINUSE);
    CHECK(space.check_map(req((uint64_t{1} << 39) - K4, 2 * K4)) == -EINVAL);
    CHECK(space.check_map(req((uint64_t{1} << 39) - K4, K4)) == 0);
    space.set_constraints(kApertureEnd, {});
    space.insert(req(uint64_t{1} << 40, K4));
    space.insert(req(0xfef00000 - K4, K4));
    CHECK(space.check_fits(uint64_t{1} << 39, {}) == -ERANGE);
    CHECK(space.check_fits(kApertureEnd, {{0xfee00000, 0xfeefffff}}) == -EADDRINUSE);
    CHECK(space.check_fits(kApertureEnd, {{0xfee00000, 0xfeefefff}}) == 0);
}

TEST_CASE("IOASID ids start at 1, reuse the lowest free id and have a limit") {
    IoasidTable table(3);
    CHECK(table.alloc(std::make_unique<IoAddressSpace>()) == 1);
    CHECK(table.alloc(std::make_unique<IoAddressSpace>()) == 2);
    CHECK(table.alloc(std::make_unique<IoAddressSpace>()) == 3);
    CHECK(table.alloc(std::make_unique<IoAddressSpace>()) == -ENOSPC);
    CHECK(table.free(2) == 0);
    CHECK(table.free(2) == -ENOENT);
    CHECK(table.find(2) == nullptr);
    CHECK(table.alloc(std::make_unique<IoAddressSpace>()) == 2);
    CHECK(table.find(2) != nullptr);
}
