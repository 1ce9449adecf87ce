#include "vz/model/scalar.h"

#include <bit>
#include <cmath>
#include <limits>

namespace vz::model {

std::uint64_t LoadUnsigned(std::span<const std::uint8_t> bytes, std::size_t size, char byte_order) {
  if (size == 0 || size > 8 || size > bytes.size()) return 0;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < size; ++i) {
    const std::size_t k = byte_order == '>' ? i : size - 1 - i;
    v = (v << 8) | bytes[k];
  }
  return v;
}

void StoreUnsigned(std::span<std::uint8_t> bytes, std::size_t size, char byte_order,
                   std::uint64_t value) {
  if (size > 8 || size > bytes.size()) return;
  for (std::size_t i = 0; i < size; ++i) {
    const std::size_t k = byte_order == '>' ? size - 1 - i : i;
    bytes[k] = static_cast<std::uint8_t>(value >> (8 * i));
  }
}

std::int64_t SignExtend(std::uint64_t value, std::size_t size) {
  if (size == 0 || size >= 8) return static_cast<std::int64_t>(value);
  const unsigned shift = static_cast<unsigned>(64 - 8 * size);
  return static_cast<std::int64_t>(value << shift) >> shift;
}

double HalfToDouble(std::uint16_t bits) {
  const double sign = (bits >> 15) != 0 ? -1.0 : 1.0;
  const int exponent = (bits >> 10) & 0x1f;
  const int mantissa = bits & 0x3ff;
  if (exponent == 0) return sign * std::ldexp(static_cast<double>(mantissa), -24);
  if (exponent == 31) {
    return mantissa != 0 ? std::numeric_limits<double>::quiet_NaN()
                         : sign * std::numeric_limits<double>::infinity();
  }
  return sign * std::ldexp(static_cast<double>(mantissa | 0x400), exponent - 25);
}

std::optional<Number> DecodeNumber(const DType& dtype, std::span<const std::uint8_t> element) {
  const std::size_t size = dtype.size;
  if (size == 0 || size > 8 || element.size() < size) return std::nullopt;
  const std::uint64_t u = LoadUnsigned(element, size, dtype.byte_order);
  switch (dtype.kind) {
    case DType::Kind::kInt:
      return Number(SignExtend(u, size));
    case DType::Kind::kUInt:
    case DType::Kind::kBool:
      return Number(u);
    case DType::Kind::kFloat:
      if (size == 2) return Number(HalfToDouble(static_cast<std::uint16_t>(u)));
      if (size == 4) {
        return Number(static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(u))));
      }
      if (size == 8) return Number(std::bit_cast<double>(u));
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

double ToDouble(const Number& n) {
  return std::visit([](auto v) { return static_cast<double>(v); }, n);
}

}  // namespace vz::model
