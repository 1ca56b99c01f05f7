// An iommufd-profile client for the stress driver: random iommufd commands
// (IOASes, maps, copies, mock devices and domains, replaces, page tables,
// dirty tracking, nested page tables, VFIO compatibility, fd objects:
// fault queues and accesses on object files it opens, reads, writes, polls
// and closes; topology devices bound, attached, doing DMA; a software mdev
// as an emulated device, pinning) through a Dispatcher built with
// Abi::kIommufd over the same model as the RFC workers.  Two of them share a context, so the self-locked handlers'
// drop-the-lock-and-look-again paths race each other under TSan.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../../core/caller.h"
#include "../../core/context.h"
#include "../../dispatcher/dispatcher.h"
#include "cuse-iommu-iommufd.h"

namespace ciommu::stress {

class IommufdWorker {
public:
    // fd_base: the fd numbers its object files claim start here (workers
    // sharing a context need their own).
    IommufdWorker(Dispatcher& dispatcher, Context* ctx, uint64_t seed, std::string name, int fd_base);
    ~IommufdWorker();
    IommufdWorker(const IommufdWorker&) = delete;
    IommufdWorker& operator=(const IommufdWorker&) = delete;

    void run(const std::atomic<bool>& stop, uint64_t limit);

    const std::string& name() const { return name_; }
    Context* context() const { return ctx_; }
    uint64_t ops() const { return ops_; }
    // Command name -> result ("ok" or the errno's name) -> count.
    const std::map<std::string, std::map<std::string, uint64_t>>& results() const { return results_; }
    // Results no interleaving explains (EFAULT on valid memory, ENOMEM,
    // ENOTTY), the first few.
    const std::vector<std::string>& problems() const { return problems_; }
    uint64_t unexpected() const { return unexpected_; }

private:
    template <typename T> long call(unsigned cmd, T& args);
    uint32_t pick(const std::vector<uint32_t>& ids);
    uint64_t below(uint64_t n) { return n ? std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_) : 0; }
    void step();
    void op_ioas_alloc();
    void op_destroy();
    void op_map();
    void op_unmap();
    void op_copy();
    void op_mock_domain();
    void op_replace();
    void op_hwpt_alloc();
    void op_dirty();
    void op_check_map();
    void op_ranges();
    void op_vfio();
    void op_nested();
    void op_fd_object();
    void op_use_fd_object();
    // Topology devices (CUSE_IOMMUFD_DEVICE_*): bind, attach to anything,
    // DMA (its page faults stall on fault queues), status, detach, unbind.
    void op_topology();
    void close_fd_objects();
    void test_cmd(iommu_test_cmd& t);

    // An object file this worker opened: its id, the fd number it claimed,
    // what it became (a fault queue's fd, an access's), and the object id.
    struct FdObject {
        uint64_t file;
        int fd;
        bool access;
        uint32_t id;
    };

    Dispatcher& d_;
    Context* ctx_;
    std::mt19937_64 rng_;
    std::string name_;
    Caller caller_ = Caller::self();
    char* buffer_ = nullptr;
    std::vector<uint32_t> ioases_, stdevs_, hwpts_, idevs_, nested_, dirty_hwpts_, topology_devs_;
    std::vector<uint32_t> emulated_devs_;  // those of topology_devs_ that are software mdevs
    std::vector<uint64_t> dma_ids_;
    std::vector<FdObject> fd_objects_;
    int next_fd_;
    std::map<std::string, std::map<std::string, uint64_t>> results_;
    std::vector<std::string> problems_;
    uint64_t unexpected_ = 0;
    uint64_t ops_ = 0;
};

}  // namespace ciommu::stress
