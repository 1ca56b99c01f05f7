#include "shared_mappings.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

#include "process.h"

namespace ciommu {
namespace {

bool meets(uint64_t start, uint64_t end, uint64_t addr, uint64_t len) {
    return len && start < addr + len && addr < end;
}

}  // namespace

SharedMappings::Fd::~Fd() { close(fd); }

bool SharedMappings::is_open(uint64_t start, uint64_t end) const {
    return std::any_of(mappings_.begin(), mappings_.end(),
                       [&](const Mapping& m) { return m.start == start && m.end == end; });
}

// /proc/<pid>/maps: "start-end perms offset dev inode path"; a shared
// mapping's perms end in 's'.
std::vector<SharedMappings::Mapping> SharedMappings::open_mappings(pid_t pid, uint64_t addr, uint64_t len) const {
    std::vector<Mapping> found;
    if (len == 0 || addr > UINT64_MAX - len)
        return found;
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/%d/maps", static_cast<int>(pid));
    FILE* maps = std::fopen(path, "re");
    if (!maps)
        return found;
    char line[512];
    while (std::fgets(line, sizeof(line), maps)) {
        uint64_t start = 0, end = 0, offset = 0;
        char perms[8] = {};
        if (std::sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64, &start, &end, perms, &offset) != 4 ||
            perms[3] != 's' || !meets(start, end, addr, len))
            continue;
        {
            std::lock_guard guard(mutex_);
            if (is_open(start, end) || mappings_.size() + found.size() >= kMaxMappings)
                continue;
        }
        std::snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, static_cast<int>(pid), start,
                      end);
        const int fd = open(path, (perms[1] == 'w' ? O_RDWR : O_RDONLY) | O_CLOEXEC);
        if (fd < 0)
            continue;  // not root, or gone meanwhile: the memory stays the process's only
        try {
            found.push_back({start, end, offset, std::make_shared<const Fd>(fd)});
        } catch (const std::bad_alloc&) {
            close(fd);
            break;
        }
    }
    std::fclose(maps);
    return found;
}

void SharedMappings::keep(std::vector<Mapping>& found) {
    std::lock_guard guard(mutex_);
    for (Mapping& m : found) {
        if (is_open(m.start, m.end) || mappings_.size() >= kMaxMappings)
            continue;
        try {
            mappings_.push_back(std::move(m));
        } catch (const std::bad_alloc&) {
            break;
        }
    }
}

void SharedMappings::hold(uint64_t addr, uint64_t len) {
    std::lock_guard guard(mutex_);
    for (Mapping& m : mappings_) {
        if (meets(m.start, m.end, addr, len))
            ++m.pins;
    }
}

// A mapping no pin holds is closed, whether its pins just ended or it was
// opened for a pin that never came.
void SharedMappings::release(uint64_t addr, uint64_t len) {
    std::lock_guard guard(mutex_);
    for (Mapping& m : mappings_) {
        if (meets(m.start, m.end, addr, len) && m.pins)
            --m.pins;
    }
    std::erase_if(mappings_, [&](const Mapping& m) { return m.pins == 0 && meets(m.start, m.end, addr, len); });
}

void SharedMappings::drop_unheld(uint64_t addr, uint64_t len) {
    std::lock_guard guard(mutex_);
    std::erase_if(mappings_, [&](const Mapping& m) { return m.pins == 0 && meets(m.start, m.end, addr, len); });
}

size_t SharedMappings::size() const {
    std::lock_guard guard(mutex_);
    return mappings_.size();
}

// The mutex is not held across the I/O (a file's read may be slow).
template <typename Op> long SharedMappings::move(uint64_t addr, size_t len, Op op) const {
    const ClientMemoryScope waiting;
    size_t done = 0;
    while (done < len) {
        const uint64_t at = addr + done;
        Mapping m{};
        {
            std::lock_guard guard(mutex_);
            for (const Mapping& candidate : mappings_) {
                if (at >= candidate.start && at < candidate.end)
                    m = candidate;
            }
        }
        if (!m.file)
            return -EFAULT;
        const size_t n = static_cast<size_t>(std::min<uint64_t>(len - done, m.end - at));
        const ssize_t moved = op(m.file->fd, done, n, static_cast<off_t>(m.offset + (at - m.start)));
        if (moved <= 0) {
            if (moved < 0 && errno == EINTR)
                continue;
            return -EFAULT;
        }
        done += static_cast<size_t>(moved);
    }
    return 0;
}

long SharedMappings::read(uint64_t addr, void* buf, size_t len) const {
    return move(addr, len, [buf](int fd, size_t done, size_t n, off_t at) {
        return pread(fd, static_cast<char*>(buf) + done, n, at);
    });
}

long SharedMappings::write(uint64_t addr, const void* buf, size_t len) const {
    return move(addr, len, [buf](int fd, size_t done, size_t n, off_t at) {
        return pwrite(fd, static_cast<const char*>(buf) + done, n, at);
    });
}

}  // namespace ciommu
