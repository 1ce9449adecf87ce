// Checked arithmetic for every offset + length and every product of dimensions that comes
// from untrusted input.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "vz/base/error.h"

namespace vz {

inline std::optional<std::uint64_t> AddU64(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

inline std::optional<std::uint64_t> MulU64(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// a + b, or a kCorrupt error naming `what`.
Result<std::uint64_t> CheckedAdd(std::uint64_t a, std::uint64_t b, const char* what);
// a * b, or a kCorrupt error naming `what`.
Result<std::uint64_t> CheckedMul(std::uint64_t a, std::uint64_t b, const char* what);
// Product of all values (1 for an empty list), or an error naming `what`.
Result<std::uint64_t> CheckedProduct(std::span<const std::uint64_t> values, const char* what);
// ceil(a / b) for b > 0.
inline std::uint64_t CeilDiv(std::uint64_t a, std::uint64_t b) { return a / b + (a % b != 0); }

// Narrowing that fails loudly instead of truncating.
Result<std::size_t> ToSize(std::uint64_t v, const char* what);

// "0x1a2b" for messages.
std::string Hex(std::uint64_t v);

}  // namespace vz
