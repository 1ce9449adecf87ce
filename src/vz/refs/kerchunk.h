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
#include "vz/io/byte_source.h"
#include "vz/model/dataset.h"

namespace vz::refs {

struct KerchunkOptions {
  // Chunks whose stored size is below this many bytes are embedded (kerchunk's inline_threshold).
  std::uint64_t inline_threshold = 500;
  // Arrays whose filters no numcodecs reader can decode are decoded and inlined up to this size.
  std::uint64_t max_decoded_inline = 64ull << 20;
  // Dimension names in groups as kerchunk writes them ("grp/time"), not as netCDF readers show
  // them ("time"): VirtualDataset::group_dims_as_paths (--group-dims kerchunk).
  bool group_dims_as_paths = false;
};

// Reads what must be embedded (small chunks, compact data, vlen strings, data under filters
// that need decoding) from `source` into each array's manifest, and rewrites those arrays'
// metadata accordingly. Errors name the array and the filter.
// `load` names arrays (index -> why, for errors) to decode and embed whole as well. Everything
// is read in one ReadMany.
Status MaterializeInline(model::VirtualDataset& dataset, io::ByteSource& source,
                         const KerchunkOptions& options,
                         const std::map<std::size_t, std::string>& load = {});

// Reads and decodes the whole of `array` (chunked or contiguous) into memory, turning it into a
// compact array without filters: loaded variables (--loadable-vars) and data under filters only
// vzgen decodes. Chunks never written read as the fill value. Fails above max_decoded_inline.
Status LoadArray(model::Array& array, io::ByteSource& source, const KerchunkOptions& options,
                 const std::string& reason);

// Writes the dataset as kerchunk JSON v1. Chunk URLs are dataset.paths[path_id].
Status WriteKerchunkJson(const model::VirtualDataset& dataset, const KerchunkOptions& options,
                         std::ostream& out);

}  // namespace vz::refs
