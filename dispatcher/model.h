// The whole IOMMU model the daemon serves: every open context (and, as the
// model grows, the topology and devices).  One mutex guards all of it; see
// docs/design.md for the lock discipline.
#pragma once

#include <memory>
#include <mutex>
#include <map>
#include <cstdint>
#include <sys/types.h>

#include "context.h"

namespace ciommu {

class Model {
public:
    // Taken by the dispatcher around every handler and by open/release.
    std::mutex& lock() { return mutex_; }

    // Both require lock() held.
    Context* add_context(pid_t opener);
    void remove_context(Context* ctx);

    template <typename Fn> void for_each_context(Fn&& fn) const {
        for (const auto& entry : contexts_)
            fn(*entry.second);
    }
    size_t context_count() const { return contexts_.size(); }

private:
    std::mutex mutex_;
    uint64_t next_context_id_ = 1;
    std::map<uint64_t, std::unique_ptr<Context>> contexts_;  // by Context::id
};

}  // namespace ciommu
