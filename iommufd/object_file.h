// The open files of the object node (/dev/<name>-object): what upstream
// answers as a new file descriptor -- a fault queue's fd, the selftest's
// access fd -- is, here, a file the caller opened on that second node and
// had bound to the object (uapi: CUSE_IOMMUFD_OBJECT_FD_CALL).  A CUSE
// daemon cannot put a file into another process's table, so the caller's
// side opens it (docs/iommufd.md, "File descriptors").
//
// Daemon-wide, under the model lock.  A file names its object by context
// id (never reused) and object id: once the context is gone the file is an
// orphan and reads nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <sys/types.h>

#include "object_table.h"

namespace ciommu {

struct ObjectFile {
    pid_t opener = 0;     // the process that opened it (tgid): only it may bind it
    uint64_t token = 0;   // its secret (CUSE_IOMMUFD_OBJECT_TOKEN)
    // Bound: the object's context and id.
    uint64_t context_id = 0;
    uint32_t object_id = 0;
    ObjectKind kind = ObjectKind::kFault;

    bool bound() const { return context_id != 0; }
};

class ObjectFiles {
public:
    // Open files per process (as RLIMIT_NOFILE bounds a process's fds:
    // one client cannot take them all) and over all clients, so that the
    // daemon never grows without bound: EMFILE / ENFILE past them.
    static constexpr size_t kMaxFilesPerProcess = 4096;
    static constexpr size_t kMaxFiles = 1u << 20;

    // A new unbound file: its id (from 1, never reused), or -EMFILE,
    // -ENFILE, or -EEXIST when the token is 0 or in use.  Throws
    // std::bad_alloc (nothing changed).
    long open(pid_t opener, uint64_t token);
    void close(uint64_t id) noexcept;
    ObjectFile* find(uint64_t id) {
        auto it = files_.find(id);
        return it == files_.end() ? nullptr : &it->second;
    }
    // The id of the unbound file of that token opened by process tgid,
    // else 0 (a token is worth nothing to another process).
    uint64_t unbound_of(uint64_t token, pid_t tgid) const;
    // Binds an unbound file to an object (the objects keep its id).
    void bind(uint64_t id, uint64_t context_id, uint32_t object_id, ObjectKind kind) noexcept;
    // An object made for the file is destroyed again (the caller never
    // learned of it): the file is left unbound and inert, never to be
    // bound again -- the helper closes it.
    void unbind(uint64_t id) noexcept;
    size_t size() const { return files_.size(); }
    // Calls fn(id, const ObjectFile&) for each open file.
    template <typename Fn> void for_each(Fn&& fn) const {
        for (const auto& [id, file] : files_)
            fn(id, file);
    }

private:
    std::map<uint64_t, ObjectFile> files_;  // by id
    std::map<uint64_t, uint64_t> unbound_;  // token -> id, of the unbound files
    std::map<pid_t, size_t> per_process_;   // open files by opener
    uint64_t next_id_ = 1;
};

}  // namespace ciommu
