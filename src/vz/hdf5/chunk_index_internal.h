// Pieces shared by the chunk index readers (chunk_index.cc, array_index.cc). Not part of the
// module's interface.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vz/base/error.h"
#include "vz/hdf5/chunk_index.h"
#include "vz/hdf5/context.h"

namespace vz::hdf5::internal {

// Collects ChunkRecords: skips unallocated chunks and chunks outside the current extent,
// checks that each chunk lies inside the file and that the count stays under the limit.
class ChunkSink {
 public:
  ChunkSink(FileContext& ctx, const ChunkIndexInput& input, std::vector<ChunkRecord>& out)
      : ctx_(ctx), input_(input), out_(out) {}

  // `offsets` are element offsets (one per axis); `address` is relative to the base address.
  Status Add(std::vector<std::uint64_t> offsets, std::uint64_t address, std::uint64_t size,
             std::uint32_t filter_mask);
  // Chunk grid coordinates times the chunk dims.
  Status AddScaled(std::span<const std::uint64_t> scaled, std::uint64_t address, std::uint64_t size,
                   std::uint32_t filter_mask);

 private:
  FileContext& ctx_;
  const ChunkIndexInput& input_;
  std::vector<ChunkRecord>& out_;
};

// Maps the linear index used by the array indexes (fixed array, extensible array, implicit)
// to chunk grid coordinates: row-major over `order` (slowest axis first), where every axis but
// possibly the slowest has a bounded number of chunks.
struct LinearGrid {
  std::vector<std::size_t> order;     // axis indices, slowest first
  std::vector<std::uint64_t> counts;  // chunks along order[k]; counts[0] may be unbounded
  // Number of linear indexes when every axis is bounded (checked product).
  Result<std::uint64_t> Total() const;
  std::vector<std::uint64_t> Scaled(std::uint64_t index) const;
};

// The chunk grid over the maximum dimensions (current ones where a max is unlimited/absent)
// in row-major order, as fixed arrays and implicit indexes number their chunks. With
// `unlimited_axis` >= 0 that axis becomes the slowest one (extensible arrays).
Result<LinearGrid> MakeGrid(const ChunkIndexInput& input, int unlimited_axis);

// Size in bytes of an unfiltered chunk (product of chunk dims * element size).
Result<std::uint64_t> UnfilteredChunkBytes(const DataLayout& layout);

// One fixed/extensible array element: a chunk address, plus for filtered datasets (client id
// 1) its size and filter mask.
struct ArrayElement {
  std::uint64_t address = kUndefinedAddress;
  std::uint64_t size = 0;
  std::uint32_t filter_mask = 0;
};
Result<ArrayElement> DecodeArrayElement(const FileContext& ctx, ByteCursor& cur, bool filtered,
                                        std::size_t element_size, std::uint64_t unfiltered_size);
// Checks the element size of an array header against the element format of client `client`.
Status CheckArrayElementSize(const FileContext& ctx, std::uint8_t client, std::size_t element_size,
                             const char* what, std::uint64_t at);

Status ReadFixedArray(FileContext& ctx, const ChunkIndexInput& input, ChunkSink& sink);
Status ReadExtensibleArray(FileContext& ctx, const ChunkIndexInput& input, ChunkSink& sink);

}  // namespace vz::hdf5::internal
