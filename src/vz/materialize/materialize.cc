// MaterializeInline: everything the references embed is read here, so that the writer needs no
// I/O. Small chunks (stored size below inline_threshold) are fetched in one ReadMany for the
// whole file; arrays whose filters numcodecs cannot read are decoded chunk by chunk, assembled
// and turned into compact (raw, in-memory) arrays.
#include "vz/materialize/materialize.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "vz/base/checked.h"
#include "vz/codecs/assemble.h"
#include "vz/codecs/codecs.h"
#include "vz/refs/translate.h"

namespace vz::materialize {

using refs::CodecPlan;
using refs::KerchunkOptions;

namespace {

std::string ChunkLabel(const model::ChunkManifest& m, std::size_t i) {
  std::string key;
  for (std::size_t d = 0; d < m.rank; ++d) {
    if (d > 0) key += '.';
    key += std::to_string(m.coords[i * m.rank + d]);
  }
  return key.empty() ? "0" : key;
}

}  // namespace

namespace {

// What a zarr reader would need to read `array`'s filters itself, for the error that says
// vzgen will not embed it: "" when there is nothing to name.
std::string ReaderCodecHint(const model::Array& array) {
  std::vector<std::string> hints;
  for (const auto& f : array.filters) {
    if (f.id == 32000) hints.emplace_back("a zarr reader would need the imagecodecs_lzf codec");
    if (f.id == 32008) {
      const std::uint32_t codec = f.client_data.size() > 4 ? f.client_data[4] : 0;
      hints.emplace_back(codec == 0 ? "a zarr reader would need the imagecodecs_bitshuffle codec"
                                    : "no numcodecs or imagecodecs codec reads bitshuffle's "
                                      "lz4/zstd block framing");
    }
  }
  std::string out;
  for (const auto& h : hints) out += "; " + h;
  return out;
}

// ---- compounds with padding ----
// zarr v2's dtype is numpy's descr, which has no field offsets: padding between members can
// only be written as unnamed void fields, which numpy names f1, f2, ... and h5py never shows.
// Packed (members back to back, in offset order, nested compounds packed too) and embedded,
// a compound reads as h5py shows it.

using Kind = model::DType::Kind;

// The element type of a member (without its array dimensions) and how many of them it holds.
std::pair<model::DType, std::uint64_t> MemberElement(const model::DType& t) {
  model::DType base = t;
  base.subshape.clear();
  std::uint64_t n = 1;
  for (auto d : t.subshape) n *= d;
  if (n != 0 && t.size % n == 0) base.size = static_cast<std::uint32_t>(t.size / n);
  return {base, n};
}

std::vector<const model::Field*> ByOffset(const model::DType& t) {
  std::vector<const model::Field*> fields;
  for (const auto& f : t.fields) fields.push_back(&f);
  std::stable_sort(fields.begin(), fields.end(), [](const model::Field* a, const model::Field* b) {
    return a->offset < b->offset;
  });
  return fields;
}

bool HasPadding(const model::DType& t) {
  if (t.kind != Kind::kCompound) return false;
  std::uint64_t pos = 0;
  for (const auto* f : ByOffset(t)) {
    if (f->offset != pos) return true;
    if (HasPadding(MemberElement(f->type).first)) return true;
    pos = f->offset + f->type.size;
  }
  return pos != t.size;
}

model::DType Packed(const model::DType& t) {
  if (t.kind != Kind::kCompound) return t;
  model::DType out = t;
  out.fields.clear();
  std::uint64_t pos = 0;
  for (const auto* f : ByOffset(t)) {
    auto [elem, n] = MemberElement(f->type);
    model::DType member = Packed(elem);
    member.subshape = f->type.subshape;
    member.size = static_cast<std::uint32_t>(member.size * n);
    out.fields.push_back(model::Field{f->name, pos, member});
    pos += member.size;
  }
  out.size = static_cast<std::uint32_t>(pos);
  return out;
}

// Copies one element of `from` at `src` into the packed layout `to` at `dst`.
void CopyPacked(const std::uint8_t* src, const model::DType& from, std::uint8_t* dst,
                const model::DType& to) {
  if (from.kind != Kind::kCompound) {
    std::memcpy(dst, src, from.size);
    return;
  }
  const auto old_fields = ByOffset(from);
  for (std::size_t i = 0; i < old_fields.size(); ++i) {
    const model::Field& f = *old_fields[i];
    const model::Field& g = to.fields[i];  // Packed keeps the offset order
    auto [elem_old, n] = MemberElement(f.type);
    auto [elem_new, m] = MemberElement(g.type);
    for (std::uint64_t k = 0; k < n && k < m; ++k) {
      CopyPacked(src + f.offset + k * elem_old.size, elem_old, dst + g.offset + k * elem_new.size,
                 elem_new);
    }
  }
}

// Rewrites an in-memory (compact) compound array in the packed layout.
Status PackCompound(model::Array& array) {
  const model::DType packed = Packed(array.dtype);
  const std::size_t from = array.dtype.size;
  const std::size_t to = packed.size;
  if (from == 0 || array.compact_data.size() % from != 0) {
    return Internal(fmt::format("{}: compact data is not a whole number of elements", array.path));
  }
  const std::size_t n = array.compact_data.size() / from;
  std::vector<std::uint8_t> out(n * to);
  for (std::size_t i = 0; i < n; ++i) {
    CopyPacked(array.compact_data.data() + i * from, array.dtype, out.data() + i * to, packed);
  }
  if (array.fill_value && array.fill_value->size() == from) {
    std::vector<std::uint8_t> fill(to);
    CopyPacked(array.fill_value->data(), array.dtype, fill.data(), packed);
    array.fill_value = std::move(fill);
  } else {
    array.fill_value.reset();
  }
  array.compact_data = std::move(out);
  array.dtype = packed;
  return Ok();
}

bool InMemory(const model::Array& array) {
  return array.layout == model::Layout::kCompact || array.dtype.IsVariableLength();
}

// Checks that `array` can be loaded and lists the stored ranges to read (chunks not already
// inline, in manifest order).
Result<std::vector<io::ByteRange>> LoadRanges(const model::Array& array,
                                              const KerchunkOptions& options,
                                              const std::string& reason) {
  for (const auto& f : array.filters) {
    if (!codecs::CanDecode(f.id)) {
      return Unsupported(
          fmt::format("{} uses filter {} ({}), which neither zarr readers nor vzgen can decode",
                      array.path, f.name.empty() ? "unnamed" : f.name, f.id));
    }
  }
  const std::size_t rank = array.shape.size();
  const auto& m = array.manifest;
  if (m.size() > 0 &&
      (m.rank != rank || m.coords.size() != m.size() * rank || array.chunk_shape.size() != rank)) {
    return Internal("inconsistent chunk manifest");
  }
  VZ_ASSIGN_OR_RETURN(const std::uint64_t count, CheckedProduct(array.shape, "element count"));
  VZ_ASSIGN_OR_RETURN(const std::uint64_t total, CheckedMul(count, array.dtype.size, "array size"));
  if (total > options.max_decoded_inline) {
    return LimitExceeded(fmt::format(
        "{} {}; vzgen would have to decode and embed {} bytes, more than the limit of {} "
        "(--max-decoded-inline){}",
        array.path, reason, total, options.max_decoded_inline, ReaderCodecHint(array)));
  }
  // The cap keeps a lying manifest from making us read far more than the decoded size allowed.
  const std::uint64_t stored_cap = options.max_decoded_inline * 2 + (1u << 20);
  std::uint64_t stored_total = 0;
  std::vector<io::ByteRange> ranges;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m.inline_data.count(i) != 0) continue;
    if (!m.path_ids.empty() && m.path_ids[i] != 0) {
      return Unsupported(
          fmt::format("{}: chunk {} lives in another file and would have to be decoded (it {})",
                      array.path, ChunkLabel(m, i), reason));
    }
    VZ_ASSIGN_OR_RETURN(stored_total, CheckedAdd(stored_total, m.lengths[i], "stored bytes"));
    if (stored_total > stored_cap) {
      return LimitExceeded(
          fmt::format("{}: more than {} stored bytes to decode", array.path, stored_cap));
    }
    ranges.push_back({m.offsets[i], m.lengths[i]});
  }
  return ranges;
}

// Decodes `array` from the bytes of the ranges LoadRanges listed, into a compact array.
Status LoadFromBytes(model::Array& array, std::span<io::Bytes> stored) {
  const std::size_t rank = array.shape.size();
  auto& m = array.manifest;
  VZ_ASSIGN_OR_RETURN(const std::uint64_t count, CheckedProduct(array.shape, "element count"));
  VZ_ASSIGN_OR_RETURN(const std::uint64_t total, CheckedMul(count, array.dtype.size, "array size"));
  VZ_ASSIGN_OR_RETURN(const std::size_t total_size, ToSize(total, "array size"));
  // Unwritten chunks read as the fill value: the embedded array has no fill_value of its own.
  std::vector<std::uint8_t> full(total_size, 0);
  if (array.fill_value && array.fill_value->size() == array.dtype.size &&
      std::any_of(array.fill_value->begin(), array.fill_value->end(),
                  [](std::uint8_t b) { return b != 0; })) {
    for (std::size_t i = 0; i < total_size; i += array.dtype.size) {
      std::copy(array.fill_value->begin(), array.fill_value->end(),
                full.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  VZ_ASSIGN_OR_RETURN(const std::uint64_t chunk_count,
                      CheckedProduct(array.chunk_shape, "chunk elements"));
  VZ_ASSIGN_OR_RETURN(const std::uint64_t chunk_bytes,
                      CheckedMul(chunk_count, array.dtype.size, "chunk size"));
  codecs::ChunkInfo info;
  info.dtype = array.dtype;
  info.chunk_shape = array.chunk_shape;
  // Intermediate stages may be larger than the chunk (fletcher32's checksum, szip padding);
  // the final size is checked exactly by DecodeChunk.
  info.max_output = chunk_bytes * 2 + 4096;
  std::size_t next_range = 0;
  for (std::size_t i = 0; i < m.size(); ++i) {
    std::span<const std::uint8_t> bytes;
    auto inl = m.inline_data.find(i);
    if (inl != m.inline_data.end()) {
      bytes = inl->second;
    } else {
      if (next_range >= stored.size()) return Internal("too few ranges read");
      bytes = stored[next_range++];
    }
    const std::uint32_t mask = m.filter_masks.empty() ? 0 : m.filter_masks[i];
    VZ_ASSIGN_OR_RETURN(auto decoded, codecs::DecodeChunk(bytes, array.filters, mask, info),
                        "in chunk {} of {}", ChunkLabel(m, i), array.path);
    if (decoded.size() != chunk_bytes) {
      return Corrupt(fmt::format("chunk {} of {} decoded to {} bytes, expected {}",
                                 ChunkLabel(m, i), array.path, decoded.size(), chunk_bytes));
    }
    codecs::CopyChunkIntoArray(decoded,
                               std::span<const std::uint64_t>(m.coords).subspan(i * rank, rank),
                               array.chunk_shape, array.shape, array.dtype.size, full);
  }
  array.layout = model::Layout::kCompact;
  array.compact_data = std::move(full);
  array.filters.clear();
  array.chunk_shape = array.shape;
  array.manifest = model::ChunkManifest{};
  array.manifest.rank = rank;
  return Ok();
}

// netCDF-4: a variable along an unlimited dimension may hold fewer records than the dimension;
// readers see the dimension's length, the rest as fill (chunks never written).
void ExtendNetcdfRecords(model::VirtualDataset& dataset) {
  if (dataset.format != "netcdf4") return;
  for (auto& a : dataset.arrays) a.netcdf_variable = true;
  std::map<std::string, std::uint64_t> unlimited;
  for (const auto& a : dataset.arrays) {
    if (a.is_dimension_scale && a.shape.size() == 1 && a.max_shape.size() == 1 &&
        a.max_shape[0] == model::Array::kUnlimited) {
      unlimited[a.path.empty() || a.path[0] != '/' ? a.path : a.path.substr(1)] = a.shape[0];
    }
  }
  if (unlimited.empty()) return;
  for (auto& a : dataset.arrays) {
    if (a.is_dimension_only || a.layout != model::Layout::kChunked) continue;
    for (std::size_t d = 0; d < a.shape.size() && d < a.dims.size() && d < a.max_shape.size();
         ++d) {
      auto it = unlimited.find(a.dims[d]);
      if (it != unlimited.end() && a.max_shape[d] == model::Array::kUnlimited &&
          a.shape[d] < it->second) {
        a.shape[d] = it->second;
      }
    }
  }
}

// netCDF variables without _FillValue read the HDF5 fill value where chunks were never written,
// but a zarr fill_value would make xarray mask those values as missing, which netCDF readers do
// not. So when such an array has no codecs and the missing chunks are small, they are embedded
// holding the fill value, and the zarr fill_value stays null.
Status EmbedUnwrittenChunks(model::Array& a, const CodecPlan& plan) {
  constexpr std::uint64_t kMaxEmbedded = 1u << 20;
  if (!refs::UsesNetcdfFillRule(a) || !a.dtype.IsNumeric() || !plan.filters.is_null() ||
      plan.trim != 0 ||
      (a.layout != model::Layout::kChunked && a.layout != model::Layout::kContiguous) ||
      a.chunk_shape.size() != a.shape.size()) {
    return Ok();
  }
  for (const auto& attr : a.attributes) {
    if (attr.name == "_FillValue") return Ok();
  }
  const std::size_t rank = a.shape.size();
  std::vector<std::uint64_t> grid(rank);
  std::uint64_t cells = 1;
  for (std::size_t d = 0; d < rank; ++d) {
    if (a.chunk_shape[d] == 0) return Ok();
    grid[d] = a.shape[d] / a.chunk_shape[d] + (a.shape[d] % a.chunk_shape[d] != 0);
    VZ_ASSIGN_OR_RETURN(cells, CheckedMul(cells, grid[d], "chunk grid"));
  }
  auto& m = a.manifest;
  if (m.size() >= cells) return Ok();
  VZ_ASSIGN_OR_RETURN(const std::uint64_t chunk_elems, CheckedProduct(a.chunk_shape, "chunk"));
  VZ_ASSIGN_OR_RETURN(const std::uint64_t chunk_bytes,
                      CheckedMul(chunk_elems, a.dtype.size, "chunk size"));
  const std::uint64_t missing = cells - m.size();
  if (chunk_bytes == 0 || missing > kMaxEmbedded / chunk_bytes) return Ok();
  std::vector<std::uint8_t> fill(static_cast<std::size_t>(chunk_bytes), 0);
  if (a.fill_value && a.fill_value->size() == a.dtype.size) {
    for (std::size_t i = 0; i < fill.size(); i += a.dtype.size) {
      std::copy(a.fill_value->begin(), a.fill_value->end(),
                fill.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  std::set<std::vector<std::uint64_t>> present;
  for (std::size_t i = 0; i < m.size(); ++i) {
    present.emplace(m.coords.begin() + static_cast<std::ptrdiff_t>(i * rank),
                    m.coords.begin() + static_cast<std::ptrdiff_t>((i + 1) * rank));
  }
  m.rank = rank;
  std::vector<std::uint64_t> pos(rank, 0);
  for (std::uint64_t c = 0; c < cells; ++c) {
    if (present.count(pos) == 0) {
      m.Add(pos, 0, 0);
      m.inline_data[m.size() - 1] = fill;
    }
    for (std::size_t d = rank; d-- > 0;) {
      if (++pos[d] < grid[d]) break;
      pos[d] = 0;
    }
  }
  if (a.layout == model::Layout::kContiguous) a.layout = model::Layout::kChunked;
  return Ok();
}

}  // namespace

Status LoadArray(model::Array& array, io::ByteSource& source, const KerchunkOptions& options,
                 const std::string& reason) {
  if (InMemory(array)) return Ok();
  VZ_ASSIGN_OR_RETURN(auto ranges, LoadRanges(array, options, reason));
  std::vector<io::Bytes> stored;
  if (!ranges.empty()) {
    VZ_ASSIGN_OR_RETURN(stored, source.ReadMany(ranges));
    if (stored.size() != ranges.size()) return Internal("ReadMany returned too few ranges");
  }
  return LoadFromBytes(array, stored);
}

Status MaterializeInline(model::VirtualDataset& dataset, io::ByteSource& source,
                         const KerchunkOptions& options,
                         const std::map<std::size_t, std::string>& load) {
  // Everything is read in one ReadMany: one round trip for all small chunks and loaded arrays.
  struct Pending {
    std::size_t array;
    std::size_t chunk;  // small chunk index; unused for loads
    std::uint64_t trim;
    std::size_t first_range;
    std::size_t ranges;
    bool load;
  };
  std::vector<Pending> pending;
  std::set<std::size_t> packed;  // arrays whose compound is packed once loaded
  std::vector<io::ByteRange> ranges;
  ExtendNetcdfRecords(dataset);
  for (std::size_t a = 0; a < dataset.arrays.size(); ++a) {
    auto& array = dataset.arrays[a];
    if (array.is_dimension_only) continue;
    const std::string skip = refs::SkipReason(array);
    if (!skip.empty()) {
      dataset.warnings.push_back(fmt::format("{} skipped: {}", array.path, skip));
      continue;
    }
    bool pack = false;
    if (HasPadding(array.dtype)) {
      VZ_ASSIGN_OR_RETURN(const std::uint64_t count, CheckedProduct(array.shape, "element count"));
      pack = count <= options.max_decoded_inline / std::max<std::uint32_t>(array.dtype.size, 1);
      if (!pack) {
        dataset.warnings.push_back(fmt::format(
            "{}: a compound with padding between its members, larger than --max-decoded-inline: "
            "the padding is written as unnamed void fields (f1, f2, ...), as kerchunk does",
            array.path));
      }
    }
    if (InMemory(array)) {
      if (pack && array.layout == model::Layout::kCompact) VZ_TRY(PackCompound(array));
      continue;
    }
    const CodecPlan plan = refs::PlanCodecs(array);
    auto wanted = load.find(a);
    if (plan.needs_decode || wanted != load.end() || pack) {
      const std::string reason =
          plan.needs_decode
              ? fmt::format("uses {}, which zarr readers cannot decode", plan.decode_reason)
          : wanted != load.end()
              ? wanted->second
              : std::string(
                    "is a compound with padding between its members, which zarr v2 "
                    "cannot describe");
      VZ_ASSIGN_OR_RETURN(auto r, LoadRanges(array, options, reason));
      if (pack) packed.insert(a);
      pending.push_back({a, 0, 0, ranges.size(), r.size(), true});
      ranges.insert(ranges.end(), r.begin(), r.end());
      continue;
    }
    if (dataset.format == "netcdf4") VZ_TRY(EmbedUnwrittenChunks(array, plan));
    const auto& m = array.manifest;
    for (std::size_t i = 0; i < m.size(); ++i) {
      if (m.inline_data.count(i) != 0) continue;
      if (!m.path_ids.empty() && m.path_ids[i] != 0) continue;  // not in `source`
      if (m.lengths[i] == 0 || m.lengths[i] >= options.inline_threshold) continue;
      if (m.lengths[i] < plan.trim) {
        return Corrupt(
            fmt::format("chunk {} of {} is {} bytes, too short for its fletcher32 "
                        "checksum",
                        ChunkLabel(m, i), array.path, m.lengths[i]));
      }
      pending.push_back({a, i, plan.trim, ranges.size(), 1, false});
      ranges.push_back({m.offsets[i], m.lengths[i]});
    }
  }
  std::vector<io::Bytes> blobs;
  if (!ranges.empty()) {
    VZ_ASSIGN_OR_RETURN(blobs, source.ReadMany(ranges));
    if (blobs.size() != ranges.size()) return Internal("ReadMany returned too few ranges");
  }
  for (const auto& p : pending) {
    auto& array = dataset.arrays[p.array];
    if (p.load) {
      VZ_TRY(LoadFromBytes(array, std::span<io::Bytes>(blobs).subspan(p.first_range, p.ranges)));
      if (packed.count(p.array) != 0) VZ_TRY(PackCompound(array));
      continue;
    }
    auto& bytes = blobs[p.first_range];
    bytes.resize(bytes.size() -
                 std::min<std::size_t>(bytes.size(), static_cast<std::size_t>(p.trim)));
    array.manifest.inline_data[p.chunk] = std::move(bytes);
  }
  return Ok();
}

}  // namespace vz::materialize
