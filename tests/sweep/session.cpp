#include "session.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <string_view>
#include <sys/eventfd.h>
#include <linux/vfio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../control/control_server.h"
#include "../../control/safe_json.h"
#include "../../control/state_dump.h"
#include "../../core/caller.h"
#include "../../dispatcher/dispatcher.h"
#include "../../core/model.h"
#include "../../core/model_check.h"
#include "../../ioasid/x86_pgtable.h"
#include "../../iommufd/access.h"
#include "../../iommufd/device.h"
#include "../../iommufd/fault_queue.h"
#include "../../iommufd/hw_pagetable.h"
#include "../../iommufd/ioas.h"
#include "cuse-iommu.h"
#include "cuse-iommu-iommufd.h"

namespace sweep {
namespace {

using namespace ciommu;
using nlohmann::json;

constexpr uint64_t K4 = 4096;
constexpr uint64_t kNic = 1, kMdev = 3, kSwMdev = 5, kAccel = 7, kNic1 = 11;
constexpr uint64_t kPinned = 0x100000, kIopf = 0x400000, kLazy = 0x800000, kLazy2 = 0x900000;
constexpr uint64_t kTablesGpa = 0x10000000, kDataGpa = 0x20000000, kNestedIova = 0x40000000;
constexpr uint32_t kNestedPasid = 5;

// Memory the session's DMA and mappings use, from mmap (not operator new:
// the sweep counts only the daemon's allocations), aligned to 2 MiB so
// that the daemon's page tables for it never straddle a table boundary:
// the same number of allocations each run, wherever mmap puts it.
struct Memory {
    static constexpr size_t kAlign = size_t{2} << 20;
    explicit Memory(size_t pages) : size(pages * K4) {
        mapped = mmap(nullptr, size + kAlign, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        base = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(mapped) + kAlign - 1) & ~(kAlign - 1));
        std::memset(base, 0x5a, size);
    }
    ~Memory() { munmap(mapped, size + kAlign); }
    void* mapped;
    char* page(size_t i) { return base + i * K4; }
    size_t size;
    char* base;
};

// A step's outcome: >= 0 success, else -errno (a control request's
// "out of memory" is -ENOMEM, any other refusal -EINVAL).
using Step = std::function<long()>;

class Session {
public:
    explicit Session(const Hooks& hooks) : hooks_(hooks) {}

    std::string run();

private:
    template <typename T> long ioctl(Context* ctx, unsigned cmd, T& args) {
        return ctx ? dispatcher_.ioctl(*ctx, caller_, cmd, reinterpret_cast<uintptr_t>(&args)) : -EBADF;
    }
    // The iommufd profile's commands, on its own dispatcher over the model.
    template <typename T> long fd_ioctl(unsigned cmd, T& args) {
        return fd_ctx_ ? iommufd_.ioctl(*fd_ctx_, caller_, cmd, reinterpret_cast<uintptr_t>(&args)) : -EBADF;
    }
    long test_cmd(iommu_test_cmd& t) {
        t.size = sizeof(t);
        return fd_ioctl(IOMMU_TEST_CMD, t);
    }
    // The iommufd profile's part of the session: every command it serves.
    void run_iommufd(char* buffer);
    // Its topology devices: a PRI device added for it, bound, attached to
    // a VT-d nested page table whose faults go to the queue `fault` (the
    // fd of object file `fault_file`), its DMA, a page fault answered.
    void run_topology(uint32_t fault, uint64_t fault_file);
    void run_emulated_device(uint32_t ioas, uint64_t data_gpa);
    // CUSE_IOMMUFD_DEVICE_BIND of a topology device: its dev_id in `dev`.
    long topology_bind(const char* name, uint32_t& dev);
    // What the state dump does not show of the iommufd profile.
    std::string iommufd_summary();
    long control(const std::string& line);
    long alloc(Context* ctx, uint32_t flags = 0, uint32_t parent = 0, uint64_t pgd = 0);
    long map(Context* ctx, long ioasid, uint64_t iova, const void* va, uint64_t size, uint32_t flags);
    long bind(Context* ctx, const char* name, uint64_t cookie);
    long attach(Context* ctx, uint64_t cookie, long ioasid, uint32_t pasid = 0, bool with_pasid = false);
    long dma(uint64_t cookie, uint64_t iova, void* data, uint64_t length, bool write, uint32_t pasid = 0,
             iommu_sim_dma* out = nullptr);
    long respond(uint32_t grpid, uint32_t code);
    // The group id of the newest page request waiting in ctx_'s region.
    uint32_t next_grpid();

    // Runs one step armed and checks what it left.  Until a failure has
    // been injected every step must succeed, except those that may_refuse.
    void step(const char* name, const Step& fn, bool may_refuse = false);
    // A control request as a step (the line is built before arming).
    void control_step(const char* name, const std::string& line, bool may_refuse = false) {
        step(name, [&] { return control(line); }, may_refuse);
    }
    std::string snapshot();
    void problem(const std::string& what) { problems_ += what + "; "; }

    // Who the records listener was told about during a step.  Fixed room:
    // the listener must neither throw nor need memory.
    struct Wakeups {
        std::array<uint64_t, 8> ids{};
        size_t count = 0;
        bool everyone = false;  // Dispatcher::kEveryContext
        void add(uint64_t id) noexcept;
        bool include(uint64_t id) const;
    };
    // Records each live context has received so far (waiting or read).
    std::map<uint64_t, uint64_t> records_received();
    // A context that received records in a step must have had its readers
    // woken (by its id, or kEveryContext when a note found no memory).
    void check_wakeups(const char* name, const std::map<uint64_t, uint64_t>& before);

    const Hooks& hooks_;
    Model model_;
    Dispatcher dispatcher_{model_};
    Dispatcher iommufd_{model_, Abi::kIommufd};
    Caller caller_ = Caller::self();
    Context* ctx_ = nullptr;
    Context* fd_ctx_ = nullptr;
    Context* other_ = nullptr;
    std::string problems_;
    Wakeups woken_;
    std::chrono::steady_clock::time_point now_ = std::chrono::steady_clock::now();
};

long Session::control(const std::string& line) {
    const std::string answer = answer_control_line(dispatcher_, line);
    if (answer.find(R"("ok":true)") != std::string::npos)
        return 0;
    return answer.find("out of memory") != std::string::npos ? -ENOMEM : -EINVAL;
}

long Session::alloc(Context* ctx, uint32_t flags, uint32_t parent, uint64_t pgd) {
    iommu_ioasid_alloc a{};
    a.argsz = sizeof(a);
    a.flags = flags;
    a.parent_ioasid = parent;
    a.pgtable_format = (flags & IOMMU_IOASID_USER_PGTABLE) ? IOMMU_PGTABLE_FORMAT_X86_64 : 0;
    a.user_pgd = pgd;
    return ioctl(ctx, IOMMU_IOASID_ALLOC, a);
}

long Session::map(Context* ctx, long ioasid, uint64_t iova, const void* va, uint64_t size, uint32_t flags) {
    iommu_map_dma m{sizeof(m), flags, static_cast<uint32_t>(ioasid), 0, reinterpret_cast<uintptr_t>(va), iova, size};
    return ioctl(ctx, IOMMU_MAP_DMA, m);
}

long Session::bind(Context* ctx, const char* name, uint64_t cookie) {
    iommu_device_bind b{};
    b.argsz = sizeof(b);
    std::strncpy(b.name, name, sizeof(b.name) - 1);
    b.cookie = cookie;
    return ioctl(ctx, IOMMU_DEVICE_BIND, b);
}

long Session::attach(Context* ctx, uint64_t cookie, long ioasid, uint32_t pasid, bool with_pasid) {
    iommu_device_attach a{sizeof(a), with_pasid ? IOMMU_ATTACH_PASID : 0u, cookie, static_cast<uint32_t>(ioasid),
                          pasid};
    return ioctl(ctx, IOMMU_DEVICE_ATTACH, a);
}

long Session::dma(uint64_t cookie, uint64_t iova, void* data, uint64_t length, bool write, uint32_t pasid,
                  iommu_sim_dma* out) {
    iommu_sim_dma d{};
    d.argsz = sizeof(d);
    d.flags = (write ? IOMMU_SIM_DMA_WRITE : 0u) | (pasid ? IOMMU_SIM_DMA_PASID : 0u);
    d.cookie = cookie;
    d.pasid = pasid;
    d.iova = iova;
    d.length = length;
    d.data = reinterpret_cast<uintptr_t>(data);
    const long r = ioctl(ctx_, IOMMU_SIM_DMA, d);
    if (out)
        *out = d;
    return r;
}

long Session::respond(uint32_t grpid, uint32_t code) {
    iommu_page_response r{sizeof(r), 0, kAccel, grpid, code};
    return ioctl(ctx_, IOMMU_PAGE_RESPONSE, r);
}

uint32_t Session::next_grpid() {
    iommu_fault_record records[8];
    const size_t n = ctx_ ? dispatcher_.read_faults(ctx_->id, records) : 0;
    for (size_t i = n; i > 0; --i) {
        if (records[i - 1].flags & IOMMU_FAULT_RECORD_RECOVERABLE)
            return records[i - 1].grpid;
    }
    return 0;
}

// The state dump without what a failed command may change by design: the
// IOTLB is a cache, its hit and miss counts are statistics.
std::string Session::snapshot() {
    json state;
    {
        std::lock_guard guard(model_.lock());
        state = dump_state(model_);
    }
    state["counters"].erase("iotlb_entries");
    for (json& ctx : state["contexts"]) {
        ctx.erase("iotlb_hits");
        ctx.erase("iotlb_misses");
    }
    std::string text = state.dump() + iommufd_summary();
    release_json(state);
    return text;
}

std::string Session::iommufd_summary() {
    std::string out;
    std::lock_guard guard(model_.lock());
    model_.object_files().for_each([&](uint64_t id, const ObjectFile& file) {
        out += " file " + std::to_string(id) + (file.bound() ? " bound " + std::to_string(file.object_id) : "");
    });
    model_.for_each_context([&](Context& ctx) {
        const IommufdCtx& ictx = ctx.iommufd;
        out += " ctx " + std::to_string(ctx.id) + " records " + std::to_string(ictx.records.used) + " vfio " +
               std::to_string(ictx.vfio_ioas);
        for (const ObjectKind kind : {ObjectKind::kIoas, ObjectKind::kHwptPaging, ObjectKind::kHwptNested,
                                      ObjectKind::kDevice, ObjectKind::kSelftest, ObjectKind::kFault,
                                      ObjectKind::kAccess}) {
            ictx.objects.for_each(kind, [&](const IommufdObject& o) {
                out += " [" + std::to_string(static_cast<int>(kind)) + ":" + std::to_string(o.id) + " users " +
                       std::to_string(o.users);
                if (kind == ObjectKind::kIoas) {
                    const IoPagetable& iopt = static_cast<const Ioas&>(o).iopt;
                    out += " align " + std::to_string(iopt.iova_alignment()) + " domains " +
                           std::to_string(iopt.domains().size());
                    for (const auto& [iova, area] : iopt.areas())
                        out += " " + std::to_string(iova) + "-" + std::to_string(area.last) + (area.pinned ? "p" : "");
                } else if (kind == ObjectKind::kHwptPaging) {
                    if (const MockDomain* d = static_cast<const HwptPaging&>(o).mock())
                        out += " ptes " + std::to_string(d->mapped_pages()) + (d->dirty_tracking() ? " tracking" : "");
                } else if (kind == ObjectKind::kDevice) {
                    out += " on " + std::to_string(static_cast<const Device&>(o).hwpt_id);
                } else if (kind == ObjectKind::kFault) {
                    const auto& q = static_cast<const FaultQueue&>(o);
                    out += " groups " + std::to_string(q.delivering()) + "/" + std::to_string(q.awaiting_response()) +
                           " file " + std::to_string(q.file);
                } else if (kind == ObjectKind::kAccess) {
                    const auto& a = static_cast<const Access&>(o);
                    out += " on " + std::to_string(a.ioas_id) + " file " + std::to_string(a.file);
                    a.pins.for_each([&](const PinnedRange& pin) {
                        out += " pin " + std::to_string(pin.id) + "@" + std::to_string(pin.iova);
                    });
                }
                out += "]";
            });
        }
    });
    return out;
}

void Session::run_iommufd(char* buffer) {
    constexpr uint64_t kAperture = MOCK_APERTURE_START;
    uint32_t ioas = 0, ioas2 = 0, stdev = 0, idev = 0, dirty_hwpt = 0, parent = 0, nested = 0, fault = 0;
    uint32_t access_pages = 0;
    // The object node's files, as the fd helper opens them: id and token.
    uint64_t fault_file = 0, fault_token = 0, access_file = 0, access_token = 0;
    constexpr int kFaultFd = 40, kAccessFd = 41;
    uint64_t bits[2] = {0b101, 0};
    const iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
    auto hwpt_alloc = [&](uint32_t pt, uint32_t flags, const iommu_hwpt_selftest* nested_data, uint32_t& out) {
        iommu_hwpt_alloc h{};
        h.size = sizeof(h);
        h.flags = flags;
        h.dev_id = idev;
        h.pt_id = pt;
        if (nested_data) {
            h.data_type = IOMMU_HWPT_DATA_SELFTEST;
            h.data_len = sizeof(*nested_data);
            h.data_uptr = reinterpret_cast<uintptr_t>(nested_data);
            h.fault_id = fault;
            h.flags |= fault ? uint32_t{IOMMU_HWPT_FAULT_ID_VALID} : 0u;
        }
        const long r = fd_ioctl(IOMMU_HWPT_ALLOC, h);
        out = h.out_hwpt_id;
        return r;
    };
    step("iommufd open", [&] { fd_ctx_ = iommufd_.open(getpid()); return fd_ctx_ ? 0L : -ENOMEM; });
    step("IOAS_ALLOC", [&] {
        iommu_ioas_alloc a{sizeof(a), 0, 0};
        const long r = fd_ioctl(IOMMU_IOAS_ALLOC, a);
        ioas = a.out_ioas_id;
        return r;
    });
    auto map = [&](uint32_t id, char* p, uint64_t len, uint64_t iova, bool fixed) {
        iommu_ioas_map m{sizeof(m), IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
                                        (fixed ? uint32_t{IOMMU_IOAS_MAP_FIXED_IOVA} : 0u),
                         id, 0, reinterpret_cast<uintptr_t>(p), len, iova};
        return fd_ioctl(IOMMU_IOAS_MAP, m);
    };
    step("IOAS_MAP lazy", [&] { return map(ioas, buffer, 2 * K4, kAperture, true); });
    step("MOCK_DOMAIN", [&] {
        iommu_test_cmd t{};
        t.op = IOMMU_TEST_OP_MOCK_DOMAIN;
        t.id = ioas;
        const long r = test_cmd(t);
        stdev = t.mock_domain.out_stdev_id;
        idev = t.mock_domain.out_idev_id;
        return r;
    });
    step("IOAS_MAP pinned", [&] { return map(ioas, buffer + 2 * K4, 2 * K4, kAperture + 4 * K4, true); });
    step("IOAS_MAP allocated", [&] { return map(ioas, buffer + 4 * K4, K4, 0, false); });
    step("IOAS_ALLOC second", [&] {
        iommu_ioas_alloc a{sizeof(a), 0, 0};
        const long r = fd_ioctl(IOMMU_IOAS_ALLOC, a);
        ioas2 = a.out_ioas_id;
        return r;
    });
    step("IOAS_COPY", [&] {
        iommu_ioas_copy c{sizeof(c), IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA, ioas2, ioas, 2 * K4,
                          kAperture, kAperture};
        return fd_ioctl(IOMMU_IOAS_COPY, c);
    });
    step("ADD_RESERVED", [&] {
        iommu_test_cmd t{};
        t.op = IOMMU_TEST_OP_ADD_RESERVED;
        t.id = ioas2;
        t.add_reserved.start = K4;
        t.add_reserved.length = K4;
        return test_cmd(t);
    });
    step("IOAS_ALLOW_IOVAS", [&] {
        iommu_iova_range r{kAperture * 2, kAperture * 3};
        iommu_ioas_allow_iovas a{sizeof(a), ioas2, 1, 0, reinterpret_cast<uintptr_t>(&r)};
        return fd_ioctl(IOMMU_IOAS_ALLOW_IOVAS, a);
    });
    step("IOAS_IOVA_RANGES", [&] {
        iommu_iova_range out[4];
        iommu_ioas_iova_ranges r{sizeof(r), ioas2, 4, 0, reinterpret_cast<uintptr_t>(out), 0};
        return fd_ioctl(IOMMU_IOAS_IOVA_RANGES, r);
    });
    step("HWPT_ALLOC dirty", [&] { return hwpt_alloc(ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, nullptr, dirty_hwpt); });
    step("HWPT_SET_DIRTY_TRACKING", [&] {
        iommu_hwpt_set_dirty_tracking s{sizeof(s), IOMMU_HWPT_DIRTY_TRACKING_ENABLE, dirty_hwpt, 0};
        return fd_ioctl(IOMMU_HWPT_SET_DIRTY_TRACKING, s);
    });
    step("TEST DIRTY", [&] {
        iommu_test_cmd t{};
        t.op = IOMMU_TEST_OP_DIRTY;
        t.id = dirty_hwpt;
        t.dirty.iova = kAperture;
        t.dirty.length = 4 * 2048;
        t.dirty.page_size = 2048;
        t.dirty.uptr = reinterpret_cast<uintptr_t>(bits);
        return test_cmd(t);
    });
    step("HWPT_GET_DIRTY_BITMAP", [&] {
        iommu_hwpt_get_dirty_bitmap g{sizeof(g), dirty_hwpt, 0, 0, kAperture, 2 * K4, 2048,
                                      reinterpret_cast<uintptr_t>(bits)};
        return fd_ioctl(IOMMU_HWPT_GET_DIRTY_BITMAP, g);
    });
    step("MD_CHECK_MAP", [&] {
        iommu_test_cmd t{};
        t.op = IOMMU_TEST_OP_MD_CHECK_MAP;
        t.id = dirty_hwpt;
        t.check_map = {kAperture, 2 * K4, reinterpret_cast<uintptr_t>(buffer)};
        return test_cmd(t);
    });
    auto open_file = [&](uint64_t& id, uint64_t& token) {
        const long r = iommufd_.open_object_file(getpid());
        if (r < 0)
            return r;
        id = static_cast<uint64_t>(r);
        return iommufd_.object_file_token(id, &token);
    };
    auto fd_call = [&](unsigned cmd, void* arg, uint64_t token, int fd) {
        cuse_iommufd_object_fd_call c{sizeof(c), 0, cmd, fd, token, reinterpret_cast<uintptr_t>(arg)};
        return fd_ioctl(CUSE_IOMMUFD_OBJECT_FD_CALL, c);
    };
    step("object file (fault)", [&] { return open_file(fault_file, fault_token); });
    step("FAULT_QUEUE_ALLOC", [&] {
        iommu_fault_alloc a{sizeof(a), 0, 0, 0};
        const long r = fd_call(IOMMU_FAULT_QUEUE_ALLOC, &a, fault_token, kFaultFd);
        fault = a.out_fault_id;
        return r;
    });
    step("HWPT_ALLOC parent", [&] { return hwpt_alloc(ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, nullptr, parent); });
    step("HWPT_ALLOC nested", [&] { return hwpt_alloc(parent, 0, &data, nested); });
    step("HWPT_INVALIDATE", [&] {
        iommu_hwpt_invalidate_selftest req{0, 1};
        iommu_hwpt_invalidate inv{sizeof(inv), nested, reinterpret_cast<uintptr_t>(&req),
                                  IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(req), 1, 0};
        return fd_ioctl(IOMMU_HWPT_INVALIDATE, inv);
    });
    step("MOCK_DOMAIN_REPLACE nested", [&] {
        iommu_test_cmd t{};
        t.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
        t.id = stdev;
        t.mock_domain_replace.pt_id = nested;
        return test_cmd(t);
    });
    step("TRIGGER_IOPF", [&] {
        iommu_test_cmd t{};
        t.op = IOMMU_TEST_OP_TRIGGER_IOPF;
        t.trigger_iopf = {idev, 0, 1, IOMMU_PGFAULT_PERM_READ, kAperture};
        return test_cmd(t);
    });
    step("fault fd read", [&] {
        std::vector<std::byte> out;
        const long r = iommufd_.read_object_file(fault_file, 0, sizeof(iommu_hwpt_pgfault), out);
        return r < 0 ? r : 0L;
    });
    step("fault fd write", [&] {
        const iommu_hwpt_page_response response{1, IOMMUFD_PAGE_RESP_SUCCESS};
        const long r = iommufd_.write_object_file(
            fault_file, 0, std::span(reinterpret_cast<const std::byte*>(&response), sizeof(response)));
        return r < 0 ? r : 0L;
    }, /*may_refuse=*/true);  // nothing to answer if the fault was dropped
    step("MOCK_DOMAIN_REPLACE back", [&] {
        iommu_test_cmd t{};
        t.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
        t.id = stdev;
        t.mock_domain_replace.pt_id = ioas;
        return test_cmd(t);
    });
    step("GET_HW_INFO", [&] {
        iommu_test_hw_info info{};
        iommu_hw_info h{sizeof(h), 0, idev, sizeof(info), reinterpret_cast<uintptr_t>(&info), 0, 0, {}, 0};
        return fd_ioctl(IOMMU_GET_HW_INFO, h);
    });
    step("VFIO_IOAS", [&] {
        iommu_vfio_ioas v{sizeof(v), ioas, IOMMU_VFIO_IOAS_SET, 0};
        return fd_ioctl(IOMMU_VFIO_IOAS, v);
    });
    step("VFIO_IOMMU_MAP_DMA", [&] {
        vfio_iommu_type1_dma_map m{sizeof(m), VFIO_DMA_MAP_FLAG_READ, reinterpret_cast<uintptr_t>(buffer + 6 * K4),
                                   kAperture + 16 * K4, K4};
        return fd_ioctl(VFIO_IOMMU_MAP_DMA, m);
    });
    step("VFIO_IOMMU_GET_INFO", [&] {
        struct {
            vfio_iommu_type1_info info;
            char caps[128];
        } info{};
        info.info.argsz = sizeof(info);
        return fd_ioctl(VFIO_IOMMU_GET_INFO, info);
    });
    step("VFIO_IOMMU_UNMAP_DMA", [&] {
        vfio_iommu_type1_dma_unmap u{sizeof(u), 0, kAperture + 16 * K4, K4};
        return fd_ioctl(VFIO_IOMMU_UNMAP_DMA, u);
    });
    step("object file (access)", [&] { return open_file(access_file, access_token); });
    step("CREATE_ACCESS", [&] {
        iommu_test_cmd t{};
        t.size = sizeof(t);
        t.op = IOMMU_TEST_OP_CREATE_ACCESS;
        t.id = ioas;
        t.create_access.flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES;
        return fd_call(IOMMU_TEST_CMD, &t, access_token, kAccessFd);
    });
    step("ACCESS_PAGES", [&] {
        iommu_test_cmd t{};
        t.op = IOMMU_TEST_OP_ACCESS_PAGES;
        t.id = kAccessFd;
        t.access_pages = {0, 0, kAperture + 4 * K4, K4, reinterpret_cast<uintptr_t>(buffer + 2 * K4)};
        const long r = test_cmd(t);
        access_pages = t.access_pages.out_access_pages_id;
        return r;
    });
    step("ACCESS_PAGES again", [&] {
        iommu_test_cmd t{};
        t.op = IOMMU_TEST_OP_ACCESS_PAGES;
        t.id = kAccessFd;
        t.access_pages = {0, 0, kAperture + 5 * K4, K4, reinterpret_cast<uintptr_t>(buffer + 3 * K4)};
        return test_cmd(t);
    });
    step("DESTROY_ACCESS_PAGES", [&] {
        iommu_test_cmd t{};
        t.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES;
        t.id = kAccessFd;
        t.destroy_access_pages.access_pages_id = access_pages;
        return test_cmd(t);
    });
    step("ACCESS_RW", [&] {
        char tmp[K4];
        iommu_test_cmd t{};
        t.op = IOMMU_TEST_OP_ACCESS_RW;
        t.id = kAccessFd;
        t.access_rw = {kAperture + 4 * K4 + 8, K4, reinterpret_cast<uintptr_t>(tmp), 0};
        return test_cmd(t);
    });
    step("IOAS_UNMAP", [&] {  // under the second pin: the unmap callback drops it
        iommu_ioas_unmap u{sizeof(u), ioas, kAperture + 4 * K4, 2 * K4};
        return fd_ioctl(IOMMU_IOAS_UNMAP, u);
    });
    step("ACCESS_REPLACE_IOAS", [&] {
        iommu_test_cmd t{};
        t.op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS;
        t.id = kAccessFd;
        t.access_replace_ioas.ioas_id = ioas2;
        return test_cmd(t);
    });
    step("close access fd", [&] {
        iommufd_.release_object_file(access_file);
        return 0L;
    });
    step("DESTROY nested", [&] {
        iommu_destroy d{sizeof(d), nested};
        return fd_ioctl(IOMMU_DESTROY, d);
    });
    run_topology(fault, fault_file);
    step("iommufd release", [&] {
        if (fd_ctx_)
            iommufd_.release(fd_ctx_);
        fd_ctx_ = nullptr;
        return 0L;
    });
    step("close fault fd", [&] {  // after its context: an orphan
        iommufd_.release_object_file(fault_file);
        return 0L;
    });
    control_step("control device-remove accel9", R"({"cmd": "device-remove", "name": "accel9"})");
}

long Session::topology_bind(const char* name, uint32_t& dev) {
    cuse_iommufd_device_bind b{};
    b.size = sizeof(b);
    std::strcpy(b.name, name);
    const long r = fd_ioctl(CUSE_IOMMUFD_DEVICE_BIND, b);
    dev = b.out_dev_id;
    return r;
}

void Session::run_topology(uint32_t fault, uint64_t fault_file) {
    constexpr uint64_t kTablesGpa = 0x10000000, kDataGpa = 0x20000000, kIova = 0x40000000;
    constexpr uint64_t kRW = 3;  // present | writable
    Memory tables(4), data(2);
    auto* pte = reinterpret_cast<uint64_t*>(tables.base);
    pte[0] = (kTablesGpa + K4) | kRW;              // L4[0]
    pte[512 + 1] = (kTablesGpa + 2 * K4) | kRW;    // L3[1]
    pte[1024] = (kTablesGpa + 3 * K4) | kRW;       // L2[0]
    pte[1536] = kDataGpa | kRW;                    // L1[0]; L1[1] not present
    pte[1536 + 1] = 0;
    uint32_t ioas = 0, dev = 0, parent = 0, nested = 0, cookie = 0;
    uint64_t dma_id = 0;
    char bytes[16] = "topology";
    control_step("control device-add accel9",
                 R"({"cmd": "device-add", "device": {"name": "accel9", "type": "pci", "bdf": "00:0a.0", )"
                 R"("iommu": "iommu0", "group": 10, "pasid": true, "pri": true}})");
    step("IOAS_ALLOC topology", [&] {
        iommu_ioas_alloc a{sizeof(a), 0, 0};
        const long r = fd_ioctl(IOMMU_IOAS_ALLOC, a);
        ioas = a.out_ioas_id;
        return r;
    });
    auto map = [&](char* p, uint64_t len, uint64_t iova) {
        iommu_ioas_map m{sizeof(m), IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA,
                         ioas, 0, reinterpret_cast<uintptr_t>(p), len, iova};
        return fd_ioctl(IOMMU_IOAS_MAP, m);
    };
    step("IOAS_MAP tables", [&] { return map(tables.base, 4 * K4, kTablesGpa); });
    step("IOAS_MAP data", [&] { return map(data.base, 2 * K4, kDataGpa); });
    auto bind = [&] { return topology_bind("accel9", dev); };
    step("CUSE_IOMMUFD_DEVICE_BIND", bind);
    auto hwpt_alloc = [&](uint32_t pt, uint32_t flags, const iommu_hwpt_vtd_s1* s1, uint32_t& out) {
        iommu_hwpt_alloc h{};
        h.size = sizeof(h);
        h.flags = flags;
        h.dev_id = dev;
        h.pt_id = pt;
        h.data_type = s1 ? uint32_t{IOMMU_HWPT_DATA_VTD_S1} : 0u;
        h.data_len = s1 ? sizeof(*s1) : 0;
        h.data_uptr = reinterpret_cast<uintptr_t>(s1);
        h.fault_id = fault;
        const long r = fd_ioctl(IOMMU_HWPT_ALLOC, h);
        out = h.out_hwpt_id;
        return r;
    };
    const iommu_hwpt_vtd_s1 s1{0, kTablesGpa, 48, 0};
    step("HWPT_ALLOC topology parent", [&] { return hwpt_alloc(ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, nullptr, parent); });
    step("HWPT_ALLOC VTD_S1", [&] { return hwpt_alloc(parent, IOMMU_HWPT_FAULT_ID_VALID, &s1, nested); });
    auto attach = [&](unsigned cmd, uint32_t pt, bool pasid) {
        cuse_iommufd_device_attach a{sizeof(a), pasid ? uint32_t{CUSE_IOMMUFD_ATTACH_PASID} : 0u, dev,
                                     pasid ? 1u : 0u, pt, 0};
        return fd_ioctl(cmd, a);
    };
    step("CUSE_IOMMUFD_DEVICE_ATTACH PASID", [&] { return attach(CUSE_IOMMUFD_DEVICE_ATTACH, nested, true); });
    step("CUSE_IOMMUFD_DEVICE_ATTACH IOAS", [&] { return attach(CUSE_IOMMUFD_DEVICE_ATTACH, ioas, false); });
    auto dma = [&](uint64_t iova, bool write) {
        cuse_iommufd_device_dma d{};
        d.size = sizeof(d);
        d.flags = CUSE_IOMMUFD_DMA_PASID | (write ? uint32_t{CUSE_IOMMUFD_DMA_WRITE} : 0u);
        d.dev_id = dev;
        d.pasid = 1;
        d.iova = iova;
        d.length = 8;
        d.data = reinterpret_cast<uintptr_t>(bytes);
        const long r = fd_ioctl(CUSE_IOMMUFD_DEVICE_DMA, d);
        dma_id = d.out_dma_id;
        return r;
    };
    step("CUSE_IOMMUFD_DEVICE_DMA", [&] { return dma(kIova, true); });
    step("CUSE_IOMMUFD_DEVICE_DMA page fault", [&] { return dma(kIova + K4, false); });
    step("fault fd read (topology)", [&] {
        std::vector<std::byte> out;
        const long r = iommufd_.read_object_file(fault_file, 0, sizeof(iommu_hwpt_pgfault), out);
        if (r == sizeof(iommu_hwpt_pgfault))
            std::memcpy(&cookie, out.data() + offsetof(iommu_hwpt_pgfault, cookie), sizeof(cookie));
        return r < 0 ? r : 0L;
    });
    step("fault fd write (topology)", [&] {
        pte[1536 + 1] = (kDataGpa + K4) | kRW;
        const iommu_hwpt_page_response response{cookie, IOMMUFD_PAGE_RESP_SUCCESS};
        const long r = iommufd_.write_object_file(
            fault_file, 0, std::span(reinterpret_cast<const std::byte*>(&response), sizeof(response)));
        return r < 0 ? r : 0L;
    }, /*may_refuse=*/true);  // nothing to answer if the page request was not made
    step("CUSE_IOMMUFD_DEVICE_DMA_STATUS", [&] {
        cuse_iommufd_dma_status s{};
        s.size = sizeof(s);
        s.dma_id = dma_id;
        return fd_ioctl(CUSE_IOMMUFD_DEVICE_DMA_STATUS, s);
    }, /*may_refuse=*/true);  // no DMA if it never stalled
    step("HWPT_INVALIDATE VTD_S1", [&] {
        iommu_hwpt_vtd_s1_invalidate req{kIova, 2, 0, 0};
        iommu_hwpt_invalidate inv{sizeof(inv), nested, reinterpret_cast<uintptr_t>(&req),
                                  IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, sizeof(req), 1, 0};
        return fd_ioctl(IOMMU_HWPT_INVALIDATE, inv);
    });
    step("CUSE_IOMMUFD_DEVICE_DMA pending again", [&] { return dma(kIova + 2 * K4, false); });
    step("CUSE_IOMMUFD_DEVICE_DETACH", [&] { return attach(CUSE_IOMMUFD_DEVICE_DETACH, 0, true); });
    step("CUSE_IOMMUFD_DEVICE_UNBIND", [&] {
        cuse_iommufd_device_unbind u{sizeof(u), 0, dev, 0};
        return fd_ioctl(CUSE_IOMMUFD_DEVICE_UNBIND, u);
    });
    step("CUSE_IOMMUFD_DEVICE_BIND again", bind);  // left bound: the context's release unbinds it
    step("CUSE_IOMMUFD_DEVICE_ATTACH IOAS again", [&] { return attach(CUSE_IOMMUFD_DEVICE_ATTACH, ioas, false); });
    run_emulated_device(ioas, kDataGpa);
}

// A software mdev as an emulated device: bound, attached to the IOAS,
// pinning, copying; the unmap of its pages drops the pin.  Left bound.
void Session::run_emulated_device(uint32_t ioas, uint64_t data_gpa) {
    uint32_t dev = 0;
    char bytes[8] = "mdev";
    // The RFC context holds vmdev0 (and so gpu0's group): one of its own.
    control_step("control device-add gpu9",
                 R"({"cmd": "device-add", "device": {"name": "gpu9", "type": "pci", "bdf": "00:0b.0", )"
                 R"("iommu": "iommu0", "group": 11}})");
    control_step("control device-add vmdev9",
                 R"({"cmd": "device-add", "device": {"name": "vmdev9", "type": "sw-mdev", "parent": "gpu9"}})");
    step("CUSE_IOMMUFD_DEVICE_BIND vmdev9", [&] { return topology_bind("vmdev9", dev); });
    step("CUSE_IOMMUFD_DEVICE_ATTACH vmdev9", [&] {
        cuse_iommufd_device_attach a{sizeof(a), 0, dev, 0, ioas, 0};
        return fd_ioctl(CUSE_IOMMUFD_DEVICE_ATTACH, a);
    });
    auto pin = [&](unsigned cmd) {
        cuse_iommufd_device_pin p{sizeof(p), 0, dev, 1, data_gpa};
        return fd_ioctl(cmd, p);
    };
    step("CUSE_IOMMUFD_DEVICE_PIN", [&] { return pin(CUSE_IOMMUFD_DEVICE_PIN); });
    step("CUSE_IOMMUFD_DEVICE_DMA vmdev9", [&] {
        cuse_iommufd_device_dma d{};
        d.size = sizeof(d);
        d.flags = CUSE_IOMMUFD_DMA_WRITE;
        d.dev_id = dev;
        d.iova = data_gpa + 8;
        d.length = sizeof(bytes);
        d.data = reinterpret_cast<uintptr_t>(bytes);
        return fd_ioctl(CUSE_IOMMUFD_DEVICE_DMA, d);
    });
    step("CUSE_IOMMUFD_DEVICE_UNPIN", [&] { return pin(CUSE_IOMMUFD_DEVICE_UNPIN); });
    step("CUSE_IOMMUFD_DEVICE_PIN again", [&] { return pin(CUSE_IOMMUFD_DEVICE_PIN); });
    step("IOAS_UNMAP under the pin", [&] {
        iommu_ioas_unmap u{sizeof(u), ioas, data_gpa, 2 * K4};
        return fd_ioctl(IOMMU_IOAS_UNMAP, u);
    });
}

void Session::Wakeups::add(uint64_t id) noexcept {
    if (id == Dispatcher::kEveryContext)
        everyone = true;
    else if (!include(id) && count < ids.size())
        ids[count++] = id;  // the session has two contexts: never full
}

bool Session::Wakeups::include(uint64_t id) const {
    return everyone || std::find(ids.begin(), ids.begin() + count, id) != ids.begin() + count;
}

std::map<uint64_t, uint64_t> Session::records_received() {
    std::map<uint64_t, uint64_t> received;
    std::lock_guard guard(model_.lock());
    model_.for_each_context(
        [&](const Context& ctx) { received[ctx.id] = ctx.faults.pending() + ctx.faults.delivered; });
    return received;
}

void Session::check_wakeups(const char* name, const std::map<uint64_t, uint64_t>& before) {
    for (const auto& [id, received] : records_received()) {
        const auto was = before.find(id);
        if (received > (was == before.end() ? 0 : was->second) && !woken_.include(id))
            problem(std::string(name) + ": context " + std::to_string(id) + " got records and its readers were "
                                                                           "never woken");
    }
}

void Session::step(const char* name, const Step& fn, bool may_refuse) {
    const std::string before = snapshot();
    const std::map<uint64_t, uint64_t> received_before = records_received();
    woken_ = {};
    const bool fired_before = hooks_.fired();
    if (!fired_before)
        hooks_.entering(name);
    long result = 0;
    hooks_.arm();
    try {
        result = fn();
    } catch (const std::exception& e) {
        hooks_.disarm();
        problem(std::string(name) + ": an exception escaped (" + e.what() + ")");
        return;
    }
    hooks_.disarm();
    check_wakeups(name, received_before);
    if (!hooks_.fired() && result < 0 && !may_refuse)
        problem(std::string(name) + ": errno " + std::to_string(-result) + " with no allocation failing");
    if (!fired_before && hooks_.fired()) {  // its allocation failed
        if (result < 0 && result != -ENOMEM)
            problem(std::string(name) + ": errno " + std::to_string(-result) + " after an allocation failed in it");
        if (result == -ENOMEM && snapshot() != before)
            problem(std::string(name) + ": failed with ENOMEM but changed the model");
    }
    std::lock_guard guard(model_.lock());
    for (const std::string& p : check_model(model_))
        problem(std::string("after ") + name + ": " + p);
}

std::string Session::run() {
    Memory mem(32), tables(4), data(4);
    long ioasid = 0, identity = 0, child = 0, parent = 0, b_ioasid = 0;
    uint32_t grpid = 0;
    char bytes[64] = "sweep";
    iommu_sim_dma pending{};
    model_.set_clock([this] { return now_; });
    dispatcher_.set_records_listener([this](uint64_t context_id) { woken_.add(context_id); });
    const int efd = eventfd(0, EFD_NONBLOCK);

    step("open", [&] { ctx_ = dispatcher_.open(getpid()); return ctx_ ? 0L : -ENOMEM; });
    step("GET_API_VERSION", [&] { return ctx_ ? dispatcher_.ioctl(*ctx_, caller_, IOMMU_GET_API_VERSION, 0) : -EBADF; });
    step("CHECK_EXTENSION", [&] { return ctx_ ? dispatcher_.ioctl(*ctx_, caller_, IOMMU_CHECK_EXTENSION, 1) : -EBADF; });
    step("ALLOC", [&] { return ioasid = alloc(ctx_); });
    step("ALLOC identity", [&] { return identity = alloc(ctx_, IOMMU_IOASID_IDENTITY); });
    step("MAP pinned", [&] { return map(ctx_, ioasid, kPinned, mem.page(0), 2 * K4, 3); });
    step("MAP IOPF", [&] { return map(ctx_, ioasid, kIopf, mem.page(4), 8 * K4, 3 | IOMMU_MAP_DMA_IOPF); });
    step("BIND nic0", [&] { return bind(ctx_, "nic0", kNic); });
    step("BIND accel0", [&] { return bind(ctx_, "accel0", kAccel); });
    step("BIND mdev0", [&] { return bind(ctx_, "mdev0", kMdev); });
    step("BIND vmdev0", [&] { return bind(ctx_, "vmdev0", kSwMdev); });
    step("GET_INFO", [&] {
        struct {
            iommu_device_info info;
            char caps[512];
        } buf{};
        buf.info.argsz = sizeof(buf);
        buf.info.cookie = kAccel;
        return ioctl(ctx_, IOMMU_DEVICE_GET_INFO, buf.info);
    });
    step("ATTACH nic0", [&] { return attach(ctx_, kNic, ioasid); });
    step("ATTACH accel0", [&] { return attach(ctx_, kAccel, ioasid); });
    step("ATTACH mdev0", [&] { return attach(ctx_, kMdev, ioasid); });
    step("ATTACH vmdev0", [&] { return attach(ctx_, kSwMdev, ioasid); });
    step("DMA write", [&] { return dma(kNic, kPinned + 8, bytes, sizeof(bytes), true); });
    step("DMA read", [&] { return dma(kNic, kPinned + 8, bytes, sizeof(bytes), false); });
    step("DMA mdev", [&] { return dma(kMdev, kPinned, bytes, 8, false); });
    step("DMA IOPF fault-in", [&] { return dma(kAccel, kIopf + K4, bytes, 16, true); });
    step("MDEV_PIN", [&] {
        iommu_sim_mdev_pin p{sizeof(p), IOMMU_SIM_PIN_WRITE, kSwMdev, kPinned, 2, 0};
        return ioctl(ctx_, IOMMU_SIM_MDEV_PIN, p);
    });
    step("MDEV_UNPIN", [&] {
        iommu_sim_mdev_pin p{sizeof(p), 0, kSwMdev, kPinned, 1, 0};
        return ioctl(ctx_, IOMMU_SIM_MDEV_UNPIN, p);
    });

    // Nesting: a stage-1 table in our memory, read through the parent.
    auto* l = reinterpret_cast<uint64_t*>(tables.base);
    const uint64_t rw = x86pt::kPresent | x86pt::kWritable;
    l[0] = (kTablesGpa + K4) | rw;                                     // L4[0] -> L3
    l[512 + x86pt::index_at(kNestedIova, 3)] = (kTablesGpa + 2 * K4) | rw;  // L3 -> L2
    l[1024] = (kTablesGpa + 3 * K4) | rw;                              // L2[0] -> L1
    l[1536] = kDataGpa | rw;                                           // L1[0] -> data
    step("ALLOC parent", [&] { return parent = alloc(ctx_); });
    step("MAP tables", [&] { return map(ctx_, parent, kTablesGpa, tables.base, 4 * K4, IOMMU_MAP_DMA_READ); });
    step("MAP data", [&] { return map(ctx_, parent, kDataGpa, data.base, 4 * K4, 3); });
    step("ALLOC nested", [&] {
        return child = alloc(ctx_, IOMMU_IOASID_USER_PGTABLE, static_cast<uint32_t>(parent), kTablesGpa);
    });
    step("ATTACH nested PASID", [&] { return attach(ctx_, kAccel, child, kNestedPasid, true); });
    step("DMA nested", [&] { return dma(kAccel, kNestedIova, bytes, 16, true, kNestedPasid); });
    step("INVALIDATE_CACHE", [&] {
        iommu_invalidate_cache inv{sizeof(inv), 0, static_cast<uint32_t>(child), IOMMU_INV_GRAN_ALL,
                                   IOMMU_INV_CACHE_IOTLB, 0, 0, 0};
        return ioctl(ctx_, IOMMU_INVALIDATE_CACHE, inv);
    });

    // Faults: a consumer, an eventfd, page requests answered both ways.
    step("FAULT_REGISTER", [&] {
        iommu_device_fault r{sizeof(r), 0, kAccel};
        return ioctl(ctx_, IOMMU_DEVICE_FAULT_REGISTER, r);
    });
    step("FAULT_SET_EVENTFD", [&] {
        iommu_fault_eventfd e{sizeof(e), 0, efd, 0};
        return ioctl(ctx_, IOMMU_FAULT_SET_EVENTFD, e);
    });
    step("FAULT_REGION_INFO", [&] {
        iommu_fault_region_info info{};
        info.argsz = sizeof(info);
        info.flags = IOMMU_FAULT_REGION_SET_DEPTH | IOMMU_FAULT_REGION_SET_TIMEOUT;
        info.depth = 64;
        info.timeout_ms = 1000;
        return ioctl(ctx_, IOMMU_FAULT_REGION_INFO, info);
    });
    step("DMA stalls", [&] { return dma(kAccel, kLazy, bytes, 8, false, 0, &pending); });
    grpid = next_grpid();
    step("MAP the page asked for", [&] { return map(ctx_, ioasid, kLazy, mem.page(16), K4, 3); });
    step("PAGE_RESPONSE SUCCESS", [&] { return respond(grpid, IOMMU_PAGE_RESP_SUCCESS); });
    step("DMA_STATUS", [&] {
        iommu_sim_dma_status s{};
        s.argsz = sizeof(s);
        s.dma_id = pending.dma_id;
        return ioctl(ctx_, IOMMU_SIM_DMA_STATUS, s);
    });
    step("DMA stalls again", [&] { return dma(kAccel, kLazy2, bytes, 8, true, 0, &pending); });
    grpid = next_grpid();
    step("PAGE_RESPONSE INVALID", [&] { return respond(grpid, IOMMU_PAGE_RESP_INVALID); });
    step("INJECT", [&] {
        iommu_sim_inject_fault f{sizeof(f), 0, kAccel, 0, 0, 0x7000, IOMMU_FAULT_PERM_READ, 0};
        return ioctl(ctx_, IOMMU_SIM_INJECT_FAULT, f);
    });
    step("INJECT page request", [&] {
        iommu_sim_inject_fault f{sizeof(f), IOMMU_SIM_FAULT_RECOVERABLE, kAccel, 0, 0, 0x8000,
                                 IOMMU_FAULT_PERM_WRITE, 0};
        return ioctl(ctx_, IOMMU_SIM_INJECT_FAULT, f);
    });
    step("timeout tick", [&] {
        now_ += std::chrono::seconds(2);
        dispatcher_.expire_page_requests();
        return 0L;
    });
    step("DMA stalls for the end", [&] { return dma(kAccel, kLazy2 + K4, bytes, 8, false, 0, &pending); });
    step("GET_STATS", [&] {
        iommu_stats s{};
        s.argsz = sizeof(s);
        return ioctl(ctx_, IOMMU_GET_STATS, s);
    });
    step("SIM_DAEMON_STATS", [&] {
        iommu_sim_daemon_stats s{};
        s.argsz = sizeof(s);
        return ioctl(ctx_, IOMMU_SIM_DAEMON_STATS, s);
    });

    // The control socket.
    control_step("control dump", R"({"cmd": "dump"})");
    control_step("control dma write", R"({"cmd": "dma", "device": "nic0", "iova": 1048576, "length": 4, "write": true, "data": "01020304"})");
    control_step("control dma read", R"({"cmd": "dma", "device": "nic0", "iova": 1048576, "length": 4, "write": false})");
    control_step("control fault", R"({"cmd": "fault", "device": "accel0", "addr": 4096, "perm": ["read"]})");
    control_step("control set context", R"({"cmd": "set", "context": )" + std::to_string(ctx_ ? ctx_->id : 0) +
                       R"(, "fault_depth": 128})");
    control_step("control set device", R"({"cmd": "set", "device": "accel0", "page_requests": 8})");
    control_step("control device-add", R"({"cmd": "device-add", "device": {"name": "nic9", "type": "pci", "bdf": "00:09.0", "iommu": "iommu0", "group": 9}})");
    control_step("control device-remove", R"({"cmd": "device-remove", "name": "nic9"})");
    control_step("control device-remove bound", R"({"cmd": "device-remove", "name": "mdev0"})", true);
    control_step("control check", R"({"cmd": "check"})");
    control_step("control not JSON", R"({"cmd": "dump")", true);

    // Teardown, some of it by hand.
    step("DETACH nic0", [&] {
        iommu_device_detach d{sizeof(d), 0, kNic, 0, 0};
        return ioctl(ctx_, IOMMU_DEVICE_DETACH, d);
    });
    step("UNBIND nic0", [&] {
        iommu_device_unbind u{sizeof(u), 0, kNic};
        return ioctl(ctx_, IOMMU_DEVICE_UNBIND, u);
    });
    step("UNMAP", [&] {
        iommu_unmap_dma u{sizeof(u), 0, static_cast<uint32_t>(ioasid), 0, kPinned, 2 * K4};
        return ioctl(ctx_, IOMMU_UNMAP_DMA, u);
    });
    step("FREE identity", [&] {
        iommu_ioasid_free f{sizeof(f), 0, static_cast<uint32_t>(identity), 0};
        return ioctl(ctx_, IOMMU_IOASID_FREE, f);
    });

    run_iommufd(mem.page(24));

    // A second context that leaves everything behind, then both go.
    step("open another", [&] { other_ = dispatcher_.open(getpid()); return other_ ? 0L : -ENOMEM; });
    step("ALLOC in it", [&] { return b_ioasid = alloc(other_); });
    step("MAP in it", [&] { return map(other_, b_ioasid, kPinned, mem.page(20), K4, 3); });
    step("BIND nic1 in it", [&] { return bind(other_, "nic1", kNic1); });
    step("ATTACH in it", [&] { return attach(other_, kNic1, b_ioasid); });
    step("release another", [&] {
        if (other_)
            dispatcher_.release(other_);
        other_ = nullptr;
        return 0L;
    });
    step("release", [&] {
        if (ctx_)
            dispatcher_.release(ctx_);
        ctx_ = nullptr;
        return 0L;
    });
    close(efd);
    std::lock_guard guard(model_.lock());
    if (model_.context_count() || model_.routes().size() || model_.iotlb().size() ||
        model_.ledger().total_locked_pages())
        problem("the model is not empty after every context was released");
    return problems_;
}

}  // namespace

std::string run_session(const Hooks& hooks) {
    const long live_before = hooks.live();
    std::string problems;
    {
        Session session(hooks);
        problems = session.run();
    }
    const long leaked = hooks.live() - live_before;
    if (problems.empty() && leaked > 0)  // (a non-empty problems string is itself an allocation)
        problems += std::to_string(leaked) + " allocations left after everything was destroyed; ";
    return problems;
}

}  // namespace sweep
