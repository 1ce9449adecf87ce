#include "vz/app/scan.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "vz/app/atomic_file.h"
#include "vz/app/sources.h"
#include "vz/hdf5/reader.h"
#include "vz/materialize/materialize.h"
#include "vz/netcdf3/reader.h"
#include "vz/refs/store.h"

namespace vz::app {

namespace {

// One rule for every format: data that lies past the end of the file means the file was
// truncated (or its metadata lies), and references to it would fail in every reader.
Status CheckDataInFile(const model::VirtualDataset& ds, std::uint64_t size) {
  for (const auto& a : ds.arrays) {
    const auto& m = a.manifest;
    for (std::size_t i = 0; i < m.size(); ++i) {
      if (!m.path_ids.empty() && m.path_ids[i] != 0) continue;  // an external file
      if (m.inline_data.count(i) != 0) continue;
      if (m.offsets[i] > size || m.lengths[i] > size - m.offsets[i]) {
        return Corrupt(fmt::format(
            "{}: chunk {} of {} at {:#x} ({} bytes) ends past the end of the file ({} bytes); "
            "the file is truncated",
            a.path, i, m.size(), m.offsets[i], m.lengths[i], size));
      }
    }
  }
  return Ok();
}

}  // namespace

Result<model::VirtualDataset> ParseFile(io::ByteSource& source, const Limits& limits) {
  VZ_ASSIGN_OR_RETURN(auto info, source.Stat());
  if (info.size == 0) return Corrupt("empty file: neither HDF5 nor netCDF");
  VZ_ASSIGN_OR_RETURN(auto head, source.ReadAt(0, std::min<std::uint64_t>(info.size, 8)));
  if (netcdf3::LooksLikeNetcdf3(head)) {
    VZ_ASSIGN_OR_RETURN(auto ds, netcdf3::Read(source, limits));
    if (ds.paths.empty()) ds.paths.push_back(source.url());
    VZ_TRY(CheckDataInFile(ds, info.size));
    return ds;
  }
  // HDF4 (MODIS, AIRS, ...) shares HDF5's .hdf name but not its format.
  static constexpr std::uint8_t kHdf4[] = {0x0e, 0x03, 0x13, 0x01};
  if (head.size() >= 4 && std::equal(kHdf4, kHdf4 + 4, head.begin())) {
    return Corrupt("an HDF4 file: vzgen reads HDF5, netCDF-4 and netCDF-3, not HDF4");
  }
  hdf5::ReadOptions options;
  options.limits = limits;
  // HDF5 may sit behind a user block: the reader searches 0, 512, 1024, ... itself.
  auto result = hdf5::Read(source, options);
  if (!result.ok() && result.error().code() == ErrorCode::kNotFound) {
    return Corrupt("not an HDF5, netCDF-4 or netCDF-3 file (no signature found)");
  }
  if (result.ok()) VZ_TRY(CheckDataInFile(*result, info.size));
  return result;
}

io::BlockCacheOptions CacheOptionsFor(const std::string& url, const ScanOptions& options) {
  io::BlockCacheOptions cache = options.cache;
  const bool remote = url.find("://") != std::string::npos && url.rfind("file://", 0) != 0;
  if (!remote && !options.cache_set_by_user) {
    // A local read costs a system call, not a round trip: read less and let misses come.
    cache.first_read = 64 << 10;
    cache.block_size = 16 << 10;
    cache.prefetch = false;
  }
  return cache;
}

std::uint64_t OpenedFile::bytes() {
  return (source ? source->bytes() : 0) + (sidecar ? sidecar->bytes() : 0) +
         GranuleOpenRounds(*this);  // one byte each
}
std::uint64_t OpenedFile::requests() {
  return (source ? source->requests() : 0) + (sidecar ? sidecar->requests() : 0) +
         GranuleOpenRounds(*this);
}
std::uint64_t OpenedFile::rounds() {
  return (source ? source->rounds() : 0) + (sidecar ? sidecar->rounds() : 0) +
         GranuleOpenRounds(*this);
}

refs::KerchunkOptions KerchunkOptionsFor(const OpenedFile& file, const ScanOptions& options) {
  refs::KerchunkOptions k = options.kerchunk;
  if (!file.granule_readable) k.inline_threshold = 0;
  return k;
}

Result<model::VirtualDataset> OpenAndParse(const std::string& url, const ScanOptions& options,
                                           OpenedFile& file) {
  if (options.metadata != MetadataSource::kGranule || IsSidecarUrl(url)) {
    return OpenAndParseSidecar(url, options, file);
  }
  return OpenAndParseGranule(url, options, file);
}

Result<model::VirtualDataset> OpenAndParseGranule(const std::string& url,
                                                  const ScanOptions& options, OpenedFile& file) {
  RemoteOptions remote = RemoteOptionsFromEnvironment();
  remote.open_read = options.cache.first_read;
  remote.open_tail = options.cache.tail_read;
  VZ_ASSIGN_OR_RETURN(file.raw, OpenUrl(url, remote));
  file.source = std::make_unique<io::CountingSource>(*file.raw);
  file.cache = std::make_unique<io::BlockCache>(*file.source, CacheOptionsFor(url, options));
  VZ_ASSIGN_OR_RETURN(auto dataset, ParseFile(*file.cache, options.limits));
  dataset.group_dims_as_paths = options.kerchunk.group_dims_as_paths;
  return dataset;
}

Status Scan(const std::string& url, const std::string& output, const ScanOptions& options,
            std::vector<std::string>* warnings) {
  OpenedFile file;
  VZ_ASSIGN_OR_RETURN(auto parsed, OpenAndParse(url, options, file), "in {}", url);
  model::VirtualDataset& dataset = parsed;
  // Chunk data is read once: served from the metadata blocks when already there (the first
  // read often holds the whole of a small granule), otherwise read without caching.
  io::UncachedView data(*file.cache);
  VZ_TRY(materialize::MaterializeInline(dataset, data, KerchunkOptionsFor(file, options))
             .Annotate("in " + url));
  VZ_TRY(CheckGranuleAgainstSidecar(file, dataset));
  if (warnings != nullptr) {
    for (const auto& w : dataset.warnings) warnings->push_back(fmt::format("{}: {}", url, w));
  }
  // WriteTranslated translates everything before it writes: an error leaves no partial output.
  auto write = [&](std::ostream& out) {
    return refs::WriteTranslated(dataset, out).Annotate("in " + url);
  };
  if (output == "-") {
    VZ_TRY(write(std::cout));
    std::cout.flush();
    if (!std::cout) return IoError("cannot write to standard output");
    return Ok();
  }
  return WriteFileAtomically(output, write);
}

namespace {

std::string FilterList(const std::vector<model::Filter>& filters) {
  std::vector<std::string> names;
  for (const auto& f : filters) {
    static const char* const kKnown[] = {"",     "deflate", "shuffle",    "fletcher32",
                                         "szip", "nbit",    "scaleoffset"};
    std::string n = !f.name.empty() ? f.name
                    : f.id < 7      ? std::string(kKnown[f.id])
                                    : fmt::format("filter{}", f.id);
    if (!f.client_data.empty()) n += fmt::format("({})", fmt::join(f.client_data, ","));
    names.push_back(n);
  }
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, " | "));
}

const char* LayoutName(model::Layout l) {
  switch (l) {
    case model::Layout::kCompact:
      return "compact";
    case model::Layout::kContiguous:
      return "contiguous";
    case model::Layout::kChunked:
      return "chunked";
    case model::Layout::kVirtual:
      return "virtual";
  }
  return "?";
}

std::string Shape(const std::vector<std::uint64_t>& shape) {
  return fmt::format("({})", fmt::join(shape, ", "));
}

}  // namespace

Status Inspect(const std::string& url, const ScanOptions& options, std::ostream& out) {
  OpenedFile file;
  VZ_ASSIGN_OR_RETURN(auto parsed, OpenAndParse(url, options, file), "in {}", url);
  const model::VirtualDataset& ds = parsed;
  out << fmt::format("{} ({})\n", url, ds.format);
  std::vector<std::string> group_paths;
  for (const auto& g : ds.groups) group_paths.push_back(g.path);
  for (const auto& g : ds.groups) {
    out << fmt::format("group {}  ({} attributes)\n", g.path, g.attributes.size());
    for (const auto& a : ds.arrays) {
      auto slash = a.path.rfind('/');
      std::string parent = slash == 0 ? "/" : a.path.substr(0, slash);
      if (parent != g.path) continue;
      std::uint64_t stored = 0;
      for (auto len : a.manifest.lengths) stored += len;
      out << fmt::format("  {}  {}  shape {}  chunks {}  {}{}\n", a.Name(), a.dtype.NumpyStr(),
                         Shape(a.shape), Shape(a.chunk_shape), LayoutName(a.layout),
                         a.chunk_index.empty() ? "" : " (" + a.chunk_index + ")");
      out << fmt::format("      filters {}  {} chunks  {} bytes stored", FilterList(a.filters),
                         a.manifest.size(), stored);
      std::vector<std::string> dims;
      for (const auto& d : a.dims) dims.push_back(d.empty() ? "-" : d);
      if (!dims.empty()) out << fmt::format("  dims ({})", fmt::join(dims, ", "));
      if (a.is_dimension_only) out << "  [netCDF dimension only]";
      if (!a.unsupported.empty()) out << "  [unsupported: " << a.unsupported << "]";
      out << fmt::format("  {} attributes\n", a.attributes.size());
    }
  }
  for (const auto& w : ds.warnings) out << "warning: " << w << "\n";
  return Ok();
}

}  // namespace vz::app
