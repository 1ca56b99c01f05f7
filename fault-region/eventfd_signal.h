// Signalling a client's eventfd the way the kernel's eventfd_signal() does:
// add 1, saturating at the counter's maximum, and never block.
//
// write(2) on an eventfd blocks while the counter is within 1 of 2^64, and a
// client can put it there itself; the daemon holding the model lock in that
// write would stall every client.  The eventfd's file is shared with the
// client, so O_NONBLOCK cannot be set on it either.  Linux AIO has the
// kernel do it: an iocb with IOCB_FLAG_RESFD names an eventfd that the kernel
// signals with eventfd_signal() when the iocb completes.  A zero-byte read of
// /dev/zero completes inside io_submit(), so one io_submit() is one signal.
#pragma once

#include <atomic>

namespace ciommu {

class EventfdSignaller {
public:
    // The daemon's one signaller (an AIO context, /dev/zero).
    static EventfdSignaller& instance();

    // False if the kernel gave no AIO context (aio-max-nr reached): then
    // eventfds cannot be signalled safely and are refused.
    bool available() const { return aio_ >= 0 && zero_ >= 0; }
    // Adds 1 to the eventfd (the daemon's own descriptor of it).
    void signal(int eventfd) const;

private:
    EventfdSignaller();
    ~EventfdSignaller();

    long aio_ = -1;  // aio_context_t; -1: none
    int zero_ = -1;  // /dev/zero
    mutable std::atomic<unsigned> unreaped_{0};  // completions not yet reaped
};

}  // namespace ciommu
