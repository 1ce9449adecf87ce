#include "vz/codecs/assemble.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "vz/base/checked.h"

namespace vz::codecs {
namespace {

// Product of the values times element_size, or nullopt on overflow.
std::optional<std::uint64_t> ByteCount(std::span<const std::uint64_t> shape,
                                       std::size_t element_size) {
  std::optional<std::uint64_t> n = element_size;
  for (const std::uint64_t d : shape) {
    n = MulU64(*n, d);
    if (!n) return std::nullopt;
  }
  return n;
}

}  // namespace

void CopyChunkIntoArray(std::span<const std::uint8_t> chunk,
                        std::span<const std::uint64_t> chunk_coords,
                        std::span<const std::uint64_t> chunk_shape,
                        std::span<const std::uint64_t> array_shape, std::size_t element_size,
                        std::span<std::uint8_t> array) {
  const std::size_t rank = array_shape.size();
  if (chunk_coords.size() != rank || chunk_shape.size() != rank || element_size == 0) return;
  const auto chunk_bytes = ByteCount(chunk_shape, element_size);
  const auto array_bytes = ByteCount(array_shape, element_size);
  if (!chunk_bytes || !array_bytes || *chunk_bytes != chunk.size() ||
      *array_bytes != array.size()) {
    return;
  }
  if (rank == 0) {
    std::memcpy(array.data(), chunk.data(), element_size);
    return;
  }
  // Element offset of the chunk's first element and the extent that lies inside the array.
  std::vector<std::uint64_t> start(rank);
  std::vector<std::uint64_t> extent(rank);
  for (std::size_t d = 0; d < rank; ++d) {
    const auto s = MulU64(chunk_coords[d], chunk_shape[d]);
    if (!s || *s >= array_shape[d]) return;
    start[d] = *s;
    extent[d] = std::min(chunk_shape[d], array_shape[d] - *s);
  }
  const std::size_t row_bytes = static_cast<std::size_t>(extent[rank - 1]) * element_size;
  std::vector<std::uint64_t> idx(rank, 0);  // position inside the chunk; the last axis stays 0
  while (true) {
    std::uint64_t src = 0;
    std::uint64_t dst = 0;
    for (std::size_t d = 0; d < rank; ++d) {
      src = src * chunk_shape[d] + idx[d];
      dst = dst * array_shape[d] + start[d] + idx[d];
    }
    std::memcpy(array.data() + dst * element_size, chunk.data() + src * element_size, row_bytes);
    // Advance the outer axes (all but the last) like an odometer.
    std::size_t d = rank - 1;
    while (d > 0) {
      --d;
      if (++idx[d] < extent[d]) break;
      idx[d] = 0;
      if (d == 0) return;
    }
    if (rank == 1) return;
  }
}

}  // namespace vz::codecs
