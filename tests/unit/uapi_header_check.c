/* The uAPI header must stand alone as strict C99 and keep its ABI layout:
 * these sizes and offsets are what 32- and 64-bit callers agree on. */
#include "cuse-iommu.h"

#include <stddef.h>

#define ABI_CHECK(name, cond) typedef char abi_check_##name[(cond) ? 1 : -1]

ABI_CHECK(alloc_size, sizeof(struct iommu_ioasid_alloc) == 24);
ABI_CHECK(bind_size, sizeof(struct iommu_device_bind) == 48);
ABI_CHECK(info_size, sizeof(struct iommu_device_info) == 24);
ABI_CHECK(attach_size, sizeof(struct iommu_device_attach) == 24);
ABI_CHECK(detach_size, sizeof(struct iommu_device_detach) == 24);
ABI_CHECK(invalidate_size, sizeof(struct iommu_invalidate_cache) == 40);
ABI_CHECK(stats_ctx_size, sizeof(struct iommu_stats) == 48);
ABI_CHECK(sim_dma_size, sizeof(struct iommu_sim_dma) == 80);
ABI_CHECK(fault_record_size, sizeof(struct iommu_fault_record) == 64);
ABI_CHECK(fault_region_info_size, sizeof(struct iommu_fault_region_info) == 64);
ABI_CHECK(page_response_size, sizeof(struct iommu_page_response) == 24);
ABI_CHECK(inject_size, sizeof(struct iommu_sim_inject_fault) == 40);
ABI_CHECK(dma_status_size, sizeof(struct iommu_sim_dma_status) == 48);
ABI_CHECK(sim_pin_size, sizeof(struct iommu_sim_mdev_pin) == 32);
ABI_CHECK(resv_region_size, sizeof(struct iommu_resv_region) == 24);
ABI_CHECK(free_size, sizeof(struct iommu_ioasid_free) == 16);
ABI_CHECK(map_size, sizeof(struct iommu_map_dma) == 40);
ABI_CHECK(map_vaddr, offsetof(struct iommu_map_dma, vaddr) == 16);
ABI_CHECK(unmap_size, sizeof(struct iommu_unmap_dma) == 32);
ABI_CHECK(stats_size, sizeof(struct iommu_sim_daemon_stats) == 32);
ABI_CHECK(numbers_clear_of_vfio_and_iommufd, IOMMU_BASE > 0xa0);
