// The kerchunk JSON v1 output contract (../docs/output.md): .zgroup/.zattrs/.zarray as
// JSON-encoded strings, "."-separated chunk keys, every codec in "filters" in pipeline order,
// kerchunk's fill-value rules, hidden attributes dropped, _ARRAY_DIMENSIONS on every array,
// inline data as UTF-8 text or "base64:". Written streaming: one key at a time.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>

#include "vz/base/error.h"
#include "vz/model/dataset.h"

namespace vz::refs {

struct KerchunkOptions {
  // Chunks whose stored size is below this many bytes are embedded (kerchunk's inline_threshold).
  std::uint64_t inline_threshold = 500;
  // Arrays whose filters no numcodecs reader can decode are decoded and inlined up to this size
  // (by materialize::MaterializeInline, which does the reading).
  std::uint64_t max_decoded_inline = 64ull << 20;
  // Dimension names in groups as kerchunk writes them ("grp/time"), not as netCDF readers show
  // them ("time"): VirtualDataset::group_dims_as_paths (--group-dims kerchunk).
  bool group_dims_as_paths = false;
};

// Writes the dataset as kerchunk JSON v1. Chunk URLs are dataset.paths[path_id].
Status WriteKerchunkJson(const model::VirtualDataset& dataset, const KerchunkOptions& options,
                         std::ostream& out);

}  // namespace vz::refs
