#include "vz/io/block_cache.h"

#include <algorithm>
#include <cstring>

#include "vz/base/checked.h"

namespace vz::io {

BlockCache::BlockCache(ByteSource& inner, BlockCacheOptions options)
    : inner_(inner), options_(options) {
  if (options_.block_size == 0) options_.block_size = 64 << 10;
}

Status BlockCache::EnsureStat() {
  if (have_info_) return Ok();
  VZ_ASSIGN_OR_RETURN(info_, inner_.Stat());
  have_info_ = true;
  return Ok();
}

Result<SourceInfo> BlockCache::Stat() {
  std::lock_guard<std::mutex> lock(mu_);
  VZ_TRY(EnsureStat());
  return info_;
}

// Collects the aligned blocks each range needs that are not covered by a cached block, and
// fetches them all with one inner ReadMany (adjacent blocks merged into one request).
Status BlockCache::FetchMissing(std::span<const ByteRange> ranges) {
  VZ_TRY(EnsureStat());
  std::vector<ByteRange> want;
  if (!first_done_) {
    first_done_ = true;
    std::uint64_t n = std::min(options_.first_read, info_.size);
    if (n > 0) want.push_back({0, n});
    const std::uint64_t tail = std::min(options_.tail_read, info_.size - n);
    if (tail > 0) want.push_back({info_.size - tail, tail});
  }
  auto covered = [&](std::uint64_t pos) -> std::uint64_t {
    // Returns the end of a cached block containing pos, or pos when none does.
    auto it = blocks_.upper_bound(pos);
    if (it == blocks_.begin()) return pos;
    --it;
    std::uint64_t end = it->first + it->second.data.size();
    return end > pos ? end : pos;
  };
  const std::uint64_t bs = options_.block_size;
  for (const auto& r : ranges) {
    VZ_TRY(ValidateReadRange(inner_.url(), r.offset, r.length, info_.size));
    std::uint64_t pos = r.offset;
    while (pos < r.end()) {
      std::uint64_t c = covered(pos);
      if (c > pos) {
        pos = c;
        continue;
      }
      bool in_want = false;
      for (const auto& w : want) {
        if (pos >= w.offset && pos < w.end()) {
          pos = w.end();
          in_want = true;
          break;
        }
      }
      if (in_want) continue;
      std::uint64_t start = pos / bs * bs;
      std::uint64_t end = std::min(info_.size, start + bs);
      want.push_back({start, end - start});
      pos = end;
    }
  }
  if (want.empty()) return Ok();
  std::sort(want.begin(), want.end(),
            [](const ByteRange& a, const ByteRange& b) { return a.offset < b.offset; });
  std::vector<ByteRange> merged;
  for (const auto& w : want) {
    if (!merged.empty() && merged.back().end() >= w.offset) {
      merged.back().length = std::max(merged.back().end(), w.end()) - merged.back().offset;
    } else {
      merged.push_back(w);
    }
  }
  VZ_ASSIGN_OR_RETURN(auto got, inner_.ReadMany(merged));
  for (std::size_t i = 0; i < merged.size(); ++i) {
    cached_bytes_ += got[i].size();
    auto& slot = blocks_[merged[i].offset];
    cached_bytes_ -= slot.data.size();
    slot.data = std::move(got[i]);
    slot.last_use = ++clock_;
  }
  return Ok();
}

Result<Bytes> BlockCache::Copy(std::uint64_t offset, std::uint64_t length) {
  VZ_ASSIGN_OR_RETURN(auto n, ToSize(length, "read length"));
  if (auto it = blocks_.upper_bound(offset); it != blocks_.begin()) {
    --it;  // the usual case, one block holds it all: copied without zeroing first
    if (offset >= it->first && offset + length <= it->first + it->second.data.size()) {
      it->second.last_use = ++clock_;
      const auto* p = it->second.data.data() + (offset - it->first);
      return Bytes(p, p + n);
    }
  }
  Bytes out(n);
  std::uint64_t pos = offset;
  while (pos < offset + length) {
    auto it = blocks_.upper_bound(pos);
    if (it == blocks_.begin()) return Internal("block cache miss after fetch");
    --it;
    std::uint64_t bend = it->first + it->second.data.size();
    if (bend <= pos) return Internal("block cache miss after fetch");
    std::uint64_t take = std::min(bend, offset + length) - pos;
    std::memcpy(out.data() + (pos - offset), it->second.data.data() + (pos - it->first),
                static_cast<std::size_t>(take));
    it->second.last_use = ++clock_;
    pos += take;
  }
  return out;
}

Result<std::vector<Bytes>> BlockCache::ReadUncached(std::span<const ByteRange> ranges,
                                                    std::uint64_t coalesce_gap) {
  std::vector<Bytes> out(ranges.size());
  std::vector<std::size_t> missing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    VZ_TRY(EnsureStat());
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      const auto& r = ranges[i];
      VZ_TRY(ValidateReadRange(inner_.url(), r.offset, r.length, info_.size));
      NoteRead(r);
      auto it = blocks_.upper_bound(r.offset);
      bool cached = r.length == 0;
      if (!cached && it != blocks_.begin()) {
        --it;
        cached = it->first + it->second.data.size() >= r.end();
      }
      if (cached) {
        VZ_ASSIGN_OR_RETURN(out[i], Copy(r.offset, r.length));
      } else {
        missing.push_back(i);
      }
    }
  }
  if (missing.empty()) return out;
  // Nearby ranges become one request; each range is then cut out of its request's bytes.
  std::sort(missing.begin(), missing.end(),
            [&](std::size_t a, std::size_t b) { return ranges[a].offset < ranges[b].offset; });
  constexpr std::uint64_t kMaxMerged = 16ull << 20;
  std::vector<ByteRange> merged;
  std::vector<std::size_t> merged_of(ranges.size());
  for (std::size_t i : missing) {
    const auto& r = ranges[i];
    if (!merged.empty() && r.offset <= merged.back().end() + coalesce_gap &&
        std::max(merged.back().end(), r.end()) - merged.back().offset <= kMaxMerged) {
      auto& m = merged.back();
      m.length = std::max(m.end(), r.end()) - m.offset;
    } else {
      merged.push_back(r);
    }
    merged_of[i] = merged.size() - 1;
  }
  VZ_ASSIGN_OR_RETURN(auto got, inner_.ReadMany(merged));
  if (got.size() != merged.size()) return Internal("ReadMany returned too few ranges");
  for (std::size_t i : missing) {
    const auto& m = merged[merged_of[i]];
    const auto& bytes = got[merged_of[i]];
    const std::uint64_t skip = ranges[i].offset - m.offset;
    if (bytes.size() < skip + ranges[i].length) return Internal("short coalesced read");
    out[i].assign(bytes.begin() + static_cast<std::ptrdiff_t>(skip),
                  bytes.begin() + static_cast<std::ptrdiff_t>(skip + ranges[i].length));
  }
  return out;
}

Result<Bytes> UncachedView::ReadAt(std::uint64_t offset, std::uint64_t length) {
  const ByteRange r{offset, length};
  VZ_ASSIGN_OR_RETURN(auto v, cache_.ReadUncached(std::span<const ByteRange>(&r, 1)));
  return std::move(v[0]);
}

void BlockCache::Evict() {
  while (cached_bytes_ > options_.capacity && blocks_.size() > 1) {
    auto victim = std::min_element(
        blocks_.begin(), blocks_.end(),
        [](const auto& a, const auto& b) { return a.second.last_use < b.second.last_use; });
    cached_bytes_ -= victim->second.data.size();
    blocks_.erase(victim);
  }
}

void BlockCache::NoteRead(const ByteRange& r) {
  const std::uint64_t window =
      options_.front_window != 0 ? options_.front_window : options_.first_read;
  if (r.offset < window) front_extent_ = std::max(front_extent_, r.end());
}

std::uint64_t BlockCache::front_extent() {
  std::lock_guard<std::mutex> lock(mu_);
  return front_extent_;
}

Result<Bytes> BlockCache::ReadAt(std::uint64_t offset, std::uint64_t length) {
  std::lock_guard<std::mutex> lock(mu_);
  ByteRange r{offset, length};
  NoteRead(r);
  VZ_TRY(FetchMissing(std::span<const ByteRange>(&r, 1)));
  auto out = Copy(offset, length);
  Evict();
  return out;
}

Result<std::vector<Bytes>> BlockCache::ReadMany(std::span<const ByteRange> ranges) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& r : ranges) NoteRead(r);
  VZ_TRY(FetchMissing(ranges));
  std::vector<Bytes> out;
  out.reserve(ranges.size());
  for (const auto& r : ranges) {
    VZ_ASSIGN_OR_RETURN(auto b, Copy(r.offset, r.length));
    out.push_back(std::move(b));
  }
  Evict();
  return out;
}

Status BlockCache::Prefetch(std::span<const ByteRange> ranges) {
  if (!options_.prefetch) return Ok();
  std::lock_guard<std::mutex> lock(mu_);
  VZ_TRY(FetchMissing(ranges));
  Evict();
  return Ok();
}

}  // namespace vz::io
