// HDF5 reader core (File Format Specification v3.0): superblock (II.A, versions 0-3, searched
// at 0, 512, 1024, ...), object headers (IV.A.1: v1 with 8-byte aligned messages and raw
// continuation chunks, v2 "OHDR"/"OCHK" with checksums), header messages (IV.A.2), attribute
// values, and a depth-first traversal in h5py visititems order (names sorted per group, each
// object header visited once).
#include "vz/hdf5/reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <variant>

#include "vz/base/byte_cursor.h"
#include "vz/base/checked.h"
#include "vz/base/utf8.h"
#include "vz/codecs/assemble.h"
#include "vz/codecs/codecs.h"
#include "vz/hdf5/btree2.h"
#include "vz/hdf5/checksum.h"
#include "vz/hdf5/chunk_index.h"
#include "vz/hdf5/context.h"
#include "vz/hdf5/fractal_heap.h"
#include "vz/hdf5/global_heap.h"
#include "vz/hdf5/groups.h"
#include "vz/model/scalar.h"

namespace vz::hdf5 {
namespace {

using model::DType;
using Kind = model::DType::Kind;
using model::Json;

constexpr std::uint8_t kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

struct Message {
  std::uint16_t type = 0;
  std::uint8_t flags = 0;
  std::vector<std::uint8_t> body;
  std::uint64_t offset = 0;          // absolute file offset of the body
  std::uint32_t creation_order = 0;  // v2 headers that track attribute creation order
};

struct Reader {
  FileContext ctx;
  GlobalHeap gheap;
  model::VirtualDataset out;
  std::set<std::uint64_t> visited;
  std::map<std::uint64_t, std::string> path_of;
  // Per array index: DIMENSION_LIST object addresses per axis.
  std::map<std::size_t, std::vector<std::vector<std::uint64_t>>> dim_refs;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> root_symtab;  // btree, heap (v0/1)
  std::uint64_t objects = 0;
  // Shared-message heaps from the superblock extension's table: (message type flags, heap).
  std::vector<std::pair<std::uint16_t, FractalHeap>> sohm_heaps;

  Status ReadSharedMessageTable(std::uint64_t extension_address);

  Result<std::vector<Message>> ReadHeader(std::uint64_t address, int depth = 0);
  Status ParseMessages(ByteCursor& cur, int version, bool creation_order,
                       std::vector<Message>& msgs,
                       std::deque<std::pair<std::uint64_t, std::uint64_t>>& cont);
  Status ResolveShared(Message& m, int depth);
  Result<DType> ParseDatatype(ByteCursor& cur, int depth = 0);
  Result<model::Attribute> ParseAttribute(std::span<const std::uint8_t> body, std::uint64_t offset,
                                          std::vector<std::uint64_t>* refs);
  Result<Json> DecodeElement(const DType& t, std::span<const std::uint8_t> p,
                             std::vector<std::uint64_t>* refs);
  // The element count of a stored variable-length element (a heap id: length, collection,
  // index) and the global heap object it points at; nullopt for a null pointer. A zero length
  // gives no bytes without a heap lookup.
  struct VlenObject {
    std::uint32_t length = 0;
    std::span<const std::uint8_t> bytes;
  };
  Result<std::optional<VlenObject>> ReadVlenObject(std::span<const std::uint8_t> p);
  Result<std::optional<std::string>> ReadVlenString(std::span<const std::uint8_t> p);
  // The bytes of one variable-length sequence element: its base elements as stored.
  Result<std::string> ReadVlenBytes(std::span<const std::uint8_t> p, const DType& base);
  // Every element of a variable-length string or sequence array, row-major (see
  // model::Array::vlen_values); the stored heap ids are gathered through the array's filters.
  Result<std::vector<std::optional<std::string>>> DecodeVlenValues(const model::Array& arr,
                                                                   const DataLayout& dl);
  Status Visit(std::uint64_t address, const std::string& path, std::uint32_t depth);
  void PrefetchMembers(std::span<const Link> links);
  // Headers PrefetchMembers already read and decoded, taken by Visit.
  std::map<std::uint64_t, std::vector<Message>> read_ahead;
  // The decoded header at `address`: the one read ahead, else read now.
  Result<std::vector<Message>> TakeHeader(std::uint64_t address) {
    auto ahead = read_ahead.find(address);
    if (ahead == read_ahead.end()) return ReadHeader(address);
    std::vector<Message> msgs = std::move(ahead->second);
    read_ahead.erase(ahead);
    return msgs;
  }
};

// A Link Info (0x02) or Attribute Info (0x15) message: where the dense storage is (its
// fractal heap, undefined when there is none, and its name-index v2 B-tree) and whether the
// object tracks creation order.
struct InfoMessage {
  std::uint64_t heap = kUndefinedAddress;
  std::uint64_t name_index = kUndefinedAddress;
  bool creation_order = false;
};

Result<InfoMessage> ParseInfoMessage(const FileContext& ctx, ByteCursor& c, std::uint16_t type) {
  InfoMessage info;
  auto v = c.U8();
  auto fl = c.U8();
  if (!v.ok() || !fl.ok()) return Corrupt("info message truncated");
  info.creation_order = (*fl & 1) != 0;
  if (info.creation_order && !c.Skip(type == 0x02 ? 8 : 2).ok()) {
    return Corrupt("info message truncated");
  }
  auto heap = ctx.ReadOffset(c);
  auto bt = ctx.ReadOffset(c);
  if (!heap.ok() || !bt.ok()) return Corrupt("info message truncated");
  info.heap = *heap;
  info.name_index = *bt;
  return info;
}

std::string Child(const std::string& parent, const std::string& name) {
  return parent == "/" ? "/" + name : parent + "/" + name;
}

// ---------------------------------------------------------------- object headers

Status Reader::ParseMessages(ByteCursor& cur, int version, bool creation_order,
                             std::vector<Message>& msgs,
                             std::deque<std::pair<std::uint64_t, std::uint64_t>>& cont) {
  const std::size_t hdr = version == 1 ? 8u : (creation_order ? 6u : 4u);
  while (cur.remaining() >= hdr) {
    Message m;
    if (version == 1) {
      VZ_ASSIGN_OR_RETURN(m.type, cur.U16());
    } else {
      VZ_ASSIGN_OR_RETURN(auto t, cur.U8());
      m.type = t;
    }
    VZ_ASSIGN_OR_RETURN(auto size, cur.U16());
    VZ_ASSIGN_OR_RETURN(m.flags, cur.U8());
    if (version == 1) {
      VZ_TRY(cur.Skip(3));
    } else if (creation_order) {
      VZ_ASSIGN_OR_RETURN(auto order, cur.U16());
      m.creation_order = order;
    }
    m.offset = cur.file_offset();
    VZ_ASSIGN_OR_RETURN(auto body, cur.Bytes(size));
    m.body.assign(body.begin(), body.end());
    if (m.type == 0) continue;
    if (m.type == 0x10) {
      ByteCursor c(m.body, m.offset);
      VZ_ASSIGN_OR_RETURN(auto addr, ctx.ReadOffset(c));
      VZ_ASSIGN_OR_RETURN(auto len, ctx.ReadLength(c));
      cont.emplace_back(addr, len);
      continue;
    }
    msgs.push_back(std::move(m));
  }
  return Ok();
}

Result<std::vector<Message>> Reader::ReadHeader(std::uint64_t address, int depth) {
  // Formatted only for an error.
  auto where = [&] { return fmt::format("in object header at {}", Hex(ctx.Absolute(address))); };
  if (ctx.IsUndefined(address) || address >= ctx.file_size) {
    return Corrupt(fmt::format("object header address {} outside the file", Hex(address)));
  }
  const std::uint64_t avail = ctx.file_size - ctx.base_address - address;
  VZ_ASSIGN_OR_RETURN(auto pre,
                      ctx.Read(address, std::min<std::uint64_t>(avail, 40), "object header"));
  std::vector<Message> msgs;
  std::deque<std::pair<std::uint64_t, std::uint64_t>> cont;
  int version = 1;
  bool creation_order = false;
  if (pre.size() >= 4 && std::memcmp(pre.data(), "OHDR", 4) == 0) {
    version = 2;
    ByteCursor c(pre, ctx.Absolute(address));
    VZ_TRY(c.Skip(4));
    VZ_ASSIGN_OR_RETURN(auto v, c.U8());
    if (v != 2)
      return std::move(Unsupported(fmt::format("object header version {}", v))).Annotate(where());
    VZ_ASSIGN_OR_RETURN(auto flags, c.U8());
    creation_order = (flags & 0x04) != 0;
    if (flags & 0x20) VZ_TRY(c.Skip(16));
    if (flags & 0x10) VZ_TRY(c.Skip(4));
    VZ_ASSIGN_OR_RETURN(auto chunk0, c.UintLE(std::size_t{1} << (flags & 3)));
    const std::uint64_t prefix = c.pos();
    VZ_ASSIGN_OR_RETURN(auto total, CheckedAdd(prefix + 4, chunk0, "object header size"));
    VZ_ASSIGN_OR_RETURN(auto all, ctx.Read(address, total, "object header"));
    const std::size_t covered = all.size() - 4;
    auto r =
        VerifyChecksum(std::span<const std::uint8_t>(all).first(covered),
                       LoadU32LE(all.data() + covered), "object header", ctx.Absolute(address));
    if (!r.ok()) return std::move(r).error();
    ByteCursor mc(std::span<const std::uint8_t>(all).subspan(prefix, covered - prefix),
                  ctx.Absolute(address) + prefix);
    auto s = ParseMessages(mc, 2, creation_order, msgs, cont);
    if (!s.ok()) return std::move(s).Annotate(where()).error();
  } else {
    ByteCursor c(pre, ctx.Absolute(address));
    VZ_ASSIGN_OR_RETURN(auto v, c.U8());
    if (v != 1) {
      return std::move(Corrupt(fmt::format("unknown object header version {}", v)))
          .Annotate(where());
    }
    VZ_TRY(c.Skip(7));
    VZ_ASSIGN_OR_RETURN(auto size, c.U32());
    VZ_ASSIGN_OR_RETURN(auto all, ctx.Read(address + 16, size, "object header"));
    ByteCursor mc(all, ctx.Absolute(address + 16));
    auto s = ParseMessages(mc, 1, false, msgs, cont);
    if (!s.ok()) return std::move(s).Annotate(where()).error();
  }
  std::uint32_t n_cont = 0;
  std::set<std::uint64_t> seen;
  while (!cont.empty()) {
    auto [addr, len] = cont.front();
    cont.pop_front();
    if (++n_cont > ctx.limits.max_header_continuations || !seen.insert(addr).second) {
      return std::move(Corrupt("object header continuation loop or too many continuations"))
          .Annotate(where());
    }
    VZ_ASSIGN_OR_RETURN(auto chunk, ctx.Read(addr, len, "object header continuation"));
    Status s;
    if (version == 2) {
      if (chunk.size() < 8 || std::memcmp(chunk.data(), "OCHK", 4) != 0) {
        return std::move(Corrupt(fmt::format("object header continuation at {}: bad signature",
                                             Hex(ctx.Absolute(addr)))))
            .Annotate(where());
      }
      const std::size_t covered = chunk.size() - 4;
      VZ_TRY(VerifyChecksum(std::span<const std::uint8_t>(chunk).first(covered),
                            LoadU32LE(chunk.data() + covered), "object header continuation",
                            ctx.Absolute(addr)));
      ByteCursor mc(std::span<const std::uint8_t>(chunk).subspan(4, covered - 4),
                    ctx.Absolute(addr) + 4);
      s = ParseMessages(mc, 2, creation_order, msgs, cont);
    } else {
      ByteCursor mc(chunk, ctx.Absolute(addr));
      s = ParseMessages(mc, 1, false, msgs, cont);
    }
    if (!s.ok()) return std::move(s).Annotate(where()).error();
  }
  for (auto& m : msgs) {
    if (m.flags & 0x02) {
      auto s = ResolveShared(m, depth);
      if (!s.ok()) return std::move(s).Annotate(where()).error();
    }
  }
  return msgs;
}

Status Reader::ResolveShared(Message& m, int depth) {
  if (depth > 8) return Corrupt("shared message chain too deep");
  ByteCursor c(m.body, m.offset);
  VZ_ASSIGN_OR_RETURN(auto version, c.U8());
  VZ_ASSIGN_OR_RETURN(auto type, c.U8());
  std::uint64_t addr = 0;
  if (version == 1) {
    VZ_TRY(c.Skip(6));
    VZ_ASSIGN_OR_RETURN(addr, ctx.ReadOffset(c));
  } else if (version == 2 || (version == 3 && type == 2)) {
    VZ_ASSIGN_OR_RETURN(addr, ctx.ReadOffset(c));
  } else if (version == 3 && type == 1) {
    // Message type -> bit of the SOHM index "message type flags".
    const int bit = m.type == 1      ? 0
                    : m.type == 3    ? 1
                    : m.type == 5    ? 2
                    : m.type == 0x0B ? 3
                    : m.type == 0x0C ? 4
                                     : -1;
    VZ_ASSIGN_OR_RETURN(auto heap_id, c.Bytes(8));
    for (auto& [flags, heap] : sohm_heaps) {
      if (bit < 0 || !((flags >> bit) & 1)) continue;
      VZ_ASSIGN_OR_RETURN(auto body, heap.Get(ctx, heap_id));
      m.body = std::move(body);
      m.flags = static_cast<std::uint8_t>(m.flags & ~0x02);
      return Ok();
    }
    return Corrupt(
        fmt::format("shared message at {} refers to the shared-message heap, but the file has no "
                    "shared-message index for message type {}",
                    Hex(m.offset), m.type));
  } else {
    return Corrupt(
        fmt::format("shared message version {} type {} at {}", version, type, Hex(m.offset)));
  }
  VZ_ASSIGN_OR_RETURN(auto target, ReadHeader(addr, depth + 1));
  for (auto& t : target) {
    if (t.type == m.type) {
      m.body = std::move(t.body);
      m.offset = t.offset;
      m.flags = static_cast<std::uint8_t>(m.flags & ~0x02);
      return Ok();
    }
  }
  return Corrupt(fmt::format("shared message at {}: target header has no message of type {}",
                             Hex(m.offset), m.type));
}

// Superblock extension (an object header) -> Shared Message Table message (0x0F) -> "SMTB"
// table of indexes, each naming the fractal heap that holds shared messages of some types.
Status Reader::ReadSharedMessageTable(std::uint64_t extension_address) {
  VZ_ASSIGN_OR_RETURN(auto msgs, ReadHeader(extension_address));
  for (const auto& m : msgs) {
    if (m.type != 0x0F) continue;
    ByteCursor c(m.body, m.offset);
    VZ_TRY(c.Skip(1));
    VZ_ASSIGN_OR_RETURN(auto table, ctx.ReadOffset(c));
    VZ_ASSIGN_OR_RETURN(auto n, c.U8());
    const std::uint64_t entry = 2u + 2u + 4u + 2u + 2u + 2u + 2u * ctx.size_of_offsets;
    VZ_ASSIGN_OR_RETURN(auto bytes, ctx.Read(table, 4 + n * entry + 4, "shared message table"));
    ByteCursor t(bytes, ctx.Absolute(table));
    VZ_TRY(t.ExpectMagic("SMTB", "shared message table"));
    const std::size_t covered = bytes.size() - 4;
    VZ_TRY(VerifyChecksum(std::span<const std::uint8_t>(bytes).first(covered),
                          LoadU32LE(bytes.data() + covered), "shared message table",
                          ctx.Absolute(table)));
    for (int i = 0; i < n; ++i) {
      VZ_TRY(t.Skip(2));
      VZ_ASSIGN_OR_RETURN(auto flags, t.U16());
      VZ_TRY(t.Skip(4 + 2 + 2 + 2));
      VZ_ASSIGN_OR_RETURN(auto index_addr, ctx.ReadOffset(t));
      (void)index_addr;
      VZ_ASSIGN_OR_RETURN(auto heap_addr, ctx.ReadOffset(t));
      if (ctx.IsUndefined(heap_addr)) continue;
      VZ_ASSIGN_OR_RETURN(auto heap, FractalHeap::Open(ctx, heap_addr));
      sohm_heaps.emplace_back(flags, std::move(heap));
    }
  }
  return Ok();
}

// ---------------------------------------------------------------- datatype

Result<DType> Reader::ParseDatatype(ByteCursor& cur, int depth) {
  if (depth > 16) return Corrupt("datatype nesting too deep");
  const std::uint64_t at = cur.file_offset();
  VZ_ASSIGN_OR_RETURN(auto cv, cur.U8());
  const int cls = cv & 0x0f;
  const int version = cv >> 4;
  VZ_ASSIGN_OR_RETURN(auto b0, cur.U8());
  VZ_ASSIGN_OR_RETURN(auto b1, cur.U8());
  VZ_ASSIGN_OR_RETURN(auto b2, cur.U8());
  (void)b2;
  VZ_ASSIGN_OR_RETURN(auto size, cur.U32());
  DType t;
  t.size = size;
  const std::uint32_t nmembers = static_cast<std::uint32_t>(b0 | (b1 << 8));
  switch (cls) {
    case 0:  // fixed point
    case 4:  // bitfield
      t.kind = (cls == 0 && (b0 & 0x08)) ? Kind::kInt : Kind::kUInt;
      t.byte_order = size == 1 ? '|' : ((b0 & 1) ? '>' : '<');
      VZ_TRY(cur.Skip(4));
      return t;
    case 1:
      t.kind = Kind::kFloat;
      t.byte_order = (b0 & 1) ? '>' : '<';
      if (b0 & 0x40) return Unsupported(fmt::format("VAX float datatype at {}", Hex(at)));
      VZ_TRY(cur.Skip(12));
      return t;
    case 3:
      t.kind = Kind::kFixedString;
      t.byte_order = '|';
      return t;
    case 5: {
      t.kind = Kind::kOpaque;
      t.byte_order = '|';
      VZ_TRY(cur.Skip(b0));
      return t;
    }
    case 6: {
      t.kind = Kind::kCompound;
      t.byte_order = '|';
      for (std::uint32_t i = 0; i < nmembers; ++i) {
        model::Field f;
        const std::size_t name_start = cur.pos();
        VZ_ASSIGN_OR_RETURN(f.name, cur.CString(cur.remaining()));
        if (version < 3) {
          const std::size_t used = cur.pos() - name_start;
          VZ_TRY(cur.Skip((8 - used % 8) % 8));
          VZ_ASSIGN_OR_RETURN(auto off, cur.U32());
          f.offset = off;
          if (version == 1) {
            VZ_ASSIGN_OR_RETURN(auto rank, cur.U8());
            VZ_TRY(cur.Skip(3 + 4 + 4));
            std::vector<std::uint64_t> dims;
            for (int d = 0; d < 4; ++d) {
              VZ_ASSIGN_OR_RETURN(auto dim, cur.U32());
              if (d < rank) dims.push_back(dim);
            }
            VZ_ASSIGN_OR_RETURN(f.type, ParseDatatype(cur, depth + 1));
            if (!dims.empty()) {
              std::uint64_t count = 1;
              for (auto d : dims) count *= d;
              f.type.subshape = dims;
              f.type.size = static_cast<std::uint32_t>(f.type.size * count);
            }
          } else {
            VZ_ASSIGN_OR_RETURN(f.type, ParseDatatype(cur, depth + 1));
          }
        } else {
          std::size_t w = size < 256 ? 1 : size < 65536 ? 2 : size < (1u << 24) ? 3 : 4;
          VZ_ASSIGN_OR_RETURN(f.offset, cur.UintLE(w));
          VZ_ASSIGN_OR_RETURN(f.type, ParseDatatype(cur, depth + 1));
        }
        t.fields.push_back(std::move(f));
      }
      // h5py presents a compound of two equal floats named r and i as complex.
      if (t.fields.size() == 2 && t.fields[0].name == "r" && t.fields[1].name == "i" &&
          t.fields[0].type.kind == Kind::kFloat && t.fields[1].type.kind == Kind::kFloat &&
          t.fields[0].type.size == t.fields[1].type.size && t.fields[0].offset == 0 &&
          t.fields[1].offset == t.fields[0].type.size && size == 2 * t.fields[0].type.size) {
        t.kind = Kind::kComplex;
        t.byte_order = t.fields[0].type.byte_order;
        t.fields.clear();
      }
      return t;
    }
    case 7:
      t.kind = Kind::kReference;
      t.byte_order = '|';
      return t;
    case 8: {
      VZ_ASSIGN_OR_RETURN(auto base, ParseDatatype(cur, depth + 1));
      std::vector<std::string> names;
      for (std::uint32_t i = 0; i < nmembers; ++i) {
        const std::size_t start = cur.pos();
        VZ_ASSIGN_OR_RETURN(auto name, cur.CString(cur.remaining()));
        if (version < 3) {
          const std::size_t used = cur.pos() - start;
          VZ_TRY(cur.Skip((8 - used % 8) % 8));
        }
        names.push_back(std::move(name));
      }
      t = base;
      for (std::uint32_t i = 0; i < nmembers; ++i) {
        VZ_ASSIGN_OR_RETURN(auto vb, cur.Bytes(base.size));
        // A base wider than 8 bytes keeps its 8 least significant ones.
        const std::size_t n = std::min<std::size_t>(vb.size(), 8);
        const std::uint64_t v = model::LoadUnsigned(
            base.byte_order == '>' ? vb.last(n) : vb.first(n), n, base.byte_order);
        t.enum_members.emplace_back(
            base.kind == Kind::kInt ? model::SignExtend(v, n) : static_cast<std::int64_t>(v),
            names[i]);
      }
      if (base.kind == Kind::kInt && base.size == 1 && nmembers == 2 &&
          t.enum_members[0] == std::make_pair(std::int64_t{0}, std::string("FALSE")) &&
          t.enum_members[1] == std::make_pair(std::int64_t{1}, std::string("TRUE"))) {
        t.kind = Kind::kBool;
      }
      return t;
    }
    case 9: {
      VZ_ASSIGN_OR_RETURN(auto base, ParseDatatype(cur, depth + 1));
      t.byte_order = '|';
      if ((b0 & 0x0f) == 1) {
        t.kind = Kind::kVlenString;
      } else {
        t.kind = Kind::kVlenSequence;
        model::Field f;
        f.type = std::move(base);
        t.fields.push_back(std::move(f));
      }
      return t;
    }
    case 10: {
      VZ_ASSIGN_OR_RETURN(auto rank, cur.U8());
      if (version < 3) VZ_TRY(cur.Skip(3));
      std::vector<std::uint64_t> dims;
      for (int i = 0; i < rank; ++i) {
        VZ_ASSIGN_OR_RETURN(auto d, cur.U32());
        dims.push_back(d);
      }
      if (version < 3) VZ_TRY(cur.Skip(std::size_t{4} * rank));
      VZ_ASSIGN_OR_RETURN(auto base, ParseDatatype(cur, depth + 1));
      t = base;
      t.size = size;
      t.subshape.insert(t.subshape.begin(), dims.begin(), dims.end());
      return t;
    }
    default:
      return Unsupported(fmt::format("datatype class {} at {}", cls, Hex(at)));
  }
}

struct Space {
  bool null = false;
  std::vector<std::uint64_t> dims;
  std::vector<std::uint64_t> max_dims;  // empty when the file gives none: the same as dims
};

Result<Space> ParseDataspace(const FileContext& ctx, ByteCursor& cur) {
  Space s;
  VZ_ASSIGN_OR_RETURN(auto version, cur.U8());
  VZ_ASSIGN_OR_RETURN(auto rank, cur.U8());
  VZ_ASSIGN_OR_RETURN(auto flags, cur.U8());
  if (version == 1) {
    VZ_TRY(cur.Skip(5));
  } else if (version == 2) {
    VZ_ASSIGN_OR_RETURN(auto type, cur.U8());
    s.null = type == 2;
  } else {
    return Unsupported(fmt::format("dataspace version {}", version));
  }
  if (rank > ctx.limits.max_rank) return LimitExceeded(fmt::format("dataspace rank {}", rank));
  s.dims.reserve(rank);
  for (int i = 0; i < rank; ++i) {
    VZ_ASSIGN_OR_RETURN(auto d, ctx.ReadLength(cur));
    s.dims.push_back(d);
  }
  if (flags & 1) {
    s.max_dims.reserve(rank);
    for (int i = 0; i < rank; ++i) {
      VZ_ASSIGN_OR_RETURN(auto d, ctx.ReadLength(cur));
      s.max_dims.push_back(ctx.IsUndefined(d) ? model::Array::kUnlimited : d);
    }
  }
  return s;
}

Result<std::vector<model::Filter>> ParseFilters(ByteCursor& cur) {
  std::vector<model::Filter> out;
  VZ_ASSIGN_OR_RETURN(auto version, cur.U8());
  VZ_ASSIGN_OR_RETURN(auto n, cur.U8());
  if (version == 1) VZ_TRY(cur.Skip(6));
  for (int i = 0; i < n; ++i) {
    model::Filter f;
    VZ_ASSIGN_OR_RETURN(f.id, cur.U16());
    std::uint16_t name_len = 0;
    if (version == 1 || f.id >= 256) {
      VZ_ASSIGN_OR_RETURN(name_len, cur.U16());
    }
    VZ_ASSIGN_OR_RETURN(f.flags, cur.U16());
    VZ_ASSIGN_OR_RETURN(auto nvals, cur.U16());
    if (name_len > 0) {
      std::size_t padded = version == 1 ? (name_len + 7u) / 8u * 8u : name_len;
      VZ_ASSIGN_OR_RETURN(auto nb, cur.Bytes(padded));
      std::string name(nb.begin(), nb.end());
      name.resize(std::strlen(name.c_str()));
      f.name = name;
    }
    for (int k = 0; k < nvals; ++k) {
      VZ_ASSIGN_OR_RETURN(auto v, cur.U32());
      f.client_data.push_back(v);
    }
    if (version == 1 && (nvals % 2) == 1) VZ_TRY(cur.Skip(4));
    out.push_back(std::move(f));
  }
  return out;
}

// ---------------------------------------------------------------- attribute values

std::string DecodeFixedString(std::span<const std::uint8_t> p) {
  std::size_t n = p.size();
  while (n > 0 && (p[n - 1] == 0)) --n;
  // h5py returns bytes up to the first NUL for null-terminated/padded strings.
  std::string s(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(n));
  auto z = s.find('\0');
  if (z != std::string::npos) s.resize(z);
  return SanitizeUtf8(std::move(s));
}

Result<std::optional<Reader::VlenObject>> Reader::ReadVlenObject(std::span<const std::uint8_t> p) {
  ByteCursor c(p);
  VZ_ASSIGN_OR_RETURN(auto len, c.U32());
  VZ_ASSIGN_OR_RETURN(auto coll, ctx.ReadOffset(c));
  VZ_ASSIGN_OR_RETURN(auto index, c.U32());
  if (coll == 0 || ctx.IsUndefined(coll)) return std::optional<VlenObject>();
  if (len == 0) return std::optional<VlenObject>(VlenObject{});
  VZ_ASSIGN_OR_RETURN(auto obj, gheap.Get(ctx, coll, index));
  return std::optional<VlenObject>(VlenObject{len, obj});
}

Result<std::optional<std::string>> Reader::ReadVlenString(std::span<const std::uint8_t> p) {
  VZ_ASSIGN_OR_RETURN(auto v, ReadVlenObject(p));
  if (!v) return std::optional<std::string>();
  const auto& obj = v->bytes;
  std::string s(obj.begin(), obj.begin() + static_cast<std::ptrdiff_t>(
                                               std::min<std::size_t>(obj.size(), v->length)));
  auto z = s.find('\0');
  if (z != std::string::npos) s.resize(z);
  return std::optional<std::string>(SanitizeUtf8(std::move(s)));
}

Result<std::string> Reader::ReadVlenBytes(std::span<const std::uint8_t> p, const DType& base) {
  VZ_ASSIGN_OR_RETURN(auto v, ReadVlenObject(p));
  if (!v || v->length == 0) return std::string();
  const std::uint32_t len = v->length;
  const auto& obj = v->bytes;
  VZ_ASSIGN_OR_RETURN(auto nbytes, CheckedMul(len, base.size, "sequence size"));
  if (nbytes > obj.size()) {
    return Corrupt(
        fmt::format("variable-length sequence of {} elements needs {} bytes, its heap "
                    "object holds {}",
                    len, nbytes, obj.size()));
  }
  std::string bytes(reinterpret_cast<const char*>(obj.data()),  // NOLINT
                    static_cast<std::size_t>(nbytes));
  // Big-endian elements come out little-endian, as h5py reads them (see Visit).
  if (base.byte_order == '>' && base.size > 1) {
    for (std::size_t i = 0; i + base.size <= bytes.size(); i += base.size) {
      std::reverse(bytes.begin() + static_cast<std::ptrdiff_t>(i),
                   bytes.begin() + static_cast<std::ptrdiff_t>(i + base.size));
    }
  }
  return bytes;
}

// Why the elements of a variable-length sequence of `base` cannot be written as a numcodecs
// vlen-array (one numpy array per element), or "" when they can.
std::string VlenSequenceUnsupported(const DType& base) {
  const bool plain = base.kind == Kind::kInt || base.kind == Kind::kUInt ||
                     base.kind == Kind::kFloat || base.kind == Kind::kBool;
  if (plain && base.subshape.empty() && base.size > 0 && base.size <= 8) return "";
  static const char* const kNames[] = {"bool",
                                       "integer",
                                       "unsigned integer",
                                       "float",
                                       "complex",
                                       "fixed-length string",
                                       "variable-length string",
                                       "variable-length sequence",
                                       "compound",
                                       "opaque",
                                       "reference"};
  const auto k = static_cast<std::size_t>(base.kind);
  return fmt::format("variable-length sequence of {}{} elements not supported",
                     k < std::size(kNames) ? kNames[k] : "unknown",
                     base.subshape.empty() ? "" : " array");
}

Result<std::vector<std::optional<std::string>>> Reader::DecodeVlenValues(const model::Array& arr,
                                                                         const DataLayout& dl) {
  const bool strings = arr.dtype.kind == Kind::kVlenString;
  if (!strings) {
    if (arr.dtype.fields.empty()) return Corrupt("variable-length sequence without a base type");
    const auto why = VlenSequenceUnsupported(arr.dtype.fields[0].type);
    if (!why.empty()) return Unsupported(why);
  }
  if (!arr.dtype.subshape.empty()) {
    return Unsupported("HDF5 array of variable-length elements not supported");
  }
  VZ_ASSIGN_OR_RETURN(auto n, CheckedProduct(arr.shape, "element count"));
  const std::uint64_t esz = arr.dtype.size;
  if (n > ctx.limits.max_elements_decoded || n * esz > ctx.limits.max_metadata_block) {
    return LimitExceeded(fmt::format("too many variable-length {} to decode ({} elements)",
                                     strings ? "strings" : "sequences", n));
  }
  // The heap ids (length, collection, index) of every element, row-major. Storage never
  // written holds the fill value (itself a heap id) when there is one, else null elements.
  std::vector<std::uint8_t> raw(static_cast<std::size_t>(n * esz), 0);
  if (arr.fill_value && arr.fill_value->size() == esz) {
    for (std::size_t i = 0; i < raw.size(); i += static_cast<std::size_t>(esz)) {
      std::copy(arr.fill_value->begin(), arr.fill_value->end(),
                raw.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  if (dl.layout == model::Layout::kCompact) {
    std::copy_n(dl.compact_data.begin(), std::min(dl.compact_data.size(), raw.size()), raw.begin());
  } else if (dl.layout == model::Layout::kContiguous && !ctx.IsUndefined(dl.address)) {
    VZ_ASSIGN_OR_RETURN(auto stored, ctx.Read(dl.address, std::min<std::uint64_t>(dl.size, n * esz),
                                              "variable-length data"));
    std::copy_n(stored.begin(), std::min(stored.size(), raw.size()), raw.begin());
  } else if (dl.layout == model::Layout::kChunked) {
    const auto& m = arr.manifest;
    const std::size_t rank = arr.shape.size();
    VZ_ASSIGN_OR_RETURN(auto chunk_elements, CheckedProduct(arr.chunk_shape, "chunk elements"));
    VZ_ASSIGN_OR_RETURN(auto chunk_bytes, CheckedMul(chunk_elements, esz, "chunk size"));
    if (chunk_bytes > ctx.limits.max_metadata_block) {
      return LimitExceeded(fmt::format("variable-length chunks of {} bytes", chunk_bytes));
    }
    codecs::ChunkInfo info{arr.dtype, arr.chunk_shape, chunk_bytes};
    for (std::size_t ci = 0; ci < m.size(); ++ci) {
      if (m.lengths[ci] > ctx.limits.max_metadata_block) {
        return LimitExceeded(fmt::format("variable-length chunk {} at {} holds {} bytes", ci,
                                         Hex(m.offsets[ci]), m.lengths[ci]));
      }
      VZ_ASSIGN_OR_RETURN(auto stored, ctx.source->ReadAt(m.offsets[ci], m.lengths[ci]));
      std::vector<std::uint8_t> chunk;
      if (arr.filters.empty()) {
        chunk.assign(stored.begin(), stored.end());
      } else {
        const std::uint32_t mask = m.filter_masks.empty() ? 0 : m.filter_masks[ci];
        auto decoded = codecs::DecodeChunk(stored, arr.filters, mask, info);
        if (!decoded.ok()) {
          return std::move(decoded)
              .Annotate(fmt::format("chunk {} at {}", ci, Hex(m.offsets[ci])))
              .error();
        }
        chunk = std::move(*decoded);
      }
      chunk.resize(static_cast<std::size_t>(chunk_bytes), 0);  // a short chunk: nulls
      codecs::CopyChunkIntoArray(chunk, std::span(m.coords).subspan(ci * rank, rank),
                                 arr.chunk_shape, arr.shape, static_cast<std::size_t>(esz), raw);
    }
  }
  std::vector<std::optional<std::string>> vals;
  vals.reserve(static_cast<std::size_t>(n));
  std::uint64_t total = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    const auto p = std::span<const std::uint8_t>(raw).subspan(static_cast<std::size_t>(i * esz),
                                                              static_cast<std::size_t>(esz));
    if (strings) {
      VZ_ASSIGN_OR_RETURN(auto s, ReadVlenString(p));
      total += s ? s->size() : 0;
      vals.push_back(std::move(s));
    } else {
      VZ_ASSIGN_OR_RETURN(auto b, ReadVlenBytes(p, arr.dtype.fields[0].type));
      total += b.size();
      vals.emplace_back(std::move(b));
    }
    if (total > ctx.limits.max_metadata_block) {
      return LimitExceeded(fmt::format("more than {} bytes of variable-length data to decode",
                                       ctx.limits.max_metadata_block));
    }
  }
  return vals;
}

// An HDF5 array element type (say, 3 floats) stores its elements contiguously, so a dataset of
// N such elements is, byte for byte, an N x 3 array of the base type, which is how h5py and
// numpy read it. The element's axes become trailing axes of the array, whole in every chunk.
void ExpandArrayElementType(model::Array& arr) {
  const std::vector<std::uint64_t> sub = std::move(arr.dtype.subshape);
  arr.dtype.subshape.clear();
  auto count = CheckedProduct(sub, "array element");
  if (!count.ok() || *count == 0 || arr.dtype.size % *count != 0) {
    arr.unsupported = "HDF5 array datatype with an inconsistent element size";
    return;
  }
  const std::uint64_t whole = arr.dtype.size;
  arr.dtype.size = static_cast<std::uint32_t>(whole / *count);
  const std::size_t old_rank = arr.shape.size();
  for (auto* axes : {&arr.shape, &arr.max_shape, &arr.chunk_shape}) {
    axes->resize(old_rank, 1);
    axes->insert(axes->end(), sub.begin(), sub.end());
  }
  auto& m = arr.manifest;
  std::vector<std::uint64_t> coords;
  coords.reserve(m.size() * (old_rank + sub.size()));
  for (std::size_t c = 0; c < m.size(); ++c) {
    for (std::size_t d = 0; d < old_rank; ++d) coords.push_back(m.coords[c * old_rank + d]);
    coords.insert(coords.end(), sub.size(), 0);
  }
  m.coords = std::move(coords);
  m.rank = old_rank + sub.size();
  // The fill value fills whole array elements; as a zarr fill value it must be one base
  // element, so it is kept only when every base element of it is the same.
  if (arr.fill_value) {
    const auto& f = *arr.fill_value;
    const std::size_t b = arr.dtype.size;
    bool uniform = f.size() == whole;
    for (std::size_t i = b; uniform && i < f.size(); i += b) {
      uniform = std::equal(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(b),
                           f.begin() + static_cast<std::ptrdiff_t>(i));
    }
    if (uniform) {
      arr.fill_value->resize(b);
    } else {
      arr.fill_value.reset();
    }
  }
}

Result<Json> Reader::DecodeElement(const DType& t, std::span<const std::uint8_t> p,
                                   std::vector<std::uint64_t>* refs) {
  if (t.size == 0 || p.size() < t.size) return Json(nullptr);
  switch (t.kind) {
    case Kind::kBool:
      return Json(p[0] != 0);
    case Kind::kInt:
    case Kind::kUInt:
    case Kind::kFloat: {
      const auto n = model::DecodeNumber(t, p);
      if (!n) return Json(nullptr);
      return std::visit([](auto v) { return Json(v); }, *n);
    }
    case Kind::kFixedString:
      return Json(DecodeFixedString(p));
    case Kind::kVlenString: {
      VZ_ASSIGN_OR_RETURN(auto s, ReadVlenString(p));
      return s ? Json(*s) : Json(nullptr);
    }
    case Kind::kVlenSequence: {
      VZ_ASSIGN_OR_RETURN(auto heap_object, ReadVlenObject(p));
      if (!heap_object || heap_object->length == 0) return Json::array();
      const std::uint32_t len = heap_object->length;
      const auto obj = heap_object->bytes;
      const DType& base = t.fields[0].type;
      if (base.size == 0) return Json::array();
      Json arr = Json::array();
      for (std::size_t i = 0; i < len && (i + 1) * base.size <= obj.size(); ++i) {
        auto elem = obj.subspan(i * base.size, base.size);
        if (base.kind == Kind::kReference && refs != nullptr && base.size >= ctx.size_of_offsets) {
          ByteCursor rc(elem);
          VZ_ASSIGN_OR_RETURN(auto a, ctx.ReadOffset(rc));
          refs->push_back(a);
        }
        VZ_ASSIGN_OR_RETURN(auto v, DecodeElement(base, elem, nullptr));
        arr.push_back(std::move(v));
      }
      return arr;
    }
    case Kind::kCompound: {
      Json arr = Json::array();
      for (const auto& f : t.fields) {
        if (f.offset + f.type.size > p.size() || !f.type.subshape.empty()) {
          arr.push_back(nullptr);
          continue;
        }
        VZ_ASSIGN_OR_RETURN(auto v,
                            DecodeElement(f.type, p.subspan(f.offset, f.type.size), nullptr));
        arr.push_back(std::move(v));
      }
      return arr;
    }
    case Kind::kComplex: {
      DType half = t;
      half.kind = Kind::kFloat;
      half.size = t.size / 2;
      VZ_ASSIGN_OR_RETURN(auto re, DecodeElement(half, p.first(half.size), nullptr));
      VZ_ASSIGN_OR_RETURN(auto im, DecodeElement(half, p.subspan(half.size), nullptr));
      return Json::array({re, im});
    }
    case Kind::kOpaque:
    case Kind::kReference:
      return Json(nullptr);
  }
  return Json(nullptr);
}

Result<model::Attribute> Reader::ParseAttribute(std::span<const std::uint8_t> body,
                                                std::uint64_t offset,
                                                std::vector<std::uint64_t>* refs) {
  ByteCursor cur(body, offset);
  model::Attribute a;
  VZ_ASSIGN_OR_RETURN(auto version, cur.U8());
  VZ_ASSIGN_OR_RETURN(auto flags, cur.U8());
  VZ_ASSIGN_OR_RETURN(auto name_size, cur.U16());
  VZ_ASSIGN_OR_RETURN(auto dt_size, cur.U16());
  VZ_ASSIGN_OR_RETURN(auto ds_size, cur.U16());
  if (version == 3) VZ_TRY(cur.Skip(1));
  if (version < 1 || version > 3)
    return Unsupported(fmt::format("attribute message version {}", version));
  auto pad = [&](std::size_t n) -> std::size_t { return version == 1 ? (n + 7u) / 8u * 8u : n; };
  VZ_ASSIGN_OR_RETURN(auto name_bytes, cur.Bytes(pad(name_size)));
  a.name.assign(name_bytes.begin(), name_bytes.end());
  a.name.resize(std::strlen(a.name.c_str()));
  a.name = SanitizeUtf8(std::move(a.name));
  VZ_ASSIGN_OR_RETURN(auto dtc, cur.Sub(pad(dt_size)));
  if (flags & 1) {
    Message m;
    m.type = 3;
    m.flags = 2;
    m.body.assign(dtc.data().begin(), dtc.data().end());
    m.offset = dtc.base_offset();
    VZ_TRY(ResolveShared(m, 0));
    ByteCursor c2(m.body, m.offset);
    VZ_ASSIGN_OR_RETURN(a.dtype, ParseDatatype(c2));
  } else {
    VZ_ASSIGN_OR_RETURN(a.dtype, ParseDatatype(dtc));
  }
  VZ_ASSIGN_OR_RETURN(auto dsc, cur.Sub(pad(ds_size)));
  if (flags & 2) return Unsupported("shared dataspace in attribute");
  VZ_ASSIGN_OR_RETURN(auto space, ParseDataspace(ctx, dsc));
  if (space.null) {
    a.value = "";
    return a;
  }
  a.shape = std::move(space.dims);
  VZ_ASSIGN_OR_RETURN(auto n, CheckedProduct(a.shape, "attribute element count"));
  if (n > ctx.limits.max_elements_decoded) return LimitExceeded("attribute has too many elements");
  if (a.dtype.size == 0 && n > 0) {
    return Corrupt(fmt::format("attribute {} has a zero-size datatype", a.name));
  }
  VZ_ASSIGN_OR_RETURN(auto sub, CheckedProduct(a.dtype.subshape, "attribute array type"));
  DType elem = a.dtype;
  elem.subshape.clear();
  if (!a.dtype.subshape.empty() && sub > 0)
    elem.size = static_cast<std::uint32_t>(a.dtype.size / sub);
  VZ_ASSIGN_OR_RETURN(auto total, CheckedMul(n, a.dtype.size, "attribute size"));
  if (total > cur.remaining())
    return Corrupt(
        fmt::format("attribute {} data truncated at {}", a.name, Hex(cur.file_offset())));
  auto data = cur.rest();
  VZ_ASSIGN_OR_RETURN(auto count, CheckedMul(n, sub, "attribute element count"));
  if (count > ctx.limits.max_elements_decoded)
    return LimitExceeded("attribute has too many elements");
  if (count == 1) {  // most attributes: one value, no list
    VZ_ASSIGN_OR_RETURN(a.value, DecodeElement(elem, data.first(elem.size), refs));
    return a;
  }
  std::vector<Json> flat;
  flat.reserve(static_cast<std::size_t>(count));
  for (std::uint64_t i = 0; i < count; ++i) {
    VZ_ASSIGN_OR_RETURN(
        auto v, DecodeElement(
                    elem, data.subspan(static_cast<std::size_t>(i * elem.size), elem.size), refs));
    flat.push_back(std::move(v));
  }
  std::vector<std::uint64_t> shape = a.shape;
  shape.insert(shape.end(), a.dtype.subshape.begin(), a.dtype.subshape.end());
  if (shape.size() == 1) {  // a list: the decoded values as they are
    a.value = Json::array();
    a.value.get_ref<Json::array_t&>() = std::move(flat);
    return a;
  }
  // Nest row-major.
  std::function<Json(std::size_t, std::size_t&)> build = [&](std::size_t axis, std::size_t& pos) {
    Json arr = Json::array();
    for (std::uint64_t i = 0; i < shape[axis]; ++i) {
      if (axis + 1 == shape.size()) {
        arr.push_back(std::move(flat[pos++]));
      } else {
        arr.push_back(build(axis + 1, pos));
      }
    }
    return arr;
  };
  std::size_t pos = 0;
  a.value = shape.empty() ? Json::array() : build(0, pos);
  return a;
}

// ---------------------------------------------------------------- traversal

Status Reader::Visit(std::uint64_t address, const std::string& path, std::uint32_t depth) {
  if (depth > ctx.limits.max_depth)
    return LimitExceeded(
        fmt::format("group nesting deeper than {} at {}", ctx.limits.max_depth, path));
  if (!visited.insert(address).second) return Ok();
  if (++objects > ctx.limits.max_objects) return LimitExceeded("too many objects");
  path_of[address] = path;
  auto hr = TakeHeader(address);
  if (!hr.ok()) return std::move(hr).Annotate("in " + path).error();
  auto& msgs = *hr;
  std::vector<model::Attribute> attrs;
  std::vector<std::uint32_t> attr_order;  // creation order of each entry of attrs
  std::vector<std::uint64_t> dimlist_refs;
  bool has_space = false, has_layout = false, has_type = false, is_group = path == "/";
  bool attr_creation_order = false;
  Space space;
  DType dtype;
  std::optional<std::vector<std::uint8_t>> fill;
  std::vector<model::Filter> filters;
  const Message* layout_msg = nullptr;
  std::string unsupported;
  std::vector<Link> links;
  auto annotate = [&](Error e, const Message& m) {
    return std::move(e.Annotate(fmt::format("in message type {} at {}", m.type, Hex(m.offset))))
        .Annotate("in " + path);
  };
  attrs.reserve(static_cast<std::size_t>(
      std::count_if(msgs.begin(), msgs.end(), [](const Message& m) { return m.type == 0x0C; })));
  for (const auto& m : msgs) {
    ByteCursor c(m.body, m.offset);
    switch (m.type) {
      case 0x01: {
        auto r = ParseDataspace(ctx, c);
        if (!r.ok()) return annotate(std::move(r).error(), m);
        space = std::move(*r);
        has_space = true;
        break;
      }
      case 0x03: {
        auto r = ParseDatatype(c);
        if (!r.ok()) {
          if (r.error().code() != ErrorCode::kUnsupported) return annotate(std::move(r).error(), m);
          unsupported = r.error().message();
        } else {
          dtype = std::move(*r);
        }
        has_type = true;
        break;
      }
      case 0x04: {
        auto sz = c.U32();
        if (!sz.ok()) return annotate(std::move(sz).error(), m);
        auto b = c.Bytes(*sz);
        if (!b.ok()) return annotate(std::move(b).error(), m);
        if (*sz > 0 && !fill) fill = std::vector<std::uint8_t>(b->begin(), b->end());
        break;
      }
      case 0x05: {
        auto v = c.U8();
        if (!v.ok()) return annotate(std::move(v).error(), m);
        bool defined = false;
        if (*v == 1 || *v == 2) {
          if (!c.Skip(2).ok()) return annotate(Corrupt("fill value message truncated"), m);
          auto d = c.U8();
          if (!d.ok()) return annotate(std::move(d).error(), m);
          defined = *d != 0;
          if (*v == 1) defined = defined || c.remaining() >= 4;
        } else if (*v == 3) {
          auto fl = c.U8();
          if (!fl.ok()) return annotate(std::move(fl).error(), m);
          defined = (*fl & 0x20) != 0;
        } else {
          return annotate(Unsupported(fmt::format("fill value message version {}", *v)), m);
        }
        if (defined && c.remaining() >= 4) {
          auto sz = c.U32();
          auto b = c.Bytes(*sz);
          if (!b.ok()) return annotate(std::move(b).error(), m);
          if (*sz > 0) fill = std::vector<std::uint8_t>(b->begin(), b->end());
        }
        break;
      }
      case 0x06: {
        auto r = ParseLinkMessage(ctx, c);
        if (!r.ok()) return annotate(std::move(r).error(), m);
        links.push_back(std::move(*r));
        is_group = true;
        break;
      }
      case 0x07:
        unsupported = "external raw storage (External Data Files message) not supported";
        break;
      case 0x08:
        layout_msg = &m;
        has_layout = true;
        break;
      case 0x0B: {
        auto r = ParseFilters(c);
        if (!r.ok()) return annotate(std::move(r).error(), m);
        filters = std::move(*r);
        break;
      }
      case 0x0C: {
        std::vector<std::uint64_t> refs;
        auto r = ParseAttribute(m.body, m.offset, &refs);
        if (!r.ok()) {
          if (r.error().code() != ErrorCode::kUnsupported) return annotate(std::move(r).error(), m);
          out.warnings.push_back(
              fmt::format("attribute skipped in {}: {}", path, r.error().ToString()));
          break;
        }
        if (r->name == "DIMENSION_LIST") dimlist_refs = refs;
        attrs.push_back(std::move(*r));
        attr_order.push_back(m.creation_order);
        break;
      }
      case 0x02:
      case 0x15: {
        auto info = ParseInfoMessage(ctx, c, m.type);
        if (!info.ok()) return annotate(std::move(info).error(), m);
        if (m.type == 0x02) is_group = true;
        if (m.type == 0x15 && info->creation_order) attr_creation_order = true;
        if (ctx.IsUndefined(info->heap)) break;
        if (m.type == 0x02) {
          auto r = ReadDenseLinks(ctx, info->heap, info->name_index);
          if (!r.ok()) return annotate(std::move(r).error(), m);
          for (auto& l : *r) links.push_back(std::move(l));
        } else {
          auto r = ReadDenseAttributes(ctx, info->heap, info->name_index);
          if (!r.ok()) return annotate(std::move(r).error(), m);
          attrs.reserve(attrs.size() + r->size());
          for (auto& body : *r) {
            std::vector<std::uint64_t> refs;
            auto a = ParseAttribute(body, m.offset, &refs);
            if (!a.ok()) {
              if (a.error().code() != ErrorCode::kUnsupported)
                return annotate(std::move(a).error(), m);
              out.warnings.push_back(
                  fmt::format("attribute skipped in {}: {}", path, a.error().ToString()));
              continue;
            }
            if (a->name == "DIMENSION_LIST") dimlist_refs = refs;
            attrs.push_back(std::move(*a));
            // Dense storage: the creation-order index is not read; keep them after the
            // compact ones in the order the name index returns them.
            attr_order.push_back(0x10000u + static_cast<std::uint32_t>(attrs.size()));
          }
        }
        break;
      }
      case 0x11: {
        auto bt = ctx.ReadOffset(c);
        auto heap = ctx.ReadOffset(c);
        if (!bt.ok() || !heap.ok()) return annotate(Corrupt("symbol table message truncated"), m);
        auto r = ReadSymbolTableGroup(ctx, *bt, *heap);
        if (!r.ok()) return annotate(std::move(r).error(), m);
        for (auto& l : *r) links.push_back(std::move(l));
        is_group = true;
        break;
      }
      case 0x0A:
      case 0x0D:
      case 0x0E:
      case 0x0F:
      case 0x12:
      case 0x13:
      case 0x14:
      case 0x16:
      case 0x17:
      case 0x09:
        break;
      default:
        if (m.flags & 0x80) {
          return annotate(
              Unsupported(fmt::format("unknown message type {} marked fail-if-unknown", m.type)),
              m);
        }
        break;
    }
  }
  // h5py lists attributes in creation order when the object tracks it (netCDF-4 files do;
  // v2 object headers then carry each message's creation order), otherwise by name.
  {
    std::vector<std::size_t> idx(attrs.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    if (attr_creation_order) {
      std::stable_sort(idx.begin(), idx.end(),
                       [&](std::size_t a, std::size_t b) { return attr_order[a] < attr_order[b]; });
    } else {
      std::stable_sort(idx.begin(), idx.end(),
                       [&](std::size_t a, std::size_t b) { return attrs[a].name < attrs[b].name; });
    }
    std::vector<model::Attribute> sorted;
    sorted.reserve(attrs.size());
    for (auto i : idx) sorted.push_back(std::move(attrs[i]));
    attrs = std::move(sorted);
  }
  if (has_space && has_layout) {
    model::Array arr;
    arr.path = path;
    arr.dtype = std::move(dtype);
    arr.unsupported = unsupported;
    if (!space.null) {
      arr.max_shape = space.max_dims.empty() ? space.dims : std::move(space.max_dims);
      arr.shape = std::move(space.dims);
    }
    arr.fill_value = std::move(fill);
    const bool filtered = !filters.empty();
    arr.filters = std::move(filters);
    arr.attributes = std::move(attrs);
    ByteCursor lc(layout_msg->body, layout_msg->offset);
    auto lr = ParseDataLayout(ctx, lc, arr.shape.size());
    if (!lr.ok()) {
      if (lr.error().code() != ErrorCode::kUnsupported)
        return annotate(std::move(lr).error(), *layout_msg);
      arr.unsupported = lr.error().message();
    } else {
      DataLayout& dl = *lr;
      if (dl.layout == model::Layout::kContiguous && dl.version < 3 && dl.size == 0) {
        // Layout versions 1 and 2 store no byte size: it is the dataspace size times the
        // element size.
        VZ_ASSIGN_OR_RETURN(auto elements, CheckedProduct(arr.shape, "contiguous elements"));
        VZ_ASSIGN_OR_RETURN(dl.size, CheckedMul(elements, arr.dtype.size, "contiguous size"));
      }
      arr.layout = dl.layout;
      if (dl.layout == model::Layout::kChunked) {
        static const char* const kIndexNames[] = {"v1 B-tree",   "single chunk",     "implicit",
                                                  "fixed array", "extensible array", "v2 B-tree"};
        const auto index = static_cast<std::size_t>(dl.index_type);
        arr.chunk_index = index < 6 ? kIndexNames[index] : "unknown index";
      }
      arr.manifest.rank = arr.shape.size();
      std::vector<std::uint64_t> zeros(arr.shape.size(), 0);
      if (dl.layout == model::Layout::kVirtual) {
        arr.unsupported = "virtual dataset layout not supported";
      } else if (dl.layout == model::Layout::kContiguous) {
        arr.chunk_shape = arr.shape;
        if (!ctx.IsUndefined(dl.address) && dl.size > 0 && arr.unsupported.empty()) {
          arr.manifest.Add(zeros, ctx.Absolute(dl.address), dl.size);
        }
      } else if (dl.layout == model::Layout::kCompact) {
        arr.chunk_shape = arr.shape;
        arr.compact_data = dl.compact_data;
      } else {
        arr.chunk_shape = dl.chunk_dims;
        arr.chunk_shape.resize(arr.shape.size(), 1);
        ChunkIndexInput in;
        in.layout = &dl;
        in.dims = arr.shape;
        in.max_dims = arr.max_shape;
        in.filtered = filtered;
        if (arr.unsupported.empty()) {
          auto cr = ReadChunkIndex(ctx, in);
          if (!cr.ok()) return std::move(cr).Annotate("in chunk index of " + path).error();
          if (cr->size() > ctx.limits.max_chunks_per_array)
            return LimitExceeded("too many chunks in " + path);
          std::vector<std::uint64_t> coords(arr.shape.size());
          for (const auto& rec : *cr) {
            for (std::size_t i = 0; i < coords.size(); ++i) {
              const std::uint64_t cd = arr.chunk_shape[i] == 0 ? 1 : arr.chunk_shape[i];
              coords[i] = i < rec.offset.size() ? rec.offset[i] / cd : 0;
            }
            arr.manifest.Add(coords, rec.address, rec.size, rec.filter_mask);
          }
        }
      }
      if (arr.dtype.IsVariableLength() && arr.unsupported.empty()) {
        auto vr = DecodeVlenValues(arr, dl);
        if (!vr.ok()) {
          if (vr.error().code() != ErrorCode::kUnsupported &&
              vr.error().code() != ErrorCode::kLimit)
            return std::move(vr).Annotate("in " + path).error();
          arr.unsupported = vr.error().message();
        } else {
          arr.vlen_values = std::move(*vr);
          // ReadVlenBytes swapped big-endian sequence elements to little-endian.
          if (arr.dtype.kind == Kind::kVlenSequence && !arr.dtype.fields.empty() &&
              arr.dtype.fields[0].type.byte_order == '>') {
            arr.dtype.fields[0].type.byte_order = '<';
          }
        }
      }
      if (!arr.dtype.subshape.empty() && arr.unsupported.empty() && !space.null) {
        ExpandArrayElementType(arr);
      }
    }
    if (!dimlist_refs.empty()) dim_refs[out.arrays.size()] = {dimlist_refs};
    out.arrays.push_back(std::move(arr));
    return Ok();
  }
  if (has_type && !is_group) return Ok();  // committed datatype
  model::Group g;
  g.path = path;
  g.attributes = std::move(attrs);
  out.groups.push_back(std::move(g));
  std::sort(links.begin(), links.end(),
            [](const Link& a, const Link& b) { return a.name < b.name; });
  // Members are read ahead in batches, so that the headers kept meanwhile stay few.
  constexpr std::size_t kReadAheadBatch = 1024;
  for (std::size_t i = 0; i < links.size(); ++i) {
    if (i % kReadAheadBatch == 0) {
      const auto first = links.begin() + static_cast<std::ptrdiff_t>(i);
      PrefetchMembers(std::span<const Link>(
          first, first + static_cast<std::ptrdiff_t>(std::min(kReadAheadBatch, links.size() - i))));
    }
    const Link& l = links[i];
    const std::string child = Child(path, l.name);
    switch (l.type) {
      case Link::Type::kHard:
        VZ_TRY(Visit(l.address, child, depth + 1));
        break;
      case Link::Type::kSoft:
        out.warnings.push_back(
            fmt::format("soft link {} -> {} not followed", child, l.soft_target));
        break;
      case Link::Type::kExternal:
        out.warnings.push_back(fmt::format("external link {} -> {}:{} not followed", child,
                                           l.external_file, l.external_path));
        break;
      case Link::Type::kUserDefined:
        out.warnings.push_back(
            fmt::format("user-defined link {} (class {}) not followed", child, l.user_type));
        break;
    }
  }
  return Ok();
}

// A group's members are visited one after another, and each may need structures outside the
// blocks read so far: its object header, its attribute heap and name index, its chunk index.
// Fetched member by member, each costs a round trip; here each level of them is asked for, for
// all members at once: the headers, then what they point at (and the headers of member groups'
// own members), then the roots those point at.
// Only a hint to the cache: whatever fails here is read, and reported, by Visit.
void Reader::PrefetchMembers(std::span<const Link> links) {
  if (!ctx.source->WantsPrefetch()) return;  // e.g. a local file: misses are cheap
  std::vector<std::uint64_t> members;
  for (const auto& l : links) {
    if (l.type == Link::Type::kHard && !ctx.IsUndefined(l.address) && !visited.count(l.address) &&
        !read_ahead.count(l.address)) {
      members.push_back(l.address);
    }
  }
  if (members.size() < 2) return;
  std::vector<io::ByteRange> want;
  want.reserve(members.size());
  for (auto a : members) want.push_back({a, 512});  // a header's prefix (its block, in fact)
  ctx.Prefetch(want);

  want.clear();
  std::vector<std::uint64_t> heaps, name_indexes;
  for (auto a : members) {
    auto h = ReadHeader(a);
    if (!h.ok()) continue;
    std::size_t rank = 0;
    for (const auto& m : *h) {
      ByteCursor c(m.body, m.offset);
      if (m.type == 0x01) {
        if (auto sp = ParseDataspace(ctx, c); sp.ok()) rank = sp->dims.size();
      } else if (m.type == 0x02 || m.type == 0x15) {
        auto info = ParseInfoMessage(ctx, c, m.type);
        if (!info.ok() || ctx.IsUndefined(info->heap)) continue;
        want.push_back({info->heap, 256});
        heaps.push_back(info->heap);
        if (!ctx.IsUndefined(info->name_index)) {
          want.push_back({info->name_index, 256});
          name_indexes.push_back(info->name_index);
        }
      } else if (m.type == 0x06) {
        // A member group's own members: their headers come with this level too.
        auto link = ParseLinkMessage(ctx, c);
        if (link.ok() && link->type == Link::Type::kHard && !ctx.IsUndefined(link->address)) {
          want.push_back({link->address, 512});
        }
      } else if (m.type == 0x08) {
        auto dl = ParseDataLayout(ctx, c, rank);
        if (dl.ok() && dl->layout == model::Layout::kChunked &&
            !ctx.IsUndefined(dl->index_address)) {
          want.push_back({dl->index_address, 512});
        }
      }
    }
    read_ahead.emplace(a, std::move(*h));
  }
  ctx.Prefetch(want);

  want.clear();
  for (auto heap : heaps) {
    auto fh = FractalHeap::Open(ctx, heap);
    if (!fh.ok()) continue;
    if (auto root = fh->RootBlock()) want.push_back(*root);
  }
  for (auto bt : name_indexes) {
    auto hdr = ReadBTree2Header(ctx, bt);
    if (hdr.ok() && hdr->total_records > 0) want.push_back({hdr->root_address, hdr->node_size});
  }
  ctx.Prefetch(want);
}

}  // namespace

bool LooksLikeHdf5(std::span<const std::uint8_t> head) {
  for (std::size_t off = 0; off + 8 <= head.size(); off = off == 0 ? 512 : off * 2) {
    if (std::memcmp(head.data() + off, kSignature, 8) == 0) return true;
  }
  return false;
}

Result<model::VirtualDataset> Read(io::ByteSource& source, const ReadOptions& options) {
  Reader rd;
  rd.ctx.source = &source;
  rd.ctx.limits = options.limits;
  VZ_ASSIGN_OR_RETURN(auto info, source.Stat());
  rd.ctx.file_size = info.size;
  std::uint64_t sb = 0;
  bool found = false;
  for (std::uint64_t off = 0; off + 8 <= info.size; off = off == 0 ? 512 : off * 2) {
    VZ_ASSIGN_OR_RETURN(auto sig, source.ReadAt(off, 8));
    if (std::memcmp(sig.data(), kSignature, 8) == 0) {
      sb = off;
      found = true;
      break;
    }
  }
  if (!found) return Corrupt("no HDF5 superblock signature found");
  const std::string where = fmt::format("in superblock at {}", Hex(sb));
  VZ_ASSIGN_OR_RETURN(auto bytes, source.ReadAt(sb, std::min<std::uint64_t>(info.size - sb, 256)));
  ByteCursor c(bytes, sb);
  VZ_TRY(c.Skip(8));
  VZ_ASSIGN_OR_RETURN(auto version, c.U8());
  rd.ctx.superblock_version = version;
  std::uint64_t root = 0;
  std::optional<std::uint64_t> extension;
  if (version <= 1) {
    VZ_TRY(c.Skip(4));
    VZ_ASSIGN_OR_RETURN(rd.ctx.size_of_offsets, c.U8());
    VZ_ASSIGN_OR_RETURN(rd.ctx.size_of_lengths, c.U8());
    VZ_TRY(c.Skip(1 + 4 + 4));
    if (version == 1) VZ_TRY(c.Skip(4));
  } else if (version <= 3) {
    VZ_ASSIGN_OR_RETURN(rd.ctx.size_of_offsets, c.U8());
    VZ_ASSIGN_OR_RETURN(rd.ctx.size_of_lengths, c.U8());
    VZ_TRY(c.Skip(1));
  } else {
    return std::move(Unsupported(fmt::format("superblock version {}", version))).Annotate(where);
  }
  auto so = rd.ctx.size_of_offsets, sl = rd.ctx.size_of_lengths;
  if ((so != 2 && so != 4 && so != 8) || (sl != 2 && sl != 4 && sl != 8)) {
    return std::move(Corrupt(fmt::format("bad size of offsets/lengths {}/{}", so, sl)))
        .Annotate(where);
  }
  VZ_ASSIGN_OR_RETURN(rd.ctx.base_address, rd.ctx.ReadOffset(c));
  if (version <= 1) {
    VZ_TRY(c.Skip(std::size_t{3} * so));
    VZ_TRY(c.Skip(so));  // link name offset of the root symbol table entry
    VZ_ASSIGN_OR_RETURN(root, rd.ctx.ReadOffset(c));
  } else {
    VZ_ASSIGN_OR_RETURN(extension, rd.ctx.ReadOffset(c));
    VZ_TRY(c.Skip(so));  // end of file address
    VZ_ASSIGN_OR_RETURN(root, rd.ctx.ReadOffset(c));
    const std::size_t covered = c.pos();
    VZ_ASSIGN_OR_RETURN(auto stored, c.U32());
    VZ_TRY(VerifyChecksum(std::span<const std::uint8_t>(bytes).first(covered), stored, "superblock",
                          sb));
  }
  // Like libhdf5, trust where the superblock was found over a stale base address (files
  // given a user block after they were written).
  if (rd.ctx.base_address != sb) rd.ctx.base_address = sb;
  if (rd.ctx.base_address > info.size)
    return std::move(Corrupt("base address beyond end of file")).Annotate(where);
  if (extension.has_value() && !rd.ctx.IsUndefined(*extension)) {
    auto st = rd.ReadSharedMessageTable(*extension);
    if (!st.ok()) return std::move(st).Annotate("in superblock extension").error();
  }
  VZ_TRY(rd.Visit(root, "/", 0));
  auto& out = rd.out;
  out.paths = {source.url()};
  // Dimension scales.
  bool netcdf = false;
  if (!out.groups.empty()) {
    for (const auto& a : out.groups[0].attributes) netcdf = netcdf || a.name == "_NCProperties";
  }
  for (std::size_t i = 0; i < out.arrays.size(); ++i) {
    auto& arr = out.arrays[i];
    arr.dims.assign(arr.shape.size(), "");
    for (const auto& a : arr.attributes) {
      if (a.name == "_Netcdf4Dimid" || a.name == "_Netcdf4Coordinates") netcdf = true;
      if (a.name == "CLASS" && a.value.is_string() &&
          a.value.get<std::string>() == "DIMENSION_SCALE") {
        arr.is_dimension_scale = true;
      }
      if (a.name == "NAME" && a.value.is_string() &&
          a.value.get<std::string>().rfind("This is a netCDF dimension but not a netCDF variable",
                                           0) == 0) {
        arr.is_dimension_only = true;
        netcdf = true;
      }
    }
    if (arr.is_dimension_scale && !arr.dims.empty()) {
      arr.dims[0] = arr.path.substr(1);
      continue;
    }
    auto it = rd.dim_refs.find(i);
    if (it == rd.dim_refs.end() || it->second.empty()) continue;
    const auto& refs = it->second[0];
    if (refs.size() != arr.dims.size()) continue;
    for (std::size_t d = 0; d < refs.size(); ++d) {
      auto p = rd.path_of.find(refs[d]);
      if (p != rd.path_of.end()) arr.dims[d] = p->second.substr(1);
    }
  }
  out.format = netcdf ? "netcdf4" : "hdf5";
  return std::move(out);
}

}  // namespace vz::hdf5
