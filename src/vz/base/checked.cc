#include "vz/base/checked.h"

#include <fmt/format.h>

#include <limits>

namespace vz {

Result<std::uint64_t> CheckedAdd(std::uint64_t a, std::uint64_t b, const char* what) {
  if (auto r = AddU64(a, b)) return *r;
  return Corrupt(fmt::format("{} overflows: {} + {}", what, a, b));
}

Result<std::uint64_t> CheckedMul(std::uint64_t a, std::uint64_t b, const char* what) {
  if (auto r = MulU64(a, b)) return *r;
  return Corrupt(fmt::format("{} overflows: {} * {}", what, a, b));
}

Result<std::uint64_t> CheckedProduct(std::span<const std::uint64_t> values, const char* what) {
  std::uint64_t p = 1;
  for (auto v : values) {
    auto r = MulU64(p, v);
    if (!r) return Corrupt(fmt::format("{} overflows 64 bits", what));
    p = *r;
  }
  return p;
}

Result<std::size_t> ToSize(std::uint64_t v, const char* what) {
  if (v > std::numeric_limits<std::size_t>::max()) {
    return LimitExceeded(fmt::format("{} too large: {}", what, v));
  }
  return static_cast<std::size_t>(v);
}

std::string Hex(std::uint64_t v) { return fmt::format("{:#x}", v); }

}  // namespace vz
