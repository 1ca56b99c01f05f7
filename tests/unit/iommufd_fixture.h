// A context of the iommufd profile with one IOAS and a buffer to map, and
// the calls the iommufd tests make through the dispatcher.
#pragma once

#include <sys/mman.h>

#include "cuse-iommu-iommufd.h"
#include "fixture.h"

namespace ciommu::test {

inline constexpr uint64_t kPage = 4096;
inline constexpr uint64_t kAperture = MOCK_APERTURE_START;

struct IoasFixture : Fixture {
    IoasFixture() : Fixture(Abi::kIommufd) {
        iommu_ioas_alloc a{sizeof(a), 0, 0};
        REQUIRE(call(IOMMU_IOAS_ALLOC, a) == 0);
        ioas = a.out_ioas_id;
        buffer = mmap(nullptr, kBuffer, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        REQUIRE(buffer != MAP_FAILED);
    }
    ~IoasFixture() { munmap(buffer, kBuffer); }
    uint64_t buf(uint64_t offset = 0) { return reinterpret_cast<uintptr_t>(buffer) + offset; }

    long map(uint64_t uptr, uint64_t length, uint64_t* iova, uint32_t flags = 0, uint32_t id = 0) {
        iommu_ioas_map m{};
        m.size = sizeof(m);
        m.flags = flags | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
        m.ioas_id = id ? id : ioas;
        m.user_va = uptr;
        m.length = length;
        m.iova = *iova;
        const long rc = call(IOMMU_IOAS_MAP, m);
        *iova = m.iova;
        return rc;
    }
    long map_fixed(uint64_t uptr, uint64_t length, uint64_t iova) {
        return map(uptr, length, &iova, IOMMU_IOAS_MAP_FIXED_IOVA);
    }
    long unmap(uint64_t iova, uint64_t length, uint64_t* unmapped = nullptr) {
        iommu_ioas_unmap u{sizeof(u), ioas, iova, length};
        const long rc = call(IOMMU_IOAS_UNMAP, u);
        if (unmapped)
            *unmapped = u.length;
        return rc;
    }
    long add_reserved(uint64_t start, uint64_t length) {
        iommu_test_cmd t{};
        t.size = sizeof(t);
        t.op = IOMMU_TEST_OP_ADD_RESERVED;
        t.id = ioas;
        t.add_reserved.start = start;
        t.add_reserved.length = length;
        return call(IOMMU_TEST_CMD, t);
    }
    // MOCK_DOMAIN on pt_id: {stdev, hwpt, idev}.
    long mock_domain(uint32_t pt_id, uint32_t ids[3], uint32_t dev_flags = 0) {
        iommu_test_cmd t{};
        t.size = sizeof(t);
        t.op = dev_flags ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS : IOMMU_TEST_OP_MOCK_DOMAIN;
        t.id = pt_id;
        t.mock_domain_flags.dev_flags = dev_flags;
        const long rc = call(IOMMU_TEST_CMD, t);
        ids[0] = t.mock_domain.out_stdev_id;
        ids[1] = t.mock_domain.out_hwpt_id;
        ids[2] = t.mock_domain.out_idev_id;
        return rc;
    }
    long check_map(uint32_t hwpt, uint64_t iova, uint64_t length, uint64_t uptr) {
        iommu_test_cmd t{};
        t.size = sizeof(t);
        t.op = IOMMU_TEST_OP_MD_CHECK_MAP;
        t.id = hwpt;
        t.check_map.iova = iova;
        t.check_map.length = length;
        t.check_map.uptr = uptr;
        return call(IOMMU_TEST_CMD, t);
    }
    uint32_t pins(uint64_t va) {
        const ProcessRef self = model.processes().for_caller(getpid());  // the one the calls used
        std::lock_guard guard(model.lock());
        return model.ledger().pins(*self, va & ~(kPage - 1));
    }
    long destroy(uint32_t id) {
        iommu_destroy d{sizeof(d), id};
        return call(IOMMU_DESTROY, d);
    }

    // An object file, as the fd helper opens one: its id and token.
    struct ObjectFileHandle {
        uint64_t id;
        uint64_t token;
    };
    ObjectFileHandle open_object_file(pid_t opener = getpid()) {
        const long id = dispatcher.open_object_file(opener);
        REQUIRE(id > 0);
        uint64_t token = 0;
        REQUIRE(dispatcher.object_file_token(static_cast<uint64_t>(id), &token) == 0);
        return {static_cast<uint64_t>(id), token};
    }
    // CUSE_IOMMUFD_OBJECT_FD_CALL of cmd (its struct at arg) with the file
    // the caller holds at fd.
    template <typename T> long fd_call(unsigned cmd, T& arg, uint64_t token, int fd) {
        cuse_iommufd_object_fd_call c{};
        c.size = sizeof(c);
        c.cmd = cmd;
        c.object_fd = fd;
        c.object_token = token;
        c.arg = reinterpret_cast<uintptr_t>(&arg);
        return call(CUSE_IOMMUFD_OBJECT_FD_CALL, c);
    }

    static constexpr uint64_t kBuffer = 16 * kPage;
    uint32_t ioas = 0;
    void* buffer;
};

}  // namespace ciommu::test
