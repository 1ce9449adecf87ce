// Chunk indexes (spec III.A.1 v1 B-trees, III.A.2 v2 B-trees, IV.A.2.i layout message).
//
// v1 B-tree, node type 1: "TREE", type, level, entries used, left and right siblings, then
// key 0, child 0, ..., key N. A key is (chunk size u32, filter mask u32, rank+1 u64 element
// offsets whose last is 0); at level 0 the children are the chunks themselves.
// Single chunk: the index address is the chunk. Implicit: chunks lie back to back at the index
// address, numbered row-major over the chunk grid of the maximum dimensions.
// v2 B-tree record type 10: (address, rank u64 scaled offsets); type 11: (address, chunk size
// of the remaining width, filter mask u32, scaled offsets).
// Fixed and extensible arrays are in array_index.cc.
#include "vz/hdf5/chunk_index.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

#include "vz/base/checked.h"
#include "vz/hdf5/btree2.h"
#include "vz/hdf5/chunk_index_internal.h"

namespace vz::hdf5 {

namespace internal {

namespace {
constexpr std::uint8_t kDontFilterPartialChunks = 0x01;  // layout v4 chunked flag bit 0
}  // namespace

Status ChunkSink::Add(std::vector<std::uint64_t> offsets, std::uint64_t address, std::uint64_t size,
                      std::uint32_t filter_mask) {
  if (ctx_.IsUndefined(address)) return Ok();
  for (std::size_t d = 0; d < offsets.size(); ++d) {
    // Chunks past the current extent belong to no element of the dataset.
    if (d < input_.dims.size() && offsets[d] >= input_.dims[d]) return Ok();
  }
  const std::uint64_t abs = ctx_.Absolute(address);
  auto end = AddU64(abs, size);
  if (!end || *end > ctx_.file_size || abs < address) {
    return Corrupt(fmt::format("chunk at {:#x} (+{} bytes) lies beyond the end of the file ({})",
                               abs, size, ctx_.file_size));
  }
  if (out_.size() >= ctx_.limits.max_chunks_per_array) {
    return LimitExceeded(
        fmt::format("more than {} chunks in one array", ctx_.limits.max_chunks_per_array));
  }
  if ((input_.layout->flags & kDontFilterPartialChunks) != 0) {
    // Such datasets store edge chunks that stick out of the extent without filters, yet
    // record mask 0 for them: say explicitly that every filter was skipped.
    const auto& chunk = input_.layout->chunk_dims;
    for (std::size_t d = 0; d < offsets.size() && d < chunk.size(); ++d) {
      if (offsets[d] + chunk[d] > input_.dims[d]) filter_mask = ~std::uint32_t{0};
    }
  }
  out_.push_back(ChunkRecord{std::move(offsets), abs, size, filter_mask});
  return Ok();
}

Status ChunkSink::AddScaled(std::span<const std::uint64_t> scaled, std::uint64_t address,
                            std::uint64_t size, std::uint32_t filter_mask) {
  const auto& chunk = input_.layout->chunk_dims;
  if (scaled.size() != chunk.size()) return Internal("scaled offset rank mismatch");
  std::vector<std::uint64_t> offsets(scaled.size());
  for (std::size_t d = 0; d < scaled.size(); ++d) {
    VZ_ASSIGN_OR_RETURN(offsets[d], CheckedMul(scaled[d], chunk[d], "chunk offset"));
  }
  return Add(std::move(offsets), address, size, filter_mask);
}

Result<std::uint64_t> LinearGrid::Total() const {
  return CheckedProduct(counts, "number of chunks");
}

std::vector<std::uint64_t> LinearGrid::Scaled(std::uint64_t index) const {
  std::vector<std::uint64_t> scaled(order.size());
  for (std::size_t k = order.size(); k-- > 0;) {
    if (k == 0) {
      scaled[order[k]] = index;
    } else {
      scaled[order[k]] = index % counts[k];
      index /= counts[k];
    }
  }
  return scaled;
}

Result<LinearGrid> MakeGrid(const ChunkIndexInput& input, int unlimited_axis) {
  const auto& chunk = input.layout->chunk_dims;
  LinearGrid g;
  if (unlimited_axis >= 0) g.order.push_back(static_cast<std::size_t>(unlimited_axis));
  for (std::size_t d = 0; d < chunk.size(); ++d) {
    if (static_cast<int>(d) != unlimited_axis) g.order.push_back(d);
  }
  for (std::size_t k = 0; k < g.order.size(); ++k) {
    const std::size_t d = g.order[k];
    std::uint64_t extent = input.dims[d];
    if (d < input.max_dims.size() && input.max_dims[d] != model::Array::kUnlimited) {
      extent = input.max_dims[d];
    }
    g.counts.push_back(static_cast<int>(d) == unlimited_axis ? ~std::uint64_t{0}
                                                             : CeilDiv(extent, chunk[d]));
  }
  return g;
}

Result<std::uint64_t> UnfilteredChunkBytes(const DataLayout& layout) {
  VZ_ASSIGN_OR_RETURN(auto n, CheckedProduct(layout.chunk_dims, "chunk size"));
  return CheckedMul(n, layout.element_size, "chunk size in bytes");
}

Status CheckArrayElementSize(const FileContext& ctx, std::uint8_t client, std::size_t element_size,
                             const char* what, std::uint64_t at) {
  if (client > 1) {
    return Unsupported(fmt::format("{} at {:#x}: client id {}", what, at, client));
  }
  const std::size_t o = ctx.size_of_offsets;
  const bool ok =
      client == 0 ? element_size == o : (element_size > o + 4 && element_size <= o + 4 + 8);
  if (!ok) {
    return Corrupt(fmt::format("{} at {:#x}: element size {} does not fit client id {}", what, at,
                               element_size, client));
  }
  return Ok();
}

Result<ArrayElement> DecodeArrayElement(const FileContext& ctx, ByteCursor& cur, bool filtered,
                                        std::size_t element_size, std::uint64_t unfiltered_size) {
  ArrayElement e;
  VZ_ASSIGN_OR_RETURN(e.address, ctx.ReadOffset(cur));
  if (!filtered) {
    e.size = unfiltered_size;
    return e;
  }
  VZ_ASSIGN_OR_RETURN(e.size, cur.UintLE(element_size - ctx.size_of_offsets - 4));
  VZ_ASSIGN_OR_RETURN(e.filter_mask, cur.U32());
  return e;
}

}  // namespace internal

namespace {

using internal::ChunkSink;

// v1 B-tree of raw data chunks. Each level is fetched in one ReadMany; node sizes are not
// known before reading (they depend on the superblock's K), so a node is read assuming the
// default K of 32 and re-read in a second round if it says it holds more entries.
Status ReadBTreeV1(FileContext& ctx, const ChunkIndexInput& input, ChunkSink& sink) {
  const DataLayout& lay = *input.layout;
  const std::size_t rank = lay.chunk_dims.size();
  const std::uint64_t o = ctx.size_of_offsets;
  const std::uint64_t header = 4 + 1 + 1 + 2 + 2 * o;
  const std::uint64_t key = 4 + 4 + 8 * (rank + 1);
  constexpr std::uint64_t kGuessEntries = 64;  // 2K for the default K = 32
  struct Node {
    std::uint64_t address;
    io::Bytes bytes;
  };
  std::vector<Node> level{{lay.index_address, {}}};
  std::unordered_set<std::uint64_t> visited;
  int expect_level = -1;  // unknown until the root is read
  for (std::uint32_t round = 0;; ++round) {
    if (round > ctx.limits.max_tree_depth) {
      return LimitExceeded(fmt::format("v1 B-tree at {:#x} deeper than {} levels",
                                       ctx.Absolute(lay.index_address), ctx.limits.max_tree_depth));
    }
    std::vector<io::ByteRange> ranges;
    for (const auto& n : level) {
      if (!visited.insert(n.address).second) {
        return Corrupt(fmt::format("v1 B-tree node at {:#x} is referenced twice (cycle)",
                                   ctx.Absolute(n.address)));
      }
      const std::uint64_t want = header + kGuessEntries * (key + o) + key;
      const std::uint64_t abs = ctx.Absolute(n.address);
      const std::uint64_t avail = abs < ctx.file_size ? ctx.file_size - abs : 0;
      ranges.push_back({n.address, std::min(want, std::max(avail, header))});
    }
    VZ_ASSIGN_OR_RETURN(auto blobs, ctx.ReadMany(ranges, "v1 B-tree node"));
    // Second round for nodes larger than the guess.
    std::vector<io::ByteRange> more;
    std::vector<std::size_t> more_index;
    for (std::size_t i = 0; i < level.size(); ++i) {
      if (blobs[i].size() < header) continue;  // reported below by the cursor
      const std::uint16_t entries = UnsafeLoadU16LE(blobs[i].data() + 6);
      const std::uint64_t need = header + entries * (key + o) + key;
      if (need > blobs[i].size()) {
        more.push_back({level[i].address, need});
        more_index.push_back(i);
      }
    }
    if (!more.empty()) {
      VZ_ASSIGN_OR_RETURN(auto extra, ctx.ReadMany(more, "v1 B-tree node"));
      for (std::size_t j = 0; j < extra.size(); ++j) blobs[more_index[j]] = std::move(extra[j]);
    }
    std::vector<Node> next;
    int this_level = -1;
    for (std::size_t i = 0; i < level.size(); ++i) {
      const std::uint64_t abs = ctx.Absolute(level[i].address);
      ByteCursor cur(blobs[i], abs);
      VZ_TRY(cur.ExpectMagic("TREE", "v1 B-tree node"));
      VZ_ASSIGN_OR_RETURN(auto type, cur.U8());
      VZ_ASSIGN_OR_RETURN(auto node_level, cur.U8());
      VZ_ASSIGN_OR_RETURN(auto entries, cur.U16());
      VZ_TRY(cur.Skip(static_cast<std::size_t>(2 * o)));  // siblings
      if (type != 1) {
        return Corrupt(
            fmt::format("v1 B-tree node at {:#x}: type {} is not a chunk node", abs, type));
      }
      if (expect_level >= 0 && node_level != expect_level) {
        return Corrupt(fmt::format("v1 B-tree node at {:#x}: level {} where {} was expected", abs,
                                   node_level, expect_level));
      }
      if (expect_level < 0 && node_level > ctx.limits.max_tree_depth) {
        return LimitExceeded(fmt::format("v1 B-tree node at {:#x}: level {}", abs, node_level));
      }
      this_level = node_level;
      for (std::uint16_t e = 0; e < entries; ++e) {
        VZ_ASSIGN_OR_RETURN(auto size, cur.U32());
        VZ_ASSIGN_OR_RETURN(auto mask, cur.U32());
        std::vector<std::uint64_t> offsets(rank);
        for (auto& v : offsets) {
          VZ_ASSIGN_OR_RETURN(v, cur.U64());
        }
        VZ_TRY(cur.Skip(8));  // the element-size axis offset (always 0)
        VZ_ASSIGN_OR_RETURN(auto child, ctx.ReadOffset(cur));
        if (node_level == 0) {
          for (std::size_t d = 0; d < rank; ++d) {
            if (offsets[d] % lay.chunk_dims[d] != 0) {
              return Corrupt(fmt::format(
                  "v1 B-tree node at {:#x}: chunk offset {} is not a multiple of the chunk size {}",
                  abs, offsets[d], lay.chunk_dims[d]));
            }
          }
          VZ_TRY(sink.Add(std::move(offsets), child, size, mask));
        } else {
          if (ctx.IsUndefined(child)) {
            return Corrupt(fmt::format("v1 B-tree node at {:#x}: undefined child", abs));
          }
          next.push_back({child, {}});
        }
      }
    }
    if (this_level <= 0 || next.empty()) break;
    expect_level = this_level - 1;
    level = std::move(next);
  }
  return Ok();
}

Status ReadSingleChunk(FileContext& ctx, const ChunkIndexInput& input, ChunkSink& sink) {
  const DataLayout& lay = *input.layout;
  if (ctx.IsUndefined(lay.index_address)) return Ok();
  std::uint64_t size = 0;
  std::uint32_t mask = 0;
  if (lay.flags & 0x02) {
    size = lay.single_filtered_size;
    mask = lay.single_filter_mask;
  } else {
    VZ_ASSIGN_OR_RETURN(size, internal::UnfilteredChunkBytes(lay));
  }
  return sink.Add(std::vector<std::uint64_t>(lay.chunk_dims.size(), 0), lay.index_address, size,
                  mask);
}

Status ReadImplicit(FileContext& ctx, const ChunkIndexInput& input, ChunkSink& sink) {
  const DataLayout& lay = *input.layout;
  if (ctx.IsUndefined(lay.index_address)) return Ok();
  VZ_ASSIGN_OR_RETURN(auto chunk_bytes, internal::UnfilteredChunkBytes(lay));
  VZ_ASSIGN_OR_RETURN(auto grid, internal::MakeGrid(input, -1));
  VZ_ASSIGN_OR_RETURN(auto total, grid.Total());
  if (total > ctx.limits.max_chunks_per_array) {
    return LimitExceeded(fmt::format("implicit chunk index with {} chunks", total));
  }
  VZ_ASSIGN_OR_RETURN(auto all_bytes, CheckedMul(total, chunk_bytes, "implicit index size"));
  VZ_TRY(CheckedAdd(lay.index_address, all_bytes, "implicit index end"));
  for (std::uint64_t i = 0; i < total; ++i) {
    VZ_TRY(sink.AddScaled(grid.Scaled(i), lay.index_address + i * chunk_bytes, chunk_bytes, 0));
  }
  return Ok();
}

Status ReadBTreeV2Index(FileContext& ctx, const ChunkIndexInput& input, ChunkSink& sink) {
  const DataLayout& lay = *input.layout;
  if (ctx.IsUndefined(lay.index_address)) return Ok();
  VZ_ASSIGN_OR_RETURN(auto hdr, ReadBTree2Header(ctx, lay.index_address));
  const std::size_t rank = lay.chunk_dims.size();
  const std::size_t o = ctx.size_of_offsets;
  const std::uint64_t at = ctx.Absolute(lay.index_address);
  bool filtered = false;
  std::size_t size_width = 0;
  if (hdr.type == 10) {
    if (hdr.record_size != o + 8 * rank) {
      return Corrupt(fmt::format("v2 B-tree chunk index at {:#x}: record size {} for rank {}", at,
                                 hdr.record_size, rank));
    }
  } else if (hdr.type == 11) {
    filtered = true;
    if (hdr.record_size <= o + 4 + 8 * rank || hdr.record_size > o + 4 + 8 + 8 * rank) {
      return Corrupt(fmt::format("v2 B-tree chunk index at {:#x}: record size {} for rank {}", at,
                                 hdr.record_size, rank));
    }
    size_width = hdr.record_size - o - 4 - 8 * rank;
  } else {
    return Corrupt(fmt::format("v2 B-tree chunk index at {:#x}: record type {}", at, hdr.type));
  }
  std::uint64_t unfiltered_size = 0;
  if (!filtered) {
    VZ_ASSIGN_OR_RETURN(unfiltered_size, internal::UnfilteredChunkBytes(lay));
  }
  std::vector<std::uint64_t> scaled(rank);
  return ForEachBTree2Record(ctx, hdr, lay.index_address,
                             [&](std::span<const std::uint8_t> rec) -> Status {
                               ByteCursor cur(rec);
                               VZ_ASSIGN_OR_RETURN(auto address, ctx.ReadOffset(cur));
                               std::uint64_t size = unfiltered_size;
                               std::uint32_t mask = 0;
                               if (filtered) {
                                 VZ_ASSIGN_OR_RETURN(size, cur.UintLE(size_width));
                                 VZ_ASSIGN_OR_RETURN(mask, cur.U32());
                               }
                               for (auto& s : scaled) {
                                 VZ_ASSIGN_OR_RETURN(s, cur.U64());
                               }
                               return sink.AddScaled(scaled, address, size, mask);
                             });
}

}  // namespace

Result<std::vector<ChunkRecord>> ReadChunkIndex(FileContext& ctx, const ChunkIndexInput& input) {
  if (input.layout == nullptr || input.layout->layout != model::Layout::kChunked) {
    return InvalidArgument("ReadChunkIndex needs a chunked data layout");
  }
  const DataLayout& lay = *input.layout;
  if (lay.chunk_dims.empty() || lay.chunk_dims.size() != input.dims.size() ||
      (!input.max_dims.empty() && input.max_dims.size() != input.dims.size())) {
    return Corrupt(fmt::format("chunk rank {} does not match dataspace rank {}",
                               lay.chunk_dims.size(), input.dims.size()));
  }
  std::vector<ChunkRecord> out;
  ChunkSink sink(ctx, input, out);
  Status st;
  switch (lay.index_type) {
    case ChunkIndexType::kBTreeV1:
      if (!ctx.IsUndefined(lay.index_address)) st = ReadBTreeV1(ctx, input, sink);
      break;
    case ChunkIndexType::kSingleChunk:
      st = ReadSingleChunk(ctx, input, sink);
      break;
    case ChunkIndexType::kImplicit:
      st = ReadImplicit(ctx, input, sink);
      break;
    case ChunkIndexType::kFixedArray:
      st = internal::ReadFixedArray(ctx, input, sink);
      break;
    case ChunkIndexType::kExtensibleArray:
      st = internal::ReadExtensibleArray(ctx, input, sink);
      break;
    case ChunkIndexType::kBTreeV2:
      st = ReadBTreeV2Index(ctx, input, sink);
      break;
  }
  VZ_TRY(std::move(st));
  return out;
}

}  // namespace vz::hdf5
