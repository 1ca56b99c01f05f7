// --trace FILE (docs/trace.md).  Call lines come from the dispatcher's call
// listener, open/release lines from its context listener (libfuse workers,
// concurrently, no model lock); fault lines from
// the model's event listener (model lock held).  Both format their line
// without any lock of ours, then take the trace mutex only to number, time
// stamp and write it, so the seq order is the file order.
//
// Lock order: model lock -> trace mutex.  Nothing here calls into the model
// or takes the model lock while the trace mutex is held; open() and the
// destructor take the model lock alone, briefly, to (un)install the event
// listener (the model reads it under that lock).
#include "trace_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <sys/syscall.h>
#include <unistd.h>
#include <unordered_map>

#include "../dispatcher/dispatcher.h"
#include "../core/model.h"
#include "../toolkit/proc_status.h"
#include "cuse-iommu.h"
#include "trace_decoders.h"

namespace ciommu {
namespace {

using trace::Json;

// "2024-05-01T12:34:56.123456Z"
std::string utc_now() {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    tm parts{};
    gmtime_r(&now.tv_sec, &parts);
    char text[40];
    const size_t n = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &parts);
    std::snprintf(text + n, sizeof(text) - n, ".%06ldZ", now.tv_nsec / 1000);
    return text;
}

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

const char* event_name(FaultEvent::Kind kind) {
    return kind == FaultEvent::Kind::kRecord ? "record" : "lost";
}

}  // namespace

struct TraceWriter::Impl {
    Dispatcher& dispatcher;
    Model& model;
    const Abi abi = dispatcher.abi();  // whose table decodes the calls
    FILE* file = nullptr;

    std::mutex mutex;   // the file and seq; taken after the model lock, never before
    uint64_t seq = 0;   // the last line's

    std::mutex pid_mutex;  // pid_cache; never held with another lock
    std::unordered_map<pid_t, pid_t> pid_cache;

    Impl(Dispatcher& d, Model& m, FILE* f) : dispatcher(d), model(m), file(f) {}

    // The process of a thread: /proc/<tid>/status once per tid, then a
    // tgkill(pid, tid, 0) proves the cached answer still holds (a tid is
    // reused only after its thread is gone).  -1 if /proc knows no such
    // thread (it is gone already).
    pid_t pid_of(pid_t tid) {
        {
            std::lock_guard guard(pid_mutex);
            auto it = pid_cache.find(tid);
            if (it != pid_cache.end()) {
                if (syscall(SYS_tgkill, it->second, tid, 0) == 0 || errno == EPERM)
                    return it->second;
                pid_cache.erase(it);
            }
        }
        const pid_t pid = ciommu::read_tgid(tid);
        if (pid > 0) {
            std::lock_guard guard(pid_mutex);
            if (pid_cache.size() >= 4096)  // bounded: forget everything, relearn
                pid_cache.clear();
            pid_cache[tid] = pid;
        }
        return pid;
    }

    // body: a JSON object without type/seq/time; they are put first.
    void write_line(const char* type, const std::string& body) {
        std::lock_guard guard(mutex);
        std::string line = "{\"type\":\"";
        line += type;
        line += "\",\"seq\":";
        line += std::to_string(++seq);
        line += ",\"time\":\"";
        line += utc_now();
        line += '"';
        if (body.size() > 2) {  // "{...}" with at least one member
            line += ',';
            line.append(body, 1, std::string::npos);
        } else {
            line += '}';
        }
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), file);
        std::fflush(file);
    }

    void on_call(const Dispatcher::CallRecord& call) {
        Json j;
        const pid_t pid = pid_of(call.tid);
        j["pid"] = pid > 0 ? Json(pid) : Json(nullptr);
        j["tid"] = call.tid;
        j["context"] = call.context_id;
        j["command"] = trace::command_name(call.cmd, abi);
        j["args"] = trace::decode_args(call.cmd, call.arg, call.args_in, abi);
        if (!call.args_out.empty())
            j["out"] = trace::decode_out(call.cmd, call.args_out, abi);
        if (call.result >= 0) {
            j["result"] = call.result;
        } else {
            j["errno"] = trace::errno_name(static_cast<int>(-call.result));
            j["errno_value"] = -call.result;
        }
        j["latency_us"] = static_cast<double>(call.latency.count()) / 1000.0;
        write_line("call", dump(j));
    }

    void on_context(const Dispatcher::ContextRecord& record) {
        Json j;
        j["context"] = record.context_id;
        j["pid"] = record.pid;
        if (record.kind == Dispatcher::ContextRecord::Kind::kOpen) {
            write_line("open", dump(j));
            return;
        }
        j["reclaimed"] = {{"devices", record.devices}, {"ioasids", record.ioasids}, {"mappings", record.mappings}};
        write_line("release", dump(j));
    }

    // Model lock held: format and write, nothing else.
    void on_event(const FaultEvent& event) {
        Json j;
        j["context"] = event.context_id;
        if (event.kind == FaultEvent::Kind::kAnswered) {
            j["cookie"] = event.cookie;
            j["grpid"] = event.grpid;
            j["code"] = trace::page_response_code_name(event.code);
            j["origin"] = event.origin ? event.origin : "unknown";
            write_line("page-response", dump(j));
        } else {
            j["event"] = event_name(event.kind);
            j["record"] = trace::decode_fault_record(event.record);
            write_line("fault", dump(j));
        }
    }
};

TraceWriter::TraceWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
    Impl* impl_ptr = impl_.get();
    impl_->dispatcher.set_call_listener([impl_ptr](const Dispatcher::CallRecord& call) { impl_ptr->on_call(call); });
    impl_->dispatcher.set_context_listener(
        [impl_ptr](const Dispatcher::ContextRecord& record) { impl_ptr->on_context(record); });
    std::lock_guard guard(impl_->model.lock());
    impl_->model.set_event_listener([impl_ptr](const FaultEvent& event) { impl_ptr->on_event(event); });
}

TraceWriter::~TraceWriter() {
    {
        std::lock_guard guard(impl_->model.lock());
        impl_->model.set_event_listener({});
    }
    impl_->dispatcher.set_call_listener({});
    impl_->dispatcher.set_context_listener({});
    std::lock_guard guard(impl_->mutex);
    std::fclose(impl_->file);
}

std::unique_ptr<TraceWriter> TraceWriter::open(const std::string& path, Dispatcher& dispatcher, Model& model,
                                               std::string* error) {
    FILE* file = std::fopen(path.c_str(), "we");  // truncate; O_CLOEXEC
    if (!file) {
        if (error)
            *error = std::strerror(errno);
        return nullptr;
    }
    return std::unique_ptr<TraceWriter>(new TraceWriter(std::make_unique<Impl>(dispatcher, model, file)));
}

}  // namespace ciommu
