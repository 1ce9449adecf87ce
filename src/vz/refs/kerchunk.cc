// WriteKerchunkJson: streams the references key by key. No I/O besides the output stream;
// everything that needs reading was done by MaterializeInline (inline.cc).
#include "vz/refs/kerchunk.h"

#include <fmt/format.h>

#include "vz/base/checked.h"
#include "vz/refs/json_writer.h"
#include "vz/refs/translate.h"

namespace vz::refs {

namespace {

std::string Prefix(const std::string& path) {
  std::string p = path;
  while (!p.empty() && p.front() == '/') p.erase(p.begin());
  p = SanitizeUtf8(p);
  return p.empty() ? p : p + "/";
}

// Compact (and decoded) data and vlen strings: the whole array as one inline chunk.
Status WriteWholeArray(RefsStreamWriter& writer, const model::Array& array,
                       const std::string& prefix) {
  VZ_ASSIGN_OR_RETURN(auto count, CheckedProduct(array.shape, "element count"));
  if (count == 0) return Ok();
  const std::vector<std::uint64_t> zeros(array.shape.size(), 0);
  const std::string key = ChunkKey(prefix, zeros);
  std::string value;
  if (array.dtype.kind == model::DType::Kind::kVlenString) {
    if (array.vlen_values->size() != count) {
      return Corrupt(
          fmt::format("{} strings decoded for {} elements", array.vlen_values->size(), count));
    }
    VZ_ASSIGN_OR_RETURN(auto blob, EncodeVlenUtf8(*array.vlen_values));
    AppendInlineValue(value, blob);
  } else {
    VZ_ASSIGN_OR_RETURN(auto nbytes, CheckedMul(count, array.dtype.size, "array size"));
    if (array.compact_data.size() != nbytes) {
      return Corrupt(fmt::format("compact data holds {} bytes, the array needs {}",
                                 array.compact_data.size(), nbytes));
    }
    AppendInlineValue(value, array.compact_data);
  }
  writer.Entry(key, value);
  return Ok();
}

Status WriteChunks(RefsStreamWriter& writer, const model::VirtualDataset& dataset,
                   const model::Array& array, const std::string& prefix, const CodecPlan& plan) {
  const auto& m = array.manifest;
  const std::size_t rank = m.rank;
  if (m.size() > 0 &&
      (rank != array.shape.size() || m.coords.size() != m.size() * rank ||
       m.lengths.size() != m.size() || (!m.path_ids.empty() && m.path_ids.size() != m.size()))) {
    return Internal("inconsistent chunk manifest");
  }
  std::string value;
  for (std::size_t i = 0; i < m.size(); ++i) {
    const std::string key =
        ChunkKey(prefix, std::span<const std::uint64_t>(m.coords).subspan(i * rank, rank));
    auto inl = m.inline_data.find(i);
    if (inl != m.inline_data.end()) {
      value.clear();
      AppendInlineValue(value, inl->second);
      writer.Entry(key, value);
      continue;
    }
    const std::uint32_t path_id = m.path_ids.empty() ? 0 : m.path_ids[i];
    if (path_id >= dataset.paths.size()) {
      return Internal(
          fmt::format("chunk {} refers to path #{} of {}", key, path_id, dataset.paths.size()));
    }
    if (m.lengths[i] < plan.trim) {
      return Corrupt(fmt::format("chunk {} is {} bytes, too short for its fletcher32 checksum", key,
                                 m.lengths[i]));
    }
    writer.ReferenceEntry(key, dataset.paths[path_id], m.offsets[i], m.lengths[i] - plan.trim);
  }
  return Ok();
}

}  // namespace

Status WriteKerchunkJson(const model::VirtualDataset& dataset, const KerchunkOptions& options,
                         std::ostream& out) {
  (void)options;  // thresholds only matter to MaterializeInline
  RefsStreamWriter writer(out);
  const bool netcdf3 = dataset.format.rfind("netcdf3", 0) == 0;
  constexpr std::string_view kGroup = "{\"zarr_format\":2}";
  bool has_root = false;
  for (const auto& g : dataset.groups) has_root = has_root || g.path == "/";
  if (!has_root) {
    writer.StringEntry(".zgroup", kGroup);
    writer.StringEntry(".zattrs", "{}");
  }
  for (const auto& g : dataset.groups) {
    const std::string prefix = Prefix(g.path);
    writer.StringEntry(prefix + ".zgroup", kGroup);
    writer.StringEntry(prefix + ".zattrs", TranslateGroupAttributes(g));
  }
  const auto dims = ResolveDimensions(dataset);
  for (std::size_t i = 0; i < dataset.arrays.size(); ++i) {
    const auto& a = dataset.arrays[i];
    if (a.is_dimension_only || !SkipReason(a).empty()) continue;
    const bool whole =
        a.layout == model::Layout::kCompact || a.dtype.kind == model::DType::Kind::kVlenString;
    const CodecPlan plan = PlanCodecs(a);
    if (!whole && plan.needs_decode) {
      return InvalidArgument(fmt::format(
          "{} uses {}, which zarr readers cannot decode; MaterializeInline must decode it first",
          a.path, plan.decode_reason));
    }
    const std::string prefix = Prefix(a.path);
    const ArrayMetadata meta = TranslateArray(a, dims[i], netcdf3, plan);
    writer.StringEntry(prefix + ".zarray", meta.zarray);
    writer.StringEntry(prefix + ".zattrs", meta.zattrs);
    Status st =
        whole ? WriteWholeArray(writer, a, prefix) : WriteChunks(writer, dataset, a, prefix, plan);
    if (!st.ok()) return std::move(st).Annotate("in " + a.path);
  }
  return writer.Finish();
}

}  // namespace vz::refs
