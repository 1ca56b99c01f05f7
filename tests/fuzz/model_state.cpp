#include "model_state.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "../../core/model.h"
#include "../../core/model_check.h"

namespace fuzz {
namespace {

[[noreturn]] void fail(const char* what, const std::vector<std::string>& problems) {
    std::fprintf(stderr, "fuzz: %s\n", what);
    for (const std::string& p : problems)
        std::fprintf(stderr, "  %s\n", p.c_str());
    std::abort();
}

}  // namespace

void require_sound(ciommu::Model& model) {
    std::vector<std::string> problems;
    {
        std::lock_guard guard(model.lock());
        problems = ciommu::check_model(model);
    }
    if (!problems.empty())
        fail("the invariant checker found problems", problems);
}

void require_empty(ciommu::Model& model) {
    std::vector<std::string> left;
    {
        std::lock_guard guard(model.lock());
        const auto count = [&](size_t n, const char* what) {
            if (n != 0)
                left.push_back(std::to_string(n) + " " + what);
        };
        count(model.context_count(), "contexts");
        count(model.object_files().size(), "object files");
        count(model.ledger().total_locked_pages(), "locked pages");
        count(model.routes().size(), "routes");
        count(model.iotlb().size(), "IOTLB entries");
        size_t bound = 0;
        for (unsigned i = 0; i < model.topology().devices.size(); ++i)
            bound += model.devices().bound(i) != nullptr;
        count(bound, "bound devices");
        for (std::string& p : ciommu::check_model(model))
            left.push_back(std::move(p));
    }
    if (!left.empty())
        fail("the model is not empty after every context was released", left);
}

}  // namespace fuzz
