// Fractal heap reader (spec III.G "Fractal Heap").
//
// Header "FRHP" (version 0, checksummed): heap ID length, I/O filter length, flags, maximum
// managed object size, huge-object bookkeeping (v2 B-tree address), the doubling table
// (width, starting block size, maximum direct block size, maximum heap size in bits, starting
// and current rows of the root indirect block, root block address) and, when filtered, the
// filtered root direct block size/mask and a Filter Pipeline message body.
//
// Managed objects live in direct blocks "FHDB" (optional checksum, header flag bit 1) reached
// through indirect blocks "FHIB" (always checksummed). The doubling table gives rows 0 and 1
// blocks of the starting size and doubles every row after that; rows past the maximum direct
// block size hold child indirect blocks. A managed heap ID holds (offset, length) in the heap's
// address space; its field widths derive from the maximum heap size and the maximum direct
// block size. Tiny objects live in the heap ID itself; huge objects are stored on their own,
// either addressed directly by the ID or looked up in a v2 B-tree (record types 1-4).
#include "vz/hdf5/fractal_heap.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "vz/base/byte_cursor.h"
#include "vz/base/checked.h"
#include "vz/hdf5/btree2.h"
#include "vz/hdf5/checksum.h"

namespace vz::hdf5 {

namespace {

constexpr std::uint8_t kFlagChecksumDirectBlocks = 0x02;
// Objects kept decoded in the direct block cache before it is emptied.
constexpr std::uint64_t kDirectBlockCacheBytes = 32ull << 20;

struct Filter {
  std::uint16_t id = 0;
  std::vector<std::uint32_t> values;
};

// A Filter Pipeline message body (spec IV.A.2.l), versions 1 and 2.
Result<std::vector<Filter>> ParsePipeline(ByteCursor& c) {
  VZ_ASSIGN_OR_RETURN(auto version, c.U8());
  VZ_ASSIGN_OR_RETURN(auto count, c.U8());
  if (version != 1 && version != 2) {
    return Unsupported(fmt::format("fractal heap filter pipeline version {} at {}", version,
                                   Hex(c.file_offset())));
  }
  if (count > 32) {
    return Corrupt(fmt::format("fractal heap filter pipeline with {} filters", count));
  }
  if (version == 1) VZ_TRY(c.Skip(6));
  std::vector<Filter> out;
  for (int i = 0; i < count; ++i) {
    Filter f;
    VZ_ASSIGN_OR_RETURN(f.id, c.U16());
    std::uint16_t name_len = 0;
    if (version == 1 || f.id >= 256) {
      VZ_ASSIGN_OR_RETURN(name_len, c.U16());
    }
    VZ_ASSIGN_OR_RETURN(auto flags, c.U16());
    (void)flags;
    VZ_ASSIGN_OR_RETURN(auto nvalues, c.U16());
    std::size_t name_bytes = name_len;
    if (version == 1) name_bytes = (name_bytes + 7) / 8 * 8;
    VZ_TRY(c.Skip(name_bytes));
    for (int v = 0; v < nvalues; ++v) {
      VZ_ASSIGN_OR_RETURN(auto value, c.U32());
      f.values.push_back(value);
    }
    if (version == 1 && nvalues % 2 == 1) VZ_TRY(c.Skip(4));
    out.push_back(std::move(f));
  }
  return out;
}

Result<std::vector<std::uint8_t>> Inflate(std::span<const std::uint8_t> in, std::uint64_t cap,
                                          std::uint64_t at) {
  std::vector<std::uint8_t> out;
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return Internal("zlib inflateInit failed");
  zs.next_in = const_cast<Bytef*>(in.data());  // zlib's API is not const-correct
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (out.size() >= cap) {
      inflateEnd(&zs);
      return LimitExceeded(
          fmt::format("deflated fractal heap data at {} inflates past {} bytes", Hex(at), cap));
    }
    const std::size_t old = out.size();
    const std::size_t grow = static_cast<std::size_t>(
        std::min<std::uint64_t>(cap - old, std::max<std::size_t>(4096, in.size() * 4)));
    out.resize(old + grow);
    zs.next_out = out.data() + old;
    zs.avail_out = static_cast<uInt>(grow);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(old + grow - zs.avail_out);
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && !(rc == Z_BUF_ERROR && zs.avail_out == 0)) {
      inflateEnd(&zs);
      return Corrupt(fmt::format("deflated fractal heap data at {} does not inflate ({})", Hex(at),
                                 zs.msg != nullptr ? zs.msg : "zlib error"));
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return Corrupt(fmt::format("deflated fractal heap data at {} is truncated", Hex(at)));
    }
  }
  inflateEnd(&zs);
  return out;
}

// Reverses the pipeline (last filter first), skipping filters whose bit is set in `mask`.
Result<std::vector<std::uint8_t>> Unfilter(const std::vector<Filter>& filters, std::uint32_t mask,
                                           std::vector<std::uint8_t> data, std::uint64_t cap,
                                           std::uint64_t at) {
  for (std::size_t i = filters.size(); i-- > 0;) {
    if (i < 32 && (mask >> i) & 1u) continue;
    const Filter& f = filters[i];
    switch (f.id) {
      case 1: {
        VZ_ASSIGN_OR_RETURN(data, Inflate(data, cap, at));
        break;
      }
      case 2: {
        const std::size_t elem = f.values.empty() ? 0 : f.values[0];
        if (elem == 0) return Corrupt("fractal heap shuffle filter without an element size");
        if (elem > 1) {
          std::vector<std::uint8_t> out(data.size());
          const std::size_t n = data.size() / elem;
          for (std::size_t b = 0; b < elem; ++b) {
            for (std::size_t e = 0; e < n; ++e) out[e * elem + b] = data[b * n + e];
          }
          std::copy(data.begin() + static_cast<std::ptrdiff_t>(n * elem), data.end(),
                    out.begin() + static_cast<std::ptrdiff_t>(n * elem));
          data = std::move(out);
        }
        break;
      }
      case 3:  // Fletcher-32: the checksum trails the data
        if (data.size() < 4) return Corrupt("fractal heap fletcher32 data shorter than 4 bytes");
        data.resize(data.size() - 4);
        break;
      default:
        return Unsupported(fmt::format(
            "fractal heap at {} uses I/O filter {} which is not supported", Hex(at), f.id));
    }
  }
  return data;
}

// floor(log2(v)) for v > 0.
unsigned Log2(std::uint64_t v) { return static_cast<unsigned>(std::bit_width(v) - 1); }

}  // namespace

struct FractalHeap::State {
  std::uint64_t address = 0;      // relative
  std::uint64_t abs_address = 0;  // for messages
  std::uint16_t id_len = 0;
  std::uint16_t filter_len = 0;
  std::uint8_t flags = 0;
  std::uint32_t max_managed = 0;
  std::uint64_t huge_btree = kUndefinedAddress;
  std::uint16_t width = 0;
  std::uint64_t start_block = 0;
  std::uint64_t max_direct = 0;
  std::uint16_t max_heap_bits = 0;
  std::uint64_t root = kUndefinedAddress;
  std::uint16_t cur_rows = 0;
  std::uint64_t root_filtered_size = 0;
  std::uint32_t root_filter_mask = 0;
  std::vector<Filter> filters;

  // Derived.
  std::size_t heap_off_bytes = 0;  // offset field of managed IDs and block offsets
  std::size_t heap_len_bytes = 0;  // length field of managed IDs
  std::uint32_t max_direct_rows = 0;
  std::uint32_t max_root_rows = 0;
  bool huge_direct = false;
  std::size_t huge_id_bytes = 0;
  bool tiny_extended = false;

  struct ChildDirect {
    std::uint64_t address = kUndefinedAddress;
    std::uint64_t filtered_size = 0;
    std::uint32_t mask = 0;
  };
  struct IndirectBlock {
    std::uint32_t nrows = 0;
    std::uint64_t block_offset = 0;
    std::vector<ChildDirect> direct;
    std::vector<std::uint64_t> indirect;
  };
  std::map<std::uint64_t, IndirectBlock> iblocks;
  std::map<std::uint64_t, std::vector<std::uint8_t>> dblocks;  // unfiltered images
  std::uint64_t dblock_bytes = 0;

  struct HugeObject {
    std::uint64_t address = 0;
    std::uint64_t length = 0;
    bool filtered = false;
    std::uint32_t mask = 0;
    std::uint64_t size = 0;  // de-filtered size
  };
  bool huge_loaded = false;
  std::map<std::uint64_t, HugeObject> huge;  // by huge object ID

  std::uint64_t RowBlockSize(std::uint32_t row) const {
    return row <= 1 ? start_block : start_block << (row - 1);
  }
  std::size_t DirectBlockPrefix(const FileContext& ctx) const {
    return 5u + ctx.size_of_offsets + heap_off_bytes +
           ((flags & kFlagChecksumDirectBlocks) != 0 ? 4u : 0u);
  }
  std::string Where() const { return fmt::format("fractal heap at {}", Hex(abs_address)); }

  Result<const IndirectBlock*> LoadIndirect(FileContext& ctx, std::uint64_t address,
                                            std::uint32_t nrows, std::uint64_t block_offset);
  // Where a managed object's bytes are: the direct block and its place in the heap.
  struct Located {
    std::uint64_t address = 0;
    std::uint64_t block_size = 0;
    std::uint64_t block_offset = 0;
    bool filtered = false;
    std::uint64_t filtered_size = 0;
    std::uint32_t mask = 0;
  };
  Result<Located> Locate(FileContext& ctx, std::uint64_t offset);
  Status LoadDirectBlocks(FileContext& ctx, const std::vector<Located>& blocks);
  Status LoadHugeIndex(FileContext& ctx);
};

Result<FractalHeap> FractalHeap::Open(FileContext& ctx, std::uint64_t address) {
  auto st = std::make_shared<State>();
  st->address = address;
  st->abs_address = ctx.Absolute(address);
  const std::uint64_t L = ctx.size_of_lengths;
  const std::uint64_t O = ctx.size_of_offsets;
  const std::uint64_t fixed = 22u + 12u * L + 3u * O;  // up to the optional filter fields
  VZ_ASSIGN_OR_RETURN(auto head, ctx.Read(address, fixed + 4, "fractal heap header"));
  ByteCursor c(head, st->abs_address);
  VZ_TRY(c.ExpectMagic("FRHP", "fractal heap header"));
  VZ_ASSIGN_OR_RETURN(auto version, c.U8());
  if (version != 0) {
    return Unsupported(fmt::format("{}: version {}", st->Where(), version));
  }
  VZ_ASSIGN_OR_RETURN(st->id_len, c.U16());
  VZ_ASSIGN_OR_RETURN(st->filter_len, c.U16());
  VZ_ASSIGN_OR_RETURN(st->flags, c.U8());
  VZ_ASSIGN_OR_RETURN(st->max_managed, c.U32());
  VZ_TRY(c.Skip(static_cast<std::size_t>(L)));  // next huge object ID
  VZ_ASSIGN_OR_RETURN(st->huge_btree, ctx.ReadOffset(c));
  VZ_TRY(c.Skip(static_cast<std::size_t>(L + O + 8 * L)));  // free space, counters
  VZ_ASSIGN_OR_RETURN(st->width, c.U16());
  VZ_ASSIGN_OR_RETURN(st->start_block, ctx.ReadLength(c));
  VZ_ASSIGN_OR_RETURN(st->max_direct, ctx.ReadLength(c));
  VZ_ASSIGN_OR_RETURN(st->max_heap_bits, c.U16());
  VZ_ASSIGN_OR_RETURN(auto start_rows, c.U16());
  (void)start_rows;
  VZ_ASSIGN_OR_RETURN(st->root, ctx.ReadOffset(c));
  VZ_ASSIGN_OR_RETURN(st->cur_rows, c.U16());

  io::Bytes full;
  if (st->filter_len > 0) {
    VZ_ASSIGN_OR_RETURN(
        full, ctx.Read(address, fixed + L + 4 + st->filter_len + 4, "fractal heap header"));
    c = ByteCursor(full, st->abs_address);
    VZ_TRY(c.Skip(static_cast<std::size_t>(fixed)));
    VZ_ASSIGN_OR_RETURN(st->root_filtered_size, ctx.ReadLength(c));
    VZ_ASSIGN_OR_RETURN(st->root_filter_mask, c.U32());
    VZ_ASSIGN_OR_RETURN(auto pipe, c.Sub(st->filter_len));
    VZ_ASSIGN_OR_RETURN(st->filters, ParsePipeline(pipe));
  } else {
    full = std::move(head);
  }
  const std::size_t covered = full.size() - 4;
  VZ_TRY(VerifyChecksum(std::span<const std::uint8_t>(full).first(covered),
                        UnsafeLoadU32LE(full.data() + covered), "fractal heap header",
                        st->abs_address));

  // The doubling table must describe a heap we can address with 64-bit arithmetic.
  auto pow2 = [](std::uint64_t v) { return v != 0 && std::has_single_bit(v); };
  if (st->width == 0 || !pow2(st->width) || !pow2(st->start_block) || !pow2(st->max_direct) ||
      st->max_direct < st->start_block || st->max_heap_bits == 0 || st->max_heap_bits > 64 ||
      Log2(st->max_direct) >= st->max_heap_bits ||
      Log2(st->start_block) + Log2(st->width) > st->max_heap_bits) {
    return Corrupt(fmt::format(
        "{}: invalid doubling table (width {}, start block {}, max direct block {}, max heap "
        "size {} bits)",
        st->Where(), st->width, st->start_block, st->max_direct, st->max_heap_bits));
  }
  if (st->id_len < 2) {
    return Corrupt(fmt::format("{}: heap ID length {}", st->Where(), st->id_len));
  }
  st->heap_off_bytes = (st->max_heap_bits + 7u) / 8u;
  const std::size_t dblock_len_bytes = (Log2(st->max_direct) + 7u) / 8u;
  const std::size_t managed_len_bytes = Log2(std::max<std::uint32_t>(st->max_managed, 1)) / 8u + 1u;
  st->heap_len_bytes = std::min(dblock_len_bytes, managed_len_bytes);
  st->max_direct_rows = Log2(st->max_direct) - Log2(st->start_block) + 2u;
  st->max_root_rows = st->max_heap_bits - Log2(st->start_block) - Log2(st->width) + 1u;
  if (st->cur_rows > st->max_root_rows) {
    return Corrupt(fmt::format("{}: root indirect block has {} rows, at most {} fit", st->Where(),
                               st->cur_rows, st->max_root_rows));
  }
  const std::size_t room = st->id_len - 1u;
  if (st->filter_len > 0) {
    st->huge_direct = room >= 2u * L + O + 4u;
  } else {
    st->huge_direct = room >= L + O;
  }
  st->huge_id_bytes = std::min<std::size_t>(room, 8);
  st->tiny_extended = room > 16;
  return FractalHeap(std::move(st));
}

std::uint16_t FractalHeap::heap_id_length() const { return state_->id_len; }

std::optional<io::ByteRange> FractalHeap::RootBlock() const {
  const State& s = *state_;
  if (s.root == kUndefinedAddress) return std::nullopt;
  if (s.cur_rows != 0) return io::ByteRange{s.root, 1};  // an indirect block: its start
  return io::ByteRange{s.root, s.filter_len > 0 ? s.root_filtered_size : s.start_block};
}

Result<const FractalHeap::State::IndirectBlock*> FractalHeap::State::LoadIndirect(
    FileContext& ctx, std::uint64_t addr, std::uint32_t nrows, std::uint64_t block_offset) {
  auto it = iblocks.find(addr);
  if (it != iblocks.end()) {
    if (it->second.nrows != nrows || it->second.block_offset != block_offset) {
      return Corrupt(
          fmt::format("{}: indirect block at {} is reached at two places of the heap (cycle?)",
                      Where(), Hex(ctx.Absolute(addr))));
    }
    return &it->second;
  }
  const std::uint64_t O = ctx.size_of_offsets;
  const bool filtered = filter_len > 0;
  const std::uint64_t direct_rows = std::min(nrows, max_direct_rows);
  const std::uint64_t indirect_rows = nrows - direct_rows;
  const std::uint64_t k = direct_rows * width;
  const std::uint64_t n = indirect_rows * width;
  const std::uint64_t entry = O + (filtered ? ctx.size_of_lengths + 4u : 0u);
  const std::uint64_t size = 5u + O + heap_off_bytes + k * entry + n * O + 4u;
  VZ_ASSIGN_OR_RETURN(auto bytes, ctx.Read(addr, size, "fractal heap indirect block"));
  const std::uint64_t at = ctx.Absolute(addr);
  ByteCursor c(bytes, at);
  VZ_TRY(c.ExpectMagic("FHIB", "fractal heap indirect block"));
  VZ_ASSIGN_OR_RETURN(auto version, c.U8());
  if (version != 0) {
    return Unsupported(
        fmt::format("fractal heap indirect block at {}: version {}", Hex(at), version));
  }
  VZ_ASSIGN_OR_RETURN(auto heap_addr, ctx.ReadOffset(c));
  VZ_ASSIGN_OR_RETURN(auto boff, c.UintLE(heap_off_bytes));
  if (heap_addr != address || boff != block_offset) {
    return Corrupt(fmt::format(
        "fractal heap indirect block at {} belongs to heap {} at offset {}, expected heap {} at "
        "offset {}",
        Hex(at), Hex(ctx.Absolute(heap_addr)), boff, Hex(abs_address), block_offset));
  }
  const std::size_t covered = bytes.size() - 4;
  VZ_TRY(VerifyChecksum(std::span<const std::uint8_t>(bytes).first(covered),
                        UnsafeLoadU32LE(bytes.data() + covered), "fractal heap indirect block",
                        at));
  IndirectBlock ib;
  ib.nrows = nrows;
  ib.block_offset = block_offset;
  ib.direct.resize(static_cast<std::size_t>(k));
  for (auto& d : ib.direct) {
    VZ_ASSIGN_OR_RETURN(d.address, ctx.ReadOffset(c));
    if (filtered) {
      VZ_ASSIGN_OR_RETURN(d.filtered_size, ctx.ReadLength(c));
      VZ_ASSIGN_OR_RETURN(d.mask, c.U32());
    }
  }
  ib.indirect.resize(static_cast<std::size_t>(n));
  for (auto& a : ib.indirect) {
    VZ_ASSIGN_OR_RETURN(a, ctx.ReadOffset(c));
  }
  auto [pos, inserted] = iblocks.emplace(addr, std::move(ib));
  (void)inserted;
  return &pos->second;
}

Result<FractalHeap::State::Located> FractalHeap::State::Locate(FileContext& ctx,
                                                               std::uint64_t offset) {
  if (ctx.IsUndefined(root)) {
    return Corrupt(fmt::format("{}: managed object at heap offset {} but the heap has no blocks",
                               Where(), offset));
  }
  if (cur_rows == 0) {  // the root is a single direct block
    if (offset >= start_block) {
      return Corrupt(fmt::format("{}: heap offset {} outside the root direct block ({} bytes)",
                                 Where(), offset, start_block));
    }
    return Located{root, start_block, 0, filter_len > 0, root_filtered_size, root_filter_mask};
  }
  std::uint64_t iblock = root;
  std::uint32_t nrows = cur_rows;
  std::uint64_t base = 0;
  const std::uint64_t first_row_span = start_block * width;
  for (std::uint32_t depth = 0; depth <= ctx.limits.max_tree_depth; ++depth) {
    VZ_ASSIGN_OR_RETURN(const IndirectBlock* ib, LoadIndirect(ctx, iblock, nrows, base));
    const std::uint64_t rel = offset - base;
    const std::uint64_t q = rel / first_row_span;
    const std::uint32_t row = q == 0 ? 0u : Log2(q) + 1u;
    if (row >= nrows) {
      return Corrupt(
          fmt::format("{}: heap offset {} lies past the {} rows of the indirect block "
                      "at {}",
                      Where(), offset, nrows, Hex(ctx.Absolute(iblock))));
    }
    const std::uint64_t row_start = row == 0 ? 0 : first_row_span << (row - 1);
    const std::uint64_t bsize = RowBlockSize(row);
    const std::uint64_t col = (rel - row_start) / bsize;
    const std::uint64_t block_base = base + row_start + col * bsize;
    if (row < max_direct_rows) {
      const auto& d = ib->direct[static_cast<std::size_t>(row) * width + col];
      if (ctx.IsUndefined(d.address)) {
        return Corrupt(
            fmt::format("{}: heap offset {} lies in an unallocated direct block", Where(), offset));
      }
      return Located{d.address, bsize, block_base, filter_len > 0, d.filtered_size, d.mask};
    }
    const std::uint64_t child =
        ib->indirect[static_cast<std::size_t>(row - max_direct_rows) * width + col];
    if (ctx.IsUndefined(child)) {
      return Corrupt(
          fmt::format("{}: heap offset {} lies in an unallocated indirect block", Where(), offset));
    }
    iblock = child;
    nrows = Log2(bsize) - Log2(first_row_span) + 1u;
    base = block_base;
  }
  return LimitExceeded(
      fmt::format("{}: indirect blocks nested deeper than {}", Where(), ctx.limits.max_tree_depth));
}

Status FractalHeap::State::LoadDirectBlocks(FileContext& ctx, const std::vector<Located>& blocks) {
  std::vector<io::ByteRange> ranges;
  std::vector<const Located*> todo;
  std::set<std::uint64_t> seen;
  for (const auto& b : blocks) {
    if (dblocks.count(b.address) != 0 || !seen.insert(b.address).second) continue;
    ranges.push_back({b.address, b.filtered ? b.filtered_size : b.block_size});
    todo.push_back(&b);
  }
  if (todo.empty()) return Ok();
  if (dblock_bytes > kDirectBlockCacheBytes) {
    dblocks.clear();
    dblock_bytes = 0;
  }
  VZ_ASSIGN_OR_RETURN(auto images, ctx.ReadMany(ranges, "fractal heap direct block"));
  const std::uint64_t O = ctx.size_of_offsets;
  for (std::size_t i = 0; i < todo.size(); ++i) {
    const Located& b = *todo[i];
    const std::uint64_t at = ctx.Absolute(b.address);
    std::vector<std::uint8_t> image = std::move(images[i]);
    if (b.filtered) {
      VZ_ASSIGN_OR_RETURN(
          image, Unfilter(filters, b.mask, std::move(image), ctx.limits.max_metadata_block, at));
      if (image.size() != b.block_size) {
        return Corrupt(
            fmt::format("filtered fractal heap direct block at {} decodes to {} bytes, expected {}",
                        Hex(at), image.size(), b.block_size));
      }
    }
    ByteCursor c(image, at);
    VZ_TRY(c.ExpectMagic("FHDB", "fractal heap direct block"));
    VZ_ASSIGN_OR_RETURN(auto version, c.U8());
    if (version != 0) {
      return Unsupported(
          fmt::format("fractal heap direct block at {}: version {}", Hex(at), version));
    }
    VZ_ASSIGN_OR_RETURN(auto heap_addr, ctx.ReadOffset(c));
    VZ_ASSIGN_OR_RETURN(auto boff, c.UintLE(heap_off_bytes));
    if (heap_addr != address || boff != b.block_offset) {
      return Corrupt(fmt::format(
          "fractal heap direct block at {} belongs to heap {} at offset {}, expected heap {} at "
          "offset {}",
          Hex(at), Hex(ctx.Absolute(heap_addr)), boff, Hex(abs_address), b.block_offset));
    }
    if ((flags & kFlagChecksumDirectBlocks) != 0) {
      // The checksum covers the whole block with its own field taken as zero.
      const std::size_t pos = static_cast<std::size_t>(5u + O + heap_off_bytes);
      VZ_ASSIGN_OR_RETURN(auto stored, c.U32());
      std::vector<std::uint8_t> copy = image;
      std::memset(copy.data() + pos, 0, 4);
      VZ_TRY(VerifyChecksum(copy, stored, "fractal heap direct block", at));
    }
    dblock_bytes += image.size();
    dblocks.emplace(b.address, std::move(image));
  }
  return Ok();
}

Status FractalHeap::State::LoadHugeIndex(FileContext& ctx) {
  if (huge_loaded) return Ok();
  if (ctx.IsUndefined(huge_btree)) {
    return Corrupt(
        fmt::format("{}: huge object ID but the heap has no huge-object B-tree", Where()));
  }
  VZ_ASSIGN_OR_RETURN(auto hdr, ReadBTree2Header(ctx, huge_btree));
  if (hdr.type < 1 || hdr.type > 4) {
    return Corrupt(fmt::format("{}: huge-object B-tree has record type {}", Where(), hdr.type));
  }
  std::map<std::uint64_t, HugeObject> index;
  const std::uint64_t at = ctx.Absolute(huge_btree);
  VZ_TRY(ForEachBTree2Record(ctx, huge_btree, [&](std::span<const std::uint8_t> rec) -> Status {
    ByteCursor c(rec, at);
    HugeObject h;
    VZ_ASSIGN_OR_RETURN(h.address, ctx.ReadOffset(c));
    VZ_ASSIGN_OR_RETURN(h.length, ctx.ReadLength(c));
    h.size = h.length;
    if (hdr.type == 2 || hdr.type == 4) {
      h.filtered = true;
      VZ_ASSIGN_OR_RETURN(h.mask, c.U32());
      VZ_ASSIGN_OR_RETURN(h.size, ctx.ReadLength(c));
    }
    // Types 3 and 4 index directly addressed objects: their IDs carry the address already.
    if (hdr.type == 1 || hdr.type == 2) {
      VZ_ASSIGN_OR_RETURN(auto id, ctx.ReadLength(c));
      index[id] = h;
    }
    return Ok();
  }));
  huge = std::move(index);
  huge_loaded = true;
  return Ok();
}

Result<std::vector<FractalHeap::Object>> FractalHeap::GetMany(
    FileContext& ctx, std::span<const std::span<const std::uint8_t>> heap_ids) {
  State& st = *state_;
  enum class Kind { kManaged, kHuge, kTiny };
  struct Pending {
    Kind kind = Kind::kManaged;
    std::uint64_t offset = 0;  // managed: heap offset
    std::uint64_t length = 0;
    std::size_t block = 0;           // managed: index in `blocks`
    State::HugeObject huge;          // huge
    std::vector<std::uint8_t> tiny;  // tiny
  };
  std::vector<Pending> pending(heap_ids.size());
  std::vector<State::Located> blocks;
  std::vector<io::ByteRange> huge_ranges;
  for (std::size_t i = 0; i < heap_ids.size(); ++i) {
    ByteCursor c(heap_ids[i], st.abs_address);
    VZ_ASSIGN_OR_RETURN(auto b0, c.U8());
    if ((b0 >> 6) != 0) {
      return Unsupported(fmt::format("{}: heap ID version {}", st.Where(), b0 >> 6));
    }
    Pending& p = pending[i];
    switch ((b0 >> 4) & 3) {
      case 0: {
        p.kind = Kind::kManaged;
        VZ_ASSIGN_OR_RETURN(p.offset, c.UintLE(st.heap_off_bytes));
        VZ_ASSIGN_OR_RETURN(p.length, c.UintLE(st.heap_len_bytes));
        VZ_ASSIGN_OR_RETURN(auto loc, st.Locate(ctx, p.offset));
        const std::uint64_t in_block = p.offset - loc.block_offset;
        if (in_block < st.DirectBlockPrefix(ctx) || p.length > loc.block_size - in_block) {
          return Corrupt(fmt::format(
              "{}: managed object (offset {}, length {}) does not fit its direct block at {}",
              st.Where(), p.offset, p.length, Hex(ctx.Absolute(loc.address))));
        }
        p.block = blocks.size();
        blocks.push_back(loc);
        break;
      }
      case 1: {
        p.kind = Kind::kHuge;
        if (st.huge_direct) {
          VZ_ASSIGN_OR_RETURN(p.huge.address, ctx.ReadOffset(c));
          VZ_ASSIGN_OR_RETURN(p.huge.length, ctx.ReadLength(c));
          p.huge.size = p.huge.length;
          if (st.filter_len > 0) {
            p.huge.filtered = true;
            VZ_ASSIGN_OR_RETURN(p.huge.mask, c.U32());
            VZ_ASSIGN_OR_RETURN(p.huge.size, ctx.ReadLength(c));
          }
        } else {
          VZ_ASSIGN_OR_RETURN(auto id, c.UintLE(st.huge_id_bytes));
          VZ_TRY(st.LoadHugeIndex(ctx));
          auto it = st.huge.find(id);
          if (it == st.huge.end()) {
            return Corrupt(fmt::format("{}: huge object {} not in its B-tree", st.Where(), id));
          }
          p.huge = it->second;
        }
        if (p.huge.length > ctx.limits.max_metadata_block ||
            p.huge.size > ctx.limits.max_metadata_block) {
          return LimitExceeded(fmt::format("{}: huge object of {} bytes exceeds the limit",
                                           st.Where(), std::max(p.huge.length, p.huge.size)));
        }
        huge_ranges.push_back({p.huge.address, p.huge.length});
        break;
      }
      case 2: {
        p.kind = Kind::kTiny;
        std::size_t len = b0 & 0x0fu;
        if (st.tiny_extended) {
          VZ_ASSIGN_OR_RETURN(auto b1, c.U8());
          len = (len << 8) | b1;
        }
        VZ_ASSIGN_OR_RETURN(auto data, c.Bytes(len + 1));
        p.tiny.assign(data.begin(), data.end());
        break;
      }
      default:
        return Corrupt(fmt::format("{}: heap ID of unknown type {}", st.Where(), (b0 >> 4) & 3));
    }
  }
  VZ_TRY(st.LoadDirectBlocks(ctx, blocks));
  std::vector<io::Bytes> huge_data;
  if (!huge_ranges.empty()) {
    VZ_ASSIGN_OR_RETURN(huge_data, ctx.ReadMany(huge_ranges, "fractal heap huge object"));
  }
  std::vector<Object> out(pending.size());
  std::size_t next_huge = 0;
  for (std::size_t i = 0; i < pending.size(); ++i) {
    Pending& p = pending[i];
    Object& o = out[i];
    switch (p.kind) {
      case Kind::kManaged: {
        const State::Located& loc = blocks[p.block];
        const auto& image = st.dblocks.at(loc.address);
        const std::size_t pos = static_cast<std::size_t>(p.offset - loc.block_offset);
        const std::size_t len = static_cast<std::size_t>(p.length);
        o.data.assign(image.begin() + static_cast<std::ptrdiff_t>(pos),
                      image.begin() + static_cast<std::ptrdiff_t>(pos + len));
        o.file_offset = loc.filtered ? st.abs_address : ctx.Absolute(loc.address) + pos;
        break;
      }
      case Kind::kHuge: {
        io::Bytes data = std::move(huge_data[next_huge++]);
        o.file_offset = ctx.Absolute(p.huge.address);
        if (p.huge.filtered) {
          VZ_ASSIGN_OR_RETURN(data, Unfilter(st.filters, p.huge.mask, std::move(data),
                                             ctx.limits.max_metadata_block, o.file_offset));
          if (data.size() != p.huge.size) {
            return Corrupt(
                fmt::format("{}: filtered huge object at {} decodes to {} bytes, "
                            "expected {}",
                            st.Where(), Hex(o.file_offset), data.size(), p.huge.size));
          }
          o.file_offset = st.abs_address;
        }
        o.data = std::move(data);
        break;
      }
      case Kind::kTiny:
        o.data = std::move(p.tiny);
        o.file_offset = st.abs_address;
        break;
    }
  }
  return out;
}

Result<std::vector<std::uint8_t>> FractalHeap::Get(FileContext& ctx,
                                                   std::span<const std::uint8_t> heap_id) {
  const std::span<const std::uint8_t> ids[1] = {heap_id};
  VZ_ASSIGN_OR_RETURN(auto objs, GetMany(ctx, ids));
  return std::move(objs[0].data);
}

}  // namespace vz::hdf5
