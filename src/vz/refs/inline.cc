// MaterializeInline: everything the references embed is read here, so that the writer needs no
// I/O. Small chunks (stored size below inline_threshold) are fetched in one ReadMany for the
// whole file; arrays whose filters numcodecs cannot read are decoded chunk by chunk, assembled
// and turned into compact (raw, in-memory) arrays.
#include <fmt/format.h>

#include <algorithm>

#include "vz/base/checked.h"
#include "vz/codecs/assemble.h"
#include "vz/codecs/codecs.h"
#include "vz/refs/kerchunk.h"
#include "vz/refs/translate.h"

namespace vz::refs {

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

Status LoadArray(model::Array& array, io::ByteSource& source, const KerchunkOptions& options,
                 const std::string& reason) {
  if (array.layout == model::Layout::kCompact ||
      array.dtype.kind == model::DType::Kind::kVlenString) {
    return Ok();  // already in memory
  }
  for (const auto& f : array.filters) {
    if (!codecs::CanDecode(f.id)) {
      return Unsupported(
          fmt::format("{} uses filter {} ({}), which neither zarr readers nor vzgen can decode",
                      array.path, f.name.empty() ? "unnamed" : f.name, f.id));
    }
  }
  const std::size_t rank = array.shape.size();
  auto& m = array.manifest;
  if (m.size() > 0 &&
      (m.rank != rank || m.coords.size() != m.size() * rank || array.chunk_shape.size() != rank)) {
    return Internal("inconsistent chunk manifest");
  }
  VZ_ASSIGN_OR_RETURN(const std::uint64_t count, CheckedProduct(array.shape, "element count"));
  VZ_ASSIGN_OR_RETURN(const std::uint64_t total, CheckedMul(count, array.dtype.size, "array size"));
  if (total > options.max_decoded_inline) {
    return LimitExceeded(fmt::format(
        "{} {}; vzgen would have to decode and embed {} bytes, more than the limit of {} "
        "(--max-decoded-inline)",
        array.path, reason, total, options.max_decoded_inline));
  }
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

  // Stored bytes of every chunk, read in one round; the cap keeps a lying manifest from making
  // us read far more than the decoded size we allowed.
  const std::uint64_t stored_cap = options.max_decoded_inline * 2 + (1u << 20);
  std::uint64_t stored_total = 0;
  std::vector<io::ByteRange> ranges;
  std::vector<std::size_t> range_chunk;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m.inline_data.count(i) != 0) continue;
    if (!m.path_ids.empty() && m.path_ids[i] != 0) {
      return Unsupported(
          fmt::format("{}: chunk {} lives in another file and would have to be "
                      "decoded (it {})",
                      array.path, ChunkLabel(m, i), reason));
    }
    VZ_ASSIGN_OR_RETURN(stored_total, CheckedAdd(stored_total, m.lengths[i], "stored bytes"));
    if (stored_total > stored_cap) {
      return LimitExceeded(
          fmt::format("{}: more than {} stored bytes to decode", array.path, stored_cap));
    }
    ranges.push_back({m.offsets[i], m.lengths[i]});
    range_chunk.push_back(i);
  }
  std::vector<io::Bytes> stored;
  if (!ranges.empty()) {
    VZ_ASSIGN_OR_RETURN(stored, source.ReadMany(ranges));
    if (stored.size() != ranges.size()) return Internal("ReadMany returned too few ranges");
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
      bytes = stored[next_range++];
    }
    const std::uint32_t mask = m.filter_masks.empty() ? 0 : m.filter_masks[i];
    auto decoded = codecs::DecodeChunk(bytes, array.filters, mask, info);
    if (!decoded.ok()) {
      return std::move(decoded).error().Annotate(
          fmt::format("in chunk {} of {}", ChunkLabel(m, i), array.path));
    }
    if (decoded->size() != chunk_bytes) {
      return Corrupt(fmt::format("chunk {} of {} decoded to {} bytes, expected {}",
                                 ChunkLabel(m, i), array.path, decoded->size(), chunk_bytes));
    }
    codecs::CopyChunkIntoArray(*decoded,
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

Status MaterializeInline(model::VirtualDataset& dataset, io::ByteSource& source,
                         const KerchunkOptions& options) {
  struct Pending {
    std::size_t array;
    std::size_t chunk;
    std::uint64_t trim;
  };
  std::vector<Pending> pending;
  std::vector<io::ByteRange> ranges;
  for (std::size_t a = 0; a < dataset.arrays.size(); ++a) {
    auto& array = dataset.arrays[a];
    if (array.is_dimension_only) continue;
    const std::string skip = SkipReason(array);
    if (!skip.empty()) {
      dataset.warnings.push_back(fmt::format("{} skipped: {}", array.path, skip));
      continue;
    }
    if (array.layout == model::Layout::kCompact ||
        array.dtype.kind == model::DType::Kind::kVlenString) {
      continue;  // already in memory
    }
    const CodecPlan plan = PlanCodecs(array);
    if (plan.needs_decode) {
      VZ_TRY(
          LoadArray(array, source, options,
                    fmt::format("uses {}, which zarr readers cannot decode", plan.decode_reason)));
      continue;
    }
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
      pending.push_back({a, i, plan.trim});
      ranges.push_back({m.offsets[i], m.lengths[i]});
    }
  }
  if (ranges.empty()) return Ok();
  VZ_ASSIGN_OR_RETURN(auto blobs, source.ReadMany(ranges));
  if (blobs.size() != ranges.size()) return Internal("ReadMany returned too few ranges");
  for (std::size_t k = 0; k < pending.size(); ++k) {
    auto& bytes = blobs[k];
    bytes.resize(bytes.size() -
                 std::min<std::size_t>(bytes.size(), static_cast<std::size_t>(pending[k].trim)));
    dataset.arrays[pending[k].array].manifest.inline_data[pending[k].chunk] = std::move(bytes);
  }
  return Ok();
}

}  // namespace vz::refs
