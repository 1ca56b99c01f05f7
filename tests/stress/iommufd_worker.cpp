#include "iommufd_worker.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <unistd.h>
#include <linux/vfio.h>
#include <sys/mman.h>

#include "../../dispatcher/command_table.h"
#include "cuse-iommu-iommufd.h"

namespace ciommu::stress {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kBufferPages = 64;
constexpr uint64_t kAperture = MOCK_APERTURE_START;
constexpr uint64_t kIoPage = 2048;
constexpr size_t kMaxIds = 6;  // per kind: enough to interleave, few enough to hit

std::string result_name(long r) {
    if (r >= 0)
        return "ok";
    const char* name = strerrorname_np(static_cast<int>(-r));
    return name ? name : "errno " + std::to_string(-r);
}

void remember(std::vector<uint32_t>& ids, uint32_t id) {
    if (ids.size() >= kMaxIds)
        ids.erase(ids.begin());
    ids.push_back(id);
}

}  // namespace

IommufdWorker::IommufdWorker(Dispatcher& dispatcher, Context* ctx, uint64_t seed, std::string name, int fd_base)
    : d_(dispatcher), ctx_(ctx), rng_(seed), name_(std::move(name)), next_fd_(fd_base) {
    buffer_ = static_cast<char*>(mmap(nullptr, kBufferPages * kPage, PROT_READ | PROT_WRITE,
                                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0));
    if (buffer_ == MAP_FAILED)
        buffer_ = nullptr;
}

IommufdWorker::~IommufdWorker() {
    if (buffer_)
        munmap(buffer_, kBufferPages * kPage);
}

void IommufdWorker::run(const std::atomic<bool>& stop, uint64_t limit) {
    if (!buffer_) {
        problems_.push_back("mmap of the worker's buffer failed");
        ++unexpected_;
        return;
    }
    while (!stop.load(std::memory_order_relaxed) && (limit == 0 || ops_ < limit)) {
        step();
        ++ops_;
    }
    close_fd_objects();
}

template <typename T> long IommufdWorker::call(unsigned cmd, T& args) {
    const long r = d_.ioctl(*ctx_, caller_, cmd, reinterpret_cast<uintptr_t>(&args));
    const CommandSpec* spec = find_command(cmd, Abi::kIommufd);
    std::string name = spec ? spec->name : "?";
    if (cmd == IOMMU_TEST_CMD)
        name += "." + std::to_string(reinterpret_cast<const iommu_test_cmd&>(args).op);
    ++results_[name][result_name(r)];
    // Every argument points at valid memory of this process, and the
    // daemon has memory: these only come from a bug.
    if (r == -EFAULT || r == -ENOMEM || r == -ENOTTY) {
        ++unexpected_;
        if (problems_.size() < 8)
            problems_.push_back(name + " returned " + result_name(r));
    }
    return r;
}

uint32_t IommufdWorker::pick(const std::vector<uint32_t>& ids) {
    // Now and then a stale or foreign id: the other thread may own it.
    if (ids.empty() || below(10) == 0)
        return static_cast<uint32_t>(1 + below(24));
    return ids[below(ids.size())];
}

void IommufdWorker::test_cmd(iommu_test_cmd& t) {
    t.size = sizeof(t);
    call(IOMMU_TEST_CMD, t);
}

void IommufdWorker::step() {
    if (ioases_.empty())
        return op_ioas_alloc();
    switch (below(16)) {
    case 0: return op_ioas_alloc();
    case 1: return op_destroy();
    case 2: case 3: return op_map();
    case 4: return op_unmap();
    case 5: return op_copy();
    case 6: return op_mock_domain();
    case 7: return op_replace();
    case 8: return op_hwpt_alloc();
    case 9: case 10: return op_dirty();
    case 11: return op_check_map();
    case 12: return op_ranges();
    case 13: return op_vfio();
    case 14: return below(2) ? op_nested() : op_topology();
    default: return below(2) ? op_fd_object() : op_use_fd_object();
    }
}

void IommufdWorker::op_ioas_alloc() {
    iommu_ioas_alloc a{sizeof(a), 0, 0};
    if (call(IOMMU_IOAS_ALLOC, a) == 0)
        remember(ioases_, a.out_ioas_id);
}

void IommufdWorker::op_destroy() {
    std::vector<uint32_t>* kinds[] = {&ioases_, &stdevs_, &hwpts_, &nested_, &idevs_};
    std::vector<uint32_t>& ids = *kinds[below(5)];
    iommu_destroy d{sizeof(d), pick(ids)};
    if (call(IOMMU_DESTROY, d) == 0) {
        std::erase(ids, d.id);
        std::erase(dirty_hwpts_, d.id);
    }
}

void IommufdWorker::op_map() {
    const uint64_t offset = below(kBufferPages * 2) * kIoPage;
    const uint64_t length = (1 + below(8)) * kIoPage;
    iommu_ioas_map m{};
    m.size = sizeof(m);
    m.flags = IOMMU_IOAS_MAP_READABLE | (below(2) ? uint32_t{IOMMU_IOAS_MAP_WRITEABLE} : 0u);
    m.ioas_id = pick(ioases_);
    m.user_va = reinterpret_cast<uintptr_t>(buffer_) + std::min(offset, kBufferPages * kPage - length);
    m.length = length;
    if (below(2)) {
        m.flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
        m.iova = kAperture + below(256) * kIoPage;
    }
    call(IOMMU_IOAS_MAP, m);
}

void IommufdWorker::op_unmap() {
    iommu_ioas_unmap u{sizeof(u), pick(ioases_), 0, UINT64_MAX};
    if (below(4)) {
        u.iova = kAperture + below(256) * kIoPage;
        u.length = (1 + below(64)) * kIoPage;
    }
    call(IOMMU_IOAS_UNMAP, u);
}

void IommufdWorker::op_copy() {
    iommu_ioas_copy c{};
    c.size = sizeof(c);
    c.flags = IOMMU_IOAS_MAP_READABLE | (below(2) ? uint32_t{IOMMU_IOAS_MAP_FIXED_IOVA} : 0u);
    c.dst_ioas_id = pick(ioases_);
    c.src_ioas_id = pick(ioases_);
    c.length = (1 + below(4)) * kIoPage;
    c.src_iova = kAperture + below(256) * kIoPage;
    c.dst_iova = kAperture + below(256) * kIoPage;
    call(IOMMU_IOAS_COPY, c);
}

void IommufdWorker::op_mock_domain() {
    iommu_test_cmd t{};
    const uint32_t flags[] = {0, MOCK_FLAGS_DEVICE_NO_DIRTY, MOCK_FLAGS_DEVICE_HUGE_IOVA};
    t.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS;
    t.mock_domain_flags.dev_flags = flags[below(3)];
    t.id = below(4) ? pick(ioases_) : pick(hwpts_);
    test_cmd(t);
    if (t.mock_domain.out_stdev_id) {
        remember(stdevs_, t.mock_domain.out_stdev_id);
        remember(idevs_, t.mock_domain.out_idev_id);
        remember(hwpts_, t.mock_domain.out_hwpt_id);
    }
}

void IommufdWorker::op_replace() {
    iommu_test_cmd t{};
    t.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
    t.id = pick(stdevs_);
    std::vector<uint32_t>* targets[] = {&ioases_, &hwpts_, &nested_};
    t.mock_domain_replace.pt_id = pick(*targets[below(3)]);
    test_cmd(t);
}

void IommufdWorker::op_hwpt_alloc() {
    iommu_hwpt_alloc h{};
    h.size = sizeof(h);
    const uint32_t flags[] = {0, IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_ALLOC_DIRTY_TRACKING};
    h.flags = flags[below(3)];
    h.dev_id = pick(idevs_);
    h.pt_id = pick(ioases_);
    if (call(IOMMU_HWPT_ALLOC, h) == 0) {
        remember(hwpts_, h.out_hwpt_id);
        if (h.flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)
            remember(dirty_hwpts_, h.out_hwpt_id);
    }
}

void IommufdWorker::op_topology() {
    const uint32_t dev = pick(topology_devs_);
    switch (below(7)) {
    case 0: {
        // fdvmdev: a software mdev (an emulated device) the stress adds for these workers
        const char* names[] = {"nic1", "nic2", "accel0", "legacy0", "fdvmdev"};
        cuse_iommufd_device_bind b{};
        b.size = sizeof(b);
        const unsigned which = static_cast<unsigned>(below(5));
        std::strcpy(b.name, names[which]);
        if (call(CUSE_IOMMUFD_DEVICE_BIND, b) == 0) {
            remember(topology_devs_, b.out_dev_id);
            if (which == 4)
                remember(emulated_devs_, b.out_dev_id);
        }
        return;
    }
    case 1:
    case 2: {
        const bool pasid = below(3) == 0;
        std::vector<uint32_t>* targets[] = {&ioases_, &hwpts_, &nested_};
        cuse_iommufd_device_attach a{sizeof(a), pasid ? uint32_t{CUSE_IOMMUFD_ATTACH_PASID} : 0u, dev,
                                     pasid ? 1u + static_cast<uint32_t>(below(2)) : 0u, pick(*targets[below(3)]), 0};
        const bool detach = below(3) == 0;
        if (detach)
            a.pt_id = 0;
        if (call(detach ? CUSE_IOMMUFD_DEVICE_DETACH : CUSE_IOMMUFD_DEVICE_ATTACH, a) == 0 && !detach)
            remember(hwpts_, a.pt_id);  // an automatic one too
        return;
    }
    case 3:
    case 4: {
        // The buffer's last page: a PENDING read's bytes go there when
        // reaped, whenever that is (and by whichever worker).
        char* data = buffer_ + (kBufferPages - 1) * kPage;
        cuse_iommufd_device_dma d{};
        d.size = sizeof(d);
        d.flags = (below(2) ? uint32_t{CUSE_IOMMUFD_DMA_WRITE} : 0u) | (below(3) ? 0u : uint32_t{CUSE_IOMMUFD_DMA_PASID});
        d.dev_id = dev;
        d.pasid = d.flags & CUSE_IOMMUFD_DMA_PASID ? 1 : 0;
        d.iova = kAperture + below(256) * kIoPage;
        d.length = 1 + below(256);
        d.data = reinterpret_cast<uintptr_t>(data);
        if (call(CUSE_IOMMUFD_DEVICE_DMA, d) == 0 && d.out_status == CUSE_IOMMUFD_DMA_PENDING) {
            if (dma_ids_.size() >= kMaxIds)
                dma_ids_.erase(dma_ids_.begin());
            dma_ids_.push_back(d.out_dma_id);
        }
        return;
    }
    case 5: {  // an emulated device: on an IOAS (maybe), a page there (maybe), its driver's pin of it
        const uint32_t mdev = pick(emulated_devs_);
        const uint32_t ioas = pick(ioases_);
        cuse_iommufd_device_attach a{sizeof(a), 0, mdev, 0, ioas, 0};
        call(CUSE_IOMMUFD_DEVICE_ATTACH, a);  // EBUSY when on one already
        const uint64_t iova = kAperture + below(64) * kPage;
        if (below(2)) {
            iommu_ioas_map m{sizeof(m), IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
                             ioas, 0, reinterpret_cast<uintptr_t>(buffer_) + below(kBufferPages) * kPage, kPage, iova};
            call(IOMMU_IOAS_MAP, m);
        }
        const bool unpin = below(3) == 0;
        cuse_iommufd_device_pin p{sizeof(p), !unpin && below(2) ? uint32_t{CUSE_IOMMUFD_PIN_WRITE} : 0u, mdev, 1, iova};
        call(unpin ? CUSE_IOMMUFD_DEVICE_UNPIN : CUSE_IOMMUFD_DEVICE_PIN, p);
        return;
    }
    default:
        if (below(2) && !dma_ids_.empty()) {
            cuse_iommufd_dma_status s{};
            s.size = sizeof(s);
            s.dma_id = dma_ids_[below(dma_ids_.size())];
            call(CUSE_IOMMUFD_DEVICE_DMA_STATUS, s);
        } else {
            cuse_iommufd_device_unbind u{sizeof(u), 0, dev, 0};
            if (call(CUSE_IOMMUFD_DEVICE_UNBIND, u) == 0) {
                std::erase(topology_devs_, dev);
                std::erase(emulated_devs_, dev);
            }
        }
        return;
    }
}

void IommufdWorker::op_dirty() {
    const uint32_t hwpt = pick(below(4) ? dirty_hwpts_ : hwpts_);
    uint64_t bits[4] = {below(UINT32_MAX), below(UINT32_MAX), 0, 0};
    switch (below(3)) {
    case 0: {
        iommu_hwpt_set_dirty_tracking s{sizeof(s), below(2) ? uint32_t{IOMMU_HWPT_DIRTY_TRACKING_ENABLE} : 0u, hwpt, 0};
        call(IOMMU_HWPT_SET_DIRTY_TRACKING, s);
        return;
    }
    case 1: {
        iommu_test_cmd t{};
        t.op = IOMMU_TEST_OP_DIRTY;
        t.id = hwpt;
        t.dirty.iova = kAperture;
        t.dirty.length = 64 * kIoPage;
        t.dirty.page_size = kIoPage;
        t.dirty.uptr = reinterpret_cast<uintptr_t>(bits);
        test_cmd(t);
        return;
    }
    default: {
        iommu_hwpt_get_dirty_bitmap g{sizeof(g), hwpt, below(2) ? uint32_t{IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR} : 0u, 0,
                                      kAperture + below(8) * kIoPage, (1 + below(120)) * kIoPage, kIoPage,
                                      reinterpret_cast<uintptr_t>(bits)};
        call(IOMMU_HWPT_GET_DIRTY_BITMAP, g);
        return;
    }
    }
}

void IommufdWorker::op_check_map() {
    iommu_test_cmd t{};
    if (below(2)) {
        t.op = IOMMU_TEST_OP_MD_CHECK_MAP;
        t.id = pick(hwpts_);
        t.check_map.iova = kAperture + below(64) * kIoPage;
        t.check_map.length = kIoPage;
        t.check_map.uptr = reinterpret_cast<uintptr_t>(buffer_) + below(kBufferPages * 2) * kIoPage;
    } else {
        t.op = IOMMU_TEST_OP_MD_CHECK_REFS;
        t.check_refs.uptr = reinterpret_cast<uintptr_t>(buffer_) + below(kBufferPages) * kPage;
        t.check_refs.length = kPage;
        t.check_refs.refs = static_cast<uint32_t>(below(3));
    }
    test_cmd(t);
}

void IommufdWorker::op_ranges() {
    iommu_iova_range ranges[4] = {};
    if (below(2)) {
        iommu_ioas_iova_ranges r{sizeof(r), pick(ioases_), static_cast<uint32_t>(below(5)), 0,
                                 reinterpret_cast<uintptr_t>(ranges), 0};
        call(IOMMU_IOAS_IOVA_RANGES, r);
    } else if (below(2)) {
        ranges[0] = {kAperture + below(64) * kPage, kAperture + (64 + below(64)) * kPage};
        iommu_ioas_allow_iovas a{sizeof(a), pick(ioases_), static_cast<uint32_t>(below(2)), 0,
                                 reinterpret_cast<uintptr_t>(ranges)};
        call(IOMMU_IOAS_ALLOW_IOVAS, a);
    } else {
        iommu_test_cmd t{};
        t.op = IOMMU_TEST_OP_ADD_RESERVED;
        t.id = pick(ioases_);
        t.add_reserved.start = below(2) ? kAperture + below(512) * kPage : below(64) * kPage;
        t.add_reserved.length = kPage;
        test_cmd(t);
    }
}

void IommufdWorker::op_vfio() {
    switch (below(4)) {
    case 0: {
        iommu_vfio_ioas v{sizeof(v), pick(ioases_), IOMMU_VFIO_IOAS_SET, 0};
        call(IOMMU_VFIO_IOAS, v);
        return;
    }
    case 1: {
        vfio_iommu_type1_dma_map m{sizeof(m), VFIO_DMA_MAP_FLAG_READ,
                                   reinterpret_cast<uintptr_t>(buffer_) + below(kBufferPages - 4) * kPage,
                                   kAperture + below(256) * kPage, (1 + below(4)) * kPage};
        call(VFIO_IOMMU_MAP_DMA, m);
        return;
    }
    case 2: {
        vfio_iommu_type1_dma_unmap u{sizeof(u), 0, kAperture + below(256) * kPage, (1 + below(8)) * kPage};
        call(VFIO_IOMMU_UNMAP_DMA, u);
        return;
    }
    default: {
        struct {
            vfio_iommu_type1_info info;
            char caps[256];
        } info{};
        info.info.argsz = static_cast<uint32_t>(sizeof(vfio_iommu_type1_info) + below(200));
        call(VFIO_IOMMU_GET_INFO, info);
        return;
    }
    }
}

void IommufdWorker::op_nested() {
    if (below(2)) {
        const iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
        iommu_hwpt_alloc h{};
        h.size = sizeof(h);
        h.dev_id = pick(idevs_);
        h.pt_id = pick(hwpts_);
        h.data_type = IOMMU_HWPT_DATA_SELFTEST;
        h.data_len = sizeof(data);
        h.data_uptr = reinterpret_cast<uintptr_t>(&data);
        if (call(IOMMU_HWPT_ALLOC, h) == 0)
            remember(nested_, h.out_hwpt_id);
        return;
    }
    iommu_hwpt_invalidate_selftest reqs[3] = {{0, static_cast<uint32_t>(below(5))}, {IOMMU_TEST_INVALIDATE_FLAG_ALL, 0},
                                              {0, 1}};
    iommu_hwpt_invalidate inv{sizeof(inv), pick(nested_), reinterpret_cast<uintptr_t>(reqs),
                              IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(reqs[0]),
                              static_cast<uint32_t>(below(4)), 0};
    call(IOMMU_HWPT_INVALIDATE, inv);
}

// Opens an object file and makes a fault queue or an access of it, as the
// fd helper does; or closes one, which ends the fd's hold on its object.
void IommufdWorker::op_fd_object() {
    if (fd_objects_.size() >= 3 || (!fd_objects_.empty() && below(3) == 0)) {
        const size_t i = below(fd_objects_.size());
        d_.release_object_file(fd_objects_[i].file);
        fd_objects_.erase(fd_objects_.begin() + static_cast<long>(i));
        return;
    }
    const long file = d_.open_object_file(getpid());
    uint64_t token = 0;
    if (file <= 0 || d_.object_file_token(static_cast<uint64_t>(file), &token)) {
        ++unexpected_;
        problems_.push_back("an object file could not be opened");
        return;
    }
    FdObject object{static_cast<uint64_t>(file), next_fd_++, below(2) == 0, 0};
    iommu_fault_alloc f{sizeof(f), 0, 0, 0};
    iommu_test_cmd t{};
    t.size = sizeof(t);
    t.op = IOMMU_TEST_OP_CREATE_ACCESS;
    t.id = pick(ioases_);
    t.create_access.flags = below(2) ? uint32_t{MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES} : 0u;
    cuse_iommufd_object_fd_call c{sizeof(c), 0, object.access ? IOMMU_TEST_CMD : IOMMU_FAULT_QUEUE_ALLOC,
                                  object.fd, token,
                                  object.access ? reinterpret_cast<uintptr_t>(&t) : reinterpret_cast<uintptr_t>(&f)};
    if (call(CUSE_IOMMUFD_OBJECT_FD_CALL, c) != 0) {
        d_.release_object_file(object.file);
        return;
    }
    object.id = object.access ? 0 : f.out_fault_id;
    fd_objects_.push_back(object);
}

// Reads, writes and polls a fault queue's fd; pins, unpins and copies
// through an access (the other worker on the context unmaps under it).
void IommufdWorker::op_use_fd_object() {
    if (fd_objects_.empty())
        return op_fd_object();
    const FdObject& object = fd_objects_[below(fd_objects_.size())];
    if (!object.access) {
        std::vector<std::byte> out;
        const iommu_hwpt_page_response response{static_cast<uint32_t>(1 + below(3)), IOMMUFD_PAGE_RESP_SUCCESS};
        switch (below(3)) {
        case 0: d_.read_object_file(object.file, 0, 4 * sizeof(iommu_hwpt_pgfault), out); break;
        case 1: d_.write_object_file(object.file, 0, std::as_bytes(std::span(&response, 1))); break;
        default: d_.poll_object_file(object.file); break;
        }
        return;
    }
    iommu_test_cmd t{};
    t.id = static_cast<uint32_t>(object.fd);
    const uint64_t page = below(kBufferPages / 2);
    switch (below(3)) {
    case 0:
        t.op = IOMMU_TEST_OP_ACCESS_PAGES;
        t.access_pages = {0, 0, kAperture + page * kPage, (1 + below(2)) * kPage,
                          reinterpret_cast<uintptr_t>(buffer_) + page * kPage};
        break;
    case 1:
        t.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES;
        t.destroy_access_pages.access_pages_id = static_cast<uint32_t>(below(8));
        break;
    default: {
        char tmp[64];
        t.op = IOMMU_TEST_OP_ACCESS_RW;
        t.access_rw = {kAperture + below(64) * kIoPage + below(100), 1 + below(sizeof(tmp)),
                       reinterpret_cast<uintptr_t>(tmp), below(2) ? uint32_t{MOCK_ACCESS_RW_WRITE} : 0u};
        test_cmd(t);
        return;
    }
    }
    test_cmd(t);
}

void IommufdWorker::close_fd_objects() {
    for (const FdObject& object : fd_objects_)
        d_.release_object_file(object.file);
    fd_objects_.clear();
}

}  // namespace ciommu::stress
