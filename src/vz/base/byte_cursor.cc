#include "vz/base/byte_cursor.h"

#include <fmt/format.h>

#include <cstring>

namespace vz {

Error ByteCursor::Truncated(std::size_t need) const {
  return Corrupt(fmt::format("truncated: need {} bytes at {:#x}, only {} left", need, base_ + pos_,
                             remaining()));
}

Status ByteCursor::Need(std::size_t n) const {
  if (n > remaining()) return Truncated(n);
  return Ok();
}

Status ByteCursor::Seek(std::size_t pos) {
  if (pos > data_.size()) {
    return Corrupt(fmt::format("seek to {:#x} beyond end of buffer at {:#x}", base_ + pos,
                               base_ + data_.size()));
  }
  pos_ = pos;
  return Ok();
}

Error ByteCursor::WidthError(std::size_t n) const {
  return Corrupt(fmt::format("integer width {} at {:#x} exceeds 8", n, file_offset()));
}

Result<std::uint64_t> ByteCursor::UintBE(std::size_t n) {
  if (n > 8) return WidthError(n);
  VZ_TRY(Need(n));
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | data_[pos_ + i];
  pos_ += n;
  return v;
}

Result<std::uint16_t> ByteCursor::U16BE() {
  VZ_ASSIGN_OR_RETURN(auto v, UintBE(2));
  return static_cast<std::uint16_t>(v);
}
Result<std::uint32_t> ByteCursor::U32BE() {
  VZ_ASSIGN_OR_RETURN(auto v, UintBE(4));
  return static_cast<std::uint32_t>(v);
}
Result<std::uint64_t> ByteCursor::U64BE() { return UintBE(8); }

Result<ByteCursor> ByteCursor::Sub(std::size_t n) {
  std::uint64_t start = file_offset();
  VZ_ASSIGN_OR_RETURN(auto s, Bytes(n));
  return ByteCursor(s, start);
}

Result<std::string> ByteCursor::CString(std::size_t max_len) {
  std::size_t limit = remaining() < max_len ? remaining() : max_len;
  const std::uint8_t* begin = data_.data() + pos_;
  const void* nul = std::memchr(begin, 0, limit);
  if (nul == nullptr) {
    return Corrupt(fmt::format("unterminated string at {:#x}", file_offset()));
  }
  auto len = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - begin);
  std::string s(len, '\0');
  std::memcpy(s.data(), begin, len);
  pos_ += len + 1;
  return s;
}

Status ByteCursor::ExpectMagic(std::string_view magic, const char* what) {
  std::uint64_t at = file_offset();
  VZ_ASSIGN_OR_RETURN(auto got, Bytes(magic.size()));
  if (std::memcmp(got.data(), magic.data(), magic.size()) != 0) {
    return Corrupt(fmt::format("{}: bad signature at {:#x}", what, at));
  }
  return Ok();
}

}  // namespace vz
