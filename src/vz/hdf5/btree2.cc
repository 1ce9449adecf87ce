// Version 2 B-trees (spec III.A.2). The header "BTHD" gives node size, record size, depth and
// the root; internal nodes "BTIN" hold N records and N+1 child pointers, leaves "BTLF" hold N
// records. Every node is checksummed over its used bytes only: the checksum follows the last
// record (leaf) or last child pointer (internal node), not the end of the node.
//
// A child pointer is (address, records in child, [total records below child]). The widths of
// the two counts are not stored; like the HDF5 library we derive them from the node size:
//   leaf max records      M0 = (node_size - 10) / record_size
//   count width           W  = bytes(M0)                     (the leaf count is the largest)
//   pointer size at d     P(d) = O + W + (d > 1 ? T(d-1) : 0)
//   internal max at d     Md = (node_size - 10 - P(d)) / (record_size + P(d))
//   cumulative max at d   Cd = (Md + 1) * C(d-1) + Md,  C0 = M0;   T(d) = bytes(Cd)
// where bytes(n) = floor(log2(n)) / 8 + 1 and 10 = signature + version + type + checksum.
#include "vz/hdf5/btree2.h"

#include <fmt/format.h>

#include <bit>
#include <unordered_set>
#include <vector>

#include "vz/base/checked.h"
#include "vz/hdf5/checksum.h"

namespace vz::hdf5 {

namespace {

constexpr std::uint64_t kNodePrefix = 10;  // signature(4) + version(1) + type(1) + checksum(4)

// Bytes needed to encode n (at least 1), as the HDF5 library sizes its count fields.
std::uint8_t EncodedSize(std::uint64_t n) {
  const int log2 = n == 0 ? 0 : 63 - std::countl_zero(n);
  return static_cast<std::uint8_t>(log2 / 8 + 1);
}

std::uint64_t SaturatingMul(std::uint64_t a, std::uint64_t b) {
  auto r = MulU64(a, b);
  return r ? *r : ~std::uint64_t{0};
}
std::uint64_t SaturatingAdd(std::uint64_t a, std::uint64_t b) {
  auto r = AddU64(a, b);
  return r ? *r : ~std::uint64_t{0};
}

// Per-depth node geometry derived from the header.
struct LevelInfo {
  std::uint64_t max_records = 0;   // records one node at this depth can hold
  std::uint8_t total_width = 0;    // bytes of a "total records" field counting this subtree
  std::uint64_t pointer_size = 0;  // size of one child pointer stored in a node at this depth
};

Result<std::vector<LevelInfo>> ComputeLevels(const FileContext& ctx, const BTree2Header& hdr,
                                             std::uint64_t at) {
  std::vector<LevelInfo> info(static_cast<std::size_t>(hdr.depth) + 1);
  info[0].max_records = (hdr.node_size - kNodePrefix) / hdr.record_size;
  if (info[0].max_records == 0) {
    return Corrupt(fmt::format("v2 B-tree at {:#x}: node size {} holds no record of {} bytes",
                               ctx.Absolute(at), hdr.node_size, hdr.record_size));
  }
  const std::uint8_t count_width = EncodedSize(info[0].max_records);
  std::uint64_t cumulative = info[0].max_records;
  info[0].total_width = EncodedSize(cumulative);
  for (std::size_t d = 1; d < info.size(); ++d) {
    const std::uint64_t ptr =
        std::uint64_t{ctx.size_of_offsets} + count_width + (d > 1 ? info[d - 1].total_width : 0);
    info[d].pointer_size = ptr;
    const std::uint64_t fixed = kNodePrefix + ptr;
    if (hdr.node_size <= fixed) {
      return Corrupt(fmt::format("v2 B-tree at {:#x}: node size {} too small for depth {}",
                                 ctx.Absolute(at), hdr.node_size, d));
    }
    info[d].max_records = (hdr.node_size - fixed) / (hdr.record_size + ptr);
    if (info[d].max_records == 0) {
      return Corrupt(fmt::format("v2 B-tree at {:#x}: internal node of depth {} holds no record",
                                 ctx.Absolute(at), d));
    }
    cumulative =
        SaturatingAdd(SaturatingMul(info[d].max_records + 1, cumulative), info[d].max_records);
    info[d].total_width = EncodedSize(cumulative);
  }
  return info;
}

// One node of the tree as loaded: its bytes and, for internal nodes, where its children sit in
// the next level's vector.
struct Node {
  std::uint64_t address = 0;
  std::uint64_t nrec = 0;
  io::Bytes bytes;
  std::size_t first_child = 0;
};

std::uint64_t NodeBytes(const BTree2Header& hdr, const std::vector<LevelInfo>& info,
                        std::size_t depth, std::uint64_t nrec) {
  std::uint64_t n = kNodePrefix + nrec * hdr.record_size;
  if (depth > 0) n += (nrec + 1) * info[depth].pointer_size;
  return n;
}

}  // namespace

Result<BTree2Header> ReadBTree2Header(FileContext& ctx, std::uint64_t address) {
  const std::uint64_t size = std::uint64_t{4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + 2 + 4} +
                             ctx.size_of_offsets + ctx.size_of_lengths;
  VZ_ASSIGN_OR_RETURN(auto bytes, ctx.Read(address, size, "v2 B-tree header"));
  const std::uint64_t abs = ctx.Absolute(address);
  ByteCursor cur(bytes, abs);
  VZ_TRY(cur.ExpectMagic("BTHD", "v2 B-tree header"));
  VZ_ASSIGN_OR_RETURN(auto version, cur.U8());
  if (version != 0) {
    return Unsupported(fmt::format("v2 B-tree header at {:#x}: version {}", abs, version));
  }
  BTree2Header hdr;
  VZ_ASSIGN_OR_RETURN(hdr.type, cur.U8());
  VZ_ASSIGN_OR_RETURN(hdr.node_size, cur.U32());
  VZ_ASSIGN_OR_RETURN(hdr.record_size, cur.U16());
  VZ_ASSIGN_OR_RETURN(hdr.depth, cur.U16());
  VZ_TRY(cur.Skip(2));  // split and merge percentages: only matter to writers
  VZ_ASSIGN_OR_RETURN(hdr.root_address, ctx.ReadOffset(cur));
  VZ_ASSIGN_OR_RETURN(hdr.root_records, cur.U16());
  VZ_ASSIGN_OR_RETURN(hdr.total_records, ctx.ReadLength(cur));
  const std::size_t covered = cur.pos();
  VZ_ASSIGN_OR_RETURN(auto stored, cur.U32());
  VZ_TRY(VerifyChecksum(std::span(bytes).first(covered), stored, "v2 B-tree header", abs));
  if (hdr.record_size == 0 || hdr.node_size <= kNodePrefix) {
    return Corrupt(fmt::format("v2 B-tree header at {:#x}: node size {} / record size {}", abs,
                               hdr.node_size, hdr.record_size));
  }
  if (hdr.node_size > ctx.limits.max_metadata_block) {
    return LimitExceeded(fmt::format("v2 B-tree header at {:#x}: node size {} exceeds the limit",
                                     abs, hdr.node_size));
  }
  if (hdr.depth > ctx.limits.max_tree_depth) {
    return LimitExceeded(fmt::format("v2 B-tree header at {:#x}: depth {} exceeds the limit of {}",
                                     abs, hdr.depth, ctx.limits.max_tree_depth));
  }
  return hdr;
}

Status ForEachBTree2Record(FileContext& ctx, std::uint64_t header_address,
                           const std::function<Status(std::span<const std::uint8_t>)>& visit) {
  VZ_ASSIGN_OR_RETURN(auto hdr, ReadBTree2Header(ctx, header_address));
  return ForEachBTree2Record(ctx, hdr, header_address, visit);
}

Status ForEachBTree2Record(FileContext& ctx, const BTree2Header& hdr, std::uint64_t header_address,
                           const std::function<Status(std::span<const std::uint8_t>)>& visit) {
  if (hdr.record_size == 0 || hdr.node_size <= kNodePrefix ||
      hdr.depth > ctx.limits.max_tree_depth || hdr.node_size > ctx.limits.max_metadata_block) {
    return InvalidArgument("v2 B-tree header was not validated by ReadBTree2Header");
  }
  if (ctx.IsUndefined(hdr.root_address) || hdr.total_records == 0) {
    if (hdr.root_records != 0 && !ctx.IsUndefined(hdr.root_address)) {
      return Corrupt(fmt::format("v2 B-tree at {:#x}: root has {} records but the tree has none",
                                 ctx.Absolute(header_address), hdr.root_records));
    }
    return Ok();
  }
  VZ_ASSIGN_OR_RETURN(auto info, ComputeLevels(ctx, hdr, header_address));
  const std::uint8_t count_width = EncodedSize(info[0].max_records);

  // levels[0] is the root; levels[hdr.depth] are the leaves.
  std::vector<std::vector<Node>> levels(static_cast<std::size_t>(hdr.depth) + 1);
  levels[0].push_back(Node{hdr.root_address, hdr.root_records, {}, 0});
  std::unordered_set<std::uint64_t> visited;
  std::uint64_t records_seen = 0;
  for (std::size_t li = 0; li < levels.size(); ++li) {
    const std::size_t depth = hdr.depth - li;  // 0 for leaves
    const bool leaf = depth == 0;
    const char* what = leaf ? "v2 B-tree leaf node" : "v2 B-tree internal node";
    auto& nodes = levels[li];
    std::vector<io::ByteRange> ranges;
    ranges.reserve(nodes.size());
    for (const auto& n : nodes) {
      if (n.nrec > info[depth].max_records) {
        return Corrupt(fmt::format("{} at {:#x}: {} records exceed the maximum of {}", what,
                                   ctx.Absolute(n.address), n.nrec, info[depth].max_records));
      }
      if (!visited.insert(n.address).second) {
        return Corrupt(
            fmt::format("{} at {:#x} is referenced twice (cycle)", what, ctx.Absolute(n.address)));
      }
      ranges.push_back({n.address, NodeBytes(hdr, info, depth, n.nrec)});
    }
    VZ_ASSIGN_OR_RETURN(auto blobs, ctx.ReadMany(ranges, what));
    if (blobs.size() != nodes.size()) return Internal("ReadMany returned a wrong count");
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      auto& n = nodes[i];
      n.bytes = std::move(blobs[i]);
      const std::uint64_t abs = ctx.Absolute(n.address);
      ByteCursor cur(n.bytes, abs);
      VZ_TRY(cur.ExpectMagic(leaf ? "BTLF" : "BTIN", what));
      VZ_ASSIGN_OR_RETURN(auto version, cur.U8());
      VZ_ASSIGN_OR_RETURN(auto type, cur.U8());
      if (version != 0) {
        return Unsupported(fmt::format("{} at {:#x}: version {}", what, abs, version));
      }
      if (type != hdr.type) {
        return Corrupt(fmt::format("{} at {:#x}: type {} differs from the header's {}", what, abs,
                                   type, hdr.type));
      }
      const std::size_t covered = n.bytes.size() - 4;
      VZ_TRY(VerifyChecksum(std::span(n.bytes).first(covered),
                            UnsafeLoadU32LE(n.bytes.data() + covered), what, abs));
      records_seen += n.nrec;
      if (records_seen > hdr.total_records) {
        return Corrupt(fmt::format("v2 B-tree at {:#x}: more records than the {} its header counts",
                                   ctx.Absolute(header_address), hdr.total_records));
      }
      if (leaf) continue;
      VZ_TRY(cur.Skip(static_cast<std::size_t>(n.nrec * hdr.record_size)));
      n.first_child = levels[li + 1].size();
      for (std::uint64_t c = 0; c <= n.nrec; ++c) {
        VZ_ASSIGN_OR_RETURN(auto child, ctx.ReadOffset(cur));
        VZ_ASSIGN_OR_RETURN(auto child_nrec, cur.UintLE(count_width));
        if (depth > 1) VZ_TRY(cur.Skip(info[depth - 1].total_width));
        if (ctx.IsUndefined(child)) {
          return Corrupt(
              fmt::format("{} at {:#x}: child {} has an undefined address", what, abs, c));
        }
        levels[li + 1].push_back(Node{child, child_nrec, {}, 0});
      }
    }
  }
  if (records_seen != hdr.total_records) {
    return Corrupt(fmt::format("v2 B-tree at {:#x}: found {} records, header counts {}",
                               ctx.Absolute(header_address), records_seen, hdr.total_records));
  }

  // In-order walk: child 0, record 0, child 1, record 1, ..., child N.
  const std::size_t rsize = hdr.record_size;
  std::function<Status(std::size_t, std::size_t)> walk = [&](std::size_t li,
                                                             std::size_t idx) -> Status {
    const Node& n = levels[li][idx];
    const bool leaf = li + 1 == levels.size();
    for (std::size_t r = 0; r <= n.nrec; ++r) {
      if (!leaf) VZ_TRY(walk(li + 1, n.first_child + r));
      if (r == n.nrec) break;
      VZ_TRY(visit(std::span<const std::uint8_t>(n.bytes).subspan(6 + r * rsize, rsize)));
    }
    return Ok();
  };
  return walk(0, 0);
}

}  // namespace vz::hdf5
