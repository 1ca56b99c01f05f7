#include "io_pagetable.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <new>

#include "../ioasid/io_address_space.h"
#include "../ioasid/pin_ledger.h"
#include "io_domain.h"

namespace ciommu {

namespace {

uint64_t smallest_page(const IoDomain& domain) {
    const uint64_t bitmap = domain.pgsize_bitmap();
    return bitmap & -bitmap;
}

}  // namespace
namespace {

constexpr uint64_t kPage = kPageSize;
// iopt_alloc_iova aligns at most to a transparent huge page.
constexpr uint64_t kMaxAllocAlignment = uint64_t{2} << 20;

// The CPU pages an area's memory spans.
uint64_t first_page(const IoptArea& area) { return area.uptr() & ~(kPage - 1); }
uint64_t page_count(const IoptArea& area, uint64_t iova) {
    const uint64_t end = area.uptr() + (area.last - iova);  // inclusive
    return (end / kPage) - (first_page(area) / kPage) + 1;
}

// __alloc_iova_check_range: the first IOVA at or above start with the
// alignment and sub-page offset wanted, if length fits below last.
bool fit_range(uint64_t start, uint64_t last, uint64_t length, uint64_t alignment, uint64_t page_offset,
               uint64_t& found) {
    if (start > UINT64_MAX - (alignment - 1))
        return false;
    const uint64_t aligned = ((start + alignment - 1) & ~(alignment - 1)) | page_offset;
    if (aligned >= last || last - aligned < length - 1)
        return false;
    found = aligned;
    return true;
}

}  // namespace

// A pin holds the shared mappings under the area open (SharedMappings).
long AreaPinner::pin(const IoptArea& area, uint64_t iova) const {
    const uint64_t pages = page_count(area, iova);
    const long err = ledger_.pin(*area.pages->owner, first_page(area), pages);
    if (!err)
        area.pages->owner->hold_shared(first_page(area), pages * kPage);
    return err == -ENOBUFS ? -ENOMEM : err;
}

void AreaPinner::unpin(const IoptArea& area, uint64_t iova) const {
    const uint64_t pages = page_count(area, iova);
    ledger_.unpin(*area.pages->owner, first_page(area), pages);
    area.pages->owner->release_shared(first_page(area), pages * kPage);
}

long probe_spans(const std::vector<ProbeSpan>& spans) {
    char byte;
    for (const ProbeSpan& span : spans) {
        const uint64_t last = span.uptr + (span.length - 1);
        for (uint64_t page = span.uptr & ~(kPage - 1);; page += kPage) {
            if (span.owner->read(std::max(page, span.uptr), &byte, 1))
                return -EFAULT;
            if (page >= (last & ~(kPage - 1)))
                break;
        }
        // Pinned pages outlive their mapping: keep shared memory reachable.
        span.owner->retain_shared(span.uptr, span.length);
    }
    return 0;
}

// --- lookups ---

bool IoPagetable::area_meets(uint64_t start, uint64_t last) const {
    auto it = areas_.upper_bound(last);
    if (it == areas_.begin())
        return false;
    return std::prev(it)->second.last >= start;  // disjoint: only the nearest can reach
}

bool IoPagetable::reserved_meets(uint64_t start, uint64_t last) const {
    for (auto it = reserved_.begin(); it != reserved_.end() && it->first <= last; ++it) {
        if (it->second.last >= start)
            return true;
    }
    return false;
}

bool IoPagetable::allowed_meets(uint64_t start, uint64_t last) const {
    return std::any_of(allowed_.begin(), allowed_.end(),
                       [&](const IovaRange& r) { return r.start <= last && r.last >= start; });
}

const IoptArea* IoPagetable::area_at(uint64_t iova, uint64_t* area_iova) const {
    auto it = areas_.upper_bound(iova);
    if (it == areas_.begin() || std::prev(it)->second.last < iova)
        return nullptr;
    --it;
    if (area_iova)
        *area_iova = it->first;
    return &it->second;
}

// --- IOVA choice ---

// iopt_check_iova
long IoPagetable::check_iova(uint64_t iova, uint64_t length) const {
    if (iova & (iova_alignment_ - 1))
        return -EINVAL;
    if (iova > UINT64_MAX - (length - 1))
        return -EOVERFLOW;
    const uint64_t last = iova + (length - 1);
    if (reserved_meets(iova, last))
        return -EINVAL;
    if (area_meets(iova, last))
        return -EEXIST;
    return 0;
}

bool IoPagetable::find_hole(uint64_t start, uint64_t last, uint64_t length, uint64_t alignment,
                            uint64_t page_offset, uint64_t& found) const {
    // The used spans (reserved ranges and areas) meeting [start, last], in
    // order; then the holes between them.
    std::vector<IovaRange> used;
    for (auto it = reserved_.begin(); it != reserved_.end() && it->first <= last; ++it) {
        if (it->second.last >= start)
            used.push_back({it->first, it->second.last});
    }
    auto area = areas_.upper_bound(start);
    if (area != areas_.begin() && std::prev(area)->second.last >= start)
        --area;
    for (; area != areas_.end() && area->first <= last; ++area)
        used.push_back({area->first, area->second.last});
    std::sort(used.begin(), used.end());
    uint64_t hole = start;
    for (const IovaRange& u : used) {
        if (u.start > hole && fit_range(hole, u.start - 1, length, alignment, page_offset, found))
            return true;
        if (u.last >= last)
            return false;
        hole = std::max(hole, u.last + 1);
    }
    return fit_range(hole, last, length, alignment, page_offset, found);
}

// iopt_alloc_iova: keep the alignment the user address has (up to a huge
// page), so a huge page can back the mapping; never IOVA 0.
long IoPagetable::alloc_iova(uint64_t uptr, uint64_t length, uint64_t& iova) const {
    if (length == 0 || length >= UINT64_MAX / 2)
        return -EOVERFLOW;
    uint64_t alignment = std::bit_ceil(length);
    if (uptr)
        alignment = std::min(alignment, uint64_t{1} << std::countr_zero(uptr));
    alignment = std::min(alignment, kMaxAllocAlignment);
    if (alignment < iova_alignment_)
        return -EINVAL;
    const uint64_t page_offset = uptr % kPage;
    constexpr uint64_t kLow = kPage, kHigh = UINT64_MAX - kPage;
    std::vector<IovaRange> spans;
    if (allowed_.empty())
        spans.push_back({kLow, kHigh});
    for (const IovaRange& r : allowed_) {
        if (r.last >= kLow && r.start <= kHigh)
            spans.push_back({std::max(r.start, kLow), std::min(r.last, kHigh)});
    }
    for (const IovaRange& span : spans) {
        uint64_t unused;
        if (!fit_range(span.start, span.last, length, alignment, page_offset, unused))
            continue;
        if (find_hole(span.start, span.last, length, alignment, page_offset, iova))
            return 0;
    }
    return -ENOSPC;
}

// --- map and unmap ---

long IoPagetable::map(std::span<const MapPiece> pieces, uint64_t length, uint64_t& iova, uint32_t prot,
                      bool allocate, const AreaPinner& pinner) {
    if (length == 0 || (length & (iova_alignment_ - 1)))
        return -EINVAL;
    long err = allocate ? alloc_iova(pieces.front().pages->uptr + pieces.front().start_byte, length, iova)
                        : check_iova(iova, length);
    if (err)
        return err;
    // iopt_insert_area's checks, for every piece, before anything changes.
    for (const MapPiece& piece : pieces) {
        if ((prot & kProtWrite) && !piece.pages->writable)
            return -EPERM;
        if (((piece.pages->uptr + piece.start_byte) % kPage) & (iova_alignment_ - 1))
            return -EINVAL;
    }
    if (!budget_.take(pieces.size()))
        return -ENOSPC;
    uint64_t at = iova;
    size_t inserted = 0;
    try {
        for (const MapPiece& piece : pieces) {
            IoptArea& area = areas_[at];
            area = {at + (piece.length - 1), piece.pages, piece.start_byte, prot};
            ++inserted;
            if (!domains_.empty() && (err = fill(at, area, pinner)))
                break;
            at += piece.length;
        }
    } catch (const std::bad_alloc&) {
        err = -ENOMEM;
    }
    if (err) {  // undo the areas this call made
        for (auto it = areas_.lower_bound(iova); inserted; --inserted) {
            unfill(it->first, it->second, pinner);
            it = areas_.erase(it);
        }
        budget_.give(pieces.size());
        return err;
    }
    ++generation_;
    return 0;
}

long IoPagetable::pieces(uint64_t iova, uint64_t length, std::vector<MapPiece>& out) const {
    if (length == 0)
        return -EINVAL;
    if (iova > UINT64_MAX - (length - 1))
        return -EOVERFLOW;
    const uint64_t last = iova + (length - 1);
    uint64_t at = iova, area_iova;
    while (true) {
        const IoptArea* area = area_at(at, &area_iova);
        if (!area)
            return -ENOENT;
        const uint64_t piece_last = std::min(last, area->last);
        out.push_back({area->pages, area->start_byte + (at - area_iova), piece_last - at + 1});
        if (piece_last == last)
            return 0;
        at = piece_last + 1;
    }
}

long IoPagetable::unmap(uint64_t start, uint64_t last, const AreaPinner& pinner, uint64_t& unmapped) {
    auto first = areas_.upper_bound(start);
    if (first != areas_.begin() && std::prev(first)->second.last >= start)
        --first;
    auto end = first;
    for (; end != areas_.end() && end->first <= last; ++end) {
        if (end->first < start || end->second.last > last)
            return -ENOENT;  // would split an area: refuse before removing any
    }
    for (auto it = first; it != end;) {
        unmapped += it->second.last - it->first + 1;
        unfill(it->first, it->second, pinner);
        it = areas_.erase(it);
        budget_.give(1);
        ++generation_;
    }
    return 0;
}

// iopt_area_split.  The halves share the pages; a pinned area's halves
// are pinned each (one pin per page per area) before the whole lets go.
long IoPagetable::cut(uint64_t iova, const AreaPinner& pinner) {
    uint64_t start;
    const IoptArea* found = area_at(iova, &start);
    if (!found || iova == start || iova == found->last)
        return 0;
    const uint64_t new_start = iova + 1;
    if ((new_start & (iova_alignment_ - 1)) || ((found->uptr() + (new_start - start)) & (iova_alignment_ - 1)))
        return -EINVAL;
    if (!domains_.empty() && !disable_large_pages_)
        return -EINVAL;
    for (const IoDomain* domain : domains_) {
        if (!domain->cuttable())
            return -EINVAL;
    }
    if (!budget_.take(1))
        return -ENOSPC;
    IoptArea whole = *found;
    IoptArea left = whole, right = whole;
    left.last = iova;
    right.start_byte = whole.start_byte + (new_start - start);
    try {
        areas_.at(start) = left;
        areas_.emplace(new_start, right);
    } catch (const std::bad_alloc&) {
        areas_.at(start) = whole;
        budget_.give(1);
        return -ENOMEM;
    }
    ++generation_;
    if (!whole.pinned)
        return 0;
    // Only the ledger's memory can fail here: the pages are pinned already.
    long err = pinner.pin(left, start);
    if (!err && (err = pinner.pin(right, new_start)))
        pinner.unpin(left, start);
    if (err) {
        areas_.erase(new_start);
        areas_.at(start) = whole;
        budget_.give(1);
        return -ENOMEM;
    }
    pinner.unpin(whole, start);
    return 0;
}

// --- reserved and allowed ranges ---

long IoPagetable::reserve(uint64_t start, uint64_t last, const void* owner) {
    if (area_meets(start, last) || allowed_meets(start, last))
        return -EADDRINUSE;
    if (!owner && !budget_.take(1))
        return -ENOSPC;
    try {
        reserved_.insert({start, Reserved{last, owner}});
    } catch (const std::bad_alloc&) {
        if (!owner)
            budget_.give(1);
        return -ENOMEM;
    }
    return 0;
}

void IoPagetable::remove_reserved(const void* owner) {
    const size_t removed =
        std::erase_if(reserved_, [owner](const auto& entry) { return entry.second.owner == owner; });
    if (!owner)
        budget_.give(removed);
}

long IoPagetable::set_allowed(std::vector<IovaRange> allowed) {
    for (const IovaRange& r : allowed) {
        if (reserved_meets(r.start, r.last))
            return -EADDRINUSE;
    }
    budget_.give(allowed_.size());
    if (!budget_.take(allowed.size())) {
        budget_.take(allowed_.size());  // gave it back just now: cannot fail
        return -ENOSPC;
    }
    allowed_ = std::move(allowed);
    return 0;
}

// --- alignment ---

// iopt_check_iova_alignment: every area conforms to a larger alignment.
long IoPagetable::check_alignment(uint64_t alignment) const {
    const uint64_t mask = alignment - 1;
    for (const auto& [iova, area] : areas_) {
        if ((iova & mask) || ((area.last - iova + 1) & mask) || ((area.uptr() % kPage) & mask))
            return -EADDRINUSE;
    }
    return 0;
}

// iopt_calculate_iova_alignment
long IoPagetable::recalculate_alignment() {
    uint64_t alignment = disable_large_pages_ ? kPage : 1;
    for (const IoDomain* domain : domains_)
        alignment = std::max(alignment, smallest_page(*domain));
    if (alignment > iova_alignment_) {
        if (long err = check_alignment(alignment))
            return err;
    }
    iova_alignment_ = alignment;
    return 0;
}

// IOMMU_OPTION_HUGE_PAGES (iopt_enable/disable_large_pages): off makes
// every mapping CPU-page aligned, refused once domains hold mappings.
long IoPagetable::set_large_pages(bool on) {
    if (on) {
        disable_large_pages_ = false;
        return recalculate_alignment();  // only ever lowers it: cannot fail
    }
    if (disable_large_pages_)
        return 0;
    if (!domains_.empty() && !areas_.empty())
        return -EINVAL;
    disable_large_pages_ = true;
    if (long err = recalculate_alignment()) {
        disable_large_pages_ = false;
        return err;
    }
    return 0;
}

// --- domains ---

long IoPagetable::fill(uint64_t iova, IoptArea& area, const AreaPinner& pinner) {
    if (!area.pinned) {
        if (long err = pinner.pin(area, iova))
            return err;
        area.pinned = true;
    }
    const uint64_t length = area.last - iova + 1;
    for (size_t i = 0; i < domains_.size(); ++i) {
        if (domains_[i]->map(iova, area.pages->owner, area.uptr(), length, area.prot)) {
            while (i--)
                domains_[i]->unmap(iova, length);
            pinner.unpin(area, iova);
            area.pinned = false;
            return -ENOMEM;
        }
    }
    return 0;
}

void IoPagetable::unfill(uint64_t iova, IoptArea& area, const AreaPinner& pinner) noexcept {
    for (IoDomain* domain : domains_)
        domain->unmap(iova, area.last - iova + 1);
    if (area.pinned) {
        pinner.unpin(area, iova);
        area.pinned = false;
    }
}

// iopt_table_add_domain
long IoPagetable::add_domain(IoDomain& domain, const AreaPinner& pinner) {
    const uint64_t alignment = std::max(smallest_page(domain), iova_alignment_);
    if (alignment > kPage)
        return -EINVAL;
    if (alignment != iova_alignment_) {
        if (long err = check_alignment(alignment))
            return err;
    }
    const IovaRange aperture = domain.aperture();
    long err = aperture.start ? reserve(0, aperture.start - 1, &domain) : 0;
    if (!err && aperture.last != UINT64_MAX)
        err = reserve(aperture.last + 1, UINT64_MAX, &domain);
    try {
        for (const IovaRange& region : domain.reserved_regions()) {
            if (!err)
                err = reserve(region.start, region.last, &domain);
        }
    } catch (const std::bad_alloc&) {
        err = -ENOMEM;
    }
    if (!err) {
        try {
            domains_.reserve(domains_.size() + 1);
        } catch (const std::bad_alloc&) {
            err = -ENOMEM;
        }
    }
    if (err) {
        remove_reserved(&domain);
        return err;
    }
    // Fill the new domain (and pin, if it is the first) area by area.
    for (auto it = areas_.begin(); it != areas_.end(); ++it) {
        IoptArea& area = it->second;
        const bool was_pinned = area.pinned;
        const uint64_t length = area.last - it->first + 1;
        err = was_pinned ? 0 : pinner.pin(area, it->first);
        if (!err && domain.map(it->first, area.pages->owner, area.uptr(), length, area.prot)) {
            err = -ENOMEM;
            if (!was_pinned)
                pinner.unpin(area, it->first);
        }
        if (err) {
            for (auto done = areas_.begin(); done != it; ++done) {
                domain.unmap(done->first, done->second.last - done->first + 1);
                if (domains_.empty()) {  // this one pinned them all
                    pinner.unpin(done->second, done->first);
                    done->second.pinned = false;
                }
            }
            remove_reserved(&domain);
            return err;
        }
        area.pinned = true;
    }
    domains_.push_back(&domain);
    iova_alignment_ = alignment;
    ++generation_;
    return 0;
}

// iopt_table_remove_domain
void IoPagetable::remove_domain(IoDomain& domain, const AreaPinner& pinner) noexcept {
    auto it = std::find(domains_.begin(), domains_.end(), &domain);
    if (it == domains_.end())
        return;
    domains_.erase(it);
    for (auto& [iova, area] : areas_) {
        domain.unmap(iova, area.last - iova + 1);
        if (domains_.empty() && area.pinned) {
            pinner.unpin(area, iova);
            area.pinned = false;
        }
    }
    remove_reserved(&domain);
    recalculate_alignment();  // only ever lowers it: cannot fail
    ++generation_;
}

void IoPagetable::spans_to_probe(const IovaRange& aperture, std::vector<ProbeSpan>& out) const {
    if (!domains_.empty())
        return;
    for (const auto& [iova, area] : areas_) {
        // A domain refuses an area outside its aperture before it pins
        // anything (EADDRINUSE): no need to look at that memory.
        if (iova < aperture.start || area.last > aperture.last)
            continue;
        out.push_back({area.pages->owner, area.uptr(), area.last - iova + 1});
    }
}

void IoPagetable::clear(const AreaPinner& pinner) noexcept {
    for (auto& [iova, area] : areas_)
        unfill(iova, area, pinner);
    budget_.give(areas_.size());
    areas_.clear();
    ++generation_;
}

IoPagetable::~IoPagetable() {
    // Whatever is left goes back to the budget (areas were unpinned by
    // clear(); an IOAS is only destroyed through it).
    const size_t user_reserved = std::count_if(reserved_.begin(), reserved_.end(),
                                               [](const auto& entry) { return entry.second.owner == nullptr; });
    budget_.give(areas_.size() + user_reserved + allowed_.size());
}

}  // namespace ciommu
