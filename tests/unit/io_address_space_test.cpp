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

MapRequest req(uint64_t iova, uint64_t size, uint64_t vaddr = 0x10000000, uint32_t prot = kProtRead) {
    return {iova, size, vaddr, prot, 1};
}

void ignore_page(pid_t, uint64_t) {}

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
    CHECK(target->pid == 1);
    CHECK(target->prot == (kProtRead | kProtWrite));
    CHECK_FALSE(space.lookup(0x102000).has_value());
    CHECK_FALSE(space.lookup(0x0fffff).has_value());
    CHECK_FALSE(space.lookup(~uint64_t{0}).has_value());
}

TEST_CASE("unmap reports every page it removes with its owner") {
    IoAddressSpace space;
    space.insert({0x100000, 2 * K4, 0x7000000, kProtRead, 11});
    space.insert({0x200000, K4, 0x9000000, kProtRead, 22});
    std::vector<std::pair<pid_t, uint64_t>> pages;
    CHECK(space.unmap(0, 0x400000, [&](pid_t pid, uint64_t va) { pages.emplace_back(pid, va); }) == 3 * K4);
    const std::vector<std::pair<pid_t, uint64_t>> expected = {{11, 0x7000000}, {11, 0x7001000}, {22, 0x9000000}};
    CHECK(pages == expected);
    CHECK(space.table_bytes() == 0);  // empty tables are freed
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
