// IOMMU_GET_STATS (one context, as its user sees it) and
// IOMMU_SIM_DAEMON_STATS (object counts across the whole daemon, the way a
// test harness looks at the kernel to prove nothing leaked).
#include "../core/caller.h"
#include "cuse-iommu.h"
#include "handlers.h"
#include "../core/model.h"

namespace ciommu {
namespace {

uint64_t mappings_of(const Context& ctx) {
    uint64_t mappings = 0;
    ctx.ioasids.for_each([&](uint32_t, const IoAddressSpace& space) { mappings += space.mapping_count(); });
    return mappings;
}

}  // namespace

long ioctl_get_stats(CallEnv& env, iommu_stats& stats) {
    const ProcessRef caller = env.caller_process();
    std::lock_guard guard(env.model.lock());
    stats.locked_pages = caller ? env.model.ledger().locked_pages(*caller) : 0;
    stats.ioasids = static_cast<__u32>(env.ctx.ioasids.size());
    stats.devices = static_cast<__u32>(env.ctx.devices.size());
    stats.mappings = mappings_of(env.ctx);
    stats.iotlb_hits = env.ctx.iotlb_hits;
    stats.iotlb_misses = env.ctx.iotlb_misses;
    return 0;
}

long ioctl_sim_daemon_stats(CallEnv& env, iommu_sim_daemon_stats& stats) {
    stats.contexts = static_cast<__u32>(env.model.context_count());
    stats.ioasids = 0;
    stats.mappings = 0;
    stats.mapped_bytes = 0;
    env.model.for_each_context([&](const Context& ctx) {
        stats.ioasids += static_cast<__u32>(ctx.ioasids.size());
        ctx.ioasids.for_each([&](uint32_t, const IoAddressSpace& space) {
            stats.mappings += space.mapping_count();
            stats.mapped_bytes += space.mapped_bytes();
        });
    });
    return 0;
}

}  // namespace ciommu
