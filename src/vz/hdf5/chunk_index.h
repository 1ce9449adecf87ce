// The Data Layout message (spec IV.A.2.i, versions 1-4) and every chunk index it can point to:
// v1 B-tree (type 1 nodes), single chunk, implicit, fixed array (incl. paged), extensible
// array, v2 B-tree (record types 10 and 11). Output: one ChunkRecord per allocated chunk.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vz/base/error.h"
#include "vz/hdf5/context.h"
#include "vz/model/dataset.h"

namespace vz::hdf5 {

enum class ChunkIndexType : std::uint8_t {
  kBTreeV1 = 0,  // layout versions 1-3 (and used for them)
  kSingleChunk = 1,
  kImplicit = 2,
  kFixedArray = 3,
  kExtensibleArray = 4,
  kBTreeV2 = 5,
};

struct DataLayout {
  std::uint8_t version = 0;
  model::Layout layout = model::Layout::kContiguous;
  // Contiguous: address/size of the data (address may be undefined: never written).
  std::uint64_t address = kUndefinedAddress;
  std::uint64_t size = 0;
  // Compact: the raw data bytes.
  std::vector<std::uint8_t> compact_data;
  // Chunked: chunk dimensions in elements (without the trailing element-size dimension that
  // layout versions 1-3 store), the element size, and the index.
  std::vector<std::uint64_t> chunk_dims;
  std::uint32_t element_size = 0;
  ChunkIndexType index_type = ChunkIndexType::kBTreeV1;
  std::uint8_t flags = 0;  // layout v4 chunked flags
  std::uint64_t index_address = kUndefinedAddress;
  // Single chunk index with filters: the filtered size and filter mask from the message.
  std::uint64_t single_filtered_size = 0;
  std::uint32_t single_filter_mask = 0;
  // Index-specific parameters (layout v4).
  std::uint8_t fa_page_bits = 0;  // fixed array: max data block page elements bits
  std::uint8_t ea_max_bits = 0, ea_index_elements = 0, ea_min_pointers = 0, ea_min_elements = 0,
               ea_page_bits = 0;
  std::uint32_t bt2_node_size = 0;
  std::uint8_t bt2_split_percent = 0, bt2_merge_percent = 0;
};

// Decodes a Data Layout message body. `rank` is the dataspace rank (needed by versions 1-2).
Result<DataLayout> ParseDataLayout(const FileContext& ctx, ByteCursor& message, std::size_t rank);

struct ChunkRecord {
  std::vector<std::uint64_t> offset;  // element offset of the chunk's first element, per axis
  std::uint64_t address = 0;          // absolute file offset
  std::uint64_t size = 0;             // stored size in bytes
  std::uint32_t filter_mask = 0;
};

struct ChunkIndexInput {
  const DataLayout* layout = nullptr;
  std::vector<std::uint64_t> dims;      // current dataspace dims
  std::vector<std::uint64_t> max_dims;  // dataspace max dims (kUnlimited where unlimited)
  bool filtered = false;                // the dataset has a filter pipeline
};

// Every allocated chunk of the dataset, in index order. Each tree / array level is fetched
// with one ReadMany. Unallocated chunks (undefined address) are omitted.
Result<std::vector<ChunkRecord>> ReadChunkIndex(FileContext& ctx, const ChunkIndexInput& input);

}  // namespace vz::hdf5
