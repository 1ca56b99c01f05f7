// The iommufd profile's fd objects (iommufd/object_file.h): the object
// node's files that FAULT_QUEUE_ALLOC and the selftest's CREATE_ACCESS
// answer with, bound through CUSE_IOMMUFD_OBJECT_FD_CALL -- who may bind
// which file, read/write/poll/close of a fault queue's fd, and the access
// operations with their unmap callback.  Driven through the Dispatcher as
// the object node and the fd helper drive it.
#include <cstring>
#include <poll.h>
#include <vector>

#include "../../iommufd/access.h"
#include "../../iommufd/fault_queue.h"
#include "iommufd_fixture.h"

namespace ciommu::test {
namespace {

constexpr size_t kRecord = sizeof(iommu_hwpt_pgfault);

struct FaultFixture : IoasFixture {
    FaultFixture() {
        REQUIRE(mock_domain(ioas, ids) == 0);
        dispatcher.set_object_file_listener([this](uint64_t file) { woken.push_back(file); });
    }
    ~FaultFixture() { dispatcher.set_object_file_listener(nullptr); }

    long fault_alloc(const ObjectFileHandle& file, int fd, iommu_fault_alloc& a) {
        a = iommu_fault_alloc{sizeof(a), 0, 0, 0};
        return fd_call(IOMMU_FAULT_QUEUE_ALLOC, a, file.token, fd);
    }
    // A nested page table reporting to queue, with the mock device on it.
    void nest_on(uint32_t queue) {
        iommu_hwpt_alloc parent{};
        parent.size = sizeof(parent);
        parent.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
        parent.dev_id = ids[2];
        parent.pt_id = ioas;
        REQUIRE(call(IOMMU_HWPT_ALLOC, parent) == 0);
        const iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
        iommu_hwpt_alloc nested{};
        nested.size = sizeof(nested);
        nested.flags = IOMMU_HWPT_FAULT_ID_VALID;
        nested.dev_id = ids[2];
        nested.pt_id = parent.out_hwpt_id;
        nested.data_type = IOMMU_HWPT_DATA_SELFTEST;
        nested.data_len = sizeof(data);
        nested.data_uptr = reinterpret_cast<uintptr_t>(&data);
        nested.fault_id = queue;
        REQUIRE(call(IOMMU_HWPT_ALLOC, nested) == 0);
        iommu_test_cmd r{};
        r.size = sizeof(r);
        r.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
        r.id = ids[0];
        r.mock_domain_replace.pt_id = nested.out_hwpt_id;
        REQUIRE(call(IOMMU_TEST_CMD, r) == 0);
        nested_id = nested.out_hwpt_id;
        parent_id = parent.out_hwpt_id;
    }
    long trigger(uint64_t addr) {
        iommu_test_cmd t{};
        t.size = sizeof(t);
        t.op = IOMMU_TEST_OP_TRIGGER_IOPF;
        t.trigger_iopf = {ids[2], 0x1, 0x2, IOMMU_PGFAULT_PERM_READ, addr};
        return call(IOMMU_TEST_CMD, t);
    }

    uint32_t ids[3] = {};  // stdev, hwpt, idev
    uint32_t nested_id = 0, parent_id = 0;
    std::vector<uint64_t> woken;
};

TEST_CASE("FAULT_QUEUE_ALLOC: EOPNOTSUPP without the fd helper; a file binds once, only for its opener") {
    FaultFixture f;
    iommu_fault_alloc a{sizeof(a), 0, 0, 0};
    CHECK(f.call(IOMMU_FAULT_QUEUE_ALLOC, a) == -EOPNOTSUPP);  // no fake fd number, ever
    CHECK(a.out_fault_fd == 0);

    const auto mine = f.open_object_file();
    const auto theirs = f.open_object_file(getpid() + 100000);  // another process's file
    CHECK(f.fault_alloc(theirs, 7, a) == -EBADF);
    CHECK(f.fault_alloc({mine.id, mine.token ^ 1}, 7, a) == -EBADF);  // a guessed token
    CHECK(f.fault_alloc(mine, -1, a) == -EBADF);
    cuse_iommufd_object_fd_call other{sizeof(other), 0, IOMMU_IOAS_ALLOC, 7, mine.token, 0};
    CHECK(f.call(CUSE_IOMMUFD_OBJECT_FD_CALL, other) == -EINVAL);  // only commands that answer an fd
    iommu_test_cmd reserve{};
    reserve.size = sizeof(reserve);
    reserve.op = IOMMU_TEST_OP_ADD_RESERVED;
    reserve.id = f.ioas;
    reserve.add_reserved = {kAperture, kPage};
    CHECK(f.fd_call(IOMMU_TEST_CMD, reserve, mine.token, 7) == -EINVAL);  // a TEST_CMD that makes no fd
    {
        std::lock_guard guard(f.model.lock());
        CHECK(f.ctx->iommufd.objects.size() == 4);  // nothing made: ioas, stdev, idev, hwpt
    }
    REQUIRE(f.fault_alloc(mine, 7, a) == 0);
    CHECK(a.out_fault_fd == 7);
    CHECK(a.out_fault_id > 0);
    iommu_fault_alloc again{};
    CHECK(f.fault_alloc(mine, 7, again) == -EBADF);  // already bound

    iommu_destroy d{sizeof(d), a.out_fault_id};
    CHECK(f.call(IOMMU_DESTROY, d) == -EBUSY);  // its fd holds it
    f.dispatcher.release_object_file(mine.id);
    CHECK(f.call(IOMMU_DESTROY, d) == 0);  // close(fault_fd); IOMMU_DESTROY: the suite's order
    f.dispatcher.release_object_file(theirs.id);
}

TEST_CASE("Object files are bounded per process (EMFILE), so one client cannot take them all") {
    IoasFixture f;
    const pid_t hog = getpid() + 200000;
    std::vector<long> ids;
    for (size_t i = 0; i < ObjectFiles::kMaxFilesPerProcess; ++i) {
        ids.push_back(f.dispatcher.open_object_file(hog));
        REQUIRE(ids.back() > 0);
    }
    CHECK(f.dispatcher.open_object_file(hog) == -EMFILE);
    const auto other = f.open_object_file();  // another process still gets one
    f.dispatcher.release_object_file(static_cast<uint64_t>(ids.back()));
    ids.pop_back();
    const long again = f.dispatcher.open_object_file(hog);  // a closed one frees its place
    CHECK(again > 0);
    ids.push_back(again);
    for (long id : ids)
        f.dispatcher.release_object_file(static_cast<uint64_t>(id));
    f.dispatcher.release_object_file(other.id);
    std::lock_guard guard(f.model.lock());
    CHECK(f.model.object_files().size() == 0);
}

TEST_CASE("A fault queue's fd: poll wakes on a fault, read gives it with a cookie, write answers it") {
    FaultFixture f;
    const auto file = f.open_object_file();
    iommu_fault_alloc a{};
    REQUIRE(f.fault_alloc(file, 5, a) == 0);
    f.nest_on(a.out_fault_id);
    CHECK(f.dispatcher.poll_object_file(file.id) == POLLOUT);
    std::vector<std::byte> out;
    CHECK(f.dispatcher.read_object_file(file.id, 0, kRecord, out) == 0);  // never blocks

    REQUIRE(f.trigger(0xdeadbeaf) == 0);
    CHECK(f.woken == std::vector<uint64_t>{file.id});
    CHECK(f.dispatcher.poll_object_file(file.id) == (POLLOUT | POLLIN | POLLRDNORM));
    CHECK(f.dispatcher.read_object_file(file.id, 40, kRecord, out) == -ESPIPE);
    REQUIRE(f.dispatcher.read_object_file(file.id, 0, 4 * kRecord, out) == static_cast<long>(kRecord));
    iommu_hwpt_pgfault fault;
    std::memcpy(&fault, out.data(), kRecord);
    CHECK(fault.addr == 0xdeadbeaf);
    CHECK(fault.cookie == 1);
    CHECK(fault.dev_id == f.ids[2]);

    iommu_hwpt_page_response response{fault.cookie + 1, IOMMUFD_PAGE_RESP_SUCCESS};
    auto bytes = [&] { return std::span(reinterpret_cast<const std::byte*>(&response), sizeof(response)); };
    CHECK(f.dispatcher.write_object_file(file.id, 0, bytes()) == -EINVAL);  // no such cookie
    response.cookie = fault.cookie;
    CHECK(f.dispatcher.write_object_file(file.id, 0, bytes()) == static_cast<long>(sizeof(response)));
    {
        std::lock_guard guard(f.model.lock());
        CHECK(f.ctx->iommufd.objects.get<FaultQueue>(a.out_fault_id)->awaiting_response() == 0);
    }
    f.dispatcher.release_object_file(file.id);
}

TEST_CASE("A fault fd outliving its context reads nothing and takes no answers") {
    FaultFixture f;
    Context* other = f.dispatcher.open(getpid());
    const auto file = f.open_object_file();
    iommu_fault_alloc a{sizeof(a), 0, 0, 0};
    cuse_iommufd_object_fd_call c{sizeof(c), 0, IOMMU_FAULT_QUEUE_ALLOC, 3, file.token,
                                  reinterpret_cast<uintptr_t>(&a)};
    REQUIRE(f.call(CUSE_IOMMUFD_OBJECT_FD_CALL, c, other) == 0);
    f.dispatcher.release(other);  // the iommufd fd closes first
    std::vector<std::byte> out;
    CHECK(f.dispatcher.read_object_file(file.id, 0, kRecord, out) == 0);
    iommu_hwpt_page_response response{1, IOMMUFD_PAGE_RESP_SUCCESS};
    CHECK(f.dispatcher.write_object_file(
              file.id, 0, std::span(reinterpret_cast<const std::byte*>(&response), sizeof(response))) == -EINVAL);
    CHECK(f.dispatcher.poll_object_file(file.id) == POLLOUT);
    f.dispatcher.release_object_file(file.id);
    std::lock_guard guard(f.model.lock());
    CHECK(f.model.object_files().size() == 0);
}

struct AccessFixture : IoasFixture {
    long create_access(const ObjectFileHandle& file, int fd, uint32_t flags, uint32_t ioas_id = 0) {
        iommu_test_cmd t{};
        t.size = sizeof(t);
        t.op = IOMMU_TEST_OP_CREATE_ACCESS;
        t.id = ioas_id ? ioas_id : ioas;
        t.create_access.flags = flags;
        const long rc = fd_call(IOMMU_TEST_CMD, t, file.token, fd);
        if (rc == 0)
            CHECK(t.create_access.out_access_fd == static_cast<uint32_t>(fd));
        return rc;
    }
    long pages(int fd, uint64_t iova, uint64_t length, uint64_t uptr, uint32_t* item = nullptr, uint32_t flags = 0) {
        iommu_test_cmd t{};
        t.size = sizeof(t);
        t.op = IOMMU_TEST_OP_ACCESS_PAGES;
        t.id = static_cast<uint32_t>(fd);
        t.access_pages = {flags, 0, iova, length, uptr};
        const long rc = call(IOMMU_TEST_CMD, t);
        if (item)
            *item = t.access_pages.out_access_pages_id;
        return rc;
    }
    long destroy_pages(int fd, uint32_t item) {
        iommu_test_cmd t{};
        t.size = sizeof(t);
        t.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES;
        t.id = static_cast<uint32_t>(fd);
        t.destroy_access_pages.access_pages_id = item;
        return call(IOMMU_TEST_CMD, t);
    }
    long rw(int fd, uint64_t iova, void* data, uint64_t length, uint32_t flags) {
        iommu_test_cmd t{};
        t.size = sizeof(t);
        t.op = IOMMU_TEST_OP_ACCESS_RW;
        t.id = static_cast<uint32_t>(fd);
        t.access_rw = {iova, length, reinterpret_cast<uintptr_t>(data), flags};
        return call(IOMMU_TEST_CMD, t);
    }
    long replace(int fd, uint32_t ioas_id) {
        iommu_test_cmd t{};
        t.size = sizeof(t);
        t.op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS;
        t.id = static_cast<uint32_t>(fd);
        t.access_replace_ioas.ioas_id = ioas_id;
        return call(IOMMU_TEST_CMD, t);
    }
    size_t items(int fd) {
        std::lock_guard guard(model.lock());
        Access* access = find_access(ctx->iommufd, fd);
        return access ? access->pins.size() : 0;
    }
};

TEST_CASE("CREATE_ACCESS: only through the fd helper; the fd names the access; close destroys it") {
    AccessFixture f;
    iommu_test_cmd t{};
    t.size = sizeof(t);
    t.op = IOMMU_TEST_OP_CREATE_ACCESS;
    t.id = f.ioas;
    CHECK(f.call(IOMMU_TEST_CMD, t) == -EOPNOTSUPP);
    const auto file = f.open_object_file();
    CHECK(f.create_access(file, 9, 2) == -EOPNOTSUPP);  // unknown flag
    CHECK(f.create_access(file, 9, 0, 999) == -ENOENT);
    REQUIRE(f.create_access(file, 9, 0) == 0);
    CHECK(f.destroy(f.ioas) == -EBUSY);  // the access uses it
    char byte = 0;
    CHECK(f.rw(8, kAperture, &byte, 1, 0) == -EBADFD);  // no access at fd 8
    f.dispatcher.release_object_file(file.id);
    CHECK(f.rw(9, kAperture, &byte, 1, 0) == -EBADFD);
    CHECK(f.destroy(f.ioas) == 0);
    f.ioas = 0;
}

TEST_CASE("ACCESS_RW reads and writes the mapped memory at any alignment, across areas; EPERM, ENOENT") {
    AccessFixture f;
    const auto file = f.open_object_file();
    REQUIRE(f.create_access(file, 4, 0) == 0);
    char tmp[64];
    CHECK(f.rw(4, kAperture, tmp, 8, 0) == -ENOENT);  // nothing mapped
    REQUIRE(f.map_fixed(f.buf(), 2 * kPage, kAperture) == 0);
    REQUIRE(f.map_fixed(f.buf(2 * kPage), kPage, kAperture + 2 * kPage) == 0);  // a second area, contiguous
    for (size_t i = 0; i < 3 * kPage; ++i)
        static_cast<char*>(f.buffer)[i] = static_cast<char>(i * 7);
    const uint64_t at = kAperture + 2 * kPage - 30;  // across the two areas
    REQUIRE(f.rw(4, at, tmp, sizeof(tmp), 0) == 0);
    CHECK(std::memcmp(tmp, static_cast<char*>(f.buffer) + 2 * kPage - 30, sizeof(tmp)) == 0);
    std::memset(tmp, 0x5a, sizeof(tmp));
    REQUIRE(f.rw(4, at + 1, tmp, 3, MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH) == 0);
    CHECK(static_cast<char*>(f.buffer)[2 * kPage - 29] == 0x5a);
    CHECK(static_cast<char*>(f.buffer)[2 * kPage - 26] == static_cast<char>((2 * kPage - 26) * 7));
    CHECK(f.rw(4, at, tmp, 0, 0) == -EINVAL);
    CHECK(f.rw(4, UINT64_MAX, tmp, 2, 0) == -EOVERFLOW);
    CHECK(f.rw(4, kAperture + 3 * kPage - 1, tmp, 2, 0) == -ENOENT);  // runs into a hole
    CHECK(f.rw(4, at, tmp, 1, 1u << 16) == -EOPNOTSUPP);

    uint64_t ro = kAperture + 16 * kPage;
    iommu_ioas_map m{};
    m.size = sizeof(m);
    m.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE;
    m.ioas_id = f.ioas;
    m.user_va = f.buf(4 * kPage);
    m.length = kPage;
    m.iova = ro;
    REQUIRE(f.call(IOMMU_IOAS_MAP, m) == 0);
    CHECK(f.rw(4, ro, tmp, 4, MOCK_ACCESS_RW_WRITE) == -EPERM);
    CHECK(f.rw(4, ro, tmp, 4, 0) == 0);
    f.dispatcher.release_object_file(file.id);
}

TEST_CASE("ACCESS_PAGES pins only the caller's own pages (EBADE); an unmap under a pin drops it") {
    AccessFixture f;
    const auto file = f.open_object_file();
    REQUIRE(f.create_access(file, 6, 0) == 0);  // an access that cannot pin
    REQUIRE(f.map_fixed(f.buf(), 4 * kPage, kAperture) == 0);
    CHECK(f.pages(6, kAperture, kPage, f.buf()) == -EOPNOTSUPP);
    f.dispatcher.release_object_file(file.id);

    const auto pinning = f.open_object_file();
    REQUIRE(f.create_access(pinning, 6, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) == 0);
    uint32_t first = 99, second = 99;
    CHECK(f.pages(6, kAperture, kPage, f.buf(kPage)) == -EBADE);  // not the page mapped there
    CHECK(f.pages(6, kAperture + 1, kPage, f.buf(1)) == -EINVAL);  // not page aligned
    CHECK(f.pages(6, kAperture, 8 * kPage, f.buf()) == -ENOENT);  // past the area
    CHECK(f.pages(6, kAperture, 17u << 20, f.buf()) == -ENOMEM);  // the selftest's bound
    REQUIRE(f.pages(6, kAperture, 2 * kPage, f.buf(), &first) == 0);
    REQUIRE(f.pages(6, kAperture + 2 * kPage, kPage, f.buf(2 * kPage), &second) == 0);
    CHECK(first == 0);
    CHECK(second == 1);
    CHECK(f.destroy_pages(6, 7) == -ENOENT);
    REQUIRE(f.destroy_pages(6, second) == 0);
    CHECK(f.destroy_pages(6, second) == -ENOENT);
    CHECK(f.items(6) == 1);
    CHECK(f.unmap(kAperture, 4 * kPage) == 0);  // the unmap callback drops the pin
    CHECK(f.items(6) == 0);
    CHECK(f.destroy_pages(6, first) == -ENOENT);  // "kernel removed the item for us"
    f.dispatcher.release_object_file(pinning.id);
}

TEST_CASE("ACCESS_REPLACE_IOAS moves the access, dropping its pins; the old IOAS can then go") {
    AccessFixture f;
    const auto file = f.open_object_file();
    REQUIRE(f.create_access(file, 3, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) == 0);
    REQUIRE(f.map_fixed(f.buf(), kPage, kAperture) == 0);
    REQUIRE(f.pages(3, kAperture, kPage, f.buf()) == 0);
    iommu_ioas_alloc a{sizeof(a), 0, 0};
    REQUIRE(f.call(IOMMU_IOAS_ALLOC, a) == 0);
    CHECK(f.replace(3, 999) == -ENOENT);
    CHECK(f.items(3) == 1);
    REQUIRE(f.replace(3, a.out_ioas_id) == 0);
    CHECK(f.items(3) == 0);
    CHECK(f.destroy(f.ioas) == 0);
    CHECK(f.destroy(a.out_ioas_id) == -EBUSY);
    f.ioas = 0;
    f.dispatcher.release_object_file(file.id);
}

TEST_CASE("Closing the iommufd fd with an access open: the context goes whole; the file is then an orphan") {
    AccessFixture f;
    Context* other = f.dispatcher.open(getpid());
    iommu_ioas_alloc a{sizeof(a), 0, 0};
    REQUIRE(f.call(IOMMU_IOAS_ALLOC, a, other) == 0);
    const auto file = f.open_object_file();
    iommu_test_cmd t{};
    t.size = sizeof(t);
    t.op = IOMMU_TEST_OP_CREATE_ACCESS;
    t.id = a.out_ioas_id;
    cuse_iommufd_object_fd_call c{sizeof(c), 0, IOMMU_TEST_CMD, 5, file.token, reinterpret_cast<uintptr_t>(&t)};
    REQUIRE(f.call(CUSE_IOMMUFD_OBJECT_FD_CALL, c, other) == 0);
    f.dispatcher.release(other);
    std::vector<std::byte> out;
    CHECK(f.dispatcher.read_object_file(file.id, 0, 8, out) == 0);
    f.dispatcher.release_object_file(file.id);
}

}  // namespace
}  // namespace ciommu::test
