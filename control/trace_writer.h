// --trace FILE: one JSON line per uAPI call (time, process, context,
// command, decoded arguments, result or errno, latency) and per fault event
// (record delivered or lost, page request answered).  docs/trace.md.
#pragma once

#include <memory>
#include <string>

namespace ciommu {

class Dispatcher;
class Model;

class TraceWriter {
public:
    // Opens (truncates) path and starts listening to the dispatcher's calls
    // and the model's fault events.  nullptr with *error set on failure.
    static std::unique_ptr<TraceWriter> open(const std::string& path, Dispatcher& dispatcher, Model& model,
                                             std::string* error);
    ~TraceWriter();  // stops listening, flushes, closes
    TraceWriter(const TraceWriter&) = delete;
    TraceWriter& operator=(const TraceWriter&) = delete;

private:
    struct Impl;
    explicit TraceWriter(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace ciommu
