// netCDF classic (CDF-1), 64-bit offset (CDF-2) and CDF-5 headers (the netCDF "File Format
// Specification"): dimensions, global and variable attributes with their real types, and
// every variable's data as references (record variables: one chunk per record).
#pragma once

#include <cstdint>
#include <span>

#include "vz/base/error.h"
#include "vz/base/limits.h"
#include "vz/io/byte_source.h"
#include "vz/model/dataset.h"

namespace vz::netcdf3 {

bool LooksLikeNetcdf3(std::span<const std::uint8_t> head);

Result<model::VirtualDataset> Read(io::ByteSource& source, const Limits& limits = {});

}  // namespace vz::netcdf3
