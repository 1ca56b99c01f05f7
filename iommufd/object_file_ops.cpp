#include "object_file_ops.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <poll.h>

#include "../core/context.h"
#include "../core/model.h"
#include "access.h"
#include "fault_queue.h"
#include "object_file.h"
#include "topology_faults.h"

namespace ciommu {
namespace {

constexpr size_t kMaxReadBytes = 1u << 20;

// The fault queue a file is the fd of, else nullptr (unbound, another
// kind, or its context gone).
FaultQueue* fault_queue_of(Model& model, const ObjectFile& file) {
    if (!file.bound() || file.kind != ObjectKind::kFault)
        return nullptr;
    Context* ctx = model.find_context(file.context_id);
    return ctx ? ctx->iommufd.objects.get<FaultQueue>(file.object_id) : nullptr;
}

bool orphan(Model& model, const ObjectFile& file) {
    return file.bound() && !model.find_context(file.context_id);
}

}  // namespace

long object_file_read(Model& model, uint64_t file_id, uint64_t pos, size_t count, std::vector<std::byte>& out) {
    ObjectFile* file = model.object_files().find(file_id);
    if (!file)
        return -EBADF;
    if (orphan(model, *file))
        return 0;  // its context went: nothing will come (docs/iommufd.md)
    FaultQueue* queue = fault_queue_of(model, *file);
    if (!queue)
        return -EINVAL;  // an access fd has no read (vfs_read's EINVAL)
    if (pos == 0 && count % sizeof(iommu_hwpt_pgfault) == 0 && !queue->readable())
        return 0;  // nothing waits: no room to take (the queue's own checks come first otherwise)
    // The answer's room is taken before any group moves, so that running
    // out of memory changes nothing; one read() takes at most this much.
    count = std::min(count, kMaxReadBytes - kMaxReadBytes % sizeof(iommu_hwpt_pgfault));
    const size_t at = out.size();
    out.reserve(at + count);
    std::vector<iommu_hwpt_pgfault> faults;
    const long got = queue->read(pos, count, faults);
    if (got <= 0)
        return got;
    out.resize(at + faults.size() * sizeof(iommu_hwpt_pgfault));  // within the reserve
    std::memcpy(out.data() + at, faults.data(), faults.size() * sizeof(iommu_hwpt_pgfault));
    return got;
}

long object_file_write(Model& model, uint64_t file_id, uint64_t pos, std::span<const std::byte> bytes) {
    ObjectFile* file = model.object_files().find(file_id);
    if (!file)
        return -EBADF;
    if (orphan(model, *file))
        return -EINVAL;  // every group was answered when the context went
    FaultQueue* queue = fault_queue_of(model, *file);
    if (!queue)
        return -EINVAL;
    const uint64_t context_id = file->context_id;
    return queue->write(pos, bytes, [&](const FaultGroup& group, uint32_t code) {
        answer_topology_group(model, context_id, group, code);
    });
}

unsigned object_file_poll(Model& model, uint64_t file_id) {
    ObjectFile* file = model.object_files().find(file_id);
    if (!file)
        return POLLERR;
    if (!file->bound() || file->kind != ObjectKind::kFault)
        return POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;  // no poll op: DEFAULT_POLLMASK
    FaultQueue* queue = fault_queue_of(model, *file);
    return POLLOUT | (queue && queue->readable() ? POLLIN | POLLRDNORM : 0u);
}

void object_file_release(Model& model, uint64_t file_id) noexcept {
    ObjectFile* file = model.object_files().find(file_id);
    if (!file)
        return;
    Context* ctx = file->bound() ? model.find_context(file->context_id) : nullptr;
    if (ctx) {
        IommufdCtx& ictx = ctx->iommufd;
        if (file->kind == ObjectKind::kFault) {
            // iommufd_fault_fops_release: the fd's user goes; the queue
            // stays until IOMMU_DESTROY.
            if (auto* queue = ictx.objects.get<FaultQueue>(file->object_id); queue && queue->file == file_id) {
                queue->file = 0;
                --queue->users;
            }
        } else if (auto* access = ictx.objects.get<Access>(file->object_id); access && access->file == file_id) {
            // iommufd_test_staccess_release: every pin dropped, then the access.
            access->file = 0;
            access->users = 0;
            ictx.destroy_object(model.ledger(), access->id);
        }
    }
    model.object_files().close(file_id);
}

}  // namespace ciommu
