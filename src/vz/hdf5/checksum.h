// Jenkins lookup3 "hashlittle", the checksum HDF5 puts on v2 object headers, v2 B-tree nodes,
// fractal heap blocks, fixed/extensible array blocks and superblock v2/v3 (spec §"Checksums").
#pragma once

#include <cstdint>
#include <span>

#include "vz/base/error.h"

namespace vz::hdf5 {

std::uint32_t Lookup3(std::span<const std::uint8_t> data, std::uint32_t initval = 0);

// Verifies that the 4 little-endian bytes after `covered` equal Lookup3(covered); the error
// names `what` and the absolute file offset `at` of the structure.
Status VerifyChecksum(std::span<const std::uint8_t> covered, std::uint32_t stored, const char* what,
                      std::uint64_t at);

}  // namespace vz::hdf5
