// The threads that answer control requests.  The Asio thread never runs a
// request itself: a dma reaches client memory, which may be slow to answer
// (docs/design.md, rule 2), and the Asio thread also runs the signals and
// the page-request timeout for everyone.  Each batch of a session's
// requests gets a thread of its own, so a request stuck in a client's
// memory stalls only its own connection.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>

namespace ciommu {

class ControlWork {
public:
    // Runs job on a new thread.  false if no thread could be started.
    bool start(std::function<void()> job);
    // Returns once no job runs (the server calls it before the model goes).
    void wait_idle();

private:
    std::mutex mutex_;
    std::condition_variable idle_;
    int running_ = 0;
};

}  // namespace ciommu
