// The transport-neutral front door of the model.  The CUSE layer and the
// tests both call it: open/release a context, and run one ioctl, whose
// argument the dispatcher reads from (and writes back to) the caller's
// memory through the Caller, as the kernel's copy_from_user/copy_to_user
// would.
#pragma once

#include <cstddef>
#include <cstdint>
#include <chrono>
#include <functional>
#include <mutex>
#include <type_traits>
#include <span>
#include <string>
#include <sys/types.h>
#include <vector>

#include "../core/new_records.h"
#include "command_table.h"

struct iommu_fault_record;

namespace ciommu {

class Model;
struct Context;
class Caller;
struct CommandSpec;
struct CallEnv;
struct ObjectFileRequest;

class Dispatcher {
public:
    explicit Dispatcher(Model& model, Abi abi = Abi::kRfc) : model_(model), abi_(abi) {}

    // The uAPI this dispatcher serves (its command table).
    Abi abi() const { return abi_; }

    // nullptr when out of memory (the transport answers ENOMEM).
    Context* open(pid_t opener);
    // Tears the context down with everything it owns.
    void release(Context* ctx) noexcept;

    // cmd: the full ioctl number.  arg: the raw argument: a value, or the
    // address of the struct in the caller's memory, read through
    // caller.read_memory() (argsz first, then exactly what is needed; never
    // past argsz across a page) and written back with write_memory().
    // Returns the ioctl() result (>= 0) or -errno; *written (if given)
    // receives how many bytes were written back at arg.
    long ioctl(Context& ctx, const Caller& caller, unsigned cmd, uint64_t arg, size_t* written = nullptr);

    // --- the object node (iommufd profile): files that are objects' fds ---
    // (iommufd/object_file.h).  A new file of process `opener`: its id, or
    // -EMFILE / -ENFILE / -ENOMEM.
    long open_object_file(pid_t opener);
    // Its last close: what it held on its object is undone.
    void release_object_file(uint64_t file) noexcept;
    // CUSE_IOMMUFD_OBJECT_TOKEN: the file's token (the transport copies it
    // out: _IOR), or -EBADF.
    long object_file_token(uint64_t file, uint64_t* token);
    // read() and write() at pos (object_file_ops.h); -errno on failure.
    long read_object_file(uint64_t file, uint64_t pos, size_t count, std::vector<std::byte>& out);
    long write_object_file(uint64_t file, uint64_t pos, std::span<const std::byte> bytes);
    // poll()'s mask (POLLIN, POLLOUT, ...).
    unsigned poll_object_file(uint64_t file);
    // Called (without the model lock) with each object file that became
    // readable; kEveryObjectFile when a note was lost to memory exhaustion.
    using ObjectFileListener = std::function<void(uint64_t file)>;
    static constexpr uint64_t kEveryObjectFile = 0;  // file ids start at 1
    void set_object_file_listener(ObjectFileListener listener) { object_file_listener_ = std::move(listener); }

    // --- the fault region, as read() and poll() see it ---
    // Called (without the model lock) with the id of each context whose
    // fault region got records, after the operation that produced them.
    // Must not throw.  kEveryContext: wake every reader (a context's note
    // was lost to memory exhaustion).
    using RecordsListener = std::function<void(uint64_t context_id)>;
    static constexpr uint64_t kEveryContext = 0;  // context ids start at 1
    void set_records_listener(RecordsListener listener) { listener_ = std::move(listener); }
    // Moves up to out.size() records out of a context's region; 0 if it has
    // none or is gone.
    size_t read_faults(uint64_t context_id, std::span<iommu_fault_record> out);
    bool faults_pending(uint64_t context_id);
    // Answers INVALID the page requests whose response timeout has passed
    // (the daemon's timer calls this).
    void expire_page_requests();

    // Wakes the readers of records noted by work done outside ioctl() and
    // with_model() (a control command that takes the model lock itself).
    void deliver_noted_records() { notify_records(take_new_records()); }
    // The model, for work that takes its lock itself.
    Model& model() { return model_; }

    // Runs fn(Model&) under the model lock, for transports that are not
    // ioctls (the control socket); records it produces reach readers
    // afterwards like an ioctl's.
    template <typename Fn> auto with_model(Fn&& fn) {
        NewRecords with_records;
        auto finish = [&] { notify_records(std::move(with_records)); };
        std::unique_lock guard(model_lock());
        if constexpr (std::is_void_v<decltype(fn(model_))>) {
            fn(model_);
            with_records = take_new_records();
            guard.unlock();
            finish();
        } else {
            auto result = fn(model_);
            with_records = take_new_records();
            guard.unlock();
            finish();
            return result;
        }
    }

    // Every uAPI call, as the trace sees it.
    struct CallRecord {
        uint64_t context_id;
        pid_t tid;
        unsigned cmd;
        uint64_t arg;
        std::span<const std::byte> args_in;   // the struct as the caller passed it (argsz bytes)
        std::span<const std::byte> args_out;  // what was copied back (empty if nothing)
        long result;                          // >= 0, or -errno
        std::chrono::nanoseconds latency;
    };
    using CallListener = std::function<void(const CallRecord&)>;
    void set_call_listener(CallListener listener) { call_listener_ = std::move(listener); }

    // Every open and release of a context, as the trace sees them.  A
    // release reports what the close reclaimed (what the context still
    // owned): the devices it had bound, its IOASIDs and their mappings.
    struct ContextRecord {
        enum class Kind { kOpen, kRelease } kind;
        uint64_t context_id;
        pid_t pid;  // the process that opened it
        std::vector<std::string> devices;
        size_t ioasids = 0;
        size_t mappings = 0;
    };
    using ContextListener = std::function<void(const ContextRecord&)>;
    // Like set_call_listener: set it before serving starts (not synchronised
    // with the callers that read it).  Called without the model lock.
    void set_context_listener(ContextListener listener) { context_listener_ = std::move(listener); }

private:
    struct ArgBytes;
    long traced_ioctl(Context& ctx, const Caller& caller, unsigned cmd, uint64_t arg, size_t* written,
                      const ObjectFileRequest* file = nullptr);
    long run_ioctl(Context& ctx, const Caller& caller, unsigned cmd, uint64_t arg, ArgBytes* bytes,
                   const ObjectFileRequest* file);
    long struct_ioctl(const CommandSpec& spec, CallEnv& env, ArgBytes& bytes);
    long run_handler(const CommandSpec& spec, CallEnv& env);
    void notify_records(NewRecords records) noexcept;
    void tell_context_listener(const ContextRecord& record) noexcept;
    std::mutex& model_lock();
    NewRecords take_new_records() noexcept;

    Model& model_;
    const Abi abi_;
    RecordsListener listener_;
    ObjectFileListener object_file_listener_;
    CallListener call_listener_;
    ContextListener context_listener_;
};

}  // namespace ciommu
