// Group membership (spec III.A.1 v1 B-trees, III.B symbol table nodes, III.C symbol table
// entries, III.D local heaps, IV.A.2.g Link message) and dense link/attribute storage (fractal
// heap III.G + v2 B-tree III.A.2 record types 5 and 8).
//
// Old style: the Symbol Table message names a v1 B-tree of type 0 ("TREE": type, level, entries
// used, siblings, then key/child pairs with a trailing key; keys are local heap offsets) whose
// level-0 children are symbol nodes ("SNOD": version 1, symbol count, symbol table entries of
// name offset, object header address, cache type and a 16-byte scratch pad). Names, and the
// value of soft links (cache type 2), live in the local heap ("HEAP": data segment size, free
// list offset, data segment address).
//
// New style: Link messages in the object header, or, past the compact limit, Link messages
// stored as fractal heap objects indexed by a v2 B-tree of type 5 (name hash, heap ID).
// Attributes likewise: v2 B-tree type 8 records (heap ID, message flags, creation order, name
// hash) pointing to Attribute message bodies in a fractal heap.
#include "vz/hdf5/groups.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "vz/base/checked.h"
#include "vz/hdf5/btree2.h"
#include "vz/hdf5/fractal_heap.h"

namespace vz::hdf5 {

namespace {

// Symbol table entry cache type whose scratch pad holds a soft link's value offset.
constexpr std::uint32_t kCacheSoftLink = 2;
// Default node capacities (K = 16 internal, 4 leaf): a first guess at how much of a node to
// read; nodes that say they hold more are read again whole.
constexpr std::uint64_t kGuessTreeEntries = 32;
constexpr std::uint64_t kGuessSymbols = 8;

// Node layouts that start with a signature, two bytes, and a 16-bit count at offset 6:
// prefix + count * entry + tail bytes.
struct CountedLayout {
  std::uint64_t prefix = 0;
  std::uint64_t entry = 0;
  std::uint64_t tail = 0;
};

// Reads the nodes at `addresses` in one ReadMany, each `guess` entries long (clamped to the
// end of the file), then re-reads any node whose count says it is longer.
Result<std::vector<io::Bytes>> ReadCountedNodes(FileContext& ctx,
                                                const std::vector<std::uint64_t>& addresses,
                                                const CountedLayout& layout, std::uint64_t guess,
                                                const char* what) {
  if (addresses.empty()) return std::vector<io::Bytes>{};
  const std::uint64_t want = layout.prefix + guess * layout.entry + layout.tail;
  std::vector<io::ByteRange> ranges;
  ranges.reserve(addresses.size());
  for (std::uint64_t a : addresses) {
    std::uint64_t len = want;
    auto abs = AddU64(ctx.base_address, a);
    if (abs && *abs < ctx.file_size) {
      len = std::max(std::min(want, ctx.file_size - *abs), std::min<std::uint64_t>(8, want));
    }
    ranges.push_back({a, len});
  }
  VZ_ASSIGN_OR_RETURN(auto nodes, ctx.ReadMany(ranges, what));
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].size() < 8) continue;  // the parser reports the truncation
    const std::uint64_t count = UnsafeLoadU16LE(nodes[i].data() + 6);
    const std::uint64_t need = layout.prefix + count * layout.entry + layout.tail;
    if (nodes[i].size() < need) {
      VZ_ASSIGN_OR_RETURN(nodes[i], ctx.Read(addresses[i], need, what));
    }
  }
  return nodes;
}

// The NUL-terminated string at `offset` of a local heap's data segment.
Result<std::string> HeapString(const std::vector<std::uint8_t>& heap, std::uint64_t offset,
                               std::uint64_t heap_address, const char* what) {
  if (offset >= heap.size()) {
    return Corrupt(fmt::format("{} at local heap offset {} outside the heap at {} ({} bytes)", what,
                               offset, Hex(heap_address), heap.size()));
  }
  ByteCursor c(std::span<const std::uint8_t>(heap).subspan(static_cast<std::size_t>(offset)));
  auto s = c.CString(c.remaining());
  if (!s.ok()) {
    return Corrupt(fmt::format("{} at local heap offset {} of the heap at {} is not terminated",
                               what, offset, Hex(heap_address)));
  }
  return std::move(s).value();
}

std::string ToString(std::span<const std::uint8_t> b) {
  // NOLINTNEXTLINE(*-reinterpret-cast): bytes to text
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace

Result<std::vector<std::uint8_t>> ReadLocalHeap(FileContext& ctx, std::uint64_t address) {
  const std::uint64_t at = ctx.Absolute(address);
  VZ_ASSIGN_OR_RETURN(
      auto head,
      ctx.Read(address, 8u + 2u * ctx.size_of_lengths + ctx.size_of_offsets, "local heap"));
  ByteCursor c(head, at);
  VZ_TRY(c.ExpectMagic("HEAP", "local heap"));
  VZ_ASSIGN_OR_RETURN(auto version, c.U8());
  if (version != 0) {
    return Unsupported(fmt::format("local heap at {}: version {}", Hex(at), version));
  }
  VZ_TRY(c.Skip(3));
  VZ_ASSIGN_OR_RETURN(auto size, ctx.ReadLength(c));
  VZ_ASSIGN_OR_RETURN(auto free_list, ctx.ReadLength(c));
  (void)free_list;
  VZ_ASSIGN_OR_RETURN(auto data_address, ctx.ReadOffset(c));
  if (size == 0) return std::vector<std::uint8_t>{};
  VZ_ASSIGN_OR_RETURN(auto data, ctx.Read(data_address, size, "local heap data segment"),
                      "in local heap at {}", Hex(at));
  return data;
}

Result<std::vector<Link>> ReadSymbolTableGroup(FileContext& ctx, std::uint64_t btree_address,
                                               std::uint64_t local_heap_address) {
  VZ_ASSIGN_OR_RETURN(auto heap, ReadLocalHeap(ctx, local_heap_address));
  const std::uint64_t heap_at = ctx.Absolute(local_heap_address);
  const std::uint64_t O = ctx.size_of_offsets;
  const std::uint64_t L = ctx.size_of_lengths;

  // Walk the v1 B-tree one level at a time, down to the symbol node addresses.
  const CountedLayout tree{8u + 2u * O, L + O, L};
  std::vector<std::uint64_t> level_nodes{btree_address};
  std::set<std::uint64_t> visited{btree_address};
  std::vector<std::uint64_t> symbol_nodes;
  int expected_level = -1;
  for (std::uint32_t depth = 0;; ++depth) {
    if (depth > ctx.limits.max_tree_depth) {
      return LimitExceeded(fmt::format("group v1 B-tree at {} deeper than {} levels",
                                       Hex(ctx.Absolute(btree_address)),
                                       ctx.limits.max_tree_depth));
    }
    VZ_ASSIGN_OR_RETURN(auto nodes, ReadCountedNodes(ctx, level_nodes, tree, kGuessTreeEntries,
                                                     "group v1 B-tree node"));
    std::vector<std::uint64_t> next;
    int level = 0;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const std::uint64_t at = ctx.Absolute(level_nodes[i]);
      ByteCursor c(nodes[i], at);
      VZ_TRY(c.ExpectMagic("TREE", "group v1 B-tree node"));
      VZ_ASSIGN_OR_RETURN(auto type, c.U8());
      VZ_ASSIGN_OR_RETURN(auto node_level, c.U8());
      VZ_ASSIGN_OR_RETURN(auto entries, c.U16());
      if (type != 0) {
        return Corrupt(fmt::format("v1 B-tree node at {} has type {}, expected a group node (0)",
                                   Hex(at), type));
      }
      if (expected_level >= 0 && node_level != expected_level) {
        return Corrupt(fmt::format("v1 B-tree node at {} has level {}, expected {}", Hex(at),
                                   node_level, expected_level));
      }
      level = node_level;
      VZ_TRY(c.Skip(static_cast<std::size_t>(2 * O)));  // siblings
      for (std::uint32_t e = 0; e < entries; ++e) {
        VZ_TRY(c.Skip(static_cast<std::size_t>(L)));  // key: heap offset of a name
        VZ_ASSIGN_OR_RETURN(auto child, ctx.ReadOffset(c));
        if (!visited.insert(child).second) {
          return Corrupt(fmt::format(
              "v1 B-tree node at {} points to {} a second time (cycle in the group B-tree)",
              Hex(at), Hex(ctx.Absolute(child))));
        }
        if (visited.size() > ctx.limits.max_objects) {
          return LimitExceeded(fmt::format("group v1 B-tree at {} has more than {} nodes",
                                           Hex(ctx.Absolute(btree_address)),
                                           ctx.limits.max_objects));
        }
        (node_level == 0 ? symbol_nodes : next).push_back(child);
      }
    }
    if (level == 0) break;
    expected_level = level - 1;
    level_nodes = std::move(next);
    if (level_nodes.empty()) break;
  }

  // All symbol nodes in one round.
  std::vector<Link> links;
  const std::uint64_t entry_size = 2u * O + 24u;
  const CountedLayout snod{8, entry_size, 0};
  VZ_ASSIGN_OR_RETURN(
      auto nodes, ReadCountedNodes(ctx, symbol_nodes, snod, kGuessSymbols, "group symbol node"));
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const std::uint64_t at = ctx.Absolute(symbol_nodes[i]);
    ByteCursor c(nodes[i], at);
    VZ_TRY(c.ExpectMagic("SNOD", "group symbol node"));
    VZ_ASSIGN_OR_RETURN(auto version, c.U8());
    if (version != 1) {
      return Unsupported(fmt::format("group symbol node at {}: version {}", Hex(at), version));
    }
    VZ_TRY(c.Skip(1));
    VZ_ASSIGN_OR_RETURN(auto count, c.U16());
    for (std::uint32_t s = 0; s < count; ++s) {
      VZ_ASSIGN_OR_RETURN(auto name_offset, ctx.ReadOffset(c));
      VZ_ASSIGN_OR_RETURN(auto header, ctx.ReadOffset(c));
      VZ_ASSIGN_OR_RETURN(auto cache_type, c.U32());
      VZ_TRY(c.Skip(4));
      VZ_ASSIGN_OR_RETURN(auto scratch, c.Sub(16));
      Link link;
      VZ_ASSIGN_OR_RETURN(link.name, HeapString(heap, name_offset, heap_at, "link name"),
                          "in symbol node at {}", Hex(at));
      if (link.name.empty()) {
        return Corrupt(fmt::format("symbol node at {} has an entry with an empty name", Hex(at)));
      }
      if (cache_type == kCacheSoftLink) {
        VZ_ASSIGN_OR_RETURN(auto value_offset, scratch.U32());
        VZ_ASSIGN_OR_RETURN(link.soft_target,
                            HeapString(heap, value_offset, heap_at, "soft link value"),
                            "in symbol node at {}", Hex(at));
        link.type = Link::Type::kSoft;
      } else {
        link.type = Link::Type::kHard;
        link.address = header;
      }
      links.push_back(std::move(link));
      if (links.size() > ctx.limits.max_objects) {
        return LimitExceeded(fmt::format("group at {} has more than {} members",
                                         Hex(ctx.Absolute(btree_address)), ctx.limits.max_objects));
      }
    }
  }
  return links;
}

Result<Link> ParseLinkMessage(const FileContext& ctx, ByteCursor& message) {
  const std::uint64_t at = message.file_offset();
  VZ_ASSIGN_OR_RETURN(auto version, message.U8());
  if (version != 1) {
    return Unsupported(fmt::format("link message at {}: version {}", Hex(at), version));
  }
  VZ_ASSIGN_OR_RETURN(auto flags, message.U8());
  if ((flags & 0xe0) != 0) {
    return Corrupt(fmt::format("link message at {}: unknown flags {:#x}", Hex(at), flags));
  }
  std::uint8_t link_type = 0;
  if ((flags & 0x08) != 0) {
    VZ_ASSIGN_OR_RETURN(link_type, message.U8());
  }
  Link link;
  if ((flags & 0x04) != 0) {
    VZ_ASSIGN_OR_RETURN(auto order, message.U64());
    link.creation_order = order;
  }
  if ((flags & 0x10) != 0) {
    VZ_ASSIGN_OR_RETURN(link.charset, message.U8());
  }
  VZ_ASSIGN_OR_RETURN(auto name_len, message.UintLE(std::size_t{1} << (flags & 3)));
  if (name_len == 0 || name_len > message.remaining()) {
    return Corrupt(fmt::format("link message at {}: name length {} with {} bytes left", Hex(at),
                               name_len, message.remaining()));
  }
  VZ_ASSIGN_OR_RETURN(auto name, message.Bytes(static_cast<std::size_t>(name_len)));
  link.name = ToString(name);
  if (link.name.find('\0') != std::string::npos) {
    return Corrupt(fmt::format("link message at {}: name contains a NUL byte", Hex(at)));
  }
  switch (link_type) {
    case 0: {
      link.type = Link::Type::kHard;
      VZ_ASSIGN_OR_RETURN(link.address, ctx.ReadOffset(message));
      break;
    }
    case 1: {
      link.type = Link::Type::kSoft;
      VZ_ASSIGN_OR_RETURN(auto len, message.U16());
      VZ_ASSIGN_OR_RETURN(auto target, message.Bytes(len));
      link.soft_target = ToString(target);
      break;
    }
    default: {
      if (link_type < 64) {
        return Corrupt(
            fmt::format("link message at {}: reserved link type {}", Hex(at), link_type));
      }
      VZ_ASSIGN_OR_RETURN(auto len, message.U16());
      VZ_ASSIGN_OR_RETURN(auto value, message.Sub(len));
      if (link_type == 64) {
        link.type = Link::Type::kExternal;
        VZ_ASSIGN_OR_RETURN(auto ext_flags, value.U8());
        if ((ext_flags >> 4) != 0) {
          return Unsupported(
              fmt::format("external link at {}: value version {}", Hex(at), ext_flags >> 4));
        }
        VZ_ASSIGN_OR_RETURN(link.external_file, value.CString(value.remaining()));
        VZ_ASSIGN_OR_RETURN(link.external_path, value.CString(value.remaining()));
      } else {
        link.type = Link::Type::kUserDefined;
        link.user_type = link_type;
        link.user_data.assign(value.data().begin(), value.data().end());
      }
      break;
    }
  }
  return link;
}

Result<std::vector<Link>> ReadDenseLinks(FileContext& ctx, std::uint64_t fractal_heap_address,
                                         std::uint64_t name_btree_address) {
  if (ctx.IsUndefined(fractal_heap_address) || ctx.IsUndefined(name_btree_address)) {
    return std::vector<Link>{};
  }
  VZ_ASSIGN_OR_RETURN(auto heap, FractalHeap::Open(ctx, fractal_heap_address));
  VZ_ASSIGN_OR_RETURN(auto hdr, ReadBTree2Header(ctx, name_btree_address));
  const std::uint64_t bt_at = ctx.Absolute(name_btree_address);
  if (hdr.type != 5) {
    return Corrupt(fmt::format("link name index at {} is a v2 B-tree of type {}, expected 5",
                               Hex(bt_at), hdr.type));
  }
  std::vector<std::vector<std::uint8_t>> ids;
  VZ_TRY(ForEachBTree2Record(
      ctx, name_btree_address, [&](std::span<const std::uint8_t> rec) -> Status {
        if (rec.size() <= 4) {
          return Corrupt(
              fmt::format("link name index at {}: {}-byte records", Hex(bt_at), rec.size()));
        }
        if (ids.size() >= ctx.limits.max_objects) {
          return LimitExceeded(fmt::format("group at {} has more than {} links", Hex(bt_at),
                                           ctx.limits.max_objects));
        }
        auto id = rec.subspan(4);  // after the name hash
        ids.emplace_back(id.begin(), id.end());
        return Ok();
      }));
  std::vector<std::span<const std::uint8_t>> spans(ids.begin(), ids.end());
  VZ_ASSIGN_OR_RETURN(auto objects, heap.GetMany(ctx, spans));
  std::vector<Link> links;
  links.reserve(objects.size());
  for (const auto& o : objects) {
    ByteCursor c(o.data, o.file_offset);
    VZ_ASSIGN_OR_RETURN(Link link, ParseLinkMessage(ctx, c), "in dense link storage (heap {})",
                        Hex(ctx.Absolute(fractal_heap_address)));
    links.push_back(std::move(link));
  }
  std::sort(links.begin(), links.end(),
            [](const Link& a, const Link& b) { return a.name < b.name; });
  return links;
}

Result<std::vector<DenseAttribute>> ReadDenseAttributeRecords(FileContext& ctx,
                                                              std::uint64_t fractal_heap_address,
                                                              std::uint64_t name_btree_address) {
  if (ctx.IsUndefined(fractal_heap_address) || ctx.IsUndefined(name_btree_address)) {
    return std::vector<DenseAttribute>{};
  }
  VZ_ASSIGN_OR_RETURN(auto heap, FractalHeap::Open(ctx, fractal_heap_address));
  VZ_ASSIGN_OR_RETURN(auto hdr, ReadBTree2Header(ctx, name_btree_address));
  const std::uint64_t bt_at = ctx.Absolute(name_btree_address);
  if (hdr.type != 8) {
    return Corrupt(fmt::format("attribute name index at {} is a v2 B-tree of type {}, expected 8",
                               Hex(bt_at), hdr.type));
  }
  std::vector<DenseAttribute> out;
  std::vector<std::vector<std::uint8_t>> ids;
  VZ_TRY(ForEachBTree2Record(
      ctx, name_btree_address, [&](std::span<const std::uint8_t> rec) -> Status {
        // Heap ID, message flags (1), creation order (4), name hash (4).
        if (rec.size() <= 9) {
          return Corrupt(
              fmt::format("attribute name index at {}: {}-byte records", Hex(bt_at), rec.size()));
        }
        if (ids.size() >= ctx.limits.max_attributes) {
          return LimitExceeded(
              fmt::format("object with attribute index at {} has more than {} "
                          "attributes",
                          Hex(bt_at), ctx.limits.max_attributes));
        }
        const std::size_t id_len = rec.size() - 9;
        ids.emplace_back(rec.begin(), rec.begin() + static_cast<std::ptrdiff_t>(id_len));
        DenseAttribute a;
        a.message_flags = rec[id_len];
        a.creation_order = UnsafeLoadU32LE(rec.data() + id_len + 1);
        out.push_back(std::move(a));
        return Ok();
      }));
  std::vector<std::span<const std::uint8_t>> spans(ids.begin(), ids.end());
  VZ_ASSIGN_OR_RETURN(auto objects, heap.GetMany(ctx, spans),
                      "in dense attribute storage (heap {})",
                      Hex(ctx.Absolute(fractal_heap_address)));
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].body = std::move(objects[i].data);
    out[i].file_offset = objects[i].file_offset;
  }
  return out;
}

Result<std::vector<std::vector<std::uint8_t>>> ReadDenseAttributes(
    FileContext& ctx, std::uint64_t fractal_heap_address, std::uint64_t name_btree_address) {
  VZ_ASSIGN_OR_RETURN(auto records,
                      ReadDenseAttributeRecords(ctx, fractal_heap_address, name_btree_address));
  std::vector<std::vector<std::uint8_t>> bodies;
  bodies.reserve(records.size());
  for (auto& r : records) bodies.push_back(std::move(r.body));
  return bodies;
}

}  // namespace vz::hdf5
