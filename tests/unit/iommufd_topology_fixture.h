// A context of the iommufd profile with an IOAS (IoasFixture) and the
// topology-device commands (uapi: "Topology devices") as calls.
#pragma once

#include <cstring>
#include <optional>

#include "iommufd_fixture.h"

namespace ciommu::test {

struct TopologyFixture : IoasFixture {
    long bind(const char* name, uint32_t* dev_id) {
        cuse_iommufd_device_bind b{};
        b.size = sizeof(b);
        std::strncpy(b.name, name, sizeof(b.name) - 1);
        const long rc = call(CUSE_IOMMUFD_DEVICE_BIND, b);
        *dev_id = b.out_dev_id;
        return rc;
    }
    uint32_t bind(const char* name) {
        uint32_t id = 0;
        REQUIRE(bind(name, &id) == 0);
        return id;
    }
    long unbind(uint32_t dev_id) {
        cuse_iommufd_device_unbind u{sizeof(u), 0, dev_id, 0};
        return call(CUSE_IOMMUFD_DEVICE_UNBIND, u);
    }
    // Attaches dev_id (one PASID of it) to pt_id; *hwpt gets the page table.
    long attach(uint32_t dev_id, uint32_t pt_id, std::optional<uint32_t> pasid = {}, uint32_t* hwpt = nullptr) {
        cuse_iommufd_device_attach a{sizeof(a), pasid ? uint32_t{CUSE_IOMMUFD_ATTACH_PASID} : 0u, dev_id,
                                     pasid.value_or(0), pt_id, 0};
        const long rc = call(CUSE_IOMMUFD_DEVICE_ATTACH, a);
        if (hwpt)
            *hwpt = a.pt_id;
        return rc;
    }
    long detach(uint32_t dev_id, std::optional<uint32_t> pasid = {}) {
        cuse_iommufd_device_attach d{sizeof(d), pasid ? uint32_t{CUSE_IOMMUFD_ATTACH_PASID} : 0u, dev_id,
                                     pasid.value_or(0), 0, 0};
        return call(CUSE_IOMMUFD_DEVICE_DETACH, d);
    }
    cuse_iommufd_device_dma dma(uint32_t dev_id, uint64_t iova, void* data, uint64_t length, bool write,
                                std::optional<uint32_t> pasid = {}, long* rc = nullptr) {
        cuse_iommufd_device_dma d{};
        d.size = sizeof(d);
        d.flags = (write ? uint32_t{CUSE_IOMMUFD_DMA_WRITE} : 0u) | (pasid ? uint32_t{CUSE_IOMMUFD_DMA_PASID} : 0u);
        d.dev_id = dev_id;
        d.pasid = pasid.value_or(0);
        d.iova = iova;
        d.length = length;
        d.data = reinterpret_cast<uintptr_t>(data);
        const long result = call(CUSE_IOMMUFD_DEVICE_DMA, d);
        if (rc)
            *rc = result;
        else
            REQUIRE(result == 0);
        return d;
    }
    cuse_iommufd_dma_status dma_status(uint64_t dma_id, long* rc) {
        cuse_iommufd_dma_status s{};
        s.size = sizeof(s);
        s.dma_id = dma_id;
        *rc = call(CUSE_IOMMUFD_DEVICE_DMA_STATUS, s);
        return s;
    }
    long alloc_hwpt(uint32_t dev_id, uint32_t pt_id, uint32_t flags, uint32_t* out, uint32_t data_type = 0,
                    const void* data = nullptr, uint32_t data_len = 0, uint32_t fault_id = 0) {
        iommu_hwpt_alloc h{};
        h.size = sizeof(h);
        h.flags = flags;
        h.dev_id = dev_id;
        h.pt_id = pt_id;
        h.data_type = data_type;
        h.data_len = data_len;
        h.data_uptr = reinterpret_cast<uintptr_t>(data);
        h.fault_id = fault_id;
        const long rc = call(IOMMU_HWPT_ALLOC, h);
        *out = h.out_hwpt_id;
        return rc;
    }
    unsigned char* bytes(uint64_t offset = 0) { return static_cast<unsigned char*>(buffer) + offset; }
};

}  // namespace ciommu::test
