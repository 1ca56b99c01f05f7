// The CUSE front end: a libfuse CUSE session whose callbacks turn CUSE
// requests into Dispatcher calls.  Transport only: no model logic here.
#pragma once

#include <memory>
#include <string>

#include "cuse_session.h"

namespace ciommu {

class CallGate;
class Dispatcher;
class FaultReaders;

struct CuseDeviceOptions {
    std::string name = "iommu";  // DEVNAME: creates /dev/<name>
    bool debug = false;          // libfuse's request trace on stderr
    // A FUSE session serving the device as the file <dir>/<name> once
    // mounted (CuseSession::mount) instead of the node /dev/<name>.
    bool mounted = false;
    // Called once the /dev node (or mounted file) exists (CUSE init_done,
    // FUSE init).
    void (*on_ready)(const std::string& name) = nullptr;
};

class CuseDevice {
public:
    CuseDevice(Dispatcher& dispatcher, CuseDeviceOptions options);
    ~CuseDevice();
    CuseDevice(const CuseDevice&) = delete;
    CuseDevice& operator=(const CuseDevice&) = delete;

    // The session (CuseSession): nullptr if it could not be built.
    fuse_session* session() const { return session_->session(); }
    int attach(int fd) { return session_->attach(fd); }
    int run() { return session_->run(); }
    void exit() { session_->exit(); }
    CuseSession& session_object() { return *session_; }

    // A caller process can hold at most CallGate::kCallsPerProcess of the
    // session's workers.
    static constexpr int kMaxWorkers = CuseSession::kMaxWorkers;

    Dispatcher& dispatcher() { return dispatcher_; }
    FaultReaders& fault_readers() { return *fault_readers_; }
    CallGate& calls() { return *calls_; }
    const CuseDeviceOptions& options() const { return options_; }

private:
    Dispatcher& dispatcher_;
    std::unique_ptr<FaultReaders> fault_readers_;
    std::unique_ptr<CallGate> calls_;
    CuseDeviceOptions options_;
    std::unique_ptr<CuseSession> session_;
};

}  // namespace ciommu
