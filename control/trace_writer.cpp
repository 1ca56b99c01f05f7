// SCAFFOLD: replaced by the trace implementation (docs/trace.md).
#include "trace_writer.h"

namespace ciommu {

struct TraceWriter::Impl {};

TraceWriter::TraceWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TraceWriter::~TraceWriter() = default;

std::unique_ptr<TraceWriter> TraceWriter::open(const std::string&, Dispatcher&, Model&, std::string* error) {
    *error = "tracing is not implemented yet";
    return nullptr;
}

}  // namespace ciommu
