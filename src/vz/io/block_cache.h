// BlockCache: a ByteSource over another one that fetches aligned blocks, keeps them, and serves
// reads from them. The first read of a file is large (first_read bytes from offset 0: most
// netCDF-4 metadata sits at the front, and tail_read bytes from the end in the same round),
// later misses are fetched block by block, several missing blocks in one ReadMany so a whole
// B-tree level costs one round.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>

#include "vz/io/byte_source.h"

namespace vz::io {

struct BlockCacheOptions {
  std::uint64_t first_read = 4ull << 20;  // bytes read from offset 0 on first access
  std::uint64_t block_size = 256ull << 10;
  std::uint64_t capacity = 256ull << 20;  // bytes kept before least-recently-used blocks go
  // Bytes read from the end of the file together with the first read (same round): netCDF-4
  // writers often leave the last-written metadata (header continuations, B-tree nodes) there.
  std::uint64_t tail_read = 0;
  // Reads that start below this offset are measured by front_extent() (0: first_read).
  std::uint64_t front_window = 0;
  // Whether Prefetch hints are followed: worth it when a miss is a round trip, not for a
  // local file.
  bool prefetch = true;
};

class BlockCache final : public ByteSource {
 public:
  explicit BlockCache(ByteSource& inner, BlockCacheOptions options = {});

  const std::string& url() const override { return inner_.url(); }
  Result<SourceInfo> Stat() override;
  Result<Bytes> ReadAt(std::uint64_t offset, std::uint64_t length) override;
  // Fetches every missing block of every range in one inner ReadMany, then serves them.
  Result<std::vector<Bytes>> ReadMany(std::span<const ByteRange> ranges) override;
  // Makes sure the ranges are cached (one inner ReadMany for all that is missing).
  Status Prefetch(std::span<const ByteRange> ranges) override;
  bool WantsPrefetch() const override { return options_.prefetch; }
  // For chunk data, which is read once: ranges inside cached blocks are served from memory,
  // the others are read from the inner source in one ReadMany (ranges less than
  // `coalesce_gap` apart merged into one request) and not cached.
  Result<std::vector<Bytes>> ReadUncached(std::span<const ByteRange> ranges,
                                          std::uint64_t coalesce_gap = 64 << 10);

  // The end of the furthest range read (not prefetched) that starts inside the front window:
  // how much of a file's front its metadata and inlined data took.
  std::uint64_t front_extent();

 private:
  struct Block {
    Bytes data;
    std::uint64_t last_use = 0;
  };
  Status EnsureStat();
  Status FetchMissing(std::span<const ByteRange> ranges);
  Result<Bytes> Copy(std::uint64_t offset, std::uint64_t length);
  void Evict();

  ByteSource& inner_;
  BlockCacheOptions options_;
  std::mutex mu_;
  bool have_info_ = false;
  SourceInfo info_;
  bool first_done_ = false;
  // Keyed by start offset; blocks may have any length (the first read is one big block).
  std::map<std::uint64_t, Block> blocks_;
  std::uint64_t cached_bytes_ = 0;
  std::uint64_t clock_ = 0;
  std::uint64_t front_extent_ = 0;
  void NoteRead(const ByteRange& r);
};

// A ByteSource view of BlockCache::ReadUncached: what chunk readers (MaterializeInline) use.
class UncachedView final : public ByteSource {
 public:
  explicit UncachedView(BlockCache& cache) : cache_(cache) {}
  const std::string& url() const override { return cache_.url(); }
  Result<SourceInfo> Stat() override { return cache_.Stat(); }
  Result<Bytes> ReadAt(std::uint64_t offset, std::uint64_t length) override;
  Result<std::vector<Bytes>> ReadMany(std::span<const ByteRange> ranges) override {
    return cache_.ReadUncached(ranges);
  }

 private:
  BlockCache& cache_;
};

}  // namespace vz::io
