// IOMMU_FAULT_QUEUE_ALLOC (fault.c's iommufd_fault_alloc) and
// CUSE_IOMMUFD_OBJECT_FD_CALL, which carries it (and CREATE_ACCESS) with
// the object file its answer is (iommufd/object_file.h).
#include <cerrno>
#include <memory>

#include "../core/call_env.h"
#include "../core/caller.h"
#include "../core/context.h"
#include "../core/model.h"
#include "fault_queue.h"
#include "iommufd_ioctls.h"
#include "object_file.h"

namespace ciommu {

long ioctl_object_fd_call(CallEnv& env, const cuse_iommufd_object_fd_call& cmd) {
    if (cmd.object_fd < 0)
        return -EBADF;
    if (cmd.cmd != IOMMU_FAULT_QUEUE_ALLOC && cmd.cmd != IOMMU_TEST_CMD)
        return -EINVAL;
    env.forward_cmd = cmd.cmd;
    env.forward_arg = cmd.arg;
    env.forward_file = {cmd.object_token, cmd.object_fd};
    return 0;
}

uint64_t claim_object_file(CallEnv& env) {
    return env.model.object_files().unbound_of(env.object_file->token, env.caller.tgid());
}

void bind_object_file(CallEnv& env, uint64_t file_id, uint32_t object_id, ObjectKind kind) {
    env.model.object_files().bind(file_id, env.ctx.id, object_id, kind);
}

namespace {

// The caller never learned the fd: the queue goes, its file stays open,
// unbound (the caller's helper closes it).
void abort_fault_queue(CallEnv& env, uint32_t id) {
    auto* queue = env.ctx.iommufd.objects.get<FaultQueue>(id);
    if (!queue)
        return;
    env.model.object_files().unbind(queue->file);
    queue->file = 0;
    --queue->users;
    env.ctx.iommufd.destroy_object(env.model.ledger(), id);
}

}  // namespace

long ioctl_fault_queue_alloc(CallEnv& env, iommu_fault_alloc& cmd) {
    if (!env.object_file)
        return -EOPNOTSUPP;  // no fd helper: docs/iommufd.md, "File descriptors"
    const uint64_t file_id = claim_object_file(env);
    if (!file_id)
        return -EBADF;
    auto queue = std::make_unique<FaultQueue>();
    FaultQueue& made = *queue;
    const long id = env.ctx.iommufd.objects.add(std::move(queue));
    if (id < 0)
        return id;
    made.file = file_id;
    made.users = 1;  // the fd's (iommufd_fault_alloc's refcount_inc)
    bind_object_file(env, file_id, made.id, ObjectKind::kFault);
    cmd.out_fault_id = made.id;
    cmd.out_fault_fd = static_cast<uint32_t>(env.object_file->fd);
    env.created_id = made.id;
    env.abort_created = abort_fault_queue;
    return 0;
}

}  // namespace ciommu
