// Object headers (File Format Specification v3.0, IV.A.1): v1 headers with 8-byte aligned
// messages and raw continuation chunks, v2 "OHDR"/"OCHK" with checksums; shared messages
// (IV.A.2.p) resolved through another object header or the superblock extension's shared
// object header message table (III.H).
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <set>

#include "vz/base/checked.h"
#include "vz/hdf5/checksum.h"
#include "vz/hdf5/reader_internal.h"

namespace vz::hdf5 {

Result<std::vector<Message>> Reader::TakeHeader(std::uint64_t address) {
  auto ahead = read_ahead.find(address);
  if (ahead == read_ahead.end()) return ReadHeader(address);
  std::vector<Message> msgs = std::move(ahead->second);
  read_ahead.erase(ahead);
  return msgs;
}

Status Reader::ParseMessages(ByteCursor& cur, int version, bool creation_order,
                             std::vector<Message>& msgs,
                             std::deque<std::pair<std::uint64_t, std::uint64_t>>& cont) {
  const std::size_t hdr = version == 1 ? 8u : (creation_order ? 6u : 4u);
  while (cur.remaining() >= hdr) {
    Message m;
    if (version == 1) {
      VZ_ASSIGN_OR_RETURN(auto t, cur.U16());
      m.type = static_cast<MessageType>(t);
    } else {
      VZ_ASSIGN_OR_RETURN(auto t, cur.U8());
      m.type = static_cast<MessageType>(t);
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
    if (m.type == MessageType::kNil) continue;
    if (m.type == MessageType::kContinuation) {
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
    VZ_TRY(VerifyChecksum(std::span<const std::uint8_t>(all).first(covered),
                          UnsafeLoadU32LE(all.data() + covered), "object header",
                          ctx.Absolute(address)));
    ByteCursor mc(std::span<const std::uint8_t>(all).subspan(prefix, covered - prefix),
                  ctx.Absolute(address) + prefix);
    VZ_TRY(ParseMessages(mc, 2, creation_order, msgs, cont), "{}", where());
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
    VZ_TRY(ParseMessages(mc, 1, false, msgs, cont), "{}", where());
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
                            UnsafeLoadU32LE(chunk.data() + covered), "object header continuation",
                            ctx.Absolute(addr)));
      ByteCursor mc(std::span<const std::uint8_t>(chunk).subspan(4, covered - 4),
                    ctx.Absolute(addr) + 4);
      s = ParseMessages(mc, 2, creation_order, msgs, cont);
    } else {
      ByteCursor mc(chunk, ctx.Absolute(addr));
      s = ParseMessages(mc, 1, false, msgs, cont);
    }
    VZ_TRY(std::move(s), "{}", where());
  }
  for (auto& m : msgs) {
    if (m.flags & kMessageShared) {
      VZ_TRY(ResolveShared(m, depth), "{}", where());
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
    const int bit = m.type == MessageType::kDataspace        ? 0
                    : m.type == MessageType::kDatatype       ? 1
                    : m.type == MessageType::kFillValue      ? 2
                    : m.type == MessageType::kFilterPipeline ? 3
                    : m.type == MessageType::kAttribute      ? 4
                                                             : -1;
    VZ_ASSIGN_OR_RETURN(auto heap_id, c.Bytes(8));
    for (auto& [flags, heap] : sohm_heaps) {
      if (bit < 0 || !((flags >> bit) & 1)) continue;
      VZ_ASSIGN_OR_RETURN(auto body, heap.Get(ctx, heap_id));
      m.body = std::move(body);
      m.flags = static_cast<std::uint8_t>(m.flags & ~kMessageShared);
      return Ok();
    }
    return Corrupt(
        fmt::format("shared message at {} refers to the shared-message heap, but the file has no "
                    "shared-message index for message type {}",
                    Hex(m.offset), m.number()));
  } else {
    return Corrupt(
        fmt::format("shared message version {} type {} at {}", version, type, Hex(m.offset)));
  }
  VZ_ASSIGN_OR_RETURN(auto target, ReadHeader(addr, depth + 1));
  for (auto& t : target) {
    if (t.type == m.type) {
      m.body = std::move(t.body);
      m.offset = t.offset;
      m.flags = static_cast<std::uint8_t>(m.flags & ~kMessageShared);
      return Ok();
    }
  }
  return Corrupt(fmt::format("shared message at {}: target header has no message of type {}",
                             Hex(m.offset), m.number()));
}

// Superblock extension (an object header) -> Shared Message Table message -> "SMTB"
// table of indexes, each naming the fractal heap that holds shared messages of some types.
Status Reader::ReadSharedMessageTable(std::uint64_t extension_address) {
  VZ_ASSIGN_OR_RETURN(auto msgs, ReadHeader(extension_address));
  for (const auto& m : msgs) {
    if (m.type != MessageType::kSharedMessageTable) continue;
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
                          UnsafeLoadU32LE(bytes.data() + covered), "shared message table",
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

}  // namespace vz::hdf5
