// The transport-neutral front door of the model.  The CUSE layer and the
// tests both call it: open/release a context, and run one ioctl whose
// argument bytes the transport has already fetched from the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <sys/types.h>

namespace ciommu {

class Model;
struct Context;
class Caller;

struct IoctlReply {
    long result;     // >= 0: the ioctl() return value; < 0: -errno
    size_t out_len;  // bytes of `out` to copy back to the caller's struct
};

class Dispatcher {
public:
    explicit Dispatcher(Model& model) : model_(model) {}

    Context* open(pid_t opener);
    // Tears the context down with everything it owns.
    void release(Context* ctx);

    // cmd: the full ioctl number.  arg: the raw argument.  For a struct
    // command, `in` holds the bytes at arg: at least the argsz the caller
    // declared (fewer means the transport could not read them: -EFAULT);
    // `out` receives the struct to copy back and must hold argsz bytes
    // (IOMMU_ARGSZ_MAX is always enough).  Value commands ignore both spans.
    IoctlReply ioctl(Context& ctx, const Caller& caller, unsigned cmd, uint64_t arg,
                     std::span<const std::byte> in, std::span<std::byte> out);

private:
    Model& model_;
};

}  // namespace ciommu
