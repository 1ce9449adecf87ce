// Decoders for HDF5 filter pipelines: deflate, shuffle, fletcher32 (verified), szip (libaec),
// scale-offset, n-bit, bzip2, zstd, blosc, lz4 (HDF5 framing), lzf, bitshuffle (with lz4/zstd).
// Used to load coordinate variables, to inline data no numcodecs reader can decode, and to verify
// chunks.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vz/base/error.h"
#include "vz/model/dataset.h"

namespace vz::codecs {

struct ChunkInfo {
  model::DType dtype;                       // element type (size, byte order, kind)
  std::vector<std::uint64_t> chunk_shape;   // elements per axis of one chunk
  std::uint64_t max_output = 256ull << 20;  // decoded bytes allowed (decompression bombs)
};

// True when this build can decode the HDF5 filter id.
bool CanDecode(std::uint16_t filter_id);

// Reverses the pipeline (last filter first), skipping filter i when bit i of filter_mask is
// set. The result is the raw chunk (product(chunk_shape) * dtype.size bytes, in the dtype's
// byte order). Errors name the filter.
Result<std::vector<std::uint8_t>> DecodeChunk(std::span<const std::uint8_t> stored,
                                              std::span<const model::Filter> pipeline,
                                              std::uint32_t filter_mask, const ChunkInfo& info);

}  // namespace vz::codecs
