// The iommufd profile (cuse-iommu --abi iommufd): iommufd's dispatch rules
// on its own table, the object id space, OPTION, VFIO_IOAS, the VFIO
// compatibility value commands and the selftest mock's MD_CHECK_REFS --
// each with the errno drivers/iommu/iommufd/ gives.
#include <fstream>
#include <linux/capability.h>
#include <sstream>
#include <linux/vfio.h>
#include <sys/mman.h>

#include "../../iommufd/object_table.h"
#include "../../iommufd/ioas.h"
#include "../../toolkit/proc_status.h"
#include "cuse-iommu-iommufd.h"
#include "fixture.h"

namespace ciommu::test {
namespace {

struct FdFixture : Fixture {
    FdFixture() : Fixture(Abi::kIommufd) {}

    long destroy(uint32_t id) {
        iommu_destroy d{sizeof(d), id};
        return call(IOMMU_DESTROY, d);
    }
    long ioas_alloc() {
        iommu_ioas_alloc a{sizeof(a), 0, 0};
        const long rc = call(IOMMU_IOAS_ALLOC, a);
        return rc < 0 ? rc : a.out_ioas_id;
    }
    long option(uint32_t option_id, uint16_t op, uint32_t object_id, uint64_t* val64) {
        iommu_option o{sizeof(o), option_id, op, 0, object_id, *val64};
        const long rc = call(IOMMU_OPTION, o);
        *val64 = o.val64;
        return rc;
    }
    long vfio_ioas(uint16_t op, uint32_t* ioas_id) {
        iommu_vfio_ioas v{sizeof(v), *ioas_id, op, 0};
        const long rc = call(IOMMU_VFIO_IOAS, v);
        *ioas_id = v.ioas_id;
        return rc;
    }
    long check_refs(uint64_t uptr, uint64_t length, uint32_t refs) {
        iommu_test_cmd t{};
        t.size = sizeof(t);
        t.op = IOMMU_TEST_OP_MD_CHECK_REFS;
        t.check_refs.uptr = uptr;
        t.check_refs.length = length;
        t.check_refs.refs = refs;
        return call(IOMMU_TEST_CMD, t);
    }
};

// `size` bytes of a zeroed struct of `struct_size` whose leading __u32 says
// `declared`; bytes past the struct get `tail`.
std::vector<std::byte> sized(uint32_t declared, size_t bytes, size_t struct_size, std::byte tail) {
    std::vector<std::byte> b(bytes);
    std::memcpy(b.data(), &declared, sizeof(declared));
    for (size_t i = struct_size; i < bytes; ++i)
        b[i] = tail;
    return b;
}

}  // namespace

TEST_CASE("iommufd profile: size first, copy_struct_from_user's E2BIG rule, ENOTTY outside the table") {
    FdFixture f;
    const size_t n = sizeof(iommu_destroy);
    // min_size is offsetofend(id): one byte short is EINVAL.
    CHECK(f.raw(IOMMU_DESTROY, sized(n - 1, n, n, std::byte{0})).result == -EINVAL);
    // Longer with a non-zero byte past the known struct: E2BIG; all zero: read.
    CHECK(f.raw(IOMMU_DESTROY, sized(n + 1, n + 1, n, std::byte{0xff})).result == -E2BIG);
    CHECK(f.raw(IOMMU_DESTROY, sized(n + 8, n + 8, n, std::byte{0})).result == -ENOENT);
    CHECK(f.value(IOMMU_DESTROY, 0) == -EFAULT);  // ioctl(fd, IOMMU_DESTROY, NULL)
    CHECK(f.value(_IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE - 1), 0) == -ENOTTY);
    // The profiles do not answer each other's numbers.
    CHECK(f.value(IOMMU_GET_API_VERSION, 0) == -ENOTTY);
    Fixture rfc;
    CHECK(rfc.value(IOMMU_DESTROY, 0) == -ENOTTY);
    CHECK(rfc.value(VFIO_GET_API_VERSION, 0) == -ENOTTY);
}

TEST_CASE("iommufd profile: objects share one id space, lowest free id first; DESTROY frees it") {
    FdFixture f;
    CHECK(f.destroy(0) == -ENOENT);
    CHECK(f.ioas_alloc() == 1);
    CHECK(f.ioas_alloc() == 2);
    CHECK(f.ioas_alloc() == 3);
    CHECK(f.destroy(2) == 0);
    CHECK(f.destroy(2) == -ENOENT);
    CHECK(f.ioas_alloc() == 2);  // as xa_alloc hands ids out
    CHECK(f.destroy(3) == 0);
    CHECK(f.destroy(2) == 0);
    CHECK(f.ioas_alloc() == 2);
    iommu_ioas_alloc flagged{sizeof(flagged), 1, 0};
    CHECK(f.call(IOMMU_IOAS_ALLOC, flagged) == -EOPNOTSUPP);
    CHECK(f.ctx->iommufd.objects.size() == 2);
}

TEST_CASE("iommufd object table: bounded per context, users keep an object alive") {
    RecordBudget budget;  // declared first: the IOASes give back to it
    ObjectTable table;
    for (size_t i = 0; i < ObjectTable::kMaxObjects; ++i)
        REQUIRE(table.add(std::make_unique<Ioas>(budget)) == static_cast<long>(i + 1));
    CHECK(table.add(std::make_unique<Ioas>(budget)) == -ENOSPC);
    table.find(7, ObjectKind::kIoas)->users = 1;
    CHECK(table.destroy(7) == -EBUSY);
    table.find(7, ObjectKind::kIoas)->users = 0;
    CHECK(table.destroy(7) == 0);
    CHECK(table.add(std::make_unique<Ioas>(budget)) == 7);
}

TEST_CASE("iommufd profile: OPTION RLIMIT_MODE is the context's, set by a caller with CAP_SYS_RESOURCE") {
    FdFixture f;
    uint64_t val = 1;
    CHECK(f.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &val) == 0);
    CHECK(val == 0);
    val = 0;
    CHECK(f.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 5, &val) == -EOPNOTSUPP);
    CHECK(f.option(7, IOMMU_OPTION_OP_GET, 0, &val) == -EOPNOTSUPP);
    CHECK(f.option(IOMMU_OPTION_RLIMIT_MODE, 2, 0, &val) == -EOPNOTSUPP);
    iommu_option reserved{sizeof(reserved), IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 1, 0, 0};
    CHECK(f.call(IOMMU_OPTION, reserved) == -EOPNOTSUPP);

    val = 1;
    if (!has_capability(gettid(), CAP_SYS_RESOURCE)) {
        CHECK(f.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &val) == -EPERM);
        return;
    }
    CHECK(f.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &val) == 0);
    val = 2;
    CHECK(f.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &val) == -EINVAL);
    CHECK(f.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &val) == 0);
    CHECK(val == 1);
    REQUIRE(f.ioas_alloc() == 1);
    val = 0;
    CHECK(f.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &val) == -EBUSY);  // objects exist
    CHECK(f.option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &val) == 0);
    CHECK(val == 1);
}

TEST_CASE("iommufd profile: OPTION HUGE_PAGES is an IOAS's") {
    FdFixture f;
    uint64_t val = 0;
    CHECK(f.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, 0, &val) == -ENOENT);
    const long ioas = f.ioas_alloc();
    REQUIRE(ioas > 0);
    CHECK(f.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas, &val) == 0);
    CHECK(val == 1);
    val = 0;
    CHECK(f.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &val) == 0);
    CHECK(f.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas, &val) == 0);
    CHECK(val == 0);
    val = 2;
    CHECK(f.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &val) == -EINVAL);
}

TEST_CASE("iommufd profile: VFIO_IOAS names the compatibility IOAS; the VFIO container ioctls use it") {
    FdFixture f;
    uint32_t id = 0;
    CHECK(f.vfio_ioas(IOMMU_VFIO_IOAS_GET, &id) == -ENODEV);
    CHECK(f.vfio_ioas(IOMMU_VFIO_IOAS_SET, &id) == -ENOENT);
    CHECK(f.vfio_ioas(3, &id) == -EOPNOTSUPP);
    CHECK(f.value(VFIO_GET_API_VERSION, 0) == VFIO_API_VERSION);
    CHECK(f.value(VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1);
    CHECK(f.value(VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) == 1);
    CHECK(f.value(VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL) == 1);
    CHECK(f.value(VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) == 0);
    CHECK(f.value(VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU) == -ENODEV);
    CHECK(f.value(VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == -ENODEV);
    CHECK(f.value(VFIO_SET_IOMMU, 2) == -EINVAL);

    id = static_cast<uint32_t>(f.ioas_alloc());
    REQUIRE(id == 1);
    CHECK(f.vfio_ioas(IOMMU_VFIO_IOAS_SET, &id) == 0);
    id = 0;
    CHECK(f.vfio_ioas(IOMMU_VFIO_IOAS_GET, &id) == 0);
    CHECK(id == 1);
    CHECK(f.value(VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU) == 1);
    CHECK(f.value(VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0);
    uint64_t large = 0;
    CHECK(f.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, 1, &large) == 0);
    CHECK(large == 1);
    CHECK(f.value(VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) == 0);  // type1 cannot split large IOPTEs
    CHECK(f.option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, 1, &large) == 0);
    CHECK(large == 0);

    CHECK(f.vfio_ioas(IOMMU_VFIO_IOAS_CLEAR, &id) == 0);
    CHECK(f.vfio_ioas(IOMMU_VFIO_IOAS_GET, &id) == -ENODEV);
    id = 1;
    CHECK(f.vfio_ioas(IOMMU_VFIO_IOAS_SET, &id) == 0);
    CHECK(f.destroy(1) == 0);  // destroying it ends the compatibility IOAS
    CHECK(f.vfio_ioas(IOMMU_VFIO_IOAS_GET, &id) == -ENODEV);
}

TEST_CASE("iommufd profile: TEST_CMD MD_CHECK_REFS answers from the daemon's pin records") {
    FdFixture f;
    constexpr size_t kPage = 4096;
    auto* buf = static_cast<std::byte*>(
        mmap(nullptr, 3 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    REQUIRE(buf != MAP_FAILED);
    REQUIRE(munmap(buf + 2 * kPage, kPage) == 0);
    const auto at = reinterpret_cast<uintptr_t>(buf);
    CHECK(f.check_refs(at, 2 * kPage, 0) == 0);  // nothing pinned (and the pages get faulted in)
    CHECK(f.check_refs(at, 2 * kPage, 1) == -EIO);
    CHECK(f.check_refs(at + 1, kPage, 0) == -EINVAL);
    CHECK(f.check_refs(at, kPage + 1, 0) == -EINVAL);
    CHECK(f.check_refs(at, 3 * kPage, 0) == -EFAULT);  // the third page is unmapped
    CHECK(f.check_refs(at, 0, 0) == 0);
    // The profile's pins are the model's ledger: a page pinned once reads 1.
    ProcessRef self = f.model.processes().for_caller(getpid());
    REQUIRE(self);
    {
        std::lock_guard guard(f.model.lock());
        REQUIRE(f.model.ledger().pin(*self, at, 1) == 0);
    }
    CHECK(f.check_refs(at, kPage, 1) == 0);
    CHECK(f.check_refs(at, 2 * kPage, 1) == -EIO);
    {
        std::lock_guard guard(f.model.lock());
        f.model.ledger().unpin(*self, at, 1);
    }
    iommu_test_cmd unknown{};
    unknown.size = sizeof(unknown);
    unknown.op = 0x7777;
    CHECK(f.call(IOMMU_TEST_CMD, unknown) == -EOPNOTSUPP);
    // min_size is offsetofend(last).
    CHECK(f.raw(IOMMU_TEST_CMD, sized(offsetof(iommu_test_cmd, last), sizeof(iommu_test_cmd),
                                      sizeof(iommu_test_cmd), std::byte{0}))
              .result == -EINVAL);
    munmap(buf, 2 * kPage);
}

TEST_CASE("iommufd profile: TEST_CMD SET_TEMP_MEMORY_LIMIT takes at least one batch element") {
    FdFixture f;
    iommu_test_cmd t{};
    t.size = sizeof(t);
    t.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT;
    t.memory_limit.limit = 11;
    CHECK(f.call(IOMMU_TEST_CMD, t) == -EINVAL);
    CHECK(f.ctx->iommufd.test_memory_limit == 65536);
    t.memory_limit.limit = 12;
    CHECK(f.call(IOMMU_TEST_CMD, t) == 0);
    CHECK(f.ctx->iommufd.test_memory_limit == 12);
}

TEST_CASE("docs/iommufd.md names every command of the profile's table") {
    std::ifstream file(CUSE_IOMMU_SCRIPTS "/../docs/iommufd.md");
    REQUIRE(file);
    std::stringstream text;
    text << file.rdbuf();
    for (const CommandSpec& spec : all_commands(Abi::kIommufd)) {
        const std::string name = spec.name;
        const bool own_prefix = name.starts_with("VFIO_") || name.starts_with("CUSE_");
        const std::string shown = "`" + (own_prefix ? name : "IOMMU_" + name) + "`";
        CHECK_MESSAGE(text.str().find(shown) != std::string::npos, shown);
    }
}

}  // namespace ciommu::test
