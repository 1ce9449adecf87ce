#include "vz/codecs/assemble.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace vz::codecs {
namespace {

using U64s = std::vector<std::uint64_t>;

// Assembles a whole array from chunks filled with each element's global row-major index
// (one byte per element, modulo 256 never matters here), then checks every element.
void CheckTiling(const U64s& array_shape, const U64s& chunk_shape, std::size_t element_size) {
  const std::size_t rank = array_shape.size();
  std::uint64_t total = 1;
  std::uint64_t per_chunk = 1;
  U64s grid(rank);
  for (std::size_t d = 0; d < rank; ++d) {
    total *= array_shape[d];
    per_chunk *= chunk_shape[d];
    grid[d] = (array_shape[d] + chunk_shape[d] - 1) / chunk_shape[d];
  }
  std::vector<std::uint8_t> array(total * element_size, 0xee);
  std::uint64_t chunks = 1;
  for (auto g : grid) chunks *= g;
  for (std::uint64_t c = 0; c < chunks; ++c) {
    U64s coords(rank);
    std::uint64_t rem = c;
    for (std::size_t d = rank; d-- > 0;) {
      coords[d] = rem % grid[d];
      rem /= grid[d];
    }
    // Element (i) of the chunk holds its global index, or 0xdd past the array edge.
    std::vector<std::uint8_t> chunk(per_chunk * element_size);
    for (std::uint64_t e = 0; e < per_chunk; ++e) {
      std::uint64_t erem = e;
      std::uint64_t global = 0;
      bool inside = true;
      U64s local(rank);
      for (std::size_t d = rank; d-- > 0;) {
        local[d] = erem % chunk_shape[d];
        erem /= chunk_shape[d];
      }
      for (std::size_t d = 0; d < rank; ++d) {
        const std::uint64_t g = coords[d] * chunk_shape[d] + local[d];
        inside &= g < array_shape[d];
        global = global * array_shape[d] + g;
      }
      for (std::size_t b = 0; b < element_size; ++b) {
        chunk[e * element_size + b] =
            inside ? static_cast<std::uint8_t>((global >> (8 * b)) & 0xff) : std::uint8_t{0xdd};
      }
    }
    CopyChunkIntoArray(chunk, coords, chunk_shape, array_shape, element_size, array);
  }
  for (std::uint64_t i = 0; i < total; ++i) {
    for (std::size_t b = 0; b < element_size; ++b) {
      ASSERT_EQ(array[i * element_size + b], static_cast<std::uint8_t>((i >> (8 * b)) & 0xff))
          << "element " << i << " byte " << b;
    }
  }
}

TEST(Assemble, TilesWithEdgeChunksClipped) {
  CheckTiling({10}, {3}, 1);
  CheckTiling({10}, {10}, 4);
  CheckTiling({7, 5}, {2, 3}, 2);
  CheckTiling({4, 6, 5}, {3, 4, 2}, 8);
  CheckTiling({3, 1, 4, 2}, {2, 1, 3, 2}, 2);
  CheckTiling({5, 5}, {8, 8}, 1);  // one chunk bigger than the array
}

TEST(Assemble, ScalarAndBadInputsAreSafe) {
  std::vector<std::uint8_t> array(4, 0);
  const std::vector<std::uint8_t> chunk = {1, 2, 3, 4};
  CopyChunkIntoArray(chunk, {}, {}, {}, 4, array);
  EXPECT_EQ(array, chunk);

  std::vector<std::uint8_t> out(6, 0);
  const U64s shape = {6};
  const U64s cshape = {4};
  // Chunk outside the array, wrong chunk buffer size, rank mismatch: nothing is written.
  CopyChunkIntoArray(chunk, U64s{2}, cshape, shape, 1, out);
  CopyChunkIntoArray(std::vector<std::uint8_t>(3), U64s{0}, cshape, shape, 1, out);
  CopyChunkIntoArray(chunk, U64s{0, 0}, cshape, shape, 1, out);
  CopyChunkIntoArray(chunk, U64s{~std::uint64_t{0}}, cshape, shape, 1, out);
  EXPECT_EQ(out, std::vector<std::uint8_t>(6, 0));
  // The edge chunk writes only the two elements inside the array.
  CopyChunkIntoArray(chunk, U64s{1}, cshape, shape, 1, out);
  EXPECT_EQ(out, (std::vector<std::uint8_t>{0, 0, 0, 0, 1, 2}));
}

}  // namespace
}  // namespace vz::codecs
