#include "hw_pagetable.h"

#include <cerrno>
#include <memory>
#include <new>

#include "iommufd_ctx.h"
#include "ioas.h"
#include "topology_domain.h"

namespace ciommu {

HwptPaging::HwptPaging(uint32_t ioas, std::unique_ptr<IoDomain> io_domain)
    : IommufdObject(kKind), ioas_id(ioas), domain(std::move(io_domain)) {}

HwptPaging::~HwptPaging() = default;

TopologyDomain* HwptPaging::topology() const {
    return domain->mock() ? nullptr : static_cast<TopologyDomain*>(domain.get());
}

HwptNested::~HwptNested() = default;

uint32_t HwptNested::stage1_ioasid() const { return stage1 ? stage1->ioasid() : 0; }

long alloc_hwpt_paging(IommufdCtx& ictx, PinLedger& ledger, Ioas& ioas, PagingOptions options,
                       HwptPaging*& out) {
    out = nullptr;
    long id = 0;
    HwptPaging* hwpt = nullptr;
    try {
        std::unique_ptr<IoDomain> domain = options.topology_domain
                                               ? std::move(options.topology_domain)
                                               : std::make_unique<MockDomain>(options.huge_iova, options.dirty_ops);
        auto made = std::make_unique<HwptPaging>(ioas.id, std::move(domain));
        made->nest_parent = options.nest_parent;
        made->auto_domain = options.auto_domain;
        hwpt = made.get();
        if ((id = ictx.objects.add(std::move(made))) < 0)
            return id;
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
    if (long err = ioas.iopt.add_domain(*hwpt->domain, AreaPinner(ledger))) {
        ictx.objects.destroy(static_cast<uint32_t>(id));
        return err;
    }
    ++ioas.users;
    out = hwpt;
    return 0;
}

}  // namespace ciommu
