// IOMMU_SIM_DAEMON_STATS: object counts across the whole daemon, the way a
// test harness looks at the kernel to prove nothing leaked.
#include "cuse-iommu.h"
#include "handlers.h"
#include "model.h"

namespace ciommu {

long ioctl_sim_daemon_stats(CallEnv& env) {
    auto& stats = *static_cast<iommu_sim_daemon_stats*>(env.args);
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
