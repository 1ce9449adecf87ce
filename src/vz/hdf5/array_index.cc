// Fixed array and extensible array chunk indexes (spec III.H and III.I / layout message v4).
//
// Fixed array: header "FAHD" (client id, element size, page bits, number of elements, data
// block address) -> data block "FADB" (header address, then either the elements or, when
// there are more elements than one page holds, a page-init bitmap; the pages then follow the
// data block, each with its own checksum).
//
// Extensible array: header "EAHD" (client id, element size, max-elements bits, index block
// elements, min data block elements, min data block pointers per super block, page bits,
// statistics incl. the max index set, index block address) -> index block "EAIB" (a few
// elements, the data block addresses of the first super blocks, then super block addresses)
// -> super blocks "EASB" (page-init bitmaps, data block addresses) -> data blocks "EADB"
// (elements, or pages as for fixed arrays). Super block u has 2^floor(u/2) data blocks of
// min_elements * 2^ceil(u/2) elements each.
//
// Elements are chunk addresses (client 0) or (address, size, filter mask) (client 1). A
// fixed array numbers chunks row-major over the chunk grid of the maximum dimensions; an
// extensible array does the same with the unlimited axis moved to the slowest position.
// Every structure level is fetched with one ReadMany.
#include <fmt/format.h>

#include <algorithm>
#include <bit>

#include "vz/base/checked.h"
#include "vz/hdf5/checksum.h"
#include "vz/hdf5/chunk_index_internal.h"

namespace vz::hdf5::internal {

namespace {

// Checks signature, version, client id, checksum over all but the last 4 bytes, and the
// back-pointer to the header; leaves the cursor after the header address.
Status CheckBlock(const FileContext& ctx, ByteCursor& cur, std::span<const std::uint8_t> bytes,
                  const char* magic, const char* what, std::uint8_t client,
                  std::uint64_t header_address) {
  VZ_TRY(cur.ExpectMagic(magic, what));
  VZ_ASSIGN_OR_RETURN(auto version, cur.U8());
  if (version != 0) {
    return Unsupported(fmt::format("{} at {:#x}: version {}", what, cur.base_offset(), version));
  }
  VZ_ASSIGN_OR_RETURN(auto block_client, cur.U8());
  if (block_client != client) {
    return Corrupt(fmt::format("{} at {:#x}: client id {} differs from the header's {}", what,
                               cur.base_offset(), block_client, client));
  }
  if (bytes.size() < 4) return cur.Truncated(4);
  const std::size_t covered = bytes.size() - 4;
  VZ_TRY(VerifyChecksum(bytes.first(covered), UnsafeLoadU32LE(bytes.data() + covered), what,
                        cur.base_offset()));
  VZ_ASSIGN_OR_RETURN(auto hdr, ctx.ReadOffset(cur));
  if (hdr != header_address) {
    return Corrupt(fmt::format("{} at {:#x}: header address {:#x} instead of {:#x}", what,
                               cur.base_offset(), hdr, header_address));
  }
  return Ok();
}

// Bit `i` of an HDF5 bitmap (most significant bit of each byte first).
bool BitSet(std::span<const std::uint8_t> bits, std::uint64_t i) {
  const std::uint64_t byte = i / 8;
  if (byte >= bits.size()) return false;
  return (bits[static_cast<std::size_t>(byte)] & (0x80u >> (i % 8))) != 0;
}

// Decodes `count` elements at the cursor and hands them to the sink as linear indexes
// first_index, first_index + 1, ...
struct ElementDecoder {
  const FileContext& ctx;
  const LinearGrid& grid;
  ChunkSink& sink;
  bool filtered;
  std::size_t element_size;
  std::uint64_t unfiltered_size;
  std::uint64_t limit;  // linear indexes at or past this are ignored

  Status Decode(ByteCursor& cur, std::uint64_t first_index, std::uint64_t count) const {
    for (std::uint64_t i = 0; i < count; ++i) {
      VZ_ASSIGN_OR_RETURN(auto e,
                          DecodeArrayElement(ctx, cur, filtered, element_size, unfiltered_size));
      const std::uint64_t index = first_index + i;
      if (index >= limit) continue;
      VZ_TRY(sink.AddScaled(grid.Scaled(index), e.address, e.size, e.filter_mask));
    }
    return Ok();
  }
};

Result<std::uint64_t> PageBitsToElements(std::uint8_t bits, const char* what, std::uint64_t at) {
  if (bits >= 32) {
    return Corrupt(fmt::format("{} at {:#x}: {} page bits", what, at, bits));
  }
  return std::uint64_t{1} << bits;
}

}  // namespace

Status ReadFixedArray(FileContext& ctx, const ChunkIndexInput& input, ChunkSink& sink) {
  const DataLayout& lay = *input.layout;
  const std::uint64_t hdr_addr = lay.index_address;
  if (ctx.IsUndefined(hdr_addr)) return Ok();
  const std::uint64_t o = ctx.size_of_offsets;
  const std::uint64_t at = ctx.Absolute(hdr_addr);
  const char* what = "fixed array header";

  VZ_ASSIGN_OR_RETURN(auto hbytes, ctx.Read(hdr_addr, 4 + 4 + ctx.size_of_lengths + o + 4, what));
  ByteCursor h(hbytes, at);
  VZ_TRY(h.ExpectMagic("FAHD", what));
  VZ_ASSIGN_OR_RETURN(auto version, h.U8());
  if (version != 0) return Unsupported(fmt::format("{} at {:#x}: version {}", what, at, version));
  VZ_ASSIGN_OR_RETURN(auto client, h.U8());
  VZ_ASSIGN_OR_RETURN(auto element_size, h.U8());
  VZ_ASSIGN_OR_RETURN(auto page_bits, h.U8());
  VZ_ASSIGN_OR_RETURN(auto nelmts, ctx.ReadLength(h));
  VZ_ASSIGN_OR_RETURN(auto dblock_addr, ctx.ReadOffset(h));
  {
    const std::size_t covered = h.pos();
    VZ_ASSIGN_OR_RETURN(auto stored, h.U32());
    VZ_TRY(VerifyChecksum(std::span(hbytes).first(covered), stored, what, at));
  }
  VZ_TRY(CheckArrayElementSize(ctx, client, element_size, what, at));

  VZ_ASSIGN_OR_RETURN(auto grid, MakeGrid(input, -1));
  VZ_ASSIGN_OR_RETURN(auto total, grid.Total());
  if (nelmts != total) {
    return Corrupt(
        fmt::format("{} at {:#x}: {} elements for a grid of {} chunks", what, at, nelmts, total));
  }
  if (nelmts > ctx.limits.max_chunks_per_array) {
    return LimitExceeded(fmt::format("{} at {:#x}: {} elements", what, at, nelmts));
  }
  if (ctx.IsUndefined(dblock_addr) || nelmts == 0) return Ok();

  std::uint64_t unfiltered_size = 0;
  if (client == 0) {
    VZ_ASSIGN_OR_RETURN(unfiltered_size, UnfilteredChunkBytes(lay));
  }
  const ElementDecoder decoder{ctx, grid, sink, client == 1, element_size, unfiltered_size, nelmts};

  VZ_ASSIGN_OR_RETURN(auto page_nelmts, PageBitsToElements(page_bits, what, at));
  const bool paged = nelmts > page_nelmts;
  const std::uint64_t npages = paged ? CeilDiv(nelmts, page_nelmts) : 0;
  const std::uint64_t prefix = 4 + 1 + 1 + o;
  // nelmts <= max_chunks_per_array, so these products stay far from overflow.
  const std::uint64_t dblock_size =
      prefix + (paged ? CeilDiv(npages, 8) : nelmts * element_size) + 4;
  const char* dwhat = "fixed array data block";
  VZ_ASSIGN_OR_RETURN(auto dbytes, ctx.Read(dblock_addr, dblock_size, dwhat));
  ByteCursor d(dbytes, ctx.Absolute(dblock_addr));
  VZ_TRY(CheckBlock(ctx, d, dbytes, "FADB", dwhat, client, hdr_addr));
  if (!paged) return decoder.Decode(d, 0, nelmts);

  VZ_ASSIGN_OR_RETURN(auto bitmap, d.Bytes(static_cast<std::size_t>(CeilDiv(npages, 8))));
  const std::uint64_t page_bytes = page_nelmts * element_size + 4;
  std::vector<io::ByteRange> ranges;
  std::vector<std::uint64_t> pages;
  for (std::uint64_t p = 0; p < npages; ++p) {
    if (!BitSet(bitmap, p)) continue;  // never written: every chunk in it is unallocated
    const std::uint64_t n = std::min(page_nelmts, nelmts - p * page_nelmts);
    VZ_ASSIGN_OR_RETURN(auto page_addr,
                        CheckedAdd(dblock_addr, dblock_size + p * page_bytes, "page address"));
    ranges.push_back({page_addr, n * element_size + 4});
    pages.push_back(p);
  }
  VZ_ASSIGN_OR_RETURN(auto blobs, ctx.ReadMany(ranges, "fixed array data block page"));
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    const auto& b = blobs[i];
    const std::uint64_t page_at = ctx.Absolute(ranges[i].offset);
    const std::size_t covered = b.size() - 4;
    VZ_TRY(VerifyChecksum(std::span(b).first(covered), UnsafeLoadU32LE(b.data() + covered),
                          "fixed array data block page", page_at));
    ByteCursor pc{std::span<const std::uint8_t>(b).first(covered), page_at};
    VZ_TRY(decoder.Decode(pc, pages[i] * page_nelmts, covered / element_size));
  }
  return Ok();
}

namespace {

// Geometry of one extensible-array super block.
struct SuperBlockInfo {
  std::uint64_t ndblks = 0;       // data blocks in it
  std::uint64_t dblk_nelmts = 0;  // elements per data block
  std::uint64_t start_index = 0;  // linear index (after the index block's) of its first element
};

// A data block to read: where, which elements, and which of its pages exist.
struct DataBlockRef {
  std::uint64_t address = 0;
  std::uint64_t first_index = 0;
  std::uint64_t nelmts = 0;
  std::vector<bool> pages;  // empty when not paged
};

}  // namespace

Status ReadExtensibleArray(FileContext& ctx, const ChunkIndexInput& input, ChunkSink& sink) {
  const DataLayout& lay = *input.layout;
  const std::uint64_t hdr_addr = lay.index_address;
  if (ctx.IsUndefined(hdr_addr)) return Ok();
  const std::uint64_t o = ctx.size_of_offsets;
  const std::uint64_t len = ctx.size_of_lengths;
  const std::uint64_t at = ctx.Absolute(hdr_addr);
  const char* what = "extensible array header";

  VZ_ASSIGN_OR_RETURN(auto hbytes, ctx.Read(hdr_addr, 4 + 4 + 4 + 6 * len + o + 4, what));
  ByteCursor h(hbytes, at);
  VZ_TRY(h.ExpectMagic("EAHD", what));
  VZ_ASSIGN_OR_RETURN(auto version, h.U8());
  if (version != 0) return Unsupported(fmt::format("{} at {:#x}: version {}", what, at, version));
  VZ_ASSIGN_OR_RETURN(auto client, h.U8());
  VZ_ASSIGN_OR_RETURN(auto element_size, h.U8());
  VZ_ASSIGN_OR_RETURN(auto max_bits, h.U8());
  VZ_ASSIGN_OR_RETURN(auto iblock_elmts, h.U8());
  VZ_ASSIGN_OR_RETURN(auto dblk_min_elmts, h.U8());
  VZ_ASSIGN_OR_RETURN(auto sblk_min_ptrs, h.U8());
  VZ_ASSIGN_OR_RETURN(auto page_bits, h.U8());
  VZ_TRY(h.Skip(static_cast<std::size_t>(4 * len)));  // super/data block counts and sizes
  VZ_ASSIGN_OR_RETURN(auto max_index_set, ctx.ReadLength(h));
  VZ_TRY(h.Skip(static_cast<std::size_t>(len)));  // elements realized
  VZ_ASSIGN_OR_RETURN(auto iblock_addr, ctx.ReadOffset(h));
  {
    const std::size_t covered = h.pos();
    VZ_ASSIGN_OR_RETURN(auto stored, h.U32());
    VZ_TRY(VerifyChecksum(std::span(hbytes).first(covered), stored, what, at));
  }
  VZ_TRY(CheckArrayElementSize(ctx, client, element_size, what, at));
  // The creation parameters must be powers of two that fit the element count bits.
  auto pow2 = [](std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; };
  if (max_bits == 0 || max_bits > 64 || !pow2(dblk_min_elmts) || !pow2(sblk_min_ptrs) ||
      iblock_elmts == 0) {
    return Corrupt(
        fmt::format("{} at {:#x}: bad parameters (bits {}, min elements {}, min "
                    "pointers {}, index elements {})",
                    what, at, max_bits, dblk_min_elmts, sblk_min_ptrs, iblock_elmts));
  }
  if (max_index_set > ctx.limits.max_chunks_per_array) {
    return LimitExceeded(fmt::format("{} at {:#x}: {} elements", what, at, max_index_set));
  }
  if (ctx.IsUndefined(iblock_addr) || max_index_set == 0) return Ok();

  // The unlimited axis becomes the slowest one of the linear index.
  int unlimited = -1;
  for (std::size_t d = 0; d < input.max_dims.size(); ++d) {
    if (input.max_dims[d] == model::Array::kUnlimited) {
      if (unlimited >= 0) {
        return Corrupt(fmt::format("{} at {:#x}: more than one unlimited dimension", what, at));
      }
      unlimited = static_cast<int>(d);
    }
  }
  if (unlimited < 0) unlimited = 0;  // no dataspace max given: assume the first axis
  VZ_ASSIGN_OR_RETURN(auto grid, MakeGrid(input, unlimited));
  for (std::size_t k = 1; k < grid.counts.size(); ++k) {
    if (grid.counts[k] == 0) return Ok();  // a zero-size axis: no chunks at all
  }

  std::uint64_t unfiltered_size = 0;
  if (client == 0) {
    VZ_ASSIGN_OR_RETURN(unfiltered_size, UnfilteredChunkBytes(lay));
  }
  const ElementDecoder decoder{ctx,          grid, sink, client == 1, element_size, unfiltered_size,
                               max_index_set};

  // Super block geometry, as the library derives it from the parameters.
  const int min_elmts_log2 = std::countr_zero(static_cast<unsigned>(dblk_min_elmts));
  if (max_bits < min_elmts_log2) {
    return Corrupt(fmt::format("{} at {:#x}: {} bits < log2 of {} min elements", what, at, max_bits,
                               dblk_min_elmts));
  }
  const auto nsblks = static_cast<std::size_t>(1 + max_bits - min_elmts_log2);
  std::vector<SuperBlockInfo> sblk(nsblks);
  std::uint64_t start = 0;
  for (std::size_t u = 0; u < nsblks; ++u) {
    sblk[u].ndblks = std::uint64_t{1} << (u / 2);
    sblk[u].dblk_nelmts = (std::uint64_t{1} << ((u + 1) / 2)) * dblk_min_elmts;
    sblk[u].start_index = start;
    start = AddU64(start, sblk[u].ndblks * sblk[u].dblk_nelmts).value_or(~std::uint64_t{0});
  }
  const std::size_t iblock_sblks =
      2 * static_cast<std::size_t>(std::countr_zero(static_cast<unsigned>(sblk_min_ptrs)));
  const std::uint64_t iblock_dblks = 2 * (std::uint64_t{sblk_min_ptrs} - 1);
  if (iblock_sblks > nsblks) {
    return Corrupt(fmt::format("{} at {:#x}: {} min pointers for {} super blocks", what, at,
                               sblk_min_ptrs, nsblks));
  }
  const std::uint64_t iblock_sblk_addrs = nsblks - iblock_sblks;
  VZ_ASSIGN_OR_RETURN(auto page_nelmts, PageBitsToElements(page_bits, what, at));
  const std::uint64_t off_size = (std::uint64_t{max_bits} + 7) / 8;  // "block offset" width

  // Index block.
  const char* iwhat = "extensible array index block";
  const std::uint64_t iblock_size = 4 + 1 + 1 + o + std::uint64_t{iblock_elmts} * element_size +
                                    (iblock_dblks + iblock_sblk_addrs) * o + 4;
  VZ_ASSIGN_OR_RETURN(auto ibytes, ctx.Read(iblock_addr, iblock_size, iwhat));
  ByteCursor ic(ibytes, ctx.Absolute(iblock_addr));
  VZ_TRY(CheckBlock(ctx, ic, ibytes, "EAIB", iwhat, client, hdr_addr));
  VZ_TRY(decoder.Decode(ic, 0, iblock_elmts));
  const std::uint64_t base = iblock_elmts;  // linear index of super block 0's first element
  auto in_use = [&](std::uint64_t first) { return base + first < max_index_set; };

  std::vector<DataBlockRef> dblocks;
  auto add_dblock = [&](std::uint64_t address, std::size_t u, std::uint64_t j,
                        std::vector<bool> pages) {
    const std::uint64_t first = sblk[u].start_index + j * sblk[u].dblk_nelmts;
    if (ctx.IsUndefined(address) || !in_use(first)) return;
    dblocks.push_back({address, base + first, sblk[u].dblk_nelmts, std::move(pages)});
  };
  auto npages_of = [&](std::size_t u) {
    return sblk[u].dblk_nelmts > page_nelmts ? sblk[u].dblk_nelmts / page_nelmts : 0;
  };
  for (std::size_t u = 0, k = 0; u < iblock_sblks; ++u) {
    for (std::uint64_t j = 0; j < sblk[u].ndblks; ++j, ++k) {
      VZ_ASSIGN_OR_RETURN(auto addr, ctx.ReadOffset(ic));
      // Data blocks reached from the index block carry no page-init bits: all pages exist.
      add_dblock(addr, u, j, std::vector<bool>(npages_of(u), true));
    }
  }
  // Super blocks (one round).
  std::vector<io::ByteRange> sranges;
  std::vector<std::size_t> sblk_ids;
  for (std::uint64_t s = 0; s < iblock_sblk_addrs; ++s) {
    VZ_ASSIGN_OR_RETURN(auto addr, ctx.ReadOffset(ic));
    const std::size_t u = iblock_sblks + static_cast<std::size_t>(s);
    if (ctx.IsUndefined(addr) || !in_use(sblk[u].start_index)) continue;
    const std::uint64_t np = npages_of(u);
    const std::uint64_t bitmap = np ? sblk[u].ndblks * CeilDiv(np, 8) : 0;
    sranges.push_back({addr, 4 + 1 + 1 + o + off_size + bitmap + sblk[u].ndblks * o + 4});
    sblk_ids.push_back(u);
  }
  const char* swhat = "extensible array super block";
  VZ_ASSIGN_OR_RETURN(auto sblobs, ctx.ReadMany(sranges, swhat));
  for (std::size_t i = 0; i < sblobs.size(); ++i) {
    const std::size_t u = sblk_ids[i];
    ByteCursor sc(sblobs[i], ctx.Absolute(sranges[i].offset));
    VZ_TRY(CheckBlock(ctx, sc, sblobs[i], "EASB", swhat, client, hdr_addr));
    // The block offset is informational (and for data blocks under the index block the
    // library computes it inconsistently), so it is skipped, not checked.
    VZ_TRY(sc.Skip(static_cast<std::size_t>(off_size)));
    const std::uint64_t np = npages_of(u);
    std::span<const std::uint8_t> bitmap;
    if (np) {
      VZ_ASSIGN_OR_RETURN(bitmap,
                          sc.Bytes(static_cast<std::size_t>(sblk[u].ndblks * CeilDiv(np, 8))));
    }
    for (std::uint64_t j = 0; j < sblk[u].ndblks; ++j) {
      VZ_ASSIGN_OR_RETURN(auto addr, ctx.ReadOffset(sc));
      std::vector<bool> pages(np);
      // The bitmap is one bit string over all pages of all data blocks of this super block.
      for (std::uint64_t p = 0; p < np; ++p) pages[p] = BitSet(bitmap, j * np + p);
      add_dblock(addr, u, j, std::move(pages));
    }
  }

  // Data blocks and their pages (one round).
  const char* dwhat = "extensible array data block";
  std::vector<io::ByteRange> dranges;
  struct Piece {
    std::size_t dblock;
    std::int64_t page;  // -1: the data block itself
  };
  std::vector<Piece> pieces;
  const std::uint64_t prefix = 4 + 1 + 1 + o + off_size;
  for (std::size_t i = 0; i < dblocks.size(); ++i) {
    const auto& db = dblocks[i];
    const bool paged = !db.pages.empty();
    dranges.push_back({db.address, prefix + (paged ? 0 : db.nelmts * element_size) + 4});
    pieces.push_back({i, -1});
    if (!paged) continue;
    const std::uint64_t page_bytes = page_nelmts * element_size + 4;
    for (std::size_t p = 0; p < db.pages.size(); ++p) {
      if (!db.pages[p]) continue;
      VZ_ASSIGN_OR_RETURN(auto page_addr, CheckedAdd(db.address, prefix + 4 + p * page_bytes,
                                                     "extensible array page address"));
      dranges.push_back({page_addr, page_bytes});
      pieces.push_back({i, static_cast<std::int64_t>(p)});
    }
  }
  VZ_ASSIGN_OR_RETURN(auto dblobs, ctx.ReadMany(dranges, dwhat));
  for (std::size_t i = 0; i < dblobs.size(); ++i) {
    const auto& db = dblocks[pieces[i].dblock];
    const auto& b = dblobs[i];
    const std::uint64_t b_at = ctx.Absolute(dranges[i].offset);
    if (pieces[i].page >= 0) {
      const std::size_t covered = b.size() - 4;
      VZ_TRY(VerifyChecksum(std::span(b).first(covered), UnsafeLoadU32LE(b.data() + covered),
                            "extensible array data block page", b_at));
      ByteCursor pc{std::span<const std::uint8_t>(b).first(covered), b_at};
      VZ_TRY(decoder.Decode(
          pc, db.first_index + static_cast<std::uint64_t>(pieces[i].page) * page_nelmts,
          page_nelmts));
      continue;
    }
    ByteCursor dc(b, b_at);
    VZ_TRY(CheckBlock(ctx, dc, b, "EADB", dwhat, client, hdr_addr));
    VZ_TRY(dc.Skip(static_cast<std::size_t>(off_size)));  // block offset, see above
    if (db.pages.empty()) VZ_TRY(decoder.Decode(dc, db.first_index, db.nelmts));
  }
  return Ok();
}

}  // namespace vz::hdf5::internal
