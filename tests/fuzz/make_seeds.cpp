// Writes fuzz_dispatcher's seed corpus: one file per session a client
// would really run (the input format is fuzz_dispatcher.cpp's), built from
// the uAPI's own structs so that every argsz and offset is right.  The
// fuzzer starts from these and mutates them, instead of having to find a
// bind, a mapping and an attachment by chance first.
//   make_seeds DIR
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../../dispatcher/command_table.h"
#include "../../ioasid/x86_pgtable.h"
#include "cuse-iommu-iommufd.h"
#include "cuse-iommu.h"

namespace {

constexpr uint64_t K4 = 4096;
enum Kind : uint8_t { kArenaPage, kEventfd, kFullEventfd, kLastGrpid, kLastResult, kLastDmaId };
struct Fixup {
    size_t at;
    Kind kind;
    uint8_t extra = 0;
};

class Seed {
public:
    void open() { put8(0); }
    void release(uint8_t slot) { put8(1), put8(slot); }
    template <typename T> void ioctl(uint8_t slot, unsigned nr, const T& args, std::vector<Fixup> fixups = {}) {
        struct_ioctl(slot, command_index(nr), args, fixups);
    }
    // A command of the iommufd profile, in an iommufd slot (2 or 3).
    template <typename T> void fd_ioctl(uint8_t slot, unsigned cmd, const T& args, std::vector<Fixup> fixups = {}) {
        struct_ioctl(slot, iommufd_command_index(_IOC_NR(cmd)), args, fixups);
    }
    template <typename T> void struct_ioctl(uint8_t slot, uint8_t command, const T& args, const std::vector<Fixup>& fixups) {
        put8(2), put8(slot), put8(command), put8(0);
        put(uint16_t(sizeof(T))), put(uint16_t(0)), put8(uint8_t(fixups.size()));
        for (const Fixup& f : fixups)
            put(uint16_t(f.at)), put8(f.kind), put8(f.extra);
        const auto* bytes = reinterpret_cast<const uint8_t*>(&args);
        out_.insert(out_.end(), bytes, bytes + sizeof(T));
    }
    void value_ioctl(uint8_t slot, unsigned nr, uint64_t value) {
        put8(2), put8(slot), put8(command_index(nr)), put8(1), put(value);
    }
    void write(uint8_t page, uint16_t offset, const void* data, uint8_t len) {
        put8(3), put8(page), put(offset), put8(len);
        out_.insert(out_.end(), static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + len);
    }
    void read(uint8_t slot, uint8_t count) { put8(4), put8(slot), put8(count); }
    void tick(uint8_t steps) { put8(6), put8(steps); }
    void page(uint8_t page, uint8_t state) { put8(7), put8(page), put8(state); }

    void save(const std::string& path) const {
        FILE* f = std::fopen(path.c_str(), "wb");
        if (!f || std::fwrite(out_.data(), 1, out_.size(), f) != out_.size() || std::fclose(f) != 0)
            std::perror(path.c_str());
    }

private:
    // The fuzzer's command byte: the number's offset from IOMMU_BASE.
    static uint8_t command_index(unsigned nr) { return static_cast<uint8_t>(nr - IOMMU_BASE); }
    // In an iommufd slot: iommufd's numbers from 0x80, cuse-iommu's own
    // (0xf0 and up) as they are (fuzz_dispatcher.cpp, pick_command).
    static uint8_t iommufd_command_index(unsigned nr) { return static_cast<uint8_t>(nr >= 0xf0 ? nr : nr - 0x80); }
    void put8(uint8_t v) { out_.push_back(v); }
    template <typename T> void put(T v) {
        const auto* bytes = reinterpret_cast<const uint8_t*>(&v);
        out_.insert(out_.end(), bytes, bytes + sizeof(T));
    }
    std::vector<uint8_t> out_;
};

// ---- argument builders ----
iommu_device_bind bind(const char* name, uint64_t cookie) {
    iommu_device_bind b{};
    b.argsz = sizeof(b);
    std::strncpy(b.name, name, sizeof(b.name) - 1);
    b.cookie = cookie;
    return b;
}
iommu_ioasid_alloc alloc(uint32_t flags = 0, uint32_t parent = 0, uint64_t pgd = 0) {
    return {sizeof(iommu_ioasid_alloc), flags, parent,
            (flags & IOMMU_IOASID_USER_PGTABLE) ? uint32_t{IOMMU_PGTABLE_FORMAT_X86_64} : 0u, pgd};
}
// vaddr: filled by a fixup with the arena page.
iommu_map_dma map(uint32_t ioasid, uint64_t iova, uint64_t pages, uint32_t flags) {
    return {sizeof(iommu_map_dma), flags, ioasid, 0, 0, iova, pages * K4};
}
Fixup vaddr_of(uint8_t page) { return {offsetof(iommu_map_dma, vaddr), kArenaPage, page}; }
iommu_device_attach attach(uint64_t cookie, uint32_t ioasid, uint32_t pasid = 0) {
    return {sizeof(iommu_device_attach), pasid ? uint32_t{IOMMU_ATTACH_PASID} : 0u, cookie, ioasid, pasid};
}
iommu_sim_dma dma(uint64_t cookie, uint64_t iova, uint64_t length, bool write, uint32_t pasid = 0) {
    iommu_sim_dma d{};
    d.argsz = sizeof(d);
    d.flags = (write ? IOMMU_SIM_DMA_WRITE : 0u) | (pasid ? IOMMU_SIM_DMA_PASID : 0u);
    d.cookie = cookie;
    d.pasid = pasid;
    d.iova = iova;
    d.length = length;
    return d;
}
Fixup data_at(uint8_t page) { return {offsetof(iommu_sim_dma, data), kArenaPage, page}; }

constexpr uint64_t kNic = 1, kMdev = 3, kSwMdev = 5, kAccel = 7;

Seed basic_dma() {
    Seed s;
    s.open();
    s.ioctl(0, IOMMU_NR_DEVICE_BIND, bind("nic0", kNic));
    s.ioctl(0, IOMMU_NR_IOASID_ALLOC, alloc());
    s.ioctl(0, IOMMU_NR_MAP_DMA, map(1, 0x100000, 4, IOMMU_MAP_DMA_READ | IOMMU_MAP_DMA_WRITE), {vaddr_of(0)});
    s.ioctl(0, IOMMU_NR_DEVICE_ATTACH, attach(kNic, 1));
    s.ioctl(0, IOMMU_NR_SIM_DMA, dma(kNic, 0x100008, 64, true), {data_at(8)});
    s.ioctl(0, IOMMU_NR_SIM_DMA, dma(kNic, 0x100008, 64, false), {data_at(9)});
    iommu_device_info info{sizeof(iommu_device_info), 0, kNic, 0, 0};
    s.ioctl(0, IOMMU_NR_DEVICE_GET_INFO, info);
    iommu_stats stats{};
    stats.argsz = sizeof(stats);
    s.ioctl(0, IOMMU_NR_GET_STATS, stats);
    iommu_unmap_dma unmap{sizeof(iommu_unmap_dma), 0, 1, 0, 0x100000, 4 * K4};
    s.ioctl(0, IOMMU_NR_UNMAP_DMA, unmap);
    iommu_device_detach detach{sizeof(iommu_device_detach), 0, kNic, 0, 0};
    s.ioctl(0, IOMMU_NR_DEVICE_DETACH, detach);
    iommu_ioasid_free free{sizeof(iommu_ioasid_free), 0, 1, 0};
    s.ioctl(0, IOMMU_NR_IOASID_FREE, free);
    iommu_device_unbind unbind{sizeof(iommu_device_unbind), 0, kNic};
    s.ioctl(0, IOMMU_NR_DEVICE_UNBIND, unbind);
    s.value_ioctl(0, IOMMU_NR_GET_API_VERSION, 0);
    s.value_ioctl(0, IOMMU_NR_CHECK_EXTENSION, 1);
    s.release(0);
    return s;
}

// Page requests: a consumer, an eventfd, stalls answered, timed out, injected.
Seed page_requests(Kind eventfd) {
    Seed s;
    s.open();
    s.ioctl(0, IOMMU_NR_DEVICE_BIND, bind("accel0", kAccel));
    s.ioctl(0, IOMMU_NR_IOASID_ALLOC, alloc());
    s.ioctl(0, IOMMU_NR_DEVICE_ATTACH, attach(kAccel, 1));
    s.ioctl(0, IOMMU_NR_MAP_DMA, map(1, 0x400000, 4, 3 | IOMMU_MAP_DMA_IOPF), {vaddr_of(4)});
    iommu_device_fault consumer{sizeof(iommu_device_fault), 0, kAccel};
    s.ioctl(0, IOMMU_NR_DEVICE_FAULT_REGISTER, consumer);
    iommu_fault_eventfd efd{sizeof(iommu_fault_eventfd), 0, 0, 0};
    s.ioctl(0, IOMMU_NR_FAULT_SET_EVENTFD, efd, {{offsetof(iommu_fault_eventfd, fd), eventfd}});
    iommu_fault_region_info region{};
    region.argsz = sizeof(region);
    region.flags = IOMMU_FAULT_REGION_SET_DEPTH | IOMMU_FAULT_REGION_SET_TIMEOUT;
    region.depth = 8;
    region.timeout_ms = 100;
    s.ioctl(0, IOMMU_NR_FAULT_REGION_INFO, region);
    s.ioctl(0, IOMMU_NR_SIM_DMA, dma(kAccel, 0x401000, 16, true), {data_at(8)});  // faulted in
    s.ioctl(0, IOMMU_NR_SIM_DMA, dma(kAccel, 0x800000, 16, false), {data_at(9)});  // stalls
    s.read(0, 4);
    s.ioctl(0, IOMMU_NR_MAP_DMA, map(1, 0x800000, 1, 3), {vaddr_of(16)});
    iommu_page_response yes{sizeof(iommu_page_response), 0, kAccel, 0, IOMMU_PAGE_RESP_SUCCESS};
    s.ioctl(0, IOMMU_NR_PAGE_RESPONSE, yes, {{offsetof(iommu_page_response, grpid), kLastGrpid}});
    iommu_sim_dma_status status{};
    status.argsz = sizeof(status);
    s.ioctl(0, IOMMU_NR_SIM_DMA_STATUS, status, {{offsetof(iommu_sim_dma_status, dma_id), kLastDmaId}});
    s.ioctl(0, IOMMU_NR_SIM_DMA, dma(kAccel, 0x900000, 8, true), {data_at(10)});  // stalls, times out
    s.tick(4);
    s.read(0, 16);
    iommu_sim_inject_fault inject{sizeof(iommu_sim_inject_fault), IOMMU_SIM_FAULT_RECOVERABLE, kAccel, 0, 0, 0xa000,
                                  IOMMU_FAULT_PERM_WRITE, 0};
    s.ioctl(0, IOMMU_NR_SIM_INJECT_FAULT, inject);
    s.read(0, 1);
    iommu_page_response no{sizeof(iommu_page_response), 0, kAccel, 0, IOMMU_PAGE_RESP_INVALID};
    s.ioctl(0, IOMMU_NR_PAGE_RESPONSE, no, {{offsetof(iommu_page_response, grpid), kLastGrpid}});
    s.ioctl(0, IOMMU_NR_SIM_DMA, dma(kAccel, 0xb00000, 8, false), {data_at(11)});  // left stalled at release
    s.ioctl(0, IOMMU_NR_DEVICE_FAULT_UNREGISTER, consumer);
    return s;
}

// Nesting: a stage-1 x86-64 table in the arena (pages 10..13), read
// through a parent that maps it (GPA 0x10000000) and the data (0x20000000).
Seed nested() {
    namespace x86pt = ciommu::x86pt;
    constexpr uint64_t kTables = 0x10000000, kData = 0x20000000, kIova = 0x40000000;
    const uint64_t rw = x86pt::kPresent | x86pt::kWritable;
    Seed s;
    s.open();
    s.ioctl(0, IOMMU_NR_DEVICE_BIND, bind("accel0", kAccel));
    s.ioctl(0, IOMMU_NR_IOASID_ALLOC, alloc());
    s.ioctl(0, IOMMU_NR_MAP_DMA, map(1, kTables, 4, IOMMU_MAP_DMA_READ), {vaddr_of(10)});
    s.ioctl(0, IOMMU_NR_MAP_DMA, map(1, kData, 4, 3), {vaddr_of(14)});
    const uint64_t entries[4][2] = {{0, (kTables + K4) | rw},
                                    {x86pt::index_at(kIova, 3), (kTables + 2 * K4) | rw},
                                    {0, (kTables + 3 * K4) | rw},
                                    {0, kData | rw}};
    for (uint8_t level = 0; level < 4; ++level)
        s.write(uint8_t(10 + level), uint16_t(entries[level][0] * 8), &entries[level][1], 8);
    s.ioctl(0, IOMMU_NR_IOASID_ALLOC, alloc(IOMMU_IOASID_USER_PGTABLE, 1, kTables));
    s.ioctl(0, IOMMU_NR_DEVICE_ATTACH, attach(kAccel, 2, 5));
    s.ioctl(0, IOMMU_NR_SIM_DMA, dma(kAccel, kIova, 16, true, 5), {data_at(8)});
    iommu_invalidate_cache inv{sizeof(iommu_invalidate_cache), 0, 2, IOMMU_INV_GRAN_ALL, IOMMU_INV_CACHE_IOTLB,
                               0, 0, 0};
    s.ioctl(0, IOMMU_NR_INVALIDATE_CACHE, inv);
    s.ioctl(0, IOMMU_NR_SIM_DMA, dma(kAccel, kIova, 16, false, 5), {data_at(9)});
    return s;
}

// mdevs: an IOMMU-backed one and a software one with pins.
Seed mdevs() {
    Seed s;
    s.open();
    s.ioctl(0, IOMMU_NR_DEVICE_BIND, bind("mdev0", kMdev));
    s.ioctl(0, IOMMU_NR_DEVICE_BIND, bind("vmdev0", kSwMdev));
    s.ioctl(0, IOMMU_NR_IOASID_ALLOC, alloc());
    s.ioctl(0, IOMMU_NR_MAP_DMA, map(1, 0x100000, 4, 3), {vaddr_of(0)});
    s.ioctl(0, IOMMU_NR_DEVICE_ATTACH, attach(kMdev, 1));
    s.ioctl(0, IOMMU_NR_DEVICE_ATTACH, attach(kSwMdev, 1));
    s.ioctl(0, IOMMU_NR_SIM_DMA, dma(kMdev, 0x100000, 32, false), {data_at(8)});
    iommu_sim_mdev_pin pin{sizeof(iommu_sim_mdev_pin), IOMMU_SIM_PIN_WRITE, kSwMdev, 0x100000, 2, 0};
    s.ioctl(0, IOMMU_NR_SIM_MDEV_PIN, pin);
    pin.npages = 1;
    pin.flags = 0;
    s.ioctl(0, IOMMU_NR_SIM_MDEV_UNPIN, pin);
    s.ioctl(0, IOMMU_NR_SIM_DMA, dma(kSwMdev, 0x100000, 32, true), {data_at(9)});
    return s;
}

// Dirty tracking: started, a write, the bitmap read into the arena (and
// once into the guard page), stopped; legacy0 (no dirty tracking) refused.
Seed dirty_tracking() {
    Seed s;
    s.open();
    s.ioctl(0, IOMMU_NR_DEVICE_BIND, bind("nic0", kNic));
    s.ioctl(0, IOMMU_NR_IOASID_ALLOC, alloc());
    s.ioctl(0, IOMMU_NR_MAP_DMA, map(1, 0x100000, 4, 3), {vaddr_of(0)});
    s.ioctl(0, IOMMU_NR_DEVICE_ATTACH, attach(kNic, 1));
    iommu_dirty_tracking d{sizeof(iommu_dirty_tracking), IOMMU_DIRTY_TRACKING_START, 1, 0, 0, 0, 0, 0};
    s.ioctl(0, IOMMU_NR_DIRTY_TRACKING, d);
    s.ioctl(0, IOMMU_NR_SIM_DMA, dma(kNic, 0x101ff8, 16, true), {data_at(8)});
    d = {sizeof(iommu_dirty_tracking), IOMMU_DIRTY_TRACKING_GET_BITMAP, 1, 0, 0x100000, 4 * K4, K4, 0};
    const Fixup bitmap_at = {offsetof(iommu_dirty_tracking, data), kArenaPage, 10};
    s.ioctl(0, IOMMU_NR_DIRTY_TRACKING, d, {bitmap_at});
    d.flags |= IOMMU_DIRTY_TRACKING_NO_CLEAR;
    s.ioctl(0, IOMMU_NR_DIRTY_TRACKING, d, {{offsetof(iommu_dirty_tracking, data), kArenaPage, 32}});
    s.ioctl(0, IOMMU_NR_DEVICE_BIND, bind("legacy0", kSwMdev));
    s.ioctl(0, IOMMU_NR_DEVICE_ATTACH, attach(kSwMdev, 1));  // EINVAL: iommu1 cannot track
    d = {sizeof(iommu_dirty_tracking), IOMMU_DIRTY_TRACKING_STOP, 1, 0, 0, 0, 0, 0};
    s.ioctl(0, IOMMU_NR_DIRTY_TRACKING, d);
    return s;
}

// Two contexts at once, an identity IOASID, and memory pulled away from
// under a pinned mapping and under the argument.
Seed hostile() {
    Seed s;
    s.open();
    s.open();
    s.ioctl(0, IOMMU_NR_DEVICE_BIND, bind("nic0", kNic));
    s.ioctl(1, IOMMU_NR_DEVICE_BIND, bind("nic0", kNic));  // EBUSY: bound elsewhere
    s.ioctl(1, IOMMU_NR_DEVICE_BIND, bind("nic1", kNic));
    s.ioctl(0, IOMMU_NR_IOASID_ALLOC, alloc());
    s.ioctl(1, IOMMU_NR_IOASID_ALLOC, alloc(IOMMU_IOASID_IDENTITY));
    s.ioctl(0, IOMMU_NR_MAP_DMA, map(1, 0x100000, 8, 3), {vaddr_of(0)});
    s.ioctl(0, IOMMU_NR_DEVICE_ATTACH, attach(kNic, 1));
    s.ioctl(1, IOMMU_NR_DEVICE_ATTACH, attach(kNic, 1));
    s.page(2, 0);  // unmapped behind the IOMMU's back
    s.ioctl(0, IOMMU_NR_SIM_DMA, dma(kNic, 0x101000, 3 * K4, true), {data_at(20)});
    s.page(21, 1);  // read-only: a read DMA cannot store its data
    s.ioctl(0, IOMMU_NR_SIM_DMA, dma(kNic, 0x100000, 64, false), {data_at(21)});
    s.ioctl(1, IOMMU_NR_SIM_DMA, dma(kNic, 0x100000, 64, true), {data_at(8)});
    s.release(0);
    s.read(0, 4);  // a released context
    s.page(2, 2);
    return s;
}

}  // namespace

// The iommufd profile (slot 2): an IOAS over two arena pages, accel0 and
// vmdev0 (an emulated device) bound and attached; accel0's DMA, vmdev0's
// pins and copy; an unmap under the pin.
Seed iommufd_devices() {
    Seed s;
    s.open(), s.open(), s.open();  // slots 0 and 1 speak the RFC; 2 is the first iommufd one
    s.fd_ioctl(2, IOMMU_IOAS_ALLOC, iommu_ioas_alloc{sizeof(iommu_ioas_alloc), 0, 0});  // id 1
    iommu_ioas_map map{sizeof(iommu_ioas_map),
                       IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
                       1, 0, 0, 2 * K4, 0x100000};
    s.fd_ioctl(2, IOMMU_IOAS_MAP, map, {{offsetof(iommu_ioas_map, user_va), kArenaPage, 0}});
    auto bind = [&](const char* name) {
        cuse_iommufd_device_bind b{};
        b.size = sizeof(b);
        std::strncpy(b.name, name, sizeof(b.name) - 1);
        s.fd_ioctl(2, CUSE_IOMMUFD_DEVICE_BIND, b);
    };
    bind("accel0");  // id 2
    bind("vmdev0");  // id 3
    for (uint32_t dev : {2u, 3u})
        s.fd_ioctl(2, CUSE_IOMMUFD_DEVICE_ATTACH, cuse_iommufd_device_attach{sizeof(cuse_iommufd_device_attach), 0, dev, 0, 1, 0});
    auto device_dma = [&](uint32_t dev, bool write) {
        cuse_iommufd_device_dma d{};
        d.size = sizeof(d);
        d.flags = write ? uint32_t{CUSE_IOMMUFD_DMA_WRITE} : 0u;
        d.dev_id = dev;
        d.iova = 0x100010;
        d.length = 32;
        s.fd_ioctl(2, CUSE_IOMMUFD_DEVICE_DMA, d, {{offsetof(cuse_iommufd_device_dma, data), kArenaPage, 9}});
    };
    device_dma(2, true);
    device_dma(3, false);
    const cuse_iommufd_device_pin pin{sizeof(cuse_iommufd_device_pin), CUSE_IOMMUFD_PIN_WRITE, 3, 1, 0x100000};
    s.fd_ioctl(2, CUSE_IOMMUFD_DEVICE_PIN, pin);
    s.fd_ioctl(2, CUSE_IOMMUFD_DEVICE_PIN, pin);
    s.fd_ioctl(2, CUSE_IOMMUFD_DEVICE_UNPIN, cuse_iommufd_device_pin{pin.size, 0, 3, 1, 0x100000});
    s.fd_ioctl(2, IOMMU_IOAS_UNMAP, iommu_ioas_unmap{sizeof(iommu_ioas_unmap), 1, 0x100000, 2 * K4});
    s.fd_ioctl(2, CUSE_IOMMUFD_DEVICE_UNBIND, cuse_iommufd_device_unbind{sizeof(cuse_iommufd_device_unbind), 0, 3, 0});
    s.release(2);
    return s;
}

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    const std::string dir = argv[1];
    basic_dma().save(dir + "/basic-dma");
    page_requests(kEventfd).save(dir + "/page-requests");
    page_requests(kFullEventfd).save(dir + "/page-requests-full-eventfd");
    nested().save(dir + "/nested");
    mdevs().save(dir + "/mdevs");
    hostile().save(dir + "/hostile");
    dirty_tracking().save(dir + "/dirty-tracking");
    iommufd_devices().save(dir + "/iommufd-devices");
    return 0;
}
