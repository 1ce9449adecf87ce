// The Data Layout message (spec IV.A.2.i, message type 0x0008).
//
// Versions 1 and 2: dimensionality, class, 5 reserved bytes, an address (not for compact),
// `dimensionality` 4-byte sizes (for chunked storage the last one is the element size), and
// for compact storage a 4-byte size and the raw data.
// Version 3: class, then compact (2-byte size + data), contiguous (address, length) or chunked
// (dimensionality, v1 B-tree address, 4-byte sizes whose last is the element size).
// Version 4: as version 3, but chunked is (flags, dimensionality, bytes per dimension size,
// sizes, index type, index parameters, index address) and class 3 is a virtual dataset.
#include <fmt/format.h>

#include "vz/base/checked.h"
#include "vz/hdf5/chunk_index.h"

namespace vz::hdf5 {

namespace {

constexpr std::uint8_t kCompact = 0;
constexpr std::uint8_t kContiguous = 1;
constexpr std::uint8_t kChunked = 2;
constexpr std::uint8_t kVirtual = 3;

// Splits chunk sizes that end with the element size into chunk dims + element size.
Status SetChunkDims(DataLayout& out, const std::vector<std::uint64_t>& sizes, std::size_t rank,
                    std::uint64_t at) {
  if (sizes.size() < 2) {
    return Corrupt(fmt::format("data layout message at {:#x}: chunked dimensionality {} < 2", at,
                               sizes.size()));
  }
  if (rank != 0 && sizes.size() != rank + 1) {
    return Corrupt(fmt::format(
        "data layout message at {:#x}: chunk dimensionality {} does not match dataspace rank {}",
        at, sizes.size(), rank));
  }
  out.chunk_dims.assign(sizes.begin(), sizes.end() - 1);
  for (std::size_t i = 0; i < out.chunk_dims.size(); ++i) {
    if (out.chunk_dims[i] == 0) {
      return Corrupt(
          fmt::format("data layout message at {:#x}: chunk dimension {} is zero", at, i));
    }
  }
  const std::uint64_t element_size = sizes.back();
  if (element_size == 0 || element_size > 0xffffffffu) {
    return Corrupt(fmt::format("data layout message at {:#x}: element size {}", at, element_size));
  }
  out.element_size = static_cast<std::uint32_t>(element_size);
  VZ_TRY(CheckedProduct(out.chunk_dims, "chunk size"));
  return Ok();
}

Result<std::vector<std::uint8_t>> CompactBytes(ByteCursor& m, std::size_t size) {
  VZ_ASSIGN_OR_RETURN(auto bytes, m.Bytes(size));
  return std::vector<std::uint8_t>(bytes.begin(), bytes.end());
}

Result<DataLayout> ParseOld(const FileContext& ctx, ByteCursor& m, DataLayout out, std::size_t rank,
                            std::uint64_t at) {
  VZ_ASSIGN_OR_RETURN(auto ndims, m.U8());
  VZ_ASSIGN_OR_RETURN(auto cls, m.U8());
  VZ_TRY(m.Skip(5));
  if (cls != kCompact) {
    VZ_ASSIGN_OR_RETURN(auto address, ctx.ReadOffset(m));
    out.address = address;
  }
  std::vector<std::uint64_t> sizes(ndims);
  for (auto& s : sizes) {
    VZ_ASSIGN_OR_RETURN(s, m.U32());
  }
  switch (cls) {
    case kCompact: {
      out.layout = model::Layout::kCompact;
      VZ_ASSIGN_OR_RETURN(auto size, m.U32());
      out.size = size;
      VZ_ASSIGN_OR_RETURN(out.compact_data, CompactBytes(m, size));
      break;
    }
    case kContiguous:
      // These versions store no byte size: it is dataspace size * element size, which the
      // caller knows (size stays 0 here).
      out.layout = model::Layout::kContiguous;
      break;
    case kChunked:
      out.layout = model::Layout::kChunked;
      out.index_type = ChunkIndexType::kBTreeV1;
      out.index_address = out.address;
      out.address = kUndefinedAddress;
      VZ_TRY(SetChunkDims(out, sizes, rank, at));
      break;
    default:
      return Corrupt(fmt::format("data layout message at {:#x}: unknown layout class {}", at, cls));
  }
  return out;
}

Status ParseChunkedV4(const FileContext& ctx, ByteCursor& m, DataLayout& out, std::size_t rank,
                      std::uint64_t at) {
  VZ_ASSIGN_OR_RETURN(out.flags, m.U8());
  VZ_ASSIGN_OR_RETURN(auto ndims, m.U8());
  VZ_ASSIGN_OR_RETURN(auto width, m.U8());
  if (width < 1 || width > 8) {
    return Corrupt(fmt::format("data layout message at {:#x}: dimension size width {}", at, width));
  }
  std::vector<std::uint64_t> sizes(ndims);
  for (auto& s : sizes) {
    VZ_ASSIGN_OR_RETURN(s, m.UintLE(width));
  }
  VZ_TRY(SetChunkDims(out, sizes, rank, at));
  VZ_ASSIGN_OR_RETURN(auto type, m.U8());
  switch (type) {
    case 1: {
      out.index_type = ChunkIndexType::kSingleChunk;
      if (out.flags & 0x02) {  // single chunk with filters: its stored size and mask
        VZ_ASSIGN_OR_RETURN(out.single_filtered_size, ctx.ReadLength(m));
        VZ_ASSIGN_OR_RETURN(out.single_filter_mask, m.U32());
      }
      break;
    }
    case 2:
      out.index_type = ChunkIndexType::kImplicit;
      break;
    case 3: {
      out.index_type = ChunkIndexType::kFixedArray;
      VZ_ASSIGN_OR_RETURN(out.fa_page_bits, m.U8());
      break;
    }
    case 4: {
      out.index_type = ChunkIndexType::kExtensibleArray;
      VZ_ASSIGN_OR_RETURN(out.ea_max_bits, m.U8());
      VZ_ASSIGN_OR_RETURN(out.ea_index_elements, m.U8());
      VZ_ASSIGN_OR_RETURN(out.ea_min_pointers, m.U8());
      VZ_ASSIGN_OR_RETURN(out.ea_min_elements, m.U8());
      VZ_ASSIGN_OR_RETURN(out.ea_page_bits, m.U8());
      break;
    }
    case 5: {
      out.index_type = ChunkIndexType::kBTreeV2;
      VZ_ASSIGN_OR_RETURN(out.bt2_node_size, m.U32());
      VZ_ASSIGN_OR_RETURN(out.bt2_split_percent, m.U8());
      VZ_ASSIGN_OR_RETURN(out.bt2_merge_percent, m.U8());
      break;
    }
    default:
      return Unsupported(
          fmt::format("data layout message at {:#x}: unknown chunk index type {}", at, type));
  }
  VZ_ASSIGN_OR_RETURN(out.index_address, ctx.ReadOffset(m));
  return Ok();
}

}  // namespace

Result<DataLayout> ParseDataLayout(const FileContext& ctx, ByteCursor& message, std::size_t rank) {
  const std::uint64_t at = message.file_offset();
  DataLayout out;
  VZ_ASSIGN_OR_RETURN(out.version, message.U8());
  if (out.version == 1 || out.version == 2) return ParseOld(ctx, message, std::move(out), rank, at);
  if (out.version != 3 && out.version != 4) {
    return Unsupported(fmt::format("data layout message at {:#x}: version {}", at, out.version));
  }
  VZ_ASSIGN_OR_RETURN(auto cls, message.U8());
  switch (cls) {
    case kCompact: {
      out.layout = model::Layout::kCompact;
      VZ_ASSIGN_OR_RETURN(auto size, message.U16());
      out.size = size;
      VZ_ASSIGN_OR_RETURN(out.compact_data, CompactBytes(message, size));
      break;
    }
    case kContiguous: {
      out.layout = model::Layout::kContiguous;
      VZ_ASSIGN_OR_RETURN(out.address, ctx.ReadOffset(message));
      VZ_ASSIGN_OR_RETURN(out.size, ctx.ReadLength(message));
      break;
    }
    case kChunked:
      out.layout = model::Layout::kChunked;
      if (out.version == 3) {
        VZ_ASSIGN_OR_RETURN(auto ndims, message.U8());
        VZ_ASSIGN_OR_RETURN(out.index_address, ctx.ReadOffset(message));
        std::vector<std::uint64_t> sizes(ndims);
        for (auto& s : sizes) {
          VZ_ASSIGN_OR_RETURN(s, message.U32());
        }
        out.index_type = ChunkIndexType::kBTreeV1;
        VZ_TRY(SetChunkDims(out, sizes, rank, at));
      } else {
        VZ_TRY(ParseChunkedV4(ctx, message, out, rank, at));
      }
      break;
    case kVirtual:
      // The mapping lives in the global heap; the caller reports the dataset as virtual.
      out.layout = model::Layout::kVirtual;
      break;
    default:
      return Corrupt(fmt::format("data layout message at {:#x}: unknown layout class {}", at, cls));
  }
  return out;
}

}  // namespace vz::hdf5
