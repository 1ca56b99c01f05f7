// The CUSE front end: a libfuse CUSE session whose callbacks turn CUSE
// requests into Dispatcher calls.  Transport only: no model logic here.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <string>

struct fuse_session;

namespace ciommu {

class CallGate;
class Dispatcher;
class FaultReaders;

struct CuseDeviceOptions {
    std::string name = "iommu";  // DEVNAME: creates /dev/<name>
    bool debug = false;          // libfuse's request trace on stderr
    // Called once the /dev node exists (CUSE init_done).
    void (*on_ready)(const std::string& name) = nullptr;
};

class CuseDevice {
public:
    CuseDevice(Dispatcher& dispatcher, CuseDeviceOptions options);
    ~CuseDevice();
    CuseDevice(const CuseDevice&) = delete;
    CuseDevice& operator=(const CuseDevice&) = delete;

    // The session, built without touching /dev/cuse; nullptr on failure.
    fuse_session* session() const { return session_; }
    // Serves the kernel (or a test's fake kernel) over fd with plain
    // read()/writev().  Takes ownership of fd.  Returns 0 or -errno.
    int attach(int fd);
    // Runs libfuse's multithreaded loop until exit() or the peer goes away.
    int run();
    // Stops the loop and returns once run() has (call it from a thread that
    // is neither run()'s nor a libfuse worker: the signal-handling thread).
    void exit();

    // libfuse starts a worker whenever all are busy, up to this many; a
    // caller process can hold at most CallGate::kCallsPerProcess of them.
    static constexpr int kMaxWorkers = 1024;

    Dispatcher& dispatcher() { return dispatcher_; }
    FaultReaders& fault_readers() { return *fault_readers_; }
    CallGate& calls() { return *calls_; }
    const CuseDeviceOptions& options() const { return options_; }

private:
    Dispatcher& dispatcher_;
    std::unique_ptr<FaultReaders> fault_readers_;
    std::unique_ptr<CallGate> calls_;
    CuseDeviceOptions options_;
    fuse_session* session_ = nullptr;
    std::mutex loop_mutex_;
    std::condition_variable loop_done_;
    pthread_t loop_thread_ = 0;  // run()'s thread while it runs, to wake it on exit()
};

}  // namespace ciommu
