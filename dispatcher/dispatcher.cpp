#include "dispatcher.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "caller.h"
#include "command_table.h"
#include "cuse-iommu.h"
#include "../fault-region/page_requests.h"
#include "model.h"

namespace ciommu {
namespace {

uint32_t load_u32(const std::byte* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}

bool all_zero(std::span<const std::byte> bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

// The checks every struct command shares, in the order iommufd applies
// them.  On success `args` holds the zero-extended struct; returns 0 or
// -errno and then nothing has been looked at by a handler.
long check_struct_args(const CommandSpec& spec, std::span<const std::byte> in,
                       std::byte* args, uint32_t* argsz_out) {
    if (in.size() < sizeof(uint32_t))
        return -EFAULT;
    const uint32_t argsz = load_u32(in.data());
    if (argsz < spec.min_size)
        return -EINVAL;
    if (argsz > IOMMU_ARGSZ_MAX)
        return -E2BIG;
    const size_t input_bytes = spec.output_tail ? std::min<size_t>(argsz, spec.struct_size) : argsz;
    if (in.size() < input_bytes)
        return -EFAULT;
    if (!spec.output_tail && argsz > spec.struct_size &&
        !all_zero(in.subspan(spec.struct_size, argsz - spec.struct_size)))
        return -E2BIG;

    std::memset(args, 0, std::max<size_t>(argsz, spec.struct_size));
    std::memcpy(args, in.data(), std::min<size_t>(argsz, spec.struct_size));

    const uint32_t flags = load_u32(args + offsetof(iommu_ioasid_alloc, flags));
    if (flags & ~spec.valid_flags)
        return -EINVAL;
    for (const ReservedField& field : spec.reserved) {
        if (!all_zero({args + field.offset, field.size}))
            return -EINVAL;
    }
    *argsz_out = argsz;
    return 0;
}

}  // namespace

Context* Dispatcher::open(pid_t opener) {
    Context* ctx;
    {
        std::lock_guard guard(model_.lock());
        ctx = model_.add_context(opener);
    }
    if (context_listener_)
        context_listener_({ContextRecord::Kind::kOpen, ctx->id, opener, {}, 0, 0});
    return ctx;
}

void Dispatcher::release(Context* ctx) {
    ContextRecord record{ContextRecord::Kind::kRelease, ctx->id, ctx->opener, {}, 0, 0};
    {
        std::lock_guard guard(model_.lock());
        if (context_listener_) {  // what the teardown is about to reclaim
            for (const auto& [cookie, device] : ctx->devices)
                record.devices.push_back(device->spec->name);
            record.ioasids = ctx->ioasids.size();
            ctx->ioasids.for_each(
                [&](uint32_t, const IoAddressSpace& space) { record.mappings += space.mapping_count(); });
        }
        model_.remove_context(ctx);
    }
    if (context_listener_)
        context_listener_(record);
}

std::mutex& Dispatcher::model_lock() { return model_.lock(); }
std::vector<uint64_t> Dispatcher::take_new_records() { return model_.take_new_records(); }

IoctlReply Dispatcher::ioctl(Context& ctx, const Caller& caller, unsigned cmd, uint64_t arg,
                             std::span<const std::byte> in, std::span<std::byte> out) {
    if (!call_listener_)
        return run_ioctl(ctx, caller, cmd, arg, in, out);
    const auto start = std::chrono::steady_clock::now();
    const IoctlReply reply = run_ioctl(ctx, caller, cmd, arg, in, out);
    const auto latency = std::chrono::steady_clock::now() - start;
    const size_t in_len = in.size() >= 4 ? std::min<size_t>(in.size(), load_u32(in.data())) : in.size();
    call_listener_({ctx.id, caller.tid(), cmd, arg, in.first(in_len), out.first(reply.out_len), reply.result,
                    std::chrono::duration_cast<std::chrono::nanoseconds>(latency)});
    return reply;
}

IoctlReply Dispatcher::run_ioctl(Context& ctx, const Caller& caller, unsigned cmd, uint64_t arg,
                                 std::span<const std::byte> in, std::span<std::byte> out) {
    const CommandSpec* spec = find_command(cmd);
    if (!spec)
        return {-ENOTTY, 0};

    CallEnv env{model_, ctx, caller, arg, nullptr, 0, 0};
    if (spec->kind == ArgKind::kValue) {
        std::lock_guard guard(model_.lock());
        return {spec->handler(env), 0};
    }
    std::vector<uint64_t> with_records;
    const IoctlReply reply = struct_ioctl(*spec, env, in, out, &with_records);
    notify_records(std::move(with_records));
    return reply;
}

IoctlReply Dispatcher::struct_ioctl(const CommandSpec& spec, CallEnv& env, std::span<const std::byte> in,
                                    std::span<std::byte> out, std::vector<uint64_t>* with_records) {
    alignas(8) std::byte args[IOMMU_ARGSZ_MAX];
    uint32_t argsz = 0;
    if (long err = check_struct_args(spec, in, args, &argsz))
        return {err, 0};

    env.args = args;
    env.argsz = argsz;
    env.out_len = std::min<size_t>(argsz, spec.struct_size);
    long result;
    {
        std::lock_guard guard(model_.lock());
        result = spec.handler(env);
        *with_records = model_.take_new_records();
    }
    if (result < 0 || !spec.copies_out)
        return {result, 0};
    const size_t out_len = std::min<size_t>({env.out_len, argsz, out.size()});
    if (out_len)
        std::memcpy(out.data(), args, out_len);
    return {result, out_len};
}

void Dispatcher::notify_records(std::vector<uint64_t> contexts) {
    if (!listener_ || contexts.empty())
        return;
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
    std::vector<uint64_t> with_records;
    {
        std::lock_guard guard(model_.lock());
        ciommu::expire_page_requests(model_, model_.now());
        with_records = model_.take_new_records();
    }
    notify_records(std::move(with_records));
}

}  // namespace ciommu
