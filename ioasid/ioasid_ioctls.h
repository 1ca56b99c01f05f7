// The IOASID commands (ioasid_ioctls.cpp). Each receives arguments the
// dispatcher has already checked (argsz, flags, reserved fields) and runs
// with the model lock held unless its row says otherwise
// (dispatcher/command_table.cpp).
#pragma once

namespace ciommu {

struct CallEnv;  // core/call_env.h

long ioctl_ioasid_alloc(CallEnv& env);
long ioctl_ioasid_free(CallEnv& env);
long ioctl_map_dma(CallEnv& env);
long ioctl_unmap_dma(CallEnv& env);
long ioctl_invalidate_cache(CallEnv& env);

}  // namespace ciommu
