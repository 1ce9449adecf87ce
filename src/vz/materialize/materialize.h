// The stage between parsing and writing that reads what the references embed: small chunks,
// arrays that must be decoded (filters no zarr reader has, --loadable-vars) and the netCDF fill
// chunks. It is the only part of the output path that does I/O, so the writers in refs/ stay
// pure functions of the model.
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "vz/base/error.h"
#include "vz/io/byte_source.h"
#include "vz/model/dataset.h"
#include "vz/refs/kerchunk.h"

namespace vz::materialize {

// Reads what must be embedded (small chunks, compact data, vlen strings, data under filters
// that need decoding) from `source` into each array's manifest, and rewrites those arrays'
// metadata accordingly. Errors name the array and the filter.
// `load` names arrays (index -> why, for errors) to decode and embed whole as well. Everything
// is read in one ReadMany.
Status MaterializeInline(model::VirtualDataset& dataset, io::ByteSource& source,
                         const refs::KerchunkOptions& options,
                         const std::map<std::size_t, std::string>& load = {});

// Reads and decodes the whole of `array` (chunked or contiguous) into memory, turning it into a
// compact array without filters: loaded variables (--loadable-vars) and data under filters only
// vzgen decodes. Chunks never written read as the fill value. Fails above max_decoded_inline.
Status LoadArray(model::Array& array, io::ByteSource& source, const refs::KerchunkOptions& options,
                 const std::string& reason);

}  // namespace vz::materialize
