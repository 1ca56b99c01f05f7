#include "dispatcher.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/random.h>
#include <vector>

#include "../core/caller.h"
#include "arg_checks.h"
#include "command_table.h"
#include "cuse-iommu.h"
#include "../fault-region/page_requests.h"
#include "../core/model.h"
#include "../ioasid/process.h"
#include "../iommufd/object_file_ops.h"
#include "cuse-iommu-iommufd.h"

namespace ciommu {
namespace {

constexpr uint64_t kArgPage = 4096;  // the unit copy_from_user can fault in

uint32_t load_u32(const std::byte* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}

}  // namespace

// A struct command's argument as read from the caller: `raw` holds what
// was read at arg (argsz bytes and at most the rest of arg's page), `args`
// the zero-extended struct the handler sees and may update for copy-out.
struct Dispatcher::ArgBytes {
    alignas(8) std::byte raw[IOMMU_ARGSZ_MAX];
    alignas(8) std::byte args[IOMMU_ARGSZ_MAX];
    uint32_t argsz = 0;
    size_t read = 0;      // valid bytes of raw (the trace's view: min(read, argsz))
    size_t written = 0;   // bytes of args written back
};

Context* Dispatcher::open(pid_t opener) {
    Context* ctx;
    try {
        std::lock_guard guard(model_.lock());
        ctx = model_.add_context(opener);
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
    tell_context_listener({ContextRecord::Kind::kOpen, ctx->id, opener, {}, 0, 0});
    return ctx;
}

// A release cannot fail: out of memory, the trace's record of it lists
// fewer devices (the trace is best effort; the teardown needs no memory).
void Dispatcher::release(Context* ctx) noexcept {
    ContextRecord record{ContextRecord::Kind::kRelease, ctx->id, ctx->opener, {}, 0, 0};
    {
        std::lock_guard guard(model_.lock());
        if (context_listener_) {  // what the teardown is about to reclaim
            try {
                for (const auto& [cookie, device] : ctx->devices)
                    record.devices.push_back(device->spec->name);
            } catch (const std::bad_alloc&) {
            }
            record.ioasids = ctx->ioasids.size();
            ctx->ioasids.for_each(
                [&](uint32_t, const IoAddressSpace& space) { record.mappings += space.mapping_count(); });
        }
        model_.remove_context(ctx);
    }
    tell_context_listener(record);
}

void Dispatcher::tell_context_listener(const ContextRecord& record) noexcept {
    try {
        if (context_listener_)
            context_listener_(record);
    } catch (const std::exception&) {
        // The trace is best effort.
    }
}

std::mutex& Dispatcher::model_lock() { return model_.lock(); }
NewRecords Dispatcher::take_new_records() noexcept { return model_.take_new_records(); }

// Out of memory is an errno at the uAPI edge: the handlers are exception
// safe (a command that runs out changes nothing), and the exception stops
// here, never reaching the transport.
long Dispatcher::ioctl(Context& ctx, const Caller& caller, unsigned cmd, uint64_t arg, size_t* written) {
    try {
        return traced_ioctl(ctx, caller, cmd, arg, written);
    } catch (const std::bad_alloc&) {
        notify_records(take_new_records());  // records queued before memory ran out
        return -ENOMEM;
    }
}

long Dispatcher::traced_ioctl(Context& ctx, const Caller& caller, unsigned cmd, uint64_t arg, size_t* written,
                              const ObjectFileRequest* file) {
    if (!call_listener_ && !written)
        return run_ioctl(ctx, caller, cmd, arg, nullptr, file);
    ArgBytes bytes;
    const auto start = std::chrono::steady_clock::now();
    const long result = run_ioctl(ctx, caller, cmd, arg, &bytes, file);
    const auto latency = std::chrono::steady_clock::now() - start;
    if (written)
        *written = bytes.written;
    if (!call_listener_)
        return result;
    const size_t in_len = std::min<size_t>(bytes.read, bytes.argsz ? bytes.argsz : bytes.read);
    try {  // the trace is best effort: its failure never changes a call's result
        call_listener_({ctx.id, caller.tid(), cmd, arg, std::span(bytes.raw, in_len),
                        std::span(bytes.args, bytes.written), result,
                        std::chrono::duration_cast<std::chrono::nanoseconds>(latency)});
    } catch (const std::exception&) {
    }
    return result;
}

long Dispatcher::run_ioctl(Context& ctx, const Caller& caller, unsigned cmd, uint64_t arg, ArgBytes* traced,
                           const ObjectFileRequest* file) {
    const CommandSpec* spec = find_command(cmd, abi_);
    if (!spec)
        return -ENOTTY;

    CallEnv env{model_, ctx, caller, arg, nullptr, 0, 0};
    env.object_file = file;
    if (spec->kind == ArgKind::kValue) {
        std::lock_guard guard(model_.lock());
        return spec->handler(env);
    }
    ArgBytes local;
    ArgBytes& bytes = traced ? *traced : local;
    const long result = struct_ioctl(*spec, env, bytes);
    notify_records(take_new_records());
    // A command carried by another (CUSE_IOMMUFD_OBJECT_FD_CALL), traced
    // as its own call; it carries no further one.
    if (result >= 0 && env.forward_cmd)
        return file ? -EINVAL : traced_ioctl(ctx, caller, env.forward_cmd, env.forward_arg, nullptr, &env.forward_file);
    return result;
}

long Dispatcher::run_handler(const CommandSpec& spec, CallEnv& env) {
    if (spec.self_locked)
        return spec.handler(env);
    std::lock_guard guard(model_.lock());
    return spec.handler(env);
}

// Reads the argument like copy_struct_from_user: argsz first (with as much
// of the known struct as lies in arg's page, which is readable if argsz
// is), then the rest argsz asks for; checks it; runs the handler; writes
// the struct back.  Nothing past argsz is read across a page.
long Dispatcher::struct_ioctl(const CommandSpec& spec, CallEnv& env, ArgBytes& bytes) {
    const uint64_t arg = env.arg;
    const size_t room_in_page = kArgPage - (arg & (kArgPage - 1));
    const size_t first = std::max<size_t>(sizeof(uint32_t), std::min<size_t>(spec.struct_size, room_in_page));
    if (arg == 0 || env.caller.read_memory(arg, bytes.raw, first))
        return -EFAULT;
    bytes.read = first;
    const uint32_t argsz = bytes.argsz = load_u32(bytes.raw);
    if (long err = check_size(spec, argsz))
        return err;
    // An output tail (a capability chain) is output space: never read;
    // nor is anything past a VFIO struct.
    const size_t needed = (spec.output_tail || spec.convention->reads_struct_only)
                              ? std::min<size_t>(argsz, spec.struct_size)
                              : argsz;
    if (needed > first) {
        if (env.caller.read_memory(arg + first, bytes.raw + first, needed - first))
            return -EFAULT;
        bytes.read = needed;
    }
    if (long err = check_tail(spec, std::span(bytes.raw, needed)))
        return err;

    // A smaller, older struct reads as zeros in the fields it lacks.
    const size_t known = std::min<size_t>(argsz, spec.struct_size);
    std::memset(bytes.args, 0, std::min(std::max<size_t>(argsz, spec.struct_size), sizeof(bytes.args)));
    std::memcpy(bytes.args, bytes.raw, known);
    if (long err = check_flags_and_reserved(spec, bytes.args))
        return err;

    env.args = bytes.args;
    env.argsz = argsz;
    env.out_len = known;
    const long result = run_handler(spec, env);
    if (result < 0 || !spec.copies_out)
        return result;
    // Like copy_to_user after the work is done: a caller that cannot take
    // the answer gets EFAULT, and what the command did stays done -- but
    // an object it created goes again (CallEnv::abort_created).
    const size_t out_len = std::min<size_t>(env.out_len, argsz);
    if (env.caller.write_memory(arg, bytes.args, out_len)) {
        if (env.abort_created) {  // the caller never learns the id: the object goes
            std::lock_guard guard(model_.lock());
            env.abort_created(env, env.created_id);
        }
        return -EFAULT;
    }
    bytes.written = out_len;
    return env.deferred_error ? env.deferred_error : result;
}

void Dispatcher::notify_records(NewRecords records) noexcept {
    if (object_file_listener_) {
        if (records.every_object_file) {
            object_file_listener_(kEveryObjectFile);
        } else {
            for (uint64_t file : records.object_files)
                object_file_listener_(file);
        }
    }
    if (!listener_)
        return;
    if (records.everyone) {
        listener_(kEveryContext);
        return;
    }
    std::vector<uint64_t>& contexts = records.contexts;
    std::sort(contexts.begin(), contexts.end());
    contexts.erase(std::unique(contexts.begin(), contexts.end()), contexts.end());
    for (uint64_t id : contexts)
        listener_(id);
}

size_t Dispatcher::read_faults(uint64_t context_id, std::span<iommu_fault_record> out) {
    std::lock_guard guard(model_.lock());
    Context* ctx = model_.find_context(context_id);
    return ctx ? ctx->faults.pop(out) : 0;
}

bool Dispatcher::faults_pending(uint64_t context_id) {
    std::lock_guard guard(model_.lock());
    Context* ctx = model_.find_context(context_id);
    return ctx && ctx->faults.pending() > 0;
}

void Dispatcher::expire_page_requests() {
    NewRecords with_records;
    {
        std::lock_guard guard(model_.lock());
        ciommu::expire_page_requests(model_, model_.now());
        with_records = model_.take_new_records();
    }
    notify_records(std::move(with_records));
}

long Dispatcher::open_object_file(pid_t opener) {
    for (;;) {
        uint64_t token = 0;  // a secret: another process cannot guess it
        if (getrandom(&token, sizeof(token), 0) != sizeof(token))
            return -ENOMEM;
        try {
            std::lock_guard guard(model_.lock());
            const long id = model_.object_files().open(opener, token);
            if (id != -EEXIST)  // a token in use (or 0): draw again
                return id;
        } catch (const std::bad_alloc&) {
            return -ENOMEM;
        }
    }
}

void Dispatcher::release_object_file(uint64_t file) noexcept {
    std::lock_guard guard(model_.lock());
    object_file_release(model_, file);
}

long Dispatcher::object_file_token(uint64_t file, uint64_t* token) {
    std::lock_guard guard(model_.lock());
    const ObjectFile* found = model_.object_files().find(file);
    if (!found)
        return -EBADF;
    *token = found->token;
    return 0;
}

long Dispatcher::read_object_file(uint64_t file, uint64_t pos, size_t count, std::vector<std::byte>& out) {
    try {
        std::lock_guard guard(model_.lock());
        return object_file_read(model_, file, pos, count, out);
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
}

long Dispatcher::write_object_file(uint64_t file, uint64_t pos, std::span<const std::byte> bytes) {
    try {
        std::lock_guard guard(model_.lock());
        return object_file_write(model_, file, pos, bytes);
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
}

unsigned Dispatcher::poll_object_file(uint64_t file) {
    std::lock_guard guard(model_.lock());
    return object_file_poll(model_, file);
}

}  // namespace ciommu
