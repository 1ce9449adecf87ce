// Version 2 B-trees (spec III.A.2): header "BTHD", internal "BTIN" and leaf "BTLF" nodes, each
// checksummed. Used for dense links (record types 5, 6), dense attributes (8, 9) and chunk
// indexes (10, 11). This module only walks the tree; callers decode records of their type.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "vz/base/error.h"
#include "vz/hdf5/context.h"

namespace vz::hdf5 {

struct BTree2Header {
  std::uint8_t type = 0;
  std::uint32_t node_size = 0;
  std::uint16_t record_size = 0;
  std::uint16_t depth = 0;
  std::uint64_t root_address = 0;
  std::uint16_t root_records = 0;
  std::uint64_t total_records = 0;
};

Result<BTree2Header> ReadBTree2Header(FileContext& ctx, std::uint64_t address);

// Calls `visit` with the raw bytes of every record (record_size bytes each) in key order.
// Each level of the tree is fetched with one ReadMany. `visit` may return an error to stop.
Status ForEachBTree2Record(FileContext& ctx, std::uint64_t header_address,
                           const std::function<Status(std::span<const std::uint8_t>)>& visit);
// The same with a header already read by ReadBTree2Header (saves reading it twice).
Status ForEachBTree2Record(FileContext& ctx, const BTree2Header& header,
                           std::uint64_t header_address,
                           const std::function<Status(std::span<const std::uint8_t>)>& visit);

}  // namespace vz::hdf5
