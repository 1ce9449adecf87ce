// Global heap collections (spec III.E): "GCOL", version 1, collection size, then objects
// (index 2, reference count 2, reserved 4, size L, data padded to 8). Index 0 marks free space.
// Variable-length data elements point into them with (length 4, collection address, index 4).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "vz/base/error.h"
#include "vz/hdf5/context.h"

namespace vz::hdf5 {

class GlobalHeap {
 public:
  // The object `index` of the collection at relative `collection_address`. Collections are
  // read whole once and cached for the lifetime of this object, which the view returned
  // points into.
  Result<std::span<const std::uint8_t>> Get(FileContext& ctx, std::uint64_t collection_address,
                                            std::uint32_t index);

 private:
  using Collection = std::map<std::uint32_t, std::vector<std::uint8_t>>;
  Result<const Collection*> Load(FileContext& ctx, std::uint64_t address);
  std::map<std::uint64_t, Collection> collections_;
};

}  // namespace vz::hdf5
