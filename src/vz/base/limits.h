// Every cap on what an input file may make us allocate or traverse, with its default, in one
// place (TileDB-style). Parsers receive a const Limits& and never invent their own caps.
#pragma once

#include <cstdint>

namespace vz {

struct Limits {
  // Largest single metadata structure we will read (object header chunk, heap block, B-tree
  // node, attribute value, netCDF-3 header).
  std::uint64_t max_metadata_block = 64ull << 20;
  // Total bytes of metadata one file may make us read.
  std::uint64_t max_metadata_total = 1ull << 30;
  // Number of objects (groups + datasets) in one file.
  std::uint64_t max_objects = 1'000'000;
  // Links followed through nested groups (depth of the tree).
  std::uint32_t max_depth = 64;
  // Attributes on one object.
  std::uint32_t max_attributes = 100'000;
  // Array rank.
  std::uint32_t max_rank = 32;
  // Chunks in one array.
  std::uint64_t max_chunks_per_array = 50'000'000;
  // Elements of one attribute or of one vlen-string array we decode.
  std::uint64_t max_elements_decoded = 100'000'000;
  // Bytes of decoded data we will inline for one array (filters no reader can decode).
  std::uint64_t max_decoded_inline = 64ull << 20;
  // Continuation messages followed for one object header.
  std::uint32_t max_header_continuations = 100'000;
  // Depth of B-trees and heap indirection.
  std::uint32_t max_tree_depth = 64;
};

}  // namespace vz
