// The topology reader's first step: the document's text as JSON.  Comments
// are allowed; a syntax error, a number too large for a double or a
// duplicate key is reported at its JSON pointer.
#include "topology_reader.h"

#include <functional>
#include <set>

namespace ciommu::topology_reader {
namespace {

// nlohmann::json keeps the last of duplicate keys silently; a topology file
// with two "iommu" keys in one device is a mistake, so the parse callback
// follows the document's structure to report the first duplicate by path.
class DuplicateKeys {
public:
    bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
        switch (event) {
        case json::parse_event_t::object_start:
        case json::parse_event_t::array_start:
            stack_.push_back({event == json::parse_event_t::array_start, 0, "", {}});
            break;
        case json::parse_event_t::object_end:
        case json::parse_event_t::array_end:
            stack_.pop_back();
            element_done();
            break;
        case json::parse_event_t::key:
            on_key(parsed.get<std::string>());
            break;
        case json::parse_event_t::value:
            element_done();
            break;
        }
        return true;
    }
    const std::optional<std::string>& first() const { return first_; }
    // The path of the value being read now (where a parse error is).
    std::string current_path() const {
        std::string path;
        for (const Frame& f : stack_)
            path = f.array ? json_pointer_child(path, f.index) : json_pointer_child(path, f.key);
        return path;
    }

private:
    struct Frame {
        bool array;
        size_t index;          // array: the element being read
        std::string key;       // object: the key being read
        std::set<std::string> keys;
    };
    void element_done() {
        if (!stack_.empty() && stack_.back().array)
            ++stack_.back().index;
    }
    void on_key(std::string key) {
        Frame& top = stack_.back();
        top.key = std::move(key);
        if (!top.keys.insert(top.key).second && !first_)
            first_ = current_path();
    }
    std::vector<Frame> stack_;
    std::optional<std::string> first_;
};

}  // namespace

bool parse_json(std::string_view text, json& doc, Errors& errs) {
    DuplicateKeys dups;
    try {
        doc = json::parse(text.begin(), text.end(), std::ref(dups), /*allow_exceptions=*/true,
                          /*ignore_comments=*/true);
    } catch (const json::parse_error& e) {
        // "[json.exception.parse_error.101] parse error at line 3, ..." -> "parse error at line 3, ..."
        std::string what = e.what();
        const size_t close = what.find("] ");
        return errs.fail("", close == what.npos ? what : what.substr(close + 2));
    } catch (const json::out_of_range&) {
        // The one out_of_range the parser throws: a number too large for a
        // double ("1e999"), at the value being read.
        return errs.fail(dups.current_path(), "number out of range");
    }
    if (dups.first())
        return errs.fail(*dups.first(), "duplicate key");
    return true;
}

}  // namespace ciommu::topology_reader
