// For the unit tests that write header messages by hand.
#pragma once

#include <cstdint>
#include <vector>

namespace vz::hdf5 {

// Appends the low `n` bytes of `v`, little-endian, as HDF5 stores its fields.
inline void PutLE(std::vector<std::uint8_t>& b, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

}  // namespace vz::hdf5
