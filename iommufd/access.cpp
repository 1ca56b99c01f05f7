#include "access.h"

#include <algorithm>

#include "../core/caller.h"
#include "iommufd_ctx.h"
#include "ioas.h"

namespace ciommu {

long add_access(IommufdCtx& ictx, std::unique_ptr<Access> access) {
    const long id = ictx.objects.add(std::move(access));
    if (id < 0)
        return id;
    try {
        ictx.accesses.insert(static_cast<uint32_t>(id));
    } catch (...) {
        ictx.objects.destroy(static_cast<uint32_t>(id));
        throw;
    }
    return id;
}

Access* find_access(IommufdCtx& ictx, int fd) {
    auto it = ictx.access_by_fd.find(fd);
    return it == ictx.access_by_fd.end() ? nullptr : ictx.objects.get<Access>(it->second);
}

bool unpin_access_range(IommufdCtx& ictx, Access& access, uint32_t id) {
    if (!access.pins.take(id))
        return false;
    ictx.records.give(1);
    return true;
}

namespace {

void drop_pins(IommufdCtx& ictx, Access& access, uint64_t first, uint64_t last) noexcept {
    ictx.records.give(access.pins.drop_meeting(first, last, [](const PinnedRange&) {}));
}

bool permits(const IoptArea& area, bool write) { return area.prot & (write ? kProtWrite : kProtRead); }

// Client memory moves in slices of this, never the whole request at once.
constexpr size_t kCopySlice = 64 * 1024;

}  // namespace

void notify_accesses_unmap(IommufdCtx& ictx, uint32_t ioas_id, uint64_t first, uint64_t last) noexcept {
    for (const uint32_t id : ictx.accesses) {
        if (Access* access = ictx.objects.get<Access>(id); access && access->ioas_id == ioas_id)
            drop_pins(ictx, *access, first, last);
    }
}

void change_access_ioas(IommufdCtx& ictx, Access& access, uint32_t new_ioas_id) noexcept {
    if (access.ioas_id == new_ioas_id)
        return;
    drop_pins(ictx, access, 0, UINT64_MAX);
    if (Ioas* old_ioas = ictx.objects.get<Ioas>(access.ioas_id))
        --old_ioas->users;
    if (Ioas* new_ioas = ictx.objects.get<Ioas>(new_ioas_id))
        ++new_ioas->users;
    access.ioas_id = new_ioas_id;
}

long check_access_pin(const IoPagetable& iopt, uint64_t iova, uint64_t last, bool write, const Process* caller,
                      uint64_t uptr) {
    uint64_t user_page = (uptr - (iova % kPageSize)) & ~(kPageSize - 1);
    return for_each_contig_area(iopt, iova, last, [&](const IoptArea& area, uint64_t area_iova, uint64_t from,
                                                      uint64_t to) -> long {
        const uint64_t start_byte = area.uptr() + (from - area_iova);
        const uint64_t end_byte = area.uptr() + (to - area_iova);
        if (start_byte % kPageSize || (to != last && end_byte % kPageSize != kPageSize - 1))
            return -EINVAL;  // iopt_area_contig_is_aligned
        if (!permits(area, write))
            return -EPERM;
        if (!uptr)
            return 0;
        for (uint64_t va = start_byte & ~(kPageSize - 1); va <= (end_byte & ~(kPageSize - 1));
             va += kPageSize, user_page += kPageSize) {
            if (!caller || area.pages->owner->serial() != caller->serial() || va != user_page)
                return -EBADE;
        }
        return 0;
    });
}

long plan_access_rw(const IoPagetable& iopt, uint64_t iova, uint64_t last, bool write, std::vector<RwPiece>& pieces) {
    return for_each_contig_area(iopt, iova, last, [&](const IoptArea& area, uint64_t area_iova, uint64_t from,
                                                      uint64_t to) -> long {
        if (!permits(area, write))
            return -EPERM;
        pieces.push_back({area.pages->owner, area.uptr() + (from - area_iova), to - from + 1});
        return 0;
    });
}

long move_access_bytes(const std::vector<RwPiece>& pieces, uint64_t offset, std::span<std::byte> bytes, bool write) {
    uint64_t piece_start = 0;
    size_t done = 0;
    for (const RwPiece& piece : pieces) {
        const uint64_t piece_end = piece_start + piece.length;
        while (done < bytes.size() && offset + done >= piece_start && offset + done < piece_end) {
            const uint64_t within = offset + done - piece_start;
            const size_t n = static_cast<size_t>(std::min<uint64_t>(bytes.size() - done, piece.length - within));
            const long err = write ? piece.owner->write(piece.va + within, bytes.data() + done, n)
                                   : piece.owner->read(piece.va + within, bytes.data() + done, n);
            if (err)
                return -EFAULT;
            done += n;
        }
        piece_start = piece_end;
    }
    return 0;
}

long copy_through_access(const Caller& caller, const std::vector<RwPiece>& pieces, uint64_t bytes, uint64_t ubuf,
                         bool write) {
    if (bytes == 0)
        return 0;
    std::vector<std::byte> slice(std::min<uint64_t>(bytes, kCopySlice));
    for (uint64_t offset = 0; offset < bytes; offset += slice.size()) {
        const std::span part(slice.data(), static_cast<size_t>(std::min<uint64_t>(slice.size(), bytes - offset)));
        if (write && caller.read_memory(ubuf + offset, part.data(), part.size()))
            return -EFAULT;
        if (long err = move_access_bytes(pieces, offset, part, write))
            return err;
        if (!write && caller.write_memory(ubuf + offset, part.data(), part.size()))
            return -EFAULT;
    }
    return 0;
}

}  // namespace ciommu
