// IOMMU_DEVICE_GET_INFO's answer: flags, the capability chain walked by its
// `next` offsets, and the too-small-buffer protocol (argsz = size needed).
#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <vector>

#include "../../devices/device_info.h"
#include "cuse-iommu.h"

using namespace ciommu;

namespace {

constexpr uint64_t kCookie = 0x1122334455667788;
constexpr PriCredits kCredits{16, 3, 5};

const DeviceSpec& dev(const Topology& topo, std::string_view name) {
    const DeviceSpec* d = topo.find_device(name);
    REQUIRE(d != nullptr);
    return *d;
}

struct Answer {
    size_t needed;
    std::vector<std::byte> buf;

    template <class T>
    T at(size_t offset) const {
        REQUIRE(offset + sizeof(T) <= buf.size());
        T v;
        std::memcpy(&v, buf.data() + offset, sizeof v);
        return v;
    }
    iommu_device_info info() const { return at<iommu_device_info>(0); }
};

Answer get_info(const Topology& topo, std::string_view name, size_t size, std::byte fill = std::byte{0xa5}) {
    Answer a{0, std::vector<std::byte>(size, fill)};
    a.needed = build_device_info(topo, dev(topo, name), kCookie, kCredits, a.buf);
    return a;
}

// The whole answer, in a buffer just large enough.
Answer full_info(const Topology& topo, std::string_view name) {
    const size_t needed = get_info(topo, name, sizeof(iommu_device_info)).needed;
    return get_info(topo, name, needed);
}

// Follows the chain from cap_offset: returns id -> offset, in chain order.
std::vector<std::pair<uint16_t, size_t>> walk(const Answer& a) {
    std::vector<std::pair<uint16_t, size_t>> caps;
    const iommu_device_info info = a.info();
    REQUIRE((info.flags & IOMMU_DEVICE_INFO_CAPS) != 0);
    size_t offset = info.cap_offset;
    CHECK(offset == sizeof(iommu_device_info));
    while (offset != 0) {
        REQUIRE(caps.size() < 16);  // no loop
        CHECK(offset % 8 == 0);
        const auto header = a.at<iommu_info_cap_header>(offset);
        CHECK(header.version == 1);
        for (const auto& seen : caps)
            CHECK_MESSAGE(seen.first != header.id, "capability " << header.id << " twice");
        caps.emplace_back(header.id, offset);
        if (header.next != 0)
            CHECK(header.next > offset);  // forward only
        offset = header.next;
    }
    return caps;
}

std::vector<uint16_t> ids(const std::vector<std::pair<uint16_t, size_t>>& caps) {
    std::vector<uint16_t> out;
    for (const auto& [id, offset] : caps)
        out.push_back(id);
    return out;
}

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

Ranges iova_ranges(const Answer& a, size_t offset) {
    const auto cap = a.at<iommu_info_cap_iova_ranges>(offset);
    CHECK(cap.__reserved == 0);
    Ranges out;
    for (uint32_t i = 0; i < cap.nr_ranges; ++i) {
        const auto r = a.at<iommu_iova_range>(offset + sizeof cap + i * sizeof(iommu_iova_range));
        out.emplace_back(r.start, r.last);
    }
    return out;
}

std::vector<iommu_resv_region> resv_regions(const Answer& a, size_t offset) {
    const auto cap = a.at<iommu_info_cap_resv_regions>(offset);
    std::vector<iommu_resv_region> out;
    for (uint32_t i = 0; i < cap.nr_regions; ++i)
        out.push_back(a.at<iommu_resv_region>(offset + sizeof cap + i * sizeof(iommu_resv_region)));
    return out;
}

}  // namespace

TEST_CASE("accel0's whole chain describes iommu0") {
    const Topology& topo = default_topology();
    const Answer a = full_info(topo, "accel0");
    const iommu_device_info info = a.info();
    CHECK(a.needed == a.buf.size());
    CHECK(info.argsz == a.needed);
    CHECK(info.cookie == kCookie);
    CHECK(info.__reserved == 0);
    CHECK(info.flags == (IOMMU_DEVICE_INFO_PASID | IOMMU_DEVICE_INFO_PRI | IOMMU_DEVICE_INFO_ENFORCE_SNOOP |
                         IOMMU_DEVICE_INFO_DIRTY_TRACKING | IOMMU_DEVICE_INFO_CAPS));

    const auto caps = walk(a);
    REQUIRE(ids(caps) == std::vector<uint16_t>{IOMMU_DEVICE_INFO_CAP_PAGE_SIZES, IOMMU_DEVICE_INFO_CAP_IOVA_RANGES,
                                               IOMMU_DEVICE_INFO_CAP_RESV_REGIONS, IOMMU_DEVICE_INFO_CAP_NESTING,
                                               IOMMU_DEVICE_INFO_CAP_PASID, IOMMU_DEVICE_INFO_CAP_PRI});
    CHECK(caps.back().second + sizeof(iommu_info_cap_pri) == a.needed);  // the last cap ends the answer

    CHECK(a.at<iommu_info_cap_page_sizes>(caps[0].second).pgsize_bitmap == ((1u << 12) | (1u << 21) | (1u << 30)));
    CHECK(iova_ranges(a, caps[1].second) == Ranges{{0, 0xfedfffff}, {0xfef00000, 0xffffffffffff}});
    const auto regions = resv_regions(a, caps[2].second);
    REQUIRE(regions.size() == 1);
    CHECK(regions[0].start == 0xfee00000);
    CHECK(regions[0].last == 0xfeefffff);
    CHECK(regions[0].type == IOMMU_RESV_MSI);
    CHECK(regions[0].__reserved == 0);
    const auto nesting = a.at<iommu_info_cap_nesting>(caps[3].second);
    CHECK(nesting.flags == (IOMMU_NESTING_SUPPORTED | IOMMU_NESTING_HARDWARE));
    CHECK(nesting.pgtable_formats == 1u << IOMMU_PGTABLE_FORMAT_X86_64);
    const auto pasid = a.at<iommu_info_cap_pasid>(caps[4].second);
    CHECK(pasid.pasid_width == 20);
    CHECK(pasid.flags == IOMMU_PASID_IOPF);
    const auto pri = a.at<iommu_info_cap_pri>(caps[5].second);
    CHECK(pri.max_requests == kCredits.max_requests);
    CHECK(pri.outstanding == kCredits.outstanding);
    CHECK(pri.held_dmas == kCredits.held_dmas);
    CHECK(pri.__reserved == 0);
}

TEST_CASE("legacy0's chain describes iommu1: no nesting, no PASIDs, two reserved regions") {
    const Answer a = full_info(default_topology(), "legacy0");
    CHECK(a.info().flags == IOMMU_DEVICE_INFO_CAPS);
    const auto caps = walk(a);
    REQUIRE(caps.size() == 5);
    CHECK(a.at<iommu_info_cap_page_sizes>(caps[0].second).pgsize_bitmap == 4096);
    CHECK(iova_ranges(a, caps[1].second) ==
          Ranges{{0, 0xdfffffff}, {0xf0000000, 0xfedfffff}, {0xfef00000, 0x7fffffffff}});
    const auto regions = resv_regions(a, caps[2].second);
    REQUIRE(regions.size() == 2);
    CHECK(regions[0].type == IOMMU_RESV_RESERVED);
    CHECK(regions[1].type == IOMMU_RESV_MSI);
    CHECK(a.at<iommu_info_cap_nesting>(caps[3].second).flags == 0);
    CHECK(a.at<iommu_info_cap_nesting>(caps[3].second).pgtable_formats == 0);
    CHECK(a.at<iommu_info_cap_pasid>(caps[4].second).pasid_width == 0);
    CHECK(a.at<iommu_info_cap_pasid>(caps[4].second).flags == 0);
}

TEST_CASE("flags of every default device") {
    const Topology& topo = default_topology();
    constexpr uint32_t MDEV = IOMMU_DEVICE_INFO_MDEV, SW = IOMMU_DEVICE_INFO_SW_MDEV,
                       PASID = IOMMU_DEVICE_INFO_PASID, PRI = IOMMU_DEVICE_INFO_PRI,
                       SNOOP = IOMMU_DEVICE_INFO_ENFORCE_SNOOP, DIRTY = IOMMU_DEVICE_INFO_DIRTY_TRACKING;
    // iommu0 (snoop control, dirty tracking) is behind all but legacy0
    // (iommu1) and the software mdev (no IOMMU).
    const std::pair<const char*, uint32_t> cases[] = {
        {"nic0", SNOOP | DIRTY},
        {"nic1", SNOOP | DIRTY},
        {"nic2", SNOOP | DIRTY},
        {"accel0", PASID | PRI | SNOOP | DIRTY},
        {"gpu0", PASID | SNOOP | DIRTY},
        {"mdev0", MDEV | SNOOP | DIRTY},
        {"mdev1", MDEV | SNOOP | DIRTY},
        {"vmdev0", MDEV | SW},
        {"legacy0", 0},
    };
    for (const auto& c : cases) {
        const char* name = c.first;
        const uint32_t flags = c.second;
        CAPTURE(name);
        CHECK(device_info_flags(topo, dev(topo, name)) == flags);
        CHECK(full_info(topo, name).info().flags == (flags | IOMMU_DEVICE_INFO_CAPS));
    }
}

TEST_CASE("an IOMMU-backed mdev reports its parent's IOMMU") {
    const Topology& topo = default_topology();
    const Answer m = full_info(topo, "mdev0");
    const Answer p = full_info(topo, "gpu0");
    REQUIRE(m.needed == p.needed);
    CHECK(std::equal(m.buf.begin() + sizeof(iommu_device_info), m.buf.end(),
                     p.buf.begin() + sizeof(iommu_device_info)));
}

TEST_CASE("a software mdev reports 4K pages and the IOASID aperture, nothing else") {
    const Answer a = full_info(default_topology(), "vmdev0");
    CHECK(a.info().flags == (IOMMU_DEVICE_INFO_MDEV | IOMMU_DEVICE_INFO_SW_MDEV | IOMMU_DEVICE_INFO_CAPS));
    const auto caps = walk(a);
    REQUIRE(ids(caps) == std::vector<uint16_t>{IOMMU_DEVICE_INFO_CAP_PAGE_SIZES, IOMMU_DEVICE_INFO_CAP_IOVA_RANGES});
    CHECK(a.at<iommu_info_cap_page_sizes>(caps[0].second).pgsize_bitmap == 4096);
    CHECK(iova_ranges(a, caps[1].second) == Ranges{{0, kSwMdevIovaLast}});
    CHECK(a.needed == sizeof(iommu_device_info) + sizeof(iommu_info_cap_page_sizes) +
                          sizeof(iommu_info_cap_iova_ranges) + sizeof(iommu_iova_range));
}

TEST_CASE("a buffer too small for the chain gets the struct and argsz = the size needed") {
    const Topology& topo = default_topology();
    const size_t needed = full_info(topo, "accel0").needed;
    for (size_t size : {sizeof(iommu_device_info), sizeof(iommu_device_info) + 8, needed - 1}) {
        CAPTURE(size);
        const Answer a = get_info(topo, "accel0", size);
        const iommu_device_info info = a.info();
        CHECK(a.needed == needed);
        CHECK(info.argsz == needed);
        CHECK(info.cap_offset == 0);
        CHECK(info.flags == (IOMMU_DEVICE_INFO_PASID | IOMMU_DEVICE_INFO_PRI | IOMMU_DEVICE_INFO_ENFORCE_SNOOP |
                             IOMMU_DEVICE_INFO_DIRTY_TRACKING));
        CHECK(info.cookie == kCookie);
        for (size_t i = sizeof info; i < size; ++i)
            CHECK(a.buf[i] == std::byte{0});  // no stale bytes go back
    }
}

TEST_CASE("a buffer of exactly the size needed, or larger, gets everything") {
    const Topology& topo = default_topology();
    const size_t needed = full_info(topo, "nic0").needed;
    for (size_t size : {needed, needed + 8, needed + 100, size_t{IOMMU_ARGSZ_MAX}}) {
        CAPTURE(size);
        const Answer a = get_info(topo, "nic0", size);
        CHECK(a.info().argsz == needed);  // what the answer needs, not what was passed
        CHECK(a.info().cap_offset == sizeof(iommu_device_info));
        CHECK(walk(a).size() == 5);
        for (size_t i = needed; i < size; ++i)
            CHECK(a.buf[i] == std::byte{0});
    }
}

TEST_CASE("a buffer smaller than the struct is left alone") {
    const Topology& topo = default_topology();
    const Answer a = get_info(topo, "nic0", sizeof(iommu_device_info) - 1);
    CHECK(a.needed == full_info(topo, "nic0").needed);
    for (std::byte b : a.buf)
        CHECK(b == std::byte{0xa5});
}

TEST_CASE("the buffer need not be aligned") {
    const Topology& topo = default_topology();
    const Answer aligned = full_info(topo, "accel0");
    std::vector<std::byte> raw(aligned.needed + 1);
    const std::span<std::byte> odd(raw.data() + 1, aligned.needed);
    CHECK(build_device_info(topo, dev(topo, "accel0"), kCookie, kCredits, odd) == aligned.needed);
    CHECK(std::equal(odd.begin(), odd.end(), aligned.buf.begin()));
}

TEST_CASE("PASID and PRI need both the device and its IOMMU") {
    const auto topo_or_fail = [](const char* text) {
        auto result = parse_topology(text);
        if (const auto* err = std::get_if<TopologyError>(&result))
            FAIL(describe(*err));
        return std::get<Topology>(std::move(result));
    };
    const Topology topo = topo_or_fail(R"({
      "iommus": [
        { "name": "plain", "address_width": 48, "page_sizes": ["4K"] },
        { "name": "pasid", "address_width": 48, "page_sizes": ["4K"], "pasid_width": 10 }
      ],
      "devices": [
        { "name": "a", "type": "pci", "bdf": "00:01.0", "iommu": "plain", "group": 1, "pasid": true, "pri": true },
        { "name": "b", "type": "pci", "bdf": "00:02.0", "iommu": "pasid", "group": 2, "pasid": true, "pri": true },
        { "name": "m", "type": "mdev", "parent": "b" }
      ]
    })");
    CHECK(device_info_flags(topo, dev(topo, "a")) == 0);                        // IOMMU: no PASIDs, no iopf
    CHECK(device_info_flags(topo, dev(topo, "b")) == IOMMU_DEVICE_INFO_PASID);  // no iopf: no PRI
    CHECK(device_info_flags(topo, dev(topo, "m")) == IOMMU_DEVICE_INFO_MDEV);
    const Answer b = full_info(topo, "b");
    const auto caps = walk(b);
    CHECK(b.at<iommu_info_cap_pasid>(caps[4].second).pasid_width == 10);
    CHECK(b.at<iommu_info_cap_pasid>(caps[4].second).flags == 0);
    CHECK(iova_ranges(b, caps[1].second) == Ranges{{0, 0xffffffffffff}});
    CHECK(resv_regions(b, caps[2].second).empty());
}

TEST_CASE("answer sizes for the default topology are the ones docs/uapi.md and docs/topology.md give") {
    const Topology& topo = default_topology();
    const std::pair<const char*, size_t> documented[] = {
        {"nic0", 160}, {"nic1", 160}, {"nic2", 160}, {"accel0", 184}, {"gpu0", 160},
        {"mdev0", 160}, {"mdev1", 160}, {"vmdev0", 72}, {"legacy0", 200},
    };
    for (const auto& [name, size] : documented) {
        CAPTURE(name);
        CHECK(full_info(topo, name).needed == size);
    }
}

TEST_CASE("the largest answer (64 reserved regions and a PRI capability) fits IOMMU_ARGSZ_MAX") {
    std::string regions;
    for (int i = 0; i < 64; ++i)
        regions += (i ? "," : "") + std::string(R"({"start": )") + std::to_string(0x10000 * (i + 1)) +
                   R"(, "size": "4K", "type": "reserved"})";
    const std::string text = R"({"iommus": [{"name": "u", "address_width": 48, "page_sizes": ["4K"],
        "pasid_width": 20, "iopf": true, "reserved_regions": [)" + regions + R"(]}],
        "devices": [{"name": "d", "type": "pci", "bdf": "00:01.0", "iommu": "u", "group": 0,
                     "pasid": true, "pri": true}]})";
    auto result = parse_topology(text);
    REQUIRE(std::holds_alternative<Topology>(result));
    const Topology& topo = std::get<Topology>(result);
    const Answer a = get_info(topo, "d", IOMMU_ARGSZ_MAX);
    CHECK(a.needed == 2704);  // the largest possible, as the docs say
    CHECK(a.needed <= IOMMU_ARGSZ_MAX);
    const auto caps = walk(a);
    CHECK(iova_ranges(a, caps[1].second).size() == 65);
    CHECK(resv_regions(a, caps[2].second).size() == 64);
}
