// Callers held by identity (issue 9): a Process refers to one process and
// its address space, never to a pid number that a later process may get.
#include <doctest/doctest.h>

#include <csignal>
#include <cstring>
#include <sys/wait.h>
#include <unistd.h>

#include "../../ioasid/process.h"
#include "fixture.h"

using namespace ciommu;
using namespace ciommu::test;

namespace {

// A child that holds `text` at a page it reports and waits until killed.
struct Child {
    pid_t pid = -1;
    char* page = nullptr;

    explicit Child(const char* text) {
        page = static_cast<char*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
        REQUIRE(page != MAP_FAILED);
        int ready[2];
        REQUIRE(pipe(ready) == 0);
        pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            char* mine = static_cast<char*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                                                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
            std::strcpy(mine, text);
            std::memcpy(page, &mine, sizeof(mine));  // tell the parent where
            (void)!write(ready[1], "x", 1);
            pause();
            _exit(0);
        }
        close(ready[1]);
        char c;
        REQUIRE(read(ready[0], &c, 1) == 1);
        close(ready[0]);
    }
    uint64_t text_address() const {
        char* at;
        std::memcpy(&at, page, sizeof(at));
        return reinterpret_cast<uintptr_t>(at);
    }
    void kill_and_reap() {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        pid = -1;
    }
    ~Child() {
        if (pid > 0)
            kill_and_reap();
        munmap(page, 4096);
    }
};

}  // namespace

TEST_CASE("a Process reads its process's memory, and nothing once that process is gone") {
    Child child("the owner's bytes");
    const ProcessRef owner = Process::open(child.pid);
    REQUIRE(owner);
    CHECK(owner->pid() == child.pid);
    CHECK(owner->alive());
    char buf[18] = {};
    REQUIRE(owner->read(child.text_address(), buf, sizeof(buf) - 1) == 0);
    CHECK(std::string(buf) == "the owner's bytes");

    child.kill_and_reap();
    CHECK(owner->exited());
    CHECK_FALSE(owner->alive());
    CHECK(owner->read(child.text_address(), buf, 1) == -EFAULT);
    CHECK(owner->write(child.text_address(), "x", 1) == -EFAULT);
    CHECK_FALSE(owner->may_lock(1));
    CHECK(Process::open(child.pid) == nullptr);  // a dead pid opens nothing
}

TEST_CASE("shared memory retained under a pin stays reachable after its process exits; private memory does not") {
    Child child("private bytes");
    const ProcessRef owner = Process::open(child.pid);
    REQUIRE(owner);
    const uint64_t shared = reinterpret_cast<uintptr_t>(child.page);  // the child's too: MAP_SHARED
    owner->retain_shared(shared, 4096);
    owner->retain_shared(child.text_address(), 4096);  // private: there is no file to keep
    CHECK(owner->shared_mappings() == 1);
    owner->drop_unheld_shared(shared, 4096);  // the pin did not come: closed again
    CHECK(owner->shared_mappings() == 0);
    owner->retain_shared(shared, 4096);
    CHECK(owner->shared_mappings() == 1);
    owner->hold_shared(shared, 4096);  // a pin
    owner->drop_unheld_shared(shared, 4096);  // held: stays
    CHECK(owner->shared_mappings() == 1);
    child.kill_and_reap();
    char buf[sizeof(char*)];
    REQUIRE(owner->read(shared, buf, sizeof(buf)) == 0);
    CHECK(std::memcmp(buf, child.page, sizeof(buf)) == 0);
    REQUIRE(owner->write(shared + 100, "pinned", 6) == 0);
    CHECK(std::memcmp(child.page + 100, "pinned", 6) == 0);  // the very pages this process sees
    CHECK(owner->read(child.text_address(), buf, 1) == -EFAULT);
    CHECK(owner->read(shared + 4095, buf, 2) == -EFAULT);  // runs past what is held
    owner->release_shared(shared, 4096);  // the last pin goes: so does the mapping
    CHECK(owner->shared_mappings() == 0);
    CHECK(owner->read(shared, buf, 1) == -EFAULT);
}

TEST_CASE("serials are never reused; the table opens a process once and drops the dead") {
    ProcessTable table;
    const ProcessRef self = table.for_caller(getpid());
    REQUIRE(self);
    CHECK(table.for_caller(getpid()) == self);  // cached while it lives
    uint64_t last = self->serial();
    for (int i = 0; i < 3; ++i) {
        Child child("x");
        const ProcessRef p = table.for_caller(child.pid);
        REQUIRE(p);
        CHECK(p->serial() > last);
        last = p->serial();
        child.kill_and_reap();
        CHECK(table.for_caller(child.pid) == nullptr);  // a dead pid is no caller
    }
}

TEST_CASE("a mapping made by another process is its own: unreachable and uncharged once it is gone") {
    // The dispatcher serves a child here, reading the child's argument from
    // the child's memory by its tid, as it would any caller's.
    Fixture f;
    const long ioasid = f.alloc();
    REQUIRE(f.bind("nic0", 1) == 0);
    REQUIRE(f.attach(1, ioasid) == 0);
    Child child("the child's data");
    // In the child's memory: a MAP_DMA of the page holding its text.
    const uint64_t text_page = child.text_address() & ~uint64_t{4095};
    const iommu_map_dma m{sizeof(m), kRW, static_cast<uint32_t>(ioasid), 0, text_page, 0x100000, 4096};
    const uint64_t arg = text_page + 2048;
    const ProcessRef owner = f.model.processes().for_caller(child.pid);  // the one the model will use
    REQUIRE(owner);
    REQUIRE(owner->write(arg, &m, sizeof(m)) == 0);
    REQUIRE(f.dispatcher.ioctl(*f.ctx, Caller(child.pid), IOMMU_MAP_DMA, arg) == 0);

    char got[17] = {};
    REQUIRE(f.dma(1, 0x100000, got, 16, false) == 0);
    CHECK(std::string(got) == "the child's data");  // the device reaches the owner's memory
    CHECK(f.stats().locked_pages == 0);              // charged to the child, not to us
    CHECK(f.model.ledger().locked_pages(*owner) == 1);

    child.kill_and_reap();
    CHECK(f.dma(1, 0x100000, got, 16, false) == -EFAULT);  // its memory is gone: never anyone else's
    CHECK(f.dma(1, 0x100000, got, 16, true) == -EFAULT);
    CHECK(f.stats().locked_pages == 0);  // still nobody else's charge
    CHECK(f.unmap(ioasid, 0x100000, 4096) == 4096);
    CHECK(f.model.ledger().locked_pages(*owner) == 0);
}
