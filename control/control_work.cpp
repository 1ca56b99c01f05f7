#include "control_work.h"

#include <system_error>
#include <thread>

namespace ciommu {

bool ControlWork::start(std::function<void()> job) {
    {
        std::lock_guard guard(mutex_);
        ++running_;
    }
    try {
        std::thread([this, job = std::move(job)]() mutable {
            job();
            // What the job holds (a session and its socket) goes before the
            // server may consider it done and destroy the io_context.
            job = nullptr;
            std::lock_guard guard(mutex_);
            if (--running_ == 0)
                idle_.notify_all();
        }).detach();
        return true;
    } catch (const std::system_error&) {  // no thread to be had
        std::lock_guard guard(mutex_);
        --running_;
        return false;
    }
}

void ControlWork::wait_idle() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return running_ == 0; });
}

}  // namespace ciommu
