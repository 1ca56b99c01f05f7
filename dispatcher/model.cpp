#include "model.h"

namespace ciommu {

Context* Model::add_context(pid_t opener) {
    const uint64_t id = next_context_id_++;
    auto [it, inserted] = contexts_.emplace(id, std::make_unique<Context>(id, opener));
    return it->second.get();
}

void Model::remove_context(Context* ctx) {
    contexts_.erase(ctx->id);
}

}  // namespace ciommu
