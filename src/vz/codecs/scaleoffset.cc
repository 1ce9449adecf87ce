// HDF5's scale-offset filter (filter 6, H5Zscaleoffset).
//
// Client data: [0] scale type (0 float D-scale, 1 float E-scale, 2 integer), [1] scale factor,
// [2] elements in the chunk, [3] class (0 integer, 1 float), [4] element size, [5] signed,
// [6] byte order (0 little, 1 big), [7] 1 when a fill value is defined, [8..] the fill value's
// bytes, least significant first, packed into the 32-bit values.
// Stored chunk: a 21-byte header (u32le minbits, u8 byte count of the minimum, the minimum
// little-endian), then each element's `minbits`-bit offset from the minimum, most significant
// bit first, no alignment. minbits == 8*size means the values follow unpacked, in the byte
// order of the machine that wrote them (little-endian is assumed). With a fill value, the
// all-ones offset stands for it. Floats store round(x * 10^D) - round(min * 10^D) as integers;
// the minimum is the float's own bit pattern, and floats are rebuilt in their own precision.
#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "vz/base/byte_cursor.h"
#include "vz/base/checked.h"
#include "vz/codecs/filters.h"

namespace vz::codecs {
namespace {

constexpr std::size_t kHeaderSize = 21;

Error Bad(const std::string& what) {
  return Corrupt(fmt::format("scaleoffset decode failed: {}", what));
}

std::uint64_t Mask(std::uint32_t bits) {
  return bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
}

// Writes the low `size` bytes of v in the requested byte order.
void Store(std::uint8_t* p, std::uint64_t v, std::uint32_t size, bool big_endian) {
  for (std::uint32_t k = 0; k < size; ++k) {
    p[big_endian ? size - 1 - k : k] = static_cast<std::uint8_t>(v >> (8 * k));
  }
}

std::int64_t SignExtend(std::uint64_t v, std::uint32_t size) {
  if (size >= 8) return static_cast<std::int64_t>(v);
  const std::uint64_t sign = std::uint64_t{1} << (size * 8 - 1);
  v &= Mask(size * 8);
  return static_cast<std::int64_t>((v ^ sign) - sign);
}

}  // namespace

Result<Bytes> DecodeScaleOffset(ByteSpan in, std::span<const std::uint32_t> cd,
                                const model::DType& dtype, std::uint64_t max_output) {
  (void)dtype;  // the client data carries everything; dtype is kept for symmetry with n-bit
  if (cd.size() < 8) return Bad(fmt::format("{} client data values, need at least 8", cd.size()));
  const std::uint32_t scale_type = cd[0];
  const auto scale_factor = static_cast<std::int32_t>(cd[1]);  // D may be negative
  const std::uint64_t elements = cd[2];
  const std::uint32_t cls = cd[3];
  const std::uint32_t size = cd[4];
  const bool is_signed = cd[5] == 1;
  const bool big_endian = cd[6] == 1;
  const bool fill_defined = cd[7] == 1;
  if (cls > 1) return Bad(fmt::format("type class {}", cls));
  if (size != 1 && size != 2 && size != 4 && size != 8) return Bad(fmt::format("size {}", size));
  if (cls == 1 && size != 4 && size != 8) return Bad(fmt::format("float size {}", size));
  if (cls == 1 && scale_type != 0) {
    return Unsupported(fmt::format(
        "scaleoffset decode failed: scale type {} (HDF5 implements only D-scaling for floats)",
        scale_type));
  }
  if (cls == 0 && scale_type != 2)
    return Bad(fmt::format("scale type {} for integers", scale_type));
  VZ_ASSIGN_OR_RETURN(const std::uint64_t out_size, CheckedMul(elements, size, "scaleoffset size"));
  if (out_size > max_output) {
    return LimitExceeded(fmt::format(
        "scaleoffset decode failed: decoded data exceeds the limit of {} bytes", max_output));
  }

  // The fill value's bytes, least significant first, from the 32-bit client data values.
  std::uint64_t fill = 0;
  if (fill_defined) {
    const std::size_t words = (size + 3) / 4;
    if (cd.size() < 8 + words) return Bad("client data ends before the fill value");
    for (std::uint32_t k = 0; k < size; ++k) {
      const std::uint32_t word = cd[8 + k / 4];
      fill |= std::uint64_t{(word >> (8 * (k % 4))) & 0xffu} << (8 * k);
    }
  }

  if (in.size() < kHeaderSize) {
    return Bad(fmt::format("{} bytes is shorter than the {}-byte header", in.size(), kHeaderSize));
  }
  const std::uint32_t minbits = UnsafeLoadU32LE(in.data());
  const std::size_t min_bytes = std::min<std::size_t>(in[4], 8);
  std::uint64_t minval = 0;
  for (std::size_t k = 0; k < min_bytes; ++k) minval |= std::uint64_t{in[5 + k]} << (8 * k);
  if (minbits > size * 8) {
    return Bad(fmt::format("minbits {} exceeds the {}-bit type", minbits, size * 8));
  }
  const ByteSpan packed = in.subspan(kHeaderSize);
  Bytes out(static_cast<std::size_t>(out_size), 0);

  if (minbits == size * 8) {  // stored unpacked, little-endian
    if (packed.size() < out_size) return Bad("unpacked data ends early");
    for (std::uint64_t i = 0; i < elements; ++i) {
      std::uint64_t v = 0;
      for (std::uint32_t k = 0; k < size; ++k) v |= std::uint64_t{packed[i * size + k]} << (8 * k);
      Store(out.data() + i * size, v, size, big_endian);
    }
    return out;
  }

  VZ_ASSIGN_OR_RETURN(const std::uint64_t packed_bits,
                      CheckedMul(elements, minbits, "scaleoffset packed size"));
  if (CeilDiv(packed_bits, 8) > packed.size()) {
    return Bad(fmt::format("{} elements of {} bits need {} bytes, have {}", elements, minbits,
                           CeilDiv(packed_bits, 8), packed.size()));
  }
  const std::uint64_t all_ones = Mask(minbits);
  std::uint64_t bit = 0;
  for (std::uint64_t i = 0; i < elements; ++i) {
    std::uint64_t offset = 0;
    for (std::uint32_t b = 0; b < minbits; ++b, ++bit) {
      offset = (offset << 1) | ((std::uint64_t{packed[bit / 8]} >> (7 - bit % 8)) & 1u);
    }
    std::uint64_t value = 0;
    if (fill_defined && offset == all_ones) {
      value = fill;
    } else if (cls == 0) {
      value = offset + minval;  // modular; the low `size` bytes are the value
      if (is_signed) value = static_cast<std::uint64_t>(SignExtend(value, size));
    } else {
      const std::int64_t scaled = SignExtend(offset, size);
      if (size == 4) {
        float min_f = 0;
        const auto min_bits = static_cast<std::uint32_t>(minval);
        std::memcpy(&min_f, &min_bits, 4);
        // HDF5 does this step in single precision; doing it in double changes the last bit.
        const float f =
            static_cast<float>(scaled) / std::pow(10.0f, static_cast<float>(scale_factor)) + min_f;
        std::uint32_t f_bits = 0;
        std::memcpy(&f_bits, &f, 4);
        value = f_bits;
      } else {
        double min_d = 0;
        std::memcpy(&min_d, &minval, 8);
        const double d = static_cast<double>(scaled) / std::pow(10.0, scale_factor) + min_d;
        std::memcpy(&value, &d, 8);
      }
    }
    Store(out.data() + i * size, value, size, big_endian);
  }
  return out;
}

}  // namespace vz::codecs
