// The one scalar codec: numbers to and from the raw bytes of one element, keyed by dtype
// (kind, size, byte order). Parsers, the combiner, the reference writer and verify all decode
// fill values, coordinates and attribute values through it, so a byte-order or half-float rule
// is written once.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <variant>

#include "vz/model/dataset.h"

namespace vz::model {

// One decoded number: signed integers as int64, unsigned integers (and bools) as uint64,
// floats of every size as double (exact for half, single and double precision).
using Number = std::variant<std::int64_t, std::uint64_t, double>;

// The first `size` bytes of `bytes` (1-8, at most bytes.size()) as an unsigned integer in
// `byte_order` ('>' big-endian, anything else little-endian). Returns 0 for a size out of range.
std::uint64_t LoadUnsigned(std::span<const std::uint8_t> bytes, std::size_t size, char byte_order);
// Writes the low `size` bytes of `value` (1-8, at most bytes.size()) in `byte_order`.
void StoreUnsigned(std::span<std::uint8_t> bytes, std::size_t size, char byte_order,
                   std::uint64_t value);
// The two's-complement value of the low `size` bytes of `value`.
std::int64_t SignExtend(std::uint64_t value, std::size_t size);
// An IEEE 754 binary16 value (subnormals, infinities and NaN included).
double HalfToDouble(std::uint16_t bits);

// The number held by one element of `dtype`: kInt and kUInt of 1-8 bytes, kBool (its stored
// integer, as uint64), kFloat of 2, 4 or 8 bytes. nullopt for any other dtype or when `element` is
// shorter than dtype.size.
std::optional<Number> DecodeNumber(const DType& dtype, std::span<const std::uint8_t> element);
// The value as a double (integers beyond 2^53 are rounded).
double ToDouble(const Number& n);

}  // namespace vz::model
