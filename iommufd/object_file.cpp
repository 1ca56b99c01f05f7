#include "object_file.h"

#include <cerrno>

namespace ciommu {

long ObjectFiles::open(pid_t opener, uint64_t token) {
    if (files_.size() >= kMaxFiles)
        return -ENFILE;
    auto count = per_process_.find(opener);
    if (count != per_process_.end() && count->second >= kMaxFilesPerProcess)
        return -EMFILE;
    if (token == 0 || unbound_.count(token))
        return -EEXIST;
    const uint64_t id = next_id_;
    size_t& opened = per_process_[opener];  // may throw: nothing changed yet
    auto [it, added] = files_.emplace(id, ObjectFile{opener, token});
    try {
        unbound_.emplace(token, id);
    } catch (...) {
        files_.erase(it);
        if (opened == 0)
            per_process_.erase(opener);
        throw;
    }
    ++opened;
    ++next_id_;
    return static_cast<long>(id);
}

void ObjectFiles::close(uint64_t id) noexcept {
    auto it = files_.find(id);
    if (it == files_.end())
        return;
    auto indexed = unbound_.find(it->second.token);
    if (indexed != unbound_.end() && indexed->second == id)
        unbound_.erase(indexed);
    if (auto count = per_process_.find(it->second.opener); count != per_process_.end() && --count->second == 0)
        per_process_.erase(count);
    files_.erase(it);
}

uint64_t ObjectFiles::unbound_of(uint64_t token, pid_t tgid) const {
    auto it = unbound_.find(token);
    if (it == unbound_.end() || files_.at(it->second).opener != tgid)
        return 0;
    return it->second;
}

void ObjectFiles::bind(uint64_t id, uint64_t context_id, uint32_t object_id, ObjectKind kind) noexcept {
    ObjectFile& file = files_.at(id);
    unbound_.erase(file.token);
    file.context_id = context_id;
    file.object_id = object_id;
    file.kind = kind;
}

void ObjectFiles::unbind(uint64_t id) noexcept {
    ObjectFile& file = files_.at(id);
    file.context_id = 0;
    file.object_id = 0;
}

}  // namespace ciommu
