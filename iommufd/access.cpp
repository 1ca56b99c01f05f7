#include "access.h"

#include <algorithm>

#include "iommufd_ctx.h"
#include "ioas.h"

namespace ciommu {

Access* find_access(IommufdCtx& ictx, int fd) {
    auto it = ictx.access_by_fd.find(fd);
    return it == ictx.access_by_fd.end() ? nullptr : ictx.objects.get<Access>(it->second);
}

namespace {

void drop_items(IommufdCtx& ictx, Access& access, uint64_t first, uint64_t last) noexcept {
    auto meets = [&](const AccessItem& item) {
        return !(first > item.iova + (item.length - 1) || last < item.iova);
    };
    const auto gone = std::remove_if(access.items.begin(), access.items.end(), meets);
    ictx.records.give(static_cast<uint64_t>(access.items.end() - gone));
    access.items.erase(gone, access.items.end());
}

}  // namespace

void notify_accesses_unmap(IommufdCtx& ictx, uint32_t ioas_id, uint64_t first, uint64_t last) noexcept {
    for (const auto& [fd, id] : ictx.access_by_fd) {
        if (Access* access = ictx.objects.get<Access>(id); access && access->ioas_id == ioas_id)
            drop_items(ictx, *access, first, last);
    }
}

void change_access_ioas(IommufdCtx& ictx, Access& access, uint32_t new_ioas_id) noexcept {
    if (access.ioas_id == new_ioas_id)
        return;
    drop_items(ictx, access, 0, UINT64_MAX);
    if (Ioas* old_ioas = ictx.objects.get<Ioas>(access.ioas_id))
        --old_ioas->users;
    if (Ioas* new_ioas = ictx.objects.get<Ioas>(new_ioas_id))
        ++new_ioas->users;
    access.ioas_id = new_ioas_id;
}

}  // namespace ciommu
