// Native HDF5 / netCDF-4 metadata reader. Reads only through a ByteSource (normally a
// BlockCache), never libhdf5. Produces a model::VirtualDataset with every group and dataset,
// attributes decoded, dimension scales resolved, and each dataset's chunk manifest.
#pragma once

#include <string>

#include "vz/base/error.h"
#include "vz/base/limits.h"
#include "vz/io/byte_source.h"
#include "vz/model/dataset.h"

namespace vz::hdf5 {

struct ReadOptions {
  Limits limits;
};

// True when the bytes at one of HDF5's superblock search offsets (0, 512, 1024, ...) carry the
// signature. `head` is the first bytes of the file.
bool LooksLikeHdf5(std::span<const std::uint8_t> head);

// Parses the whole file's metadata. Errors name the object path and byte offset.
Result<model::VirtualDataset> Read(io::ByteSource& source, const ReadOptions& options = {});

}  // namespace vz::hdf5
