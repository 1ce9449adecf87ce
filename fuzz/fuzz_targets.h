// Thin fuzz entry points (arrow-style): bytes in, the whole scan pipeline over a MemorySource,
// with tight limits so a fuzzer finds bugs rather than slow allocations.
#pragma once

#include <cstddef>
#include <cstdint>

#include "vz/base/limits.h"

namespace vz::fuzz {

inline Limits FuzzLimits() {
  Limits l;
  l.max_metadata_block = 1 << 20;
  l.max_metadata_total = 16 << 20;
  l.max_objects = 10'000;
  l.max_attributes = 1'000;
  l.max_chunks_per_array = 100'000;
  l.max_elements_decoded = 100'000;
  l.max_decoded_inline = 1 << 20;
  l.max_header_continuations = 1'000;
  return l;
}

int RunHdf5(const std::uint8_t* data, std::size_t size);
int RunNetcdf3(const std::uint8_t* data, std::size_t size);
// A DMR++ sidecar: parsed, its chunks embedded from a small stand-in granule, references written.
int RunDmrpp(const std::uint8_t* data, std::size_t size);
// A kerchunk reference store (what append reads): parsed, written, and combined with itself.
int RunRefStore(const std::uint8_t* data, std::size_t size);
// What the collection job reads from CMR and from the user: a granules.umm_json page (its
// data files and links) and a collection profile (and the searches planned from it).
int RunCatalog(const std::uint8_t* data, std::size_t size);

}  // namespace vz::fuzz
