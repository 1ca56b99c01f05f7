// Reads a fuzz input as a stream of little-endian fields.  Past the end
// every read gives zero and done() turns true, so a target never reads out
// of bounds and a truncated input is simply a shorter sequence.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace fuzz {

class InputReader {
public:
    InputReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

    bool done() const { return at_ >= size_; }
    uint8_t u8() { return at_ < size_ ? data_[at_++] : (at_++, 0); }
    template <typename T> T number() {
        T value{};
        bytes(&value, sizeof(value));
        return value;
    }
    // Copies up to n bytes (zero past the end).
    void bytes(void* out, size_t n) {
        const size_t have = at_ < size_ ? (size_ - at_ < n ? size_ - at_ : n) : 0;
        if (have)
            std::memcpy(out, data_ + at_, have);
        std::memset(static_cast<uint8_t*>(out) + have, 0, n - have);
        at_ += n;
    }

private:
    const uint8_t* data_;
    size_t size_;
    size_t at_ = 0;
};

}  // namespace fuzz
