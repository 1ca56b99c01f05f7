// The selftest's mock device object (selftest_obj of TYPE_IDEV), made by
// IOMMU_TEST_OP_MOCK_DOMAIN: destroying it unbinds its bound device
// (device.h), which detaches it.
#pragma once

#include <cstdint>

#include "object_table.h"

namespace ciommu {

struct MockDevice final : IommufdObject {
    static constexpr ObjectKind kKind = ObjectKind::kSelftest;
    MockDevice() : IommufdObject(kKind) {}

    uint32_t idev_id = 0;  // its bound device
};

}  // namespace ciommu
