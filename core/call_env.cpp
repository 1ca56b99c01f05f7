#include "call_env.h"

#include "caller.h"
#include "model.h"

namespace ciommu {

std::shared_ptr<Process> CallEnv::caller_process() const {
    return model.processes().for_caller(caller.tgid());
}

}  // namespace ciommu
