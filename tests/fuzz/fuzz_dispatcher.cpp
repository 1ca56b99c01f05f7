// libFuzzer target: the dispatcher driven by a sequence of operations, the
// way the CUSE layer drives it for several clients, against one model that
// lives as long as the fuzzer.  After every operation the invariant
// checker must find nothing; after every input, with each context
// released, the model must be empty.
//
// Input: operations until the bytes run out, each an opcode byte (mod 8):
//   0 open        a context in the first free of 4 slots: slots 0 and 1
//                 speak the RFC's uAPI, slots 2 and 3 the iommufd profile's
//                 (a second Dispatcher, Abi::kIommufd, on the same model)
//   1 release     slot u8
//   2 ioctl       slot u8, command u8 (0..0xef: _IO(';', base + (u8 mod
//                 0x30)), base 0xb0 for an RFC slot (/dev/iommu and the
//                 simulation), 0x80 for an iommufd slot (iommufd's
//                 commands and IOMMU_TEST_CMD), implemented or not -- by
//                 number, not by row, so a new row leaves the corpus's
//                 meaning alone; 0xf0..0xfe: that _IOC_NR; 0xff: then a raw
//                 u32 ioctl number), mode u8, then
//                   mode&1: a value argument u64, or else a struct argument:
//                   len u16 (mod 4161), where u16, fixups u8 (mod 5), then
//                   each fixup {at u16, kind u8, extra u8}, then len bytes;
//                   mode&2: argsz (the first u32) = len;
//                   mode&4: the struct ends where+1..15 bytes into the guard
//                   page after the arena, else it starts at where
//                 fixup kinds (mod 6) write into the struct at `at`:
//                   0 the arena address of page extra (32: the guard) u64,
//                   1 the client's eventfd s32, 2 its full eventfd s32,
//                   3 the last page-request group read u32, 4 the last
//                   ioctl result u32, 5 the last pending DMA's id u64
//   3 write       page u8, offset u16, len u8, bytes: into the arena (data,
//                 stage-1 page tables)
//   4 read        slot u8, count u8: fault records (of a released slot too)
//   5 pending     slot u8: faults_pending
//   6 tick        u8: the clock advances (u8+1)*50 ms, expired page
//                 requests are answered
//   7 page        page u8, state u8 (mod 3: unmapped, read-only, read-write)
//                 in the client
// The client is a child process (client_process.h); its memory is reset
// before each input, and its locked-memory limit is 64 pages.
#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <linux/ioctl.h>
#include <span>

#include "../../core/caller.h"
#include "../../dispatcher/command_table.h"
#include "../../core/context.h"
#include "../../dispatcher/dispatcher.h"
#include "../../core/model.h"
#include "client_process.h"
#include "cuse-iommu.h"
#include "input_reader.h"
#include "model_state.h"

namespace {

using namespace ciommu;
using fuzz::ClientProcess;
using fuzz::InputReader;

constexpr size_t kSlots = 4;
constexpr size_t kMaxLen = IOMMU_ARGSZ_MAX + 64;
constexpr uint64_t kLockLimitPages = 64;

struct World {
    ClientProcess client;
    Model model{default_topology(), PinLedger::fixed_limit(kLockLimitPages)};
    Dispatcher dispatcher{model};
    Dispatcher iommufd{model, Abi::kIommufd};
    Model::Clock::time_point now = Model::Clock::now();
    World() {
        model.set_clock([this] { return now; });
    }
};
World* world;

// What a sequence remembers, for the fixups that need it.
struct Sequence {
    std::array<Context*, kSlots> slots{};
    std::array<uint64_t, kSlots> ids{};  // kept after release: reads of a gone context
    uint32_t last_grpid = 0;
    long last_result = 0;
    uint64_t last_dma_id = 0;
};

Caller client_caller() {
    return Caller(world->client.pid(), world->client.pid());
}

const bool trace = std::getenv("FUZZ_TRACE") != nullptr;

// Slots 2 and 3 are the iommufd profile's.
bool iommufd_slot(size_t slot) { return slot >= kSlots / 2; }
Dispatcher& dispatcher_of(size_t slot) { return iommufd_slot(slot) ? world->iommufd : world->dispatcher; }

const char* command_name(unsigned cmd, Abi abi) {
    const CommandSpec* spec = _IOC_TYPE(cmd) == IOMMU_TYPE ? find_command(cmd, abi) : nullptr;
    return spec ? spec->name : "(unknown)";
}

// 0xb0..0xdf: the /dev/iommu and simulation numbers (docs/uapi.md);
// 0x80..0xaf: iommufd's, IOMMU_TEST_CMD (0xa0) among them.
constexpr unsigned kOurNumbers = 0x30;
constexpr unsigned kIommufdBase = 0x80;

unsigned pick_command(InputReader& in, bool iommufd) {
    const uint8_t choice = in.u8();
    if (choice == 0xff)
        return in.number<uint32_t>();
    if (choice >= 0xf0)
        return _IO(IOMMU_TYPE, choice);
    return _IO(IOMMU_TYPE, (iommufd ? kIommufdBase : IOMMU_BASE) + choice % kOurNumbers);
}

void apply_fixup(const Sequence& seq, unsigned char* arg, size_t len, InputReader& in) {
    const uint16_t at = in.number<uint16_t>();
    const uint8_t kind = in.u8() % 6;
    const uint8_t extra = in.u8();
    uint64_t value = 0;
    size_t width = 8;
    switch (kind) {
    case 0: value = world->client.address((extra % (ClientProcess::kPages + 1)) * ClientProcess::kPageSize); break;
    case 1: value = static_cast<uint32_t>(world->client.eventfd()), width = 4; break;
    case 2: value = static_cast<uint32_t>(world->client.full_eventfd()), width = 4; break;
    case 3: value = seq.last_grpid, width = 4; break;
    case 4: value = static_cast<uint32_t>(seq.last_result), width = 4; break;
    default: value = seq.last_dma_id; break;
    }
    if (size_t{at} + width <= len)
        std::memcpy(arg + at, &value, width);
}

// Builds a struct argument in the arena; returns its address.
uint64_t place_struct(Sequence& seq, InputReader& in, uint8_t mode, unsigned char* scratch, size_t* out_len) {
    const size_t len = in.number<uint16_t>() % (kMaxLen + 1);
    const uint16_t where = in.number<uint16_t>();
    const unsigned fixups = in.u8() % 5;
    // The fixups come first in the input but apply to the bytes after.
    uint8_t fixup_bytes[4 * 4];
    in.bytes(fixup_bytes, fixups * 4);
    in.bytes(scratch, len);
    if ((mode & 2) && len >= 4) {
        const uint32_t argsz = static_cast<uint32_t>(len);
        std::memcpy(scratch, &argsz, 4);
    }
    InputReader fixup_in(fixup_bytes, fixups * 4);
    for (unsigned i = 0; i < fixups; ++i)
        apply_fixup(seq, scratch, len, fixup_in);
    size_t offset;
    if (mode & 4)  // straddling the guard page
        offset = ClientProcess::kBytes - len + 1 + where % 15;
    else
        offset = where % (ClientProcess::kBytes - std::min(len, ClientProcess::kBytes) + 1);
    const size_t inside = offset >= ClientProcess::kBytes ? 0 : std::min(len, ClientProcess::kBytes - offset);
    std::memcpy(world->client.arena() + offset, scratch, inside);
    *out_len = inside == len ? len : 0;  // 0: not all of it can be read back
    return world->client.address(offset);
}

void op_ioctl(Sequence& seq, InputReader& in) {
    const size_t slot = in.u8() % kSlots;
    Context* ctx = seq.slots[slot];
    const unsigned cmd = pick_command(in, iommufd_slot(slot));
    const uint8_t mode = in.u8();
    static unsigned char scratch[kMaxLen];
    uint64_t arg;
    size_t readable = 0;
    if (mode & 1)
        arg = in.number<uint64_t>();
    else
        arg = place_struct(seq, in, mode, scratch, &readable);
    if (!ctx)
        return;
    const long result = dispatcher_of(slot).ioctl(*ctx, client_caller(), cmd, arg);
    if (result < -4095) {
        std::fprintf(stderr, "fuzz: ioctl %#x returned %ld, not a result or -errno\n", cmd, result);
        std::abort();
    }
    seq.last_result = result;
    if (trace)  // FUZZ_TRACE=1: what each call of an input returned (checking seeds)
        std::fprintf(stderr, "ioctl %s -> %ld\n",
                     command_name(cmd, iommufd_slot(slot) ? Abi::kIommufd : Abi::kRfc), result);
    if (!iommufd_slot(slot) && cmd == IOMMU_SIM_DMA && result == 0 && readable >= sizeof(iommu_sim_dma)) {
        iommu_sim_dma done;
        std::memcpy(&done, world->client.arena() + (arg - world->client.address(0)), sizeof(done));
        if (done.status == IOMMU_SIM_DMA_PENDING)
            seq.last_dma_id = done.dma_id;
    }
}

void op_write(InputReader& in) {
    const size_t page = in.u8() % ClientProcess::kPages;
    const size_t offset = in.number<uint16_t>() % ClientProcess::kPageSize;
    const size_t len = std::min<size_t>(in.u8(), ClientProcess::kPageSize - offset);
    in.bytes(world->client.arena() + page * ClientProcess::kPageSize + offset, len);
}

void op_read(Sequence& seq, InputReader& in) {
    const uint64_t id = seq.ids[in.u8() % kSlots];
    iommu_fault_record records[16];
    const size_t n = world->dispatcher.read_faults(id, std::span(records, 1 + in.u8() % 16));
    for (size_t i = 0; i < n; ++i) {
        if (records[i].flags & IOMMU_FAULT_RECORD_RECOVERABLE)
            seq.last_grpid = records[i].grpid;
    }
}

void run_op(Sequence& seq, InputReader& in) {
    switch (in.u8() % 8) {
    case 0:
        for (size_t i = 0; i < kSlots; ++i) {
            if (!seq.slots[i]) {
                seq.slots[i] = dispatcher_of(i).open(world->client.pid());
                seq.ids[i] = seq.slots[i] ? seq.slots[i]->id : 0;
                break;
            }
        }
        break;
    case 1: {
        const size_t slot = in.u8() % kSlots;
        Context*& ctx = seq.slots[slot];
        if (ctx)
            dispatcher_of(slot).release(std::exchange(ctx, nullptr));
        break;
    }
    case 2: op_ioctl(seq, in); break;
    case 3: op_write(in); break;
    case 4: op_read(seq, in); break;
    case 5: world->dispatcher.faults_pending(seq.ids[in.u8() % kSlots]); break;
    case 6:
        world->now += std::chrono::milliseconds(50) * (1 + in.u8());
        world->dispatcher.expire_page_requests();
        break;
    default: {
        const size_t page = in.u8();
        world->client.set_page(page, static_cast<ClientProcess::PageState>(in.u8() % 3));
        break;
    }
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    world = new World;  // lives as long as the process: its child with it
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    world->client.reset();
    InputReader in(data, size);
    Sequence seq;
    while (!in.done()) {
        run_op(seq, in);
        fuzz::require_sound(world->model);
    }
    for (size_t slot = 0; slot < kSlots; ++slot) {
        if (seq.slots[slot])
            dispatcher_of(slot).release(std::exchange(seq.slots[slot], nullptr));
    }
    fuzz::require_empty(world->model);
    return 0;
}
