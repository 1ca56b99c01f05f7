// What a command handler gets from the dispatcher (dispatcher/): the
// model, the caller's context and identity, and the checked argument.
// It lives in the core so that the model folders' handlers see it without
// including the dispatcher (docs/design.md, "Layers").
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace ciommu {

class Model;
struct Context;
class Caller;
class Process;

// CUSE_IOMMUFD_OBJECT_FD_CALL's object file: the new object is bound to
// the caller's unbound object file of this token, which the caller's table
// holds at `fd` (iommufd/object_file.h).
struct ObjectFileRequest {
    uint64_t token = 0;
    int32_t fd = -1;
};

// What a handler gets: the model, the caller's context and identity, and
// either the raw ioctl argument (value commands) or the zero-extended struct
// (struct commands).  A struct command's handler is typed,
// long (CallEnv&, const iommu_x&) -- or iommu_x& if it updates the struct
// for copy-out -- and its row (dispatcher/command_table.cpp) passes it the
// struct from `args`.  The model lock is
// held around the handler, unless the command's row says the handler takes
// it itself (CommandSpec::self_locked).
struct CallEnv {
    Model& model;
    Context& ctx;
    const Caller& caller;
    uint64_t arg;     // the ioctl argument as passed (a value or a pointer)
    void* args;       // struct commands: the command's struct; else nullptr
    uint32_t argsz;   // struct commands: the caller's argsz
    size_t out_len;   // struct commands that copy out: bytes to write back
                      // (preset to min(argsz, struct_size); a command with
                      // an output tail may set up to argsz)
    long deferred_error = 0;  // struct commands: an error returned after the
                              // struct is written back (a handler returning 0
                              // sets it: iommufd answers EMSGSIZE that way)
    // Struct commands that create an object: what undoes it if the struct
    // cannot be written back (the kernel's iommufd_object_abort when
    // iommufd_ucmd_respond fails).  Called with the model lock held.
    void (*abort_created)(CallEnv& env, uint32_t id) = nullptr;
    uint32_t created_id = 0;

    // The object file a command that answers a file descriptor binds its
    // object to; nullptr when the call came without one (the command then
    // fails EOPNOTSUPP: docs/iommufd.md, "File descriptors").
    const ObjectFileRequest* object_file = nullptr;
    // A command that runs another on the caller's behalf (OBJECT_FD_CALL)
    // names it here and returns 0; the dispatcher then runs it, with
    // forward_file as its object_file.
    unsigned forward_cmd = 0;
    uint64_t forward_arg = 0;
    ObjectFileRequest forward_file = {};

    // The calling process, held by identity (ioasid/process.h); nullptr if
    // it cannot be opened.  Costs system calls on the caller's process:
    // call it without the model lock.
    std::shared_ptr<Process> caller_process() const;
};

// >= 0: the ioctl() result; < 0: -errno.  The untyped entry the dispatcher
// calls (a value command's handler, or a typed handler's wrapper).
using Handler = long (*)(CallEnv& env);

}  // namespace ciommu
