// `vzgen scan` and `vzgen inspect`: one file in, references (or a tree) out.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "vz/app/dmrpp_input.h"
#include "vz/base/error.h"
#include "vz/base/limits.h"
#include "vz/io/block_cache.h"
#include "vz/io/byte_source.h"
#include "vz/model/dataset.h"
#include "vz/refs/kerchunk.h"

namespace vz::app {

struct ScanOptions {
  refs::KerchunkOptions kerchunk;
  // The first read and 64 KiB from the end of the file in one round.
  io::BlockCacheOptions cache{.first_read = 1ull << 20, .tail_read = 64ull << 10};
  bool cache_set_by_user = false;  // --first-read / --block-size / --tail-read given
  Limits limits;
  // --metadata / VZ_METADATA: the granule's own metadata, its DMR++ sidecar, or either. An input
  // ending in .dmrpp is always read as a sidecar.
  MetadataSource metadata = MetadataSource::kGranule;
};

// Read sizes for `url`: a local file is cheap to read again, so it gets a small first read and
// small blocks; a remote one gets one large first read (one round trip for the metadata).
io::BlockCacheOptions CacheOptionsFor(const std::string& url, const ScanOptions& options);

// Detects the format from the first bytes and parses the metadata of one file.
Result<model::VirtualDataset> ParseFile(io::ByteSource& source, const Limits& limits);

// An open granule: `source` counts every read of the underlying file (chunk data is read
// through it, once); `cache` serves metadata reads over it.
struct OpenedFile {
  std::unique_ptr<io::ByteSource> raw;
  std::unique_ptr<io::CountingSource> source;
  std::unique_ptr<io::BlockCache> cache;
  // Metadata read from a DMR++ sidecar (then `raw` is the granule, opened on its first read).
  std::unique_ptr<io::ByteSource> sidecar_raw;
  std::unique_ptr<io::CountingSource> sidecar;
  std::string sidecar_url;
  bool granule_readable = true;  // false: a local granule that is not there (nothing embedded)

  // What was read, sidecar included (and the opening of a granule behind it, when that was a
  // request of its own).
  std::uint64_t bytes();
  std::uint64_t requests();
  std::uint64_t rounds();
};

// Opens `url` (local, https:// or s3://) and parses its metadata: the granule's own, or its
// DMR++ sidecar's (options.metadata, or a URL ending in .dmrpp).
Result<model::VirtualDataset> OpenAndParse(const std::string& url, const ScanOptions& options,
                                           OpenedFile& file);
// The granule's own metadata, whatever options.metadata says.
Result<model::VirtualDataset> OpenAndParseGranule(const std::string& url,
                                                  const ScanOptions& options, OpenedFile& file);

// The writer options for a file OpenAndParse opened: nothing is embedded from a granule that
// is not there.
refs::KerchunkOptions KerchunkOptionsFor(const OpenedFile& file, const ScanOptions& options);

// Scans `url` and writes kerchunk JSON to `output` ("-" for stdout), atomically.
// Warnings (links not followed, ...) are appended to `warnings` when given.
Status Scan(const std::string& url, const std::string& output, const ScanOptions& options,
            std::vector<std::string>* warnings = nullptr);

// Prints the tree of `url` (groups, arrays, dtype, shape, chunks, filters, bytes) to `out`.
Status Inspect(const std::string& url, const ScanOptions& options, std::ostream& out);

}  // namespace vz::app
