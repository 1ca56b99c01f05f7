// Building and dropping JSON documents in the daemon without ever needing
// memory to destroy one.
//
// nlohmann-json 3.11.2 destroys an array or object by first moving its
// children to a std::vector it allocates (to avoid deep recursion): under
// allocation failure that throws out of a noexcept destructor and the
// daemon terminates.  Its initializer-list constructor for objects builds
// each member as a temporary [key, value] array (destroyed the same way)
// and leaks the object it was filling when an insertion fails.  So the
// daemon's JSON code keeps three rules, which the allocation-failure sweep
// (tests/sweep) checks:
//   1. objects are built with json_object() (members moved in one by one),
//      never from an initializer list;
//   2. a document with children is emptied leaf-first -- release_json() --
//      before it is destroyed: a JsonScope does it for a builder's locals,
//      on the normal path and while an exception unwinds;
//   3. containers are moved, not copied, into their parents (a moved-from
//      value is null and destroys for free), with push_json() and
//      set_json(), which release the value if the parent has no room.
// Recursion in release_json() is bounded by the document's depth, which
// the control path keeps small (requests are refused past
// kMaxRequestDepth; responses are built a few levels deep).
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

namespace ciommu {

template <typename Json> void release_json(Json& value) noexcept {
    if (value.is_array()) {
        auto& children = value.template get_ref<typename Json::array_t&>();
        for (Json& child : children)
            release_json(child);
        children.clear();  // each child empty or a scalar: destroying it reserves nothing
    } else if (value.is_object()) {
        auto& members = value.template get_ref<typename Json::object_t&>();
        for (auto& member : members)
            release_json(member.second);
        members.clear();
    }
}

// Releases the documents it names when it goes out of scope (the ones
// moved into a result meanwhile are null by then: nothing to do).
template <size_t N> class JsonScope {
public:
    template <typename... Docs> explicit JsonScope(Docs&... docs) : docs_{&docs...} {}
    JsonScope(const JsonScope&) = delete;
    JsonScope& operator=(const JsonScope&) = delete;
    ~JsonScope() {
        for (nlohmann::json* doc : docs_)
            release_json(*doc);
    }

private:
    std::array<nlohmann::json*, N> docs_;
};
template <typename... Docs> JsonScope(Docs&...) -> JsonScope<sizeof...(Docs)>;

namespace detail {

template <typename Value> constexpr bool kIsJson = std::is_same_v<std::remove_cvref_t<Value>, nlohmann::json>;

// An argument passed as an rvalue document (Declared: its forwarding
// type, not a reference): released when the call fails, so the caller's
// temporary is destroyed empty.  An lvalue is the caller's own to keep.
template <typename Declared, typename Arg> void release_if_json(Arg& value) noexcept {
    if constexpr (kIsJson<Declared> && !std::is_reference_v<Declared>)
        release_json(value);
}

inline void add_members(nlohmann::json&) {}
template <typename Value, typename... Rest>
void add_members(nlohmann::json& out, const char* key, Value&& value, Rest&&... rest) {
    // The member first: `out[key] = value` would move value into the
    // assignment's parameter before out[key] can fail.
    nlohmann::json& member = out[key];
    member = std::forward<Value>(value);
    add_members(out, std::forward<Rest>(rest)...);
}

}  // namespace detail

// json_object("key", value, "key2", value2, ...): an object, each value
// moved in if it is an rvalue (pass containers with std::move).
template <typename... Members> nlohmann::json json_object(Members&&... members) {
    nlohmann::json out;
    JsonScope scope(out);  // a member that cannot be added: what was built goes
    try {
        out = nlohmann::json::object();
        detail::add_members(out, std::forward<Members>(members)...);
    } catch (...) {
        (detail::release_if_json<Members>(members), ...);
        throw;
    }
    return std::exchange(out, nullptr);
}

// list.push_back(std::move(item)), releasing item if there is no room.
inline void push_json(nlohmann::json& list, nlohmann::json&& item) {
    try {
        list.push_back(std::move(item));
    } catch (...) {
        release_json(item);
        throw;
    }
}

// out[key] = std::move(value), releasing value if there is no room.
inline void set_json(nlohmann::json& out, const char* key, nlohmann::json&& value) {
    nlohmann::json* member;
    try {
        member = &out[key];
    } catch (...) {
        release_json(value);
        throw;
    }
    *member = std::move(value);  // a move and a swap: cannot fail
}

}  // namespace ciommu
