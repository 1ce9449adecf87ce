// HDF5's byte shuffle (filter 2) and Fletcher-32 checksum (filter 3).
//
// Shuffle stores byte k of every element together: with n whole elements of size s, stored
// byte k*n + i is byte k of element i; bytes past the last whole element follow unchanged.
// Fletcher-32 appends a 4-byte little-endian checksum of the data computed over 16-bit
// big-endian words (an odd last byte is the high half of a word), with both sums folded to
// 16 bits every 360 words. Files from HDF5 1.6.0/1.6.1 stored the checksum with the bytes of
// each half swapped; HDF5 still accepts that form, so do we.
#include <fmt/format.h>

#include "vz/base/byte_cursor.h"
#include "vz/base/checked.h"
#include "vz/codecs/filters.h"

namespace vz::codecs {

Bytes Unshuffle(ByteSpan in, std::size_t element_size) {
  Bytes out(in.begin(), in.end());
  if (element_size <= 1) return out;
  const std::size_t n = in.size() / element_size;
  if (n <= 1) return out;
  for (std::size_t k = 0; k < element_size; ++k) {
    const std::uint8_t* src = in.data() + k * n;
    for (std::size_t i = 0; i < n; ++i) out[i * element_size + k] = src[i];
  }
  return out;
}

std::uint32_t Fletcher32(ByteSpan data) {
  std::uint32_t sum1 = 0;
  std::uint32_t sum2 = 0;
  std::size_t words = data.size() / 2;
  const std::uint8_t* p = data.data();
  while (words > 0) {
    const std::size_t block = words > 360 ? 360 : words;
    words -= block;
    for (std::size_t i = 0; i < block; ++i, p += 2) {
      sum1 += static_cast<std::uint32_t>((p[0] << 8) | p[1]);
      sum2 += sum1;
    }
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  }
  if (data.size() % 2 != 0) {
    sum1 += static_cast<std::uint32_t>(*p) << 8;
    sum2 += sum1;
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  }
  sum1 = (sum1 & 0xffff) + (sum1 >> 16);
  sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  return (sum2 << 16) | sum1;
}

Result<Bytes> CheckFletcher32(ByteSpan in) {
  if (in.size() < 4) {
    return Corrupt(
        fmt::format("fletcher32 decode failed: {} bytes is too short for a checksum", in.size()));
  }
  const ByteSpan body = in.first(in.size() - 4);
  const std::uint32_t stored = UnsafeLoadU32LE(in.data() + body.size());
  const std::uint32_t computed = Fletcher32(body);
  const std::uint32_t swapped = ((computed & 0x00ff00ffu) << 8) | ((computed >> 8) & 0x00ff00ffu);
  if (stored != computed && stored != swapped) {
    return Corrupt(
        fmt::format("fletcher32 decode failed: checksum mismatch (stored {}, computed {})",
                    Hex(stored), Hex(computed)));
  }
  return Bytes(body.begin(), body.end());
}

}  // namespace vz::codecs
