// ByteCursor: the only way parsers read bytes. Every read is bounds-checked against the buffer;
// multi-byte values are assembled with explicit endianness (never pointer casts). base_offset
// is the file offset of data[0], so errors name the absolute byte offset in the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "vz/base/error.h"

namespace vz {

class ByteCursor {
 public:
  ByteCursor() = default;
  explicit ByteCursor(std::span<const std::uint8_t> data, std::uint64_t base_offset = 0)
      : data_(data), base_(base_offset) {}

  std::size_t pos() const { return pos_; }
  std::size_t size() const { return data_.size(); }
  std::size_t remaining() const { return data_.size() - pos_; }
  bool empty() const { return pos_ == data_.size(); }
  // Absolute offset in the file of the next byte to be read.
  std::uint64_t file_offset() const { return base_ + pos_; }
  std::uint64_t base_offset() const { return base_; }
  std::span<const std::uint8_t> data() const { return data_; }
  std::span<const std::uint8_t> rest() const { return data_.subspan(pos_); }

  Status Seek(std::size_t pos);
  Status Skip(std::size_t n);

  Result<std::uint8_t> U8();
  Result<std::uint16_t> U16();  // little-endian
  Result<std::uint32_t> U32();
  Result<std::uint64_t> U64();
  Result<std::uint16_t> U16BE();
  Result<std::uint32_t> U32BE();
  Result<std::uint64_t> U64BE();
  // Unsigned integer of n bytes (0..8), little- or big-endian (HDF5 "size of offsets").
  Result<std::uint64_t> UintLE(std::size_t n);
  Result<std::uint64_t> UintBE(std::size_t n);

  // The next n bytes, advancing past them.
  Result<std::span<const std::uint8_t>> Bytes(std::size_t n);
  // A cursor over the next n bytes (keeping absolute offsets), advancing past them.
  Result<ByteCursor> Sub(std::size_t n);
  // A NUL-terminated string of at most max_len bytes (the NUL is consumed, not returned).
  Result<std::string> CString(std::size_t max_len);
  // Fails with kCorrupt "<what>: bad signature at 0x..." unless the next bytes equal magic.
  Status ExpectMagic(std::string_view magic, const char* what);

  // The error a failed read returns, for parsers that detect their own overruns.
  Error Truncated(std::size_t need) const;

 private:
  Status Need(std::size_t n) const;
  Error WidthError(std::size_t n) const;

  std::span<const std::uint8_t> data_;
  std::uint64_t base_ = 0;
  std::size_t pos_ = 0;
};

// Unchecked loads, for spans whose bounds the caller has already checked (decoders working on
// whole buffers, and ByteCursor itself after its check). The name is meant to stand out in a
// review: anything reading untrusted bytes goes through ByteCursor instead.
inline std::uint16_t UnsafeLoadU16LE(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
inline std::uint32_t UnsafeLoadU32LE(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
inline std::uint64_t UnsafeLoadU64LE(const std::uint8_t* p) {
  return static_cast<std::uint64_t>(UnsafeLoadU32LE(p)) |
         (static_cast<std::uint64_t>(UnsafeLoadU32LE(p + 4)) << 32);
}
inline std::uint16_t UnsafeLoadU16BE(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t UnsafeLoadU32BE(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
         (static_cast<std::uint32_t>(p[2]) << 8) | static_cast<std::uint32_t>(p[3]);
}
inline std::uint64_t UnsafeLoadU64BE(const std::uint8_t* p) {
  return (static_cast<std::uint64_t>(UnsafeLoadU32BE(p)) << 32) | UnsafeLoadU32BE(p + 4);
}

// The reads every parser makes for each field are inline: a bounds check and a load, with the
// error built out of line.
inline Status ByteCursor::Skip(std::size_t n) {
  if (n > remaining()) return Truncated(n);
  pos_ += n;
  return Ok();
}

inline Result<std::uint8_t> ByteCursor::U8() {
  if (remaining() < 1) return Truncated(1);
  return data_[pos_++];
}

inline Result<std::uint16_t> ByteCursor::U16() {
  if (remaining() < 2) return Truncated(2);
  pos_ += 2;
  return UnsafeLoadU16LE(data_.data() + pos_ - 2);
}

inline Result<std::uint32_t> ByteCursor::U32() {
  if (remaining() < 4) return Truncated(4);
  pos_ += 4;
  return UnsafeLoadU32LE(data_.data() + pos_ - 4);
}

inline Result<std::uint64_t> ByteCursor::U64() {
  if (remaining() < 8) return Truncated(8);
  pos_ += 8;
  return UnsafeLoadU64LE(data_.data() + pos_ - 8);
}

inline Result<std::uint64_t> ByteCursor::UintLE(std::size_t n) {
  if (n > 8) return WidthError(n);
  if (n > remaining()) return Truncated(n);
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(data_[pos_ + i]) << (8 * i);
  pos_ += n;
  return v;
}

inline Result<std::span<const std::uint8_t>> ByteCursor::Bytes(std::size_t n) {
  if (n > remaining()) return Truncated(n);
  auto s = data_.subspan(pos_, n);
  pos_ += n;
  return s;
}

}  // namespace vz
