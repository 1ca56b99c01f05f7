#include "hw_pagetable.h"

#include <cerrno>
#include <memory>
#include <new>

#include "iommufd_ctx.h"
#include "ioas.h"

namespace ciommu {

long alloc_hwpt_paging(IommufdCtx& ictx, PinLedger& ledger, Ioas& ioas, const PagingOptions& options,
                       HwptPaging*& out) {
    out = nullptr;
    long id = 0;
    HwptPaging* hwpt = nullptr;
    try {
        auto made = std::make_unique<HwptPaging>(ioas.id, options.huge_iova, options.dirty_ops);
        made->nest_parent = options.nest_parent;
        made->auto_domain = options.auto_domain;
        hwpt = made.get();
        if ((id = ictx.objects.add(std::move(made))) < 0)
            return id;
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
    if (long err = ioas.iopt.add_domain(hwpt->domain, AreaPinner(ledger))) {
        ictx.objects.destroy(static_cast<uint32_t>(id));
        return err;
    }
    ++ioas.users;
    out = hwpt;
    return 0;
}

}  // namespace ciommu
