// Building one typed row of the command table (command_table.h) in one
// declaration.  A struct command's row is typed by its handler:
//
//   struct_row<ioctl_map_dma>(kRfcConvention, IOMMU_NR_MAP_DMA, "MAP_DMA")
//       .min_end(OFFSET_END(S, size))
//       .flags({{IOMMU_MAP_DMA_READ, "READ"}, ...})
//       .fields({IN(vaddr, kHex), ...})
//       .reserved(RESERVED(__reserved))
//
// The handler `long f(CallEnv&, S&)` names the struct S; taking it const
// means nothing is written back.  The fields, the convention's header and
// the reserved fields must tile S exactly (checked at compile time by
// check_row(), so a field added to a uAPI struct breaks the build until its
// row lists it and the trace shows it).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <type_traits>

#include "command_table.h"

namespace ciommu::rows {

// What a typed handler's signature says: its struct, and whether it writes it.
template <typename Fn> struct HandlerTraits;
template <typename S> struct HandlerTraits<long (*)(CallEnv&, S&)> {
    using Struct = std::remove_const_t<S>;
    static constexpr bool writes_back = !std::is_const_v<S>;
};

// The untyped entry the dispatcher calls: the checked, zero-extended struct
// is in env.args (dispatcher.cpp); the handler gets it typed.
template <auto Fn> long typed_handler(CallEnv& env) {
    using Struct = typename HandlerTraits<decltype(Fn)>::Struct;
    return Fn(env, *static_cast<Struct*>(env.args));
}

// A row under construction; each step returns the updated row.
struct Row {
    CommandSpec spec;

    constexpr Row min_end(size_t end) const {
        Row r = *this;
        r.spec.min_size = static_cast<uint32_t>(end);
        return r;
    }
    // The flag names, whose OR is the valid-flag mask.
    constexpr Row flags(std::initializer_list<NamedValue> names) const {
        Row r = *this;
        r.spec.valid_flags = 0;
        r.spec.flag_count = 0;
        for (const NamedValue& n : names) {
            r.spec.valid_flags |= n.value;
            r.spec.flag_names[r.spec.flag_count++] = n;  // past kMaxFlags: not a constant expression
        }
        return r;
    }
    constexpr Row fields(std::initializer_list<FieldSpec> list) const {
        Row r = *this;
        r.spec.field_count = 0;
        for (const FieldSpec& f : list)
            r.spec.fields[r.spec.field_count++] = f;  // past kMaxFields: not a constant expression
        return r;
    }
    // The struct has no flags word (iommufd's DESTROY, OPTION, ...).
    constexpr Row no_flags() const {
        Row r = *this;
        r.spec.no_flags = true;
        return r;
    }
    constexpr Row reserved(ReservedField field) const {
        Row r = *this;
        r.spec.reserved[0] = field;
        return r;
    }
    // argsz and flags are outputs too, the flags named by `names`.
    constexpr Row out_header(NameTable names) const {
        Row r = *this;
        r.spec.out_flag_names = names;
        return r;
    }
    // Bytes past the struct are output space of this kind.
    constexpr Row output_tail(Tail tail) const {
        Row r = *this;
        r.spec.output_tail = true;
        r.spec.tail = tail;
        return r;
    }
    constexpr Row self_locked() const {
        Row r = *this;
        r.spec.self_locked = true;
        return r;
    }
    // The trace shows the value's name under `key` too.
    constexpr Row value_name(const char* key, const char* (*name_of)(uint64_t)) const {
        Row r = *this;
        r.spec.value_key = key;
        r.spec.value_name = name_of;
        return r;
    }
    // A finished row is its spec, once checked (check_row, below).
    constexpr operator CommandSpec() const;  // NOLINT: implicit on purpose
};

template <auto Fn> constexpr Row struct_row(const Convention& convention, unsigned nr, const char* name) {
    using Traits = HandlerTraits<decltype(Fn)>;
    Row r{};
    r.spec.nr = nr;
    r.spec.name = name;
    r.spec.kind = ArgKind::kStruct;
    r.spec.convention = &convention;
    r.spec.struct_size = sizeof(typename Traits::Struct);
    r.spec.min_size = sizeof(typename Traits::Struct);
    r.spec.copies_out = Traits::writes_back;
    r.spec.handler = typed_handler<Fn>;
    return r;
}

constexpr Row value_row(unsigned nr, const char* name, Handler handler) {
    Row r{};
    r.spec.nr = nr;
    r.spec.name = name;
    r.spec.kind = ArgKind::kValue;
    r.spec.handler = handler;
    return r;
}

// --- the compile-time checks of a finished row ---

// Called only when a check fails: a constant expression cannot call it, so
// the build stops here, inside the check of the offending row.
void row_fields_do_not_tile_the_struct(const char* command);
// Out fields (or a written-back header or tail) need a handler that takes
// the struct non-const, and a non-const one needs something to write back.
void row_out_fields_disagree_with_handler_constness(const char* command);

// The byte ranges the row accounts for: the convention's header (size and
// flags), its fields and its reserved fields.  They must cover the struct
// exactly once each.
constexpr bool fields_tile_struct(const CommandSpec& s) {
    if (s.kind != ArgKind::kStruct)
        return true;
    struct Range { size_t begin, end; };
    Range ranges[kMaxFields + 4]{};
    size_t n = 0;
    ranges[n++] = {0, 4};  // argsz / size
    if (!s.no_flags)
        ranges[n++] = {s.convention->flags_offset, s.convention->flags_offset + 4u};
    for (const FieldSpec& f : s.field_list())
        ranges[n++] = {f.offset, size_t{f.offset} + f.size};
    for (const ReservedField& r : s.reserved) {
        if (r.size)
            ranges[n++] = {r.offset, size_t{r.offset} + r.size};
    }
    // Walk the struct: each byte position must start exactly one range.
    size_t at = 0;
    for (size_t step = 0; step < n; ++step) {
        size_t found = n;
        for (size_t i = 0; i < n; ++i) {
            if (ranges[i].begin == at)
                found = found == n ? i : n + 1;  // two ranges at one place: overlap
        }
        if (found >= n)
            return false;
        at = ranges[found].end;
    }
    // What is left may be the padding that rounds the struct up to its
    // 8-byte alignment (iommufd's iommu_test_cmd ends in a lone __u32).
    return at == s.struct_size || (s.struct_size % 8 == 0 && s.struct_size - at < 8 && at % 8 != 0);
}

constexpr bool has_out_fields(const CommandSpec& s) {
    for (const FieldSpec& f : s.field_list()) {
        if (f.dir != Dir::kIn)
            return true;
    }
    return !s.out_flag_names.empty() || s.output_tail;
}

// Run while the table is built, so the compiler's error points at the row.
constexpr void check_row(const CommandSpec& s) {
    if (!fields_tile_struct(s))
        row_fields_do_not_tile_the_struct(s.name);
    if (s.kind == ArgKind::kStruct && has_out_fields(s) != s.copies_out)
        row_out_fields_disagree_with_handler_constness(s.name);
}

constexpr Row::operator CommandSpec() const {
    check_row(spec);
    return spec;
}

}  // namespace ciommu::rows

// Field descriptors of the row's struct, which the row names `S`.
#define OFFSET_END(type, field) (offsetof(type, field) + sizeof(type::field))
#define CIOMMU_FIELD(field, show, dir, ...) \
    ::ciommu::FieldSpec{#field, offsetof(S, field), sizeof(S::field), ::ciommu::Show::show, dir, __VA_ARGS__}
#define IN(field, show, ...) CIOMMU_FIELD(field, show, ::ciommu::Dir::kIn, __VA_ARGS__)
#define OUT(field, show, ...) CIOMMU_FIELD(field, show, ::ciommu::Dir::kOut, __VA_ARGS__)
#define INOUT(field, show, ...) CIOMMU_FIELD(field, show, ::ciommu::Dir::kInOut, __VA_ARGS__)
#define RESERVED(field) ::ciommu::ReservedField{offsetof(S, field), sizeof(S::field), #field}
