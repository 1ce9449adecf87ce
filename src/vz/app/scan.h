// `vzgen scan` and `vzgen inspect`: one file in, references (or a tree) out.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

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
};

// Opens `url` (local, https:// or s3://) and parses its metadata.
Result<model::VirtualDataset> OpenAndParse(const std::string& url, const ScanOptions& options,
                                           OpenedFile& file);

// Scans `url` and writes kerchunk JSON to `output` ("-" for stdout), atomically.
// Warnings (links not followed, ...) are appended to `warnings` when given.
Status Scan(const std::string& url, const std::string& output, const ScanOptions& options,
            std::vector<std::string>* warnings = nullptr);

// Prints the tree of `url` (groups, arrays, dtype, shape, chunks, filters, bytes) to `out`.
Status Inspect(const std::string& url, const ScanOptions& options, std::ostream& out);

}  // namespace vz::app
