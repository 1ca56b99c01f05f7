// A sparse array indexed by 4 KiB page number (IOVA >> 12 or VA >> 12, 36
// bits for a 48-bit space), built like an I/O page table: 4 levels of 512
// slots, tables allocated on first use and freed when they empty.  Lookups
// cost four pointer hops whatever the population, which keeps map, unmap and
// translation flat from a thousand mappings to a million.
//
// T is an unsigned integer; T{0} means "empty".
#pragma once

#include <array>
#include <cstdint>
#include <new>
#include <optional>
#include <type_traits>

namespace ciommu {

template <typename T>
class PageRadix {
public:
    static constexpr unsigned kBitsPerLevel = 9;
    static constexpr unsigned kLevels = 4;
    static constexpr uint64_t kSlots = uint64_t{1} << kBitsPerLevel;
    static constexpr uint64_t kPageLimit = uint64_t{1} << (kBitsPerLevel * kLevels);

    PageRadix() = default;
    PageRadix(const PageRadix&) = delete;
    PageRadix& operator=(const PageRadix&) = delete;
    ~PageRadix() { destroy(root_, kLevels); }

    T get(uint64_t page) const {
        const Leaf* leaf = find_leaf(page);
        return leaf ? leaf->slots[page % kSlots] : T{0};
    }

    // Stores value (T{0} clears).  Requires page < kPageLimit.
    void set(uint64_t page, T value) {
        if (value == T{0}) {
            clear(page);
            return;
        }
        Leaf& leaf = leaf_for(page);
        T& slot = leaf.slots[page % kSlots];
        leaf.used += (slot == T{0});
        slot = value;
    }

    // Allocates the tables pages [first, first + count) need, so that set()
    // on them cannot fail.  False if memory ran out: then every table it
    // made is freed again (nothing changed).  Tables reserved and left
    // unused must be given back with release_unused().
    bool reserve(uint64_t first, uint64_t count) noexcept {
        for (uint64_t page = first; page < first + count; page = (page / kSlots + 1) * kSlots) {
            try {
                leaf_for(page);
            } catch (const std::bad_alloc&) {
                release_unused(first, count);
                return false;
            }
        }
        return true;
    }

    // Frees the tables of pages [first, first + count) that hold nothing.
    void release_unused(uint64_t first, uint64_t count) noexcept {
        for (uint64_t page = first; page < first + count; page = (page / kSlots + 1) * kSlots)
            prune_path(page);
    }

    // Calls fn(page, value) for every non-empty slot in [first, last], in order.
    template <typename Fn> void for_each(uint64_t first, uint64_t last, Fn fn) const {
        visit(root_, kLevels, 0, first, last, fn);
    }

    // The first non-empty page in [first, last], if any.
    std::optional<uint64_t> find_first(uint64_t first, uint64_t last) const {
        std::optional<uint64_t> found;
        auto stop_at_first = [&found](uint64_t page, T) {
            found = page;
            return false;
        };
        visit(root_, kLevels, 0, first, last, stop_at_first);
        return found;
    }

    bool empty() const { return root_ == nullptr; }
    // Bytes of tables allocated (for the memory benchmark).
    size_t table_bytes() const { return bytes_; }

private:
    // Levels kLevels..2 are Nodes whose children are Nodes, or Leaves at level 2.
    struct Node {
        std::array<void*, kSlots> children{};
        unsigned used = 0;
    };
    struct Leaf {
        std::array<T, kSlots> slots{};
        unsigned used = 0;
    };

    static unsigned index_at(uint64_t page, unsigned level) {
        return static_cast<unsigned>((page >> (kBitsPerLevel * (level - 1))) % kSlots);
    }
    // Pages one slot of a table at `level` covers (level 1: one page).
    static uint64_t slot_span(unsigned level) { return uint64_t{1} << (kBitsPerLevel * (level - 1)); }

    void destroy(Node* node, unsigned level) {
        if (!node)
            return;
        for (void* child : node->children) {
            if (level > 2)
                destroy(static_cast<Node*>(child), level - 1);
            else
                delete static_cast<Leaf*>(child);
        }
        delete node;
    }

    const Leaf* find_leaf(uint64_t page) const {
        const Node* node = root_;
        for (unsigned level = kLevels; node && level > 2; --level)
            node = static_cast<const Node*>(node->children[index_at(page, level)]);
        return node ? static_cast<const Leaf*>(node->children[index_at(page, 2)]) : nullptr;
    }

    template <typename Table> Table& child_or_new(Node& node, unsigned index) {
        if (!node.children[index]) {
            node.children[index] = new Table();
            ++node.used;
            bytes_ += sizeof(Table);
        }
        return *static_cast<Table*>(node.children[index]);
    }

    Leaf& leaf_for(uint64_t page) {
        if (!root_) {
            root_ = new Node();
            bytes_ += sizeof(Node);
        }
        Node* node = root_;
        for (unsigned level = kLevels; level > 2; --level)
            node = &child_or_new<Node>(*node, index_at(page, level));
        return child_or_new<Leaf>(*node, index_at(page, 2));
    }

    // Frees, bottom-up, the empty tables on page's path.
    void prune_path(uint64_t page) noexcept {
        Node* path[kLevels + 1] = {};  // path[level]: the table at that level
        Node* node = root_;
        for (unsigned level = kLevels; node && level >= 2; --level) {
            path[level] = node;
            if (level > 2)
                node = static_cast<Node*>(node->children[index_at(page, level)]);
        }
        unsigned level = 2;
        while (level <= kLevels && !path[level])
            ++level;  // the path stops above level 2
        if (level == 2) {
            void*& slot = path[2]->children[index_at(page, 2)];
            if (slot && static_cast<Leaf*>(slot)->used == 0) {
                delete static_cast<Leaf*>(slot);
                slot = nullptr;
                bytes_ -= sizeof(Leaf);
                --path[2]->used;
            }
        }
        for (; level <= kLevels; ++level) {
            if (path[level]->used != 0)
                return;
            delete path[level];
            bytes_ -= sizeof(Node);
            if (level == kLevels) {
                root_ = nullptr;
            } else {
                path[level + 1]->children[index_at(page, level + 1)] = nullptr;
                --path[level + 1]->used;
            }
        }
    }

    void clear(uint64_t page) {
        Node* path[kLevels + 1] = {};  // path[level]: the table at that level
        Node* node = root_;
        for (unsigned level = kLevels; node && level >= 2; --level) {
            path[level] = node;
            if (level > 2)
                node = static_cast<Node*>(node->children[index_at(page, level)]);
        }
        if (!node)
            return;
        auto* leaf = static_cast<Leaf*>(path[2]->children[index_at(page, 2)]);
        if (!leaf || leaf->slots[page % kSlots] == T{0})
            return;
        leaf->slots[page % kSlots] = T{0};
        if (--leaf->used != 0)
            return;
        // Free the tables that just became empty, bottom-up.
        delete leaf;
        bytes_ -= sizeof(Leaf);
        for (unsigned level = 2; level <= kLevels; ++level) {
            path[level]->children[index_at(page, level)] = nullptr;
            if (--path[level]->used != 0)
                return;
            if (level == kLevels)
                root_ = nullptr;
            delete path[level];
            bytes_ -= sizeof(Node);
        }
    }

    // Walks [first, last]; fn returns void, or bool where false stops the walk.
    // Returns false once stopped.
    template <typename Fn>
    static bool visit(const void* table, unsigned level, uint64_t base, uint64_t first, uint64_t last, Fn& fn) {
        if (!table)
            return true;
        const uint64_t span = slot_span(level);
        const uint64_t start = first > base ? (first - base) / span : 0;
        // Entries of this table not met yet: the walk stops at its last one
        // rather than scanning the (mostly empty) rest of its 512 slots.
        unsigned left = level == 1 ? static_cast<const Leaf*>(table)->used : static_cast<const Node*>(table)->used;
        if (start == 0 && left == 0)
            return true;
        for (uint64_t i = start; i < kSlots; ++i) {
            const uint64_t lo = base + i * span;
            if (lo > last)
                return true;
            if (level == 1) {
                const T value = static_cast<const Leaf*>(table)->slots[i];
                if (value == T{0})
                    continue;
                if (!call(fn, lo, value))
                    return false;
            } else {
                const void* child = static_cast<const Node*>(table)->children[i];
                if (!child)
                    continue;
                if (!visit(child, level - 1, lo, first, last, fn))
                    return false;
            }
            if (start == 0 && --left == 0)
                return true;
        }
        return true;
    }

    template <typename Fn> static bool call(Fn& fn, uint64_t page, T value) {
        if constexpr (std::is_same_v<decltype(fn(page, value)), bool>)
            return fn(page, value);
        else
            return fn(page, value), true;
    }

    Node* root_ = nullptr;
    size_t bytes_ = 0;
};

}  // namespace ciommu
