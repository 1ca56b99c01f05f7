#include "json_line.h"

#include <utility>
#include <vector>

namespace ciommu {
namespace {

using nlohmann::json;

// nlohmann's SAX interface, building the document in place: each value
// goes into the container on top of the stack (or the member a key made).
class TreeBuilder {
public:
    TreeBuilder(json& root, int max_depth) : root_(root), max_depth_(max_depth) {}

    bool null() { return add(nullptr); }
    bool boolean(bool value) { return add(value); }
    bool number_integer(json::number_integer_t value) { return add(value); }
    bool number_unsigned(json::number_unsigned_t value) { return add(value); }
    bool number_float(json::number_float_t value, const json::string_t&) { return add(value); }
    bool string(json::string_t& value) { return add(std::move(value)); }
    bool binary(json::binary_t& value) { return add(json::binary(std::move(value))); }
    bool start_object(std::size_t) { return open(json::object()); }
    bool key(json::string_t& key) {
        member_ = &(*open_.back())[std::move(key)];
        return true;
    }
    bool end_object() { return close(); }
    bool start_array(std::size_t) { return open(json::array()); }
    bool end_array() { return close(); }
    bool parse_error(std::size_t, const std::string&, const json::exception& e) {
        // "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
        const std::string what = e.what();
        const size_t close = what.find("] ");
        error_ = close == what.npos ? what : what.substr(close + 2);
        return false;
    }

    std::string error() const { return error_; }

private:
    // Stores the next value where it goes; returns where that is.
    json* place(json&& value) {
        json* slot;
        if (open_.empty()) {
            slot = &root_;
        } else if (open_.back()->is_array()) {
            open_.back()->push_back(json());  // null first: the value moves in without a copy
            slot = &open_.back()->back();
        } else {
            slot = member_;
        }
        *slot = std::move(value);
        return slot;
    }
    bool add(json value) {
        place(std::move(value));
        return true;
    }
    bool open(json&& container) {
        if (static_cast<int>(open_.size()) >= max_depth_) {
            error_ = "nested deeper than " + std::to_string(max_depth_) + " levels";
            return false;
        }
        open_.reserve(open_.size() + 1);  // before the container is placed: push_back cannot fail then
        open_.push_back(place(std::move(container)));
        return true;
    }
    bool close() {
        open_.pop_back();
        return true;
    }

    json& root_;
    int max_depth_;
    std::vector<json*> open_;  // containers not closed yet, outermost first
    json* member_ = nullptr;   // the member the last key made
    std::string error_;
};

}  // namespace

std::string parse_json_line(std::string_view text, json& out, int max_depth) {
    TreeBuilder builder(out, max_depth);
    if (json::sax_parse(text.begin(), text.end(), &builder))
        return "";
    const std::string error = builder.error();
    return error.empty() ? "not a JSON document" : error;
}

}  // namespace ciommu
