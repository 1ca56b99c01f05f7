// The selftest driver's access operations (selftest.c: CREATE_ACCESS,
// ACCESS_PAGES, DESTROY_ACCESS_PAGES, ACCESS_RW, ACCESS_REPLACE_IOAS) over
// the iommufd core's access functions (device.c: iommufd_access_pin_pages,
// iommufd_access_rw, iommufd_access_replace), with their errnos.
#include <algorithm>
#include <cerrno>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "../core/call_env.h"
#include "../core/caller.h"
#include "../core/context.h"
#include "../core/model.h"
#include "../ioasid/process.h"
#include "access.h"
#include "ioas.h"
#include "iommufd_ioctls.h"
#include "object_file.h"

namespace ciommu {
namespace {

// selftest.c refuses bigger requests (its kvzalloc'd page list).
constexpr uint64_t kMaxAccessLength = 16u << 20;

// The caller never learned the fd: the access goes, its file stays open
// unbound (the helper closes it).
void abort_access(CallEnv& env, uint32_t id) {
    IommufdCtx& ictx = env.ctx.iommufd;
    auto* access = ictx.objects.get<Access>(id);
    if (!access)
        return;
    env.model.object_files().unbind(access->file);
    access->file = 0;
    access->users = 0;
    ictx.destroy_object(env.model.ledger(), id);
}

// Start and end (inclusive) of a request, as iommufd_access_pin_pages and
// iommufd_access_rw check them.
long request_last(uint64_t iova, uint64_t length, uint64_t& last) {
    if (!length)
        return -EINVAL;
    if (iova > UINT64_MAX - (length - 1))
        return -EOVERFLOW;
    last = iova + (length - 1);
    return 0;
}

long create_access(CallEnv& env, iommu_test_cmd& cmd) {
    if (cmd.create_access.flags & ~uint32_t{MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES})
        return -EOPNOTSUPP;
    if (!env.object_file)
        return -EOPNOTSUPP;  // no fd helper: docs/iommufd.md, "File descriptors"
    std::lock_guard guard(env.model.lock());
    IommufdCtx& ictx = env.ctx.iommufd;
    const uint64_t file_id = claim_object_file(env);
    if (!file_id)
        return -EBADF;
    Ioas* ioas = ictx.objects.get<Ioas>(cmd.id);
    if (!ioas)
        return -ENOENT;
    const int fd = env.object_file->fd;
    auto made = std::make_unique<Access>(cmd.create_access.flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
    Access& access = *made;
    const long id = add_access(ictx, std::move(made));
    if (id < 0)
        return id;
    try {
        ictx.access_by_fd[fd] = access.id;  // a newer access at a reused number wins
    } catch (const std::bad_alloc&) {
        ictx.destroy_object(env.model.ledger(), access.id);  // unused yet, on no IOAS
        throw;
    }
    access.users = 1;  // the fd's (the driver is a user until it destroys it)
    access.file = file_id;
    access.fd = fd;
    access.ioas_id = ioas->id;
    ++ioas->users;
    bind_object_file(env, file_id, access.id, ObjectKind::kAccess);
    cmd.create_access.out_access_fd = static_cast<uint32_t>(fd);
    env.created_id = access.id;
    env.abort_created = abort_access;
    return 0;
}

// The item the caller never learned of goes again.
void abort_access_pages(CallEnv& env, uint32_t item_id) {
    const auto& cmd = *static_cast<const iommu_test_cmd*>(env.args);
    if (Access* access = find_access(env.ctx.iommufd, static_cast<int>(cmd.id)))
        unpin_access_range(env.ctx.iommufd, *access, item_id);
}

long access_pages(CallEnv& env, iommu_test_cmd& cmd) {
    auto& op = cmd.access_pages;
    if (op.length > kMaxAccessLength)
        return -ENOMEM;
    if (op.flags & ~uint32_t{MOCK_FLAGS_ACCESS_WRITE})
        return -EOPNOTSUPP;  // and MOCK_FLAGS_ACCESS_SYZ: docs/iommufd.md
    uint64_t last = 0;
    // The caller's pages must be there (get_user_pages_fast): probed
    // before the lock, which never waits on client memory.
    std::shared_ptr<Process> caller;
    if (op.uptr) {
        caller = env.caller_process();
        if (!caller)
            return -EFAULT;
        if (op.length && op.uptr <= UINT64_MAX - (op.length - 1) && env.caller.probe_memory(op.uptr, op.length))
            return -EFAULT;
    }
    std::lock_guard guard(env.model.lock());
    IommufdCtx& ictx = env.ctx.iommufd;
    Access* access = find_access(ictx, static_cast<int>(cmd.id));
    if (!access)
        return -EBADFD;
    if (!access->needs_pin_pages)
        return -EOPNOTSUPP;
    if (long err = request_last(op.iova, op.length, last))
        return err;
    const Ioas* ioas = ictx.objects.get<Ioas>(access->ioas_id);
    if (!ioas)
        return -ENOENT;
    if (long err = check_access_pin(ioas->iopt, op.iova, last, op.flags & MOCK_FLAGS_ACCESS_WRITE, caller.get(),
                                    op.uptr))
        return err;
    if (!ictx.records.take(1))
        return -ENOSPC;
    try {
        op.out_access_pages_id = access->pins.add(op.iova, op.length);
    } catch (const std::bad_alloc&) {
        ictx.records.give(1);
        throw;
    }
    env.created_id = op.out_access_pages_id;
    env.abort_created = abort_access_pages;
    return 0;
}

long destroy_access_pages(CallEnv& env, const iommu_test_cmd& cmd) {
    std::lock_guard guard(env.model.lock());
    Access* access = find_access(env.ctx.iommufd, static_cast<int>(cmd.id));
    if (!access)
        return -EBADFD;
    return unpin_access_range(env.ctx.iommufd, *access, cmd.destroy_access_pages.access_pages_id) ? 0 : -ENOENT;
}

long access_replace_ioas(CallEnv& env, const iommu_test_cmd& cmd) {
    std::lock_guard guard(env.model.lock());
    IommufdCtx& ictx = env.ctx.iommufd;
    Access* access = find_access(ictx, static_cast<int>(cmd.id));
    if (!access)
        return -EBADFD;
    if (!access->ioas_id)
        return -ENOENT;
    if (!ictx.objects.get<Ioas>(cmd.access_replace_ioas.ioas_id))
        return -ENOENT;
    change_access_ioas(ictx, *access, cmd.access_replace_ioas.ioas_id);
    return 0;
}

long plan_rw(CallEnv& env, const iommu_test_cmd& cmd, bool write, std::vector<RwPiece>& pieces) {
    const auto& op = cmd.access_rw;
    std::lock_guard guard(env.model.lock());
    IommufdCtx& ictx = env.ctx.iommufd;
    Access* access = find_access(ictx, static_cast<int>(cmd.id));
    if (!access)
        return -EBADFD;
    uint64_t last = 0;
    if (long err = request_last(op.iova, op.length, last))
        return err;
    const Ioas* ioas = ictx.objects.get<Ioas>(access->ioas_id);
    if (!ioas)
        return -ENOENT;
    return plan_access_rw(ioas->iopt, op.iova, last, write, pieces);
}

// iommufd_access_rw: the memory is moved without the model lock, from the
// pieces planned under it (a concurrent unmap may race it, as it may race
// a kernel access that copies).
long access_rw(CallEnv& env, const iommu_test_cmd& cmd) {
    const auto& op = cmd.access_rw;
    if (op.length > kMaxAccessLength)
        return -ENOMEM;
    if (op.flags & ~uint32_t{MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH})
        return -EOPNOTSUPP;  // and MOCK_FLAGS_ACCESS_SYZ: docs/iommufd.md
    const bool write = op.flags & MOCK_ACCESS_RW_WRITE;
    std::vector<RwPiece> pieces;
    if (long err = plan_rw(env, cmd, write, pieces))
        return err;
    return copy_through_access(env.caller, pieces, op.length, op.uptr, write);
}

}  // namespace

long selftest_access_op(CallEnv& env, iommu_test_cmd& cmd) {
    switch (cmd.op) {
    case IOMMU_TEST_OP_CREATE_ACCESS:
        return create_access(env, cmd);
    case IOMMU_TEST_OP_ACCESS_PAGES:
        return access_pages(env, cmd);
    case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
        return destroy_access_pages(env, cmd);
    case IOMMU_TEST_OP_ACCESS_RW:
        return access_rw(env, cmd);
    case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
        return access_replace_ioas(env, cmd);
    default:
        return -EOPNOTSUPP;
    }
}

}  // namespace ciommu
