// Placing decoded chunks into a whole array (row-major), for coordinate variables and inlined
// data assembled from several chunks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace vz::codecs {

// Copies the part of `chunk` (a full chunk of chunk_shape elements, row-major) that lies inside
// the array into `array` (array_shape elements, row-major). chunk_coords are chunk grid indices
// (not element offsets); edge chunks are clipped. Chunks wholly outside the array, or buffers
// of the wrong size, copy nothing: callers check sizes first; this function never writes out
// of bounds.
void CopyChunkIntoArray(std::span<const std::uint8_t> chunk,
                        std::span<const std::uint64_t> chunk_coords,
                        std::span<const std::uint64_t> chunk_shape,
                        std::span<const std::uint64_t> array_shape, std::size_t element_size,
                        std::span<std::uint8_t> array);

}  // namespace vz::codecs
