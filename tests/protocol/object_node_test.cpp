// The object node (/dev/<name>-object: cuse/object_node.h) over the wire,
// beside the iommufd profile's /dev/<name>: CUSE_INIT with its own DEVNAME,
// OPEN, the token ioctl in one restricted round (_IOR: the kernel copies
// it out), then a fault queue's fd
// made through CUSE_IOMMUFD_OBJECT_FD_CALL on the device node -- POLL with
// a kernel handle woken by a fault, READ of the record, WRITE of the
// response -- and RELEASE ending the fd's hold on the queue.
#include <cstring>
#include <poll.h>

#include "../../cuse/object_node.h"
#include "cuse-iommu-iommufd.h"
#include "daemon.h"

namespace protocol {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kKh = 77;

// A daemon of the iommufd profile with both nodes, past CUSE_INIT.
struct ObjectNodeDaemon {
    ciommu::Model model;
    ciommu::Dispatcher dispatcher{model, ciommu::Abi::kIommufd};
    ciommu::CuseDevice device{dispatcher, device_options()};
    ciommu::ObjectNode node{dispatcher, std::string(kDeviceName) + "-object", false};
    FakeKernel kernel{device};
    FakeKernel object_kernel{node.session()};
    uint64_t fh = 0;

    ObjectNodeDaemon() {
        REQUIRE(kernel.init().error == 0);
        fh = kernel.open();
    }
    template <typename T> long call(unsigned cmd, T& args) { return kernel.ioctl(fh, cmd, &args).result; }
    long test_cmd(iommu_test_cmd& t) {
        t.size = sizeof(t);
        return call(IOMMU_TEST_CMD, t);
    }
};

TEST_CASE("the object node: its own DEVNAME, and its token in one restricted round") {
    ObjectNodeDaemon d;
    const InitReply init = d.object_kernel.init();
    REQUIRE(init.error == 0);
    CHECK(init.out.flags == 0);  // restricted ioctls
    REQUIRE(init.dev_info.size() == 1);
    CHECK(init.dev_info[0] == std::string("DEVNAME=") + kDeviceName + "-object");
    const uint64_t file = d.object_kernel.open();
    uint64_t token = 0;
    const IoctlResult r = d.object_kernel.ioctl(file, CUSE_IOMMUFD_OBJECT_TOKEN, &token);
    CHECK(r.result == 0);
    CHECK(r.rounds == 1);
    CHECK(token != 0);
    CHECK(d.object_kernel.ioctl(file, IOMMU_IOAS_ALLOC, &token).result == -ENOTTY);  // no iommufd command here
    // _IO, as the other commands are: no room for the token, so refused.
    CHECK(d.object_kernel.ioctl(file, _IO(IOMMUFD_TYPE, _IOC_NR(CUSE_IOMMUFD_OBJECT_TOKEN)), &token).result ==
          -ENOTTY);
    // The token reaches the caller through the kernel's copy, even where the
    // daemon could not write (the caller pid is gone): it never tries.
    uint64_t copied = 0;
    d.object_kernel.set_caller_pid(999999999);
    CHECK(d.object_kernel.ioctl(file, CUSE_IOMMUFD_OBJECT_TOKEN, &copied).result == 0);
    d.object_kernel.set_caller_pid(0);
    CHECK(copied == token);
    char buf[40];
    std::optional<Reply> read = d.object_kernel.read(file, sizeof(buf));
    REQUIRE(read);
    CHECK(read->error() == -EINVAL);  // unbound: no object to read
    CHECK(d.object_kernel.release(file) == 0);
}

TEST_CASE("a fault queue's fd over the wire: POLL woken by a fault, READ, WRITE, RELEASE") {
    ObjectNodeDaemon d;
    REQUIRE(d.object_kernel.init().error == 0);
    const uint64_t file = d.object_kernel.open();
    uint64_t token = 0;
    REQUIRE(d.object_kernel.ioctl(file, CUSE_IOMMUFD_OBJECT_TOKEN, &token).result == 0);

    iommu_ioas_alloc a{sizeof(a), 0, 0};
    REQUIRE(d.call(IOMMU_IOAS_ALLOC, a) == 0);
    iommu_test_cmd m{};
    m.op = IOMMU_TEST_OP_MOCK_DOMAIN;
    m.id = a.out_ioas_id;
    REQUIRE(d.test_cmd(m) == 0);
    iommu_fault_alloc f{sizeof(f), 0, 0, 0};
    cuse_iommufd_object_fd_call c{sizeof(c), 0, IOMMU_FAULT_QUEUE_ALLOC, 9, token, reinterpret_cast<uintptr_t>(&f)};
    REQUIRE(d.call(CUSE_IOMMUFD_OBJECT_FD_CALL, c) == 0);
    CHECK(f.out_fault_fd == 9);
    iommu_hwpt_alloc parent{};
    parent.size = sizeof(parent);
    parent.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
    parent.dev_id = m.mock_domain.out_idev_id;
    parent.pt_id = a.out_ioas_id;
    REQUIRE(d.call(IOMMU_HWPT_ALLOC, parent) == 0);
    const iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
    iommu_hwpt_alloc nested{};
    nested.size = sizeof(nested);
    nested.flags = IOMMU_HWPT_FAULT_ID_VALID;
    nested.dev_id = m.mock_domain.out_idev_id;
    nested.pt_id = parent.out_hwpt_id;
    nested.data_type = IOMMU_HWPT_DATA_SELFTEST;
    nested.data_len = sizeof(data);
    nested.data_uptr = reinterpret_cast<uintptr_t>(&data);
    nested.fault_id = f.out_fault_id;
    REQUIRE(d.call(IOMMU_HWPT_ALLOC, nested) == 0);
    iommu_test_cmd r{};
    r.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
    r.id = m.mock_domain.out_stdev_id;
    r.mock_domain_replace.pt_id = nested.out_hwpt_id;
    REQUIRE(d.test_cmd(r) == 0);

    CHECK(d.object_kernel.poll(file, kKh, FUSE_POLL_SCHEDULE_NOTIFY, POLLIN) == POLLOUT);
    CHECK_FALSE(d.object_kernel.next_notification(50ms));
    iommu_test_cmd t{};
    t.op = IOMMU_TEST_OP_TRIGGER_IOPF;
    t.trigger_iopf = {m.mock_domain.out_idev_id, 0, 3, IOMMU_PGFAULT_PERM_WRITE, 0x7000};
    REQUIRE(d.test_cmd(t) == 0);
    const std::optional<uint64_t> woken = d.object_kernel.next_poll_wakeup();
    REQUIRE(woken);
    CHECK(*woken == kKh);
    CHECK(d.object_kernel.poll(file, kKh, 0, POLLIN) == (POLLIN | POLLOUT | POLLRDNORM));

    std::optional<Reply> read = d.object_kernel.read(file, sizeof(iommu_hwpt_pgfault));
    REQUIRE(read);
    REQUIRE(read->payload.size() == sizeof(iommu_hwpt_pgfault));
    iommu_hwpt_pgfault fault;
    std::memcpy(&fault, read->payload.data(), sizeof(fault));
    CHECK(fault.addr == 0x7000);
    CHECK(fault.grpid == 3);
    const iommu_hwpt_page_response response{fault.cookie, IOMMUFD_PAGE_RESP_SUCCESS};
    CHECK(d.object_kernel.write(file, bytes_of(response)) == static_cast<long>(sizeof(response)));
    CHECK(d.object_kernel.write(file, bytes_of(response)) == -EINVAL);  // answered already

    iommu_destroy destroy{sizeof(destroy), f.out_fault_id};
    CHECK(d.call(IOMMU_DESTROY, destroy) == -EBUSY);  // the page table and the fd hold it
    CHECK(d.object_kernel.release(file) == 0);
    iommu_destroy nested_destroy{sizeof(nested_destroy), nested.out_hwpt_id};
    r.mock_domain_replace.pt_id = a.out_ioas_id;
    REQUIRE(d.test_cmd(r) == 0);
    REQUIRE(d.call(IOMMU_DESTROY, nested_destroy) == 0);
    CHECK(d.call(IOMMU_DESTROY, destroy) == 0);  // its fd is closed: the queue can go
}

}  // namespace
}  // namespace protocol
