#include "vz/base/utf8.h"

#include <cstring>

namespace vz {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

std::size_t Utf8SequenceLength(const unsigned char* data, std::size_t size, std::size_t i,
                               std::size_t* skip) {
  const unsigned char b0 = data[i];
  *skip = 1;
  if (b0 < 0x80) return 1;
  std::size_t need = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no UTF-16 surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  std::size_t k = 1;
  for (; k <= need; ++k) {
    if (i + k >= size) break;
    const unsigned char b = data[i + k];
    const unsigned char min = k == 1 ? lo : static_cast<unsigned char>(0x80);
    const unsigned char max = k == 1 ? hi : static_cast<unsigned char>(0xBF);
    if (b < min || b > max) break;
  }
  if (k == need + 1) return need + 1;
  *skip = k;
  return 0;
}

namespace {

template <typename Fn>
void ForEachUtf8Piece(const unsigned char* data, std::size_t size, Fn&& fn) {
  std::size_t i = 0;
  while (i < size) {
    std::size_t skip = 1;
    const std::size_t len = Utf8SequenceLength(data, size, i, &skip);
    if (len == 0) {
      fn(std::string_view(), true);
      i += skip;
    } else {
      fn(std::string_view(reinterpret_cast<const char*>(data + i), len), false);  // NOLINT
      i += len;
    }
  }
}

bool ValidUtf8(const unsigned char* data, std::size_t size) {
  std::size_t i = 0;
  while (i < size) {
    // ASCII, the usual case, eight bytes at a time.
    if (i + 8 <= size) {
      std::uint64_t w = 0;
      std::memcpy(&w, data + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    if (data[i] < 0x80) {
      ++i;
      continue;
    }
    std::size_t skip = 1;
    const std::size_t len = Utf8SequenceLength(data, size, i, &skip);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());  // NOLINT(*-reinterpret-cast)
}

}  // namespace

bool IsValidUtf8(std::span<const std::uint8_t> bytes) {
  return ValidUtf8(bytes.data(), bytes.size());
}

bool IsValidUtf8(std::string_view text) { return ValidUtf8(Bytes(text), text.size()); }

std::string SanitizeUtf8(std::string_view text) {
  if (IsValidUtf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  ForEachUtf8Piece(Bytes(text), text.size(),
                   [&](std::string_view piece, bool bad) { out += bad ? kReplacement : piece; });
  return out;
}

std::string SanitizeUtf8(std::string&& text) {
  if (IsValidUtf8(text)) return std::move(text);
  return SanitizeUtf8(std::string_view(text));
}

}  // namespace vz
