#include "vz/refs/store.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "vz/base/checked.h"
#include "vz/refs/base64.h"
#include "vz/refs/json_writer.h"
#include "vz/refs/translate.h"

namespace vz::refs {

namespace {

std::vector<std::uint64_t> UintList(const SortedJson& j) {
  std::vector<std::uint64_t> out;
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    out.push_back(v.is_number_integer() && v.get<std::int64_t>() >= 0 ? v.get<std::uint64_t>() : 0);
  }
  return out;
}

std::string StripSlashes(const std::string& path) {
  std::string p = path;
  while (!p.empty() && p.front() == '/') p.erase(p.begin());
  return SanitizeUtf8(p);
}

std::string KeyPrefix(const std::string& name) { return name.empty() ? name : name + "/"; }

// Sets `key` to the chunk key "<prefix>1.2.3" ("<prefix>0" for a 0-d array); a buffer reused
// for every key of an array saves an allocation per key.
void SetEntryKey(std::string& key, const std::string& prefix,
                 std::span<const std::uint32_t> coords) {
  key.assign(prefix);
  if (coords.empty()) {
    key += '0';
    return;
  }
  for (std::size_t i = 0; i < coords.size(); ++i) {
    if (i > 0) key += '.';
    char digits[16];
    const auto end = std::to_chars(digits, digits + sizeof digits, coords[i]).ptr;
    key.append(digits, end);
  }
}

// Marks a bare NaN / Infinity while parsing; never produced by any writer.
constexpr std::string_view kNanMark = "\x01vz-nonfinite:";

// A bare token becomes the string vzgen writes for it ("NaN", "Infinity", "-Infinity"), the
// form every value of the in-memory store has (and the one strict JSON allows).
void RestoreNonFinite(SortedJson& j) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s.rfind(kNanMark, 0) == 0) {
      const std::string_view what = std::string_view(s).substr(kNanMark.size());
      j = what == "NaN" ? "NaN" : what == "-" ? "-Infinity" : "Infinity";
    }
    return;
  }
  if (j.is_array() || j.is_object()) {
    for (auto& v : j) RestoreNonFinite(v);
  }
}

}  // namespace

void RefEntries::Add(std::span<const std::uint32_t> chunk, std::uint32_t path_id,
                     std::uint64_t offset, std::uint64_t length) {
  coords.insert(coords.end(), chunk.begin(), chunk.end());
  path_ids.push_back(path_id);
  offsets.push_back(offset);
  lengths.push_back(length);
}

void RefEntries::SortByCoords() {
  const std::size_t n = size();
  // Inconsistent columns are left for the caller's checks to report.
  if (coords.size() != n * rank || path_ids.size() != n || lengths.size() != n) return;
  auto less = [&](std::size_t a, std::size_t b) {
    const auto ca = Coords(a);
    const auto cb = Coords(b);
    return std::lexicographical_compare(ca.begin(), ca.end(), cb.begin(), cb.end());
  };
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  if (std::is_sorted(order.begin(), order.end(), less)) return;
  std::sort(order.begin(), order.end(), less);
  RefEntries sorted;
  sorted.rank = rank;
  sorted.coords.reserve(coords.size());
  sorted.path_ids.reserve(n);
  sorted.offsets.reserve(n);
  sorted.lengths.reserve(n);
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = order[k];
    const auto c = Coords(i);
    sorted.coords.insert(sorted.coords.end(), c.begin(), c.end());
    sorted.path_ids.push_back(path_ids[i]);
    sorted.offsets.push_back(offsets[i]);
    sorted.lengths.push_back(lengths[i]);
    auto it = inline_data.find(i);
    if (it != inline_data.end()) sorted.inline_data.emplace(k, std::move(it->second));
  }
  *this = std::move(sorted);
}

void RefEntries::AddInline(std::span<const std::uint32_t> chunk, std::vector<std::uint8_t> bytes) {
  inline_data[size()] = std::move(bytes);
  Add(chunk, 0, 0, 0);
}

std::vector<std::uint64_t> RefArray::Shape() const {
  return UintList(zarray.value("shape", SortedJson()));
}
std::vector<std::uint64_t> RefArray::Chunks() const {
  return UintList(zarray.value("chunks", SortedJson()));
}
std::vector<std::string> RefArray::Dims() const {
  std::vector<std::string> out;
  auto it = zattrs.find("_ARRAY_DIMENSIONS");
  if (it == zattrs.end() || !it->is_array()) return out;
  for (const auto& d : *it) out.push_back(d.is_string() ? d.get<std::string>() : "");
  return out;
}

RefArray* RefStore::FindArray(const std::string& name) {
  for (auto& a : arrays) {
    if (a.name == name) return &a;
  }
  return nullptr;
}
const RefArray* RefStore::FindArray(const std::string& name) const {
  for (const auto& a : arrays) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::uint32_t RefStore::UrlId(const std::string& url) {
  for (std::size_t i = urls.size(); i-- > 0;) {
    if (urls[i] == url) return static_cast<std::uint32_t>(i);
  }
  urls.push_back(url);
  return static_cast<std::uint32_t>(urls.size() - 1);
}

namespace {

// True when `text` has a bare NaN or Infinity outside string literals.
bool HasBareNonFinite(std::string_view text) {
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == 'N' || c == 'I') {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<SortedJson> ParseLenientJson(std::string_view text) {
  if (!HasBareNonFinite(text)) {
    SortedJson j = SortedJson::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return Corrupt("not valid JSON");
    return j;
  }
  // Bare NaN/Infinity outside strings become marked strings, restored after parsing.
  std::string fixed;
  bool in_string = false;
  bool changed = false;
  fixed.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      fixed += c;
      if (c == '\\' && i + 1 < text.size()) {
        fixed += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    auto token = [&](std::string_view word, std::string_view mark) {
      if (text.substr(i, word.size()) != word) return false;
      fixed += "\"\\u0001";  // kNanMark, escaped for the parser
      fixed += kNanMark.substr(1);
      fixed += mark;
      fixed += '"';
      i += word.size() - 1;
      changed = true;
      return true;
    };
    if (c == 'N' && token("NaN", "NaN")) continue;
    if (c == 'I' && token("Infinity", "+")) continue;
    if (c == '-' && token("-Infinity", "-")) continue;
    fixed += c;
  }
  SortedJson j = SortedJson::parse(fixed, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Corrupt("not valid JSON");
  if (changed) RestoreNonFinite(j);
  return j;
}

namespace {

// The references of one array without its metadata: chunk entries, or the whole array in
// memory (compact or decoded data, variable-length values).
Result<RefArray> TranslateData(const model::VirtualDataset& dataset, const model::Array& a,
                               const CodecPlan& plan) {
  const bool whole = a.layout == model::Layout::kCompact || a.dtype.IsVariableLength();
  if (!whole && plan.needs_decode) {
    return InvalidArgument(fmt::format(
        "{} uses {}, which zarr readers cannot decode; MaterializeInline must decode it first",
        a.path, plan.decode_reason));
  }
  RefArray out;
  out.name = StripSlashes(a.path);
  // netCDF-4 stores a variable whose name is taken by a dimension it does not use as
  // "_nc4_non_coord_<name>"; netCDF readers show it as <name>.
  constexpr std::string_view kNonCoord = "_nc4_non_coord_";
  const auto base = out.name.rfind('/') == std::string::npos ? 0 : out.name.rfind('/') + 1;
  if (dataset.format == "netcdf4" && out.name.compare(base, kNonCoord.size(), kNonCoord) == 0) {
    out.name.erase(base, kNonCoord.size());
  }
  VZ_ASSIGN_OR_RETURN(auto count, CheckedProduct(a.shape, "element count"));
  if (a.dtype.IsVariableLength()) {
    if (!a.vlen_values || a.vlen_values->size() != count) {
      return Corrupt(fmt::format("{}: {} values decoded for {} elements", a.path,
                                 a.vlen_values ? a.vlen_values->size() : 0, count));
    }
    out.strings = *a.vlen_values;
    return out;
  }
  if (whole) {
    VZ_ASSIGN_OR_RETURN(auto nbytes, CheckedMul(count, a.dtype.size, "array size"));
    if (a.compact_data.size() != nbytes) {
      return Corrupt(fmt::format("{}: compact data holds {} bytes, the array needs {}", a.path,
                                 a.compact_data.size(), nbytes));
    }
    out.raw = a.compact_data;
    return out;
  }
  const auto& m = a.manifest;
  const std::size_t rank = m.rank;
  if (m.size() > 0 &&
      (rank != a.shape.size() || m.coords.size() != m.size() * rank ||
       m.lengths.size() != m.size() || (!m.path_ids.empty() && m.path_ids.size() != m.size()))) {
    return Internal(fmt::format("{}: inconsistent chunk manifest", a.path));
  }
  out.entries.rank = rank;
  std::vector<std::uint32_t> chunk(rank);
  for (std::size_t c = 0; c < m.size(); ++c) {
    for (std::size_t d = 0; d < rank; ++d) {
      const std::uint64_t v = m.coords[c * rank + d];
      if (v > std::numeric_limits<std::uint32_t>::max()) {
        return LimitExceeded(fmt::format("{}: chunk index {} too large", a.path, v));
      }
      chunk[d] = static_cast<std::uint32_t>(v);
    }
    auto inl = m.inline_data.find(c);
    if (inl != m.inline_data.end()) {
      out.entries.AddInline(chunk, inl->second);
      continue;
    }
    const std::uint32_t path_id = m.path_ids.empty() ? 0 : m.path_ids[c];
    if (path_id >= dataset.paths.size()) {
      return Internal(
          fmt::format("{}: chunk refers to path #{} of {}", a.path, path_id, dataset.paths.size()));
    }
    if (m.lengths[c] < plan.trim) {
      return Corrupt(fmt::format("{}: chunk of {} bytes is too short for its fletcher32 checksum",
                                 a.path, m.lengths[c]));
    }
    out.entries.Add(chunk, path_id, m.offsets[c], m.lengths[c] - plan.trim);
  }
  return out;
}

// Walks the dataset in store order: on_group(name, group or nullptr for a missing root), then
// on_array(array, dims, netcdf3, plan, RefArray without metadata) for each array with keys.
template <typename OnGroup, typename OnArray>
Status Translate(const model::VirtualDataset& dataset, OnGroup&& on_group, OnArray&& on_array) {
  const bool netcdf3 = dataset.format.rfind("netcdf3", 0) == 0;
  bool has_root = false;
  for (const auto& g : dataset.groups) has_root = has_root || g.path == "/";
  if (!has_root) on_group(std::string(), nullptr);
  for (const auto& g : dataset.groups) on_group(StripSlashes(g.path), &g);
  const auto dims = ResolveDimensions(dataset);
  for (std::size_t i = 0; i < dataset.arrays.size(); ++i) {
    const model::Array& a = dataset.arrays[i];
    if (a.is_dimension_only || !SkipReason(a).empty()) continue;
    const CodecPlan plan = PlanCodecs(a);
    VZ_ASSIGN_OR_RETURN(RefArray data, TranslateData(dataset, a, plan));
    on_array(a, dims[i], netcdf3, plan, std::move(data));
  }
  return Ok();
}

// The chunk keys of one array. `shape` is the array's; `utf8` whether in-memory variable-length
// values are strings (vlen-utf8) rather than sequences (vlen-array, raw bytes).
Status WriteArrayData(RefsStreamWriter& writer, const std::vector<std::string>& urls,
                      const RefArray& a, const std::string& prefix,
                      std::span<const std::uint64_t> shape, bool utf8, std::string& value) {
  VZ_ASSIGN_OR_RETURN(auto count, CheckedProduct(shape, "element count"));
  const std::vector<std::uint32_t> zeros(shape.size(), 0);
  std::string key;
  if (a.strings) {
    if (count == 0) return Ok();
    if (a.strings->size() != count) {
      return Internal(
          fmt::format("{}: {} strings for {} elements", a.name, a.strings->size(), count));
    }
    VZ_ASSIGN_OR_RETURN(auto blob, EncodeVlen(*a.strings, utf8));
    value.clear();
    AppendInlineValue(value, blob);
    SetEntryKey(key, prefix, zeros);
    writer.Entry(key, value);
    return Ok();
  }
  if (a.raw) {
    if (count == 0) return Ok();
    if (a.raw->size() % count != 0) {
      return Internal(
          fmt::format("{}: {} bytes in memory for {} elements", a.name, a.raw->size(), count));
    }
    value.clear();
    AppendInlineValue(value, *a.raw);
    SetEntryKey(key, prefix, zeros);
    writer.Entry(key, value);
    return Ok();
  }
  const auto& e = a.entries;
  if (e.size() > 0 && (e.coords.size() != e.size() * e.rank || e.path_ids.size() != e.size() ||
                       e.lengths.size() != e.size())) {
    return Internal(fmt::format("{}: inconsistent references", a.name));
  }
  for (std::size_t i = 0; i < e.size(); ++i) {
    SetEntryKey(key, prefix, e.Coords(i));
    auto inl = e.inline_data.find(i);
    if (inl != e.inline_data.end()) {
      value.clear();
      AppendInlineValue(value, inl->second);
      writer.Entry(key, value);
      continue;
    }
    if (e.path_ids[i] >= urls.size()) {
      return Internal(
          fmt::format("{}: reference to path #{} of {}", a.name, e.path_ids[i], urls.size()));
    }
    writer.ReferenceEntry(key, urls[e.path_ids[i]], e.offsets[i], e.lengths[i]);
  }
  return Ok();
}

constexpr std::string_view kGroup = "{\"zarr_format\":2}";

}  // namespace

Result<RefStore> ToRefStore(const model::VirtualDataset& dataset) {
  RefStore store;
  store.urls = dataset.paths;
  VZ_TRY(Translate(
      dataset,
      [&](std::string name, const model::Group* g) {
        store.groups.push_back({std::move(name), g != nullptr ? TranslateGroupAttributesJson(*g)
                                                              : SortedJson::object()});
      },
      [&](const model::Array& a, const std::vector<std::string>& dims, bool netcdf3,
          const CodecPlan& plan, RefArray data) {
        ArrayMetadataJson meta = TranslateArrayJson(a, dims, netcdf3, plan);
        data.zarray = std::move(meta.zarray);
        data.zattrs = std::move(meta.zattrs);
        store.arrays.push_back(std::move(data));
      }));
  return store;
}

Status WriteTranslated(const model::VirtualDataset& dataset, std::ostream& out) {
  struct Pending {
    const model::Array* array;
    ArrayMetadata meta;
    RefArray data;
  };
  std::vector<std::pair<std::string, std::string>> groups;  // key prefix, .zattrs text
  std::vector<Pending> arrays;
  VZ_TRY(Translate(
      dataset,
      [&](const std::string& name, const model::Group* g) {
        groups.emplace_back(KeyPrefix(name), g != nullptr ? TranslateGroupAttributes(*g) : "{}");
      },
      [&](const model::Array& a, const std::vector<std::string>& dims, bool netcdf3,
          const CodecPlan& plan, RefArray data) {
        arrays.push_back({&a, TranslateArray(a, dims, netcdf3, plan), std::move(data)});
      }));
  RefsStreamWriter writer(out);
  for (const auto& [prefix, zattrs] : groups) {
    writer.StringEntry(prefix + ".zgroup", kGroup);
    writer.StringEntry(prefix + ".zattrs", zattrs);
  }
  std::string value;
  for (const auto& p : arrays) {
    const std::string prefix = KeyPrefix(p.data.name);
    writer.StringEntry(prefix + ".zarray", p.meta.zarray);
    writer.StringEntry(prefix + ".zattrs", p.meta.zattrs);
    const bool utf8 = !IsVlenArray(p.array->dtype);
    VZ_TRY(WriteArrayData(writer, dataset.paths, p.data, prefix, p.array->shape, utf8, value));
  }
  return writer.Finish();
}

Status WriteRefStore(const RefStore& store, std::ostream& out, const WriteOptions& options) {
  std::string meta;
  if (store.meta.is_object()) AppendJson(meta, store.meta);
  RefsStreamWriter writer(out, meta);
  SortedJson consolidated = SortedJson::object();
  auto consolidate = [&](const std::string& key, const SortedJson& value) {
    if (options.consolidated) consolidated[key] = value;
  };
  std::string text;
  for (const auto& g : store.groups) {
    const std::string prefix = KeyPrefix(g.name);
    writer.StringEntry(prefix + ".zgroup", kGroup);
    text.clear();
    AppendJson(text, g.zattrs);
    writer.StringEntry(prefix + ".zattrs", text);
    consolidate(prefix + ".zgroup", {{"zarr_format", 2}});
    consolidate(prefix + ".zattrs", g.zattrs);
  }
  std::string value;
  for (const auto& a : store.arrays) {
    const std::string prefix = KeyPrefix(a.name);
    const auto shape = a.Shape();
    text.clear();
    if (a.InMemory()) {
      // One chunk holds the whole array (zarr wants chunk lengths >= 1).
      SortedJson zarray = a.zarray;
      SortedJson chunks = SortedJson::array();
      for (auto s : shape) chunks.push_back(s == 0 ? 1 : s);
      zarray["chunks"] = chunks;
      AppendJson(text, zarray);
      consolidate(prefix + ".zarray", zarray);
    } else {
      AppendJson(text, a.zarray);
      consolidate(prefix + ".zarray", a.zarray);
    }
    writer.StringEntry(prefix + ".zarray", text);
    text.clear();
    AppendJson(text, a.zattrs);
    writer.StringEntry(prefix + ".zattrs", text);
    consolidate(prefix + ".zattrs", a.zattrs);
    // vlen-utf8 and vlen-array share one framing; only vlen-utf8 wants valid UTF-8.
    bool utf8 = true;
    if (a.strings) {
      const SortedJson filters = a.zarray.value("filters", SortedJson());
      utf8 = !(filters.is_array() && filters.size() == 1 &&
               filters[0].value("id", "") == "vlen-array");
    }
    VZ_TRY(WriteArrayData(writer, store.urls, a, prefix, shape, utf8, value));
  }
  if (options.consolidated) {
    text.clear();
    AppendJson(text, SortedJson{{"metadata", consolidated}, {"zarr_consolidated_format", 1}});
    writer.StringEntry(".zmetadata", text);
  }
  return writer.Finish();
}

namespace {

// Bytes of an inline value: "base64:..." or the text itself.
Result<std::vector<std::uint8_t>> InlineBytes(const std::string& value) {
  if (value.rfind("base64:", 0) == 0) {
    auto bytes = Base64Decode(std::string_view(value).substr(7));
    if (!bytes) return Corrupt("inline value is not valid base64");
    return std::move(*bytes);
  }
  return std::vector<std::uint8_t>(value.begin(), value.end());
}

Result<SortedJson> MetadataValue(const SortedJson& v) {
  if (v.is_object()) return v;
  if (!v.is_string()) return Corrupt("metadata value is neither a JSON string nor an object");
  return ParseLenientJson(v.get_ref<const std::string&>());
}

std::optional<std::uint64_t> ItemSize(const SortedJson& dtype) {
  if (!dtype.is_string()) return std::nullopt;
  const auto& s = dtype.get_ref<const std::string&>();
  if (s.size() < 3) return std::nullopt;
  std::uint64_t n = 0;
  for (std::size_t i = 2; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9' || n > (1u << 30)) return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(s[i] - '0');
  }
  return n;
}

// The framing numcodecs' vlen-utf8 and vlen-array share: a little-endian u32 count, then
// each item as a u32 byte length and its bytes.
Result<std::vector<std::optional<std::string>>> DecodeVlen(std::span<const std::uint8_t> b) {
  std::size_t pos = 0;
  auto get32 = [&](std::uint64_t& v) {
    if (pos + 4 > b.size()) return false;
    v = std::uint64_t{b[pos]} | std::uint64_t{b[pos + 1]} << 8 | std::uint64_t{b[pos + 2]} << 16 |
        std::uint64_t{b[pos + 3]} << 24;
    pos += 4;
    return true;
  };
  std::uint64_t n = 0;
  if (!get32(n) || n > b.size()) return Corrupt("truncated vlen chunk");
  std::vector<std::optional<std::string>> out;
  out.reserve(static_cast<std::size_t>(n));
  for (std::uint64_t i = 0; i < n; ++i) {
    std::uint64_t len = 0;
    if (!get32(len) || len > b.size() - pos) return Corrupt("truncated vlen chunk");
    out.emplace_back(std::string(reinterpret_cast<const char*>(b.data() + pos),  // NOLINT
                                 static_cast<std::size_t>(len)));
    pos += static_cast<std::size_t>(len);
  }
  return out;
}

Status ReadChunkKey(const std::string& name, std::string_view key, std::size_t rank,
                    std::vector<std::uint32_t>& chunk) {
  chunk.clear();
  if (rank == 0) {
    if (key != "0") return Corrupt(fmt::format("{}: chunk key '{}' for a scalar", name, key));
    return Ok();
  }
  std::size_t pos = 0;
  for (std::size_t d = 0; d < rank; ++d) {
    const std::size_t end = d + 1 == rank ? key.size() : key.find('.', pos);
    if (end == std::string_view::npos || end == pos) {
      return Corrupt(fmt::format("{}: chunk key '{}' does not have {} indices", name, key, rank));
    }
    std::uint64_t v = 0;
    for (std::size_t i = pos; i < end; ++i) {
      if (key[i] < '0' || key[i] > '9' || v > std::numeric_limits<std::uint32_t>::max() / 10) {
        return Corrupt(fmt::format("{}: bad chunk key '{}'", name, key));
      }
      v = v * 10 + static_cast<std::uint64_t>(key[i] - '0');
    }
    if (v > std::numeric_limits<std::uint32_t>::max()) {
      return Corrupt(fmt::format("{}: bad chunk key '{}'", name, key));
    }
    chunk.push_back(static_cast<std::uint32_t>(v));
    pos = end + 1;
  }
  return Ok();
}

}  // namespace

Status HoldWholeInlineInMemory(RefArray& a, const std::string& label) {
  const auto shape = a.Shape();
  const auto chunks = a.Chunks();
  bool whole = a.entries.size() == 1 && a.entries.inline_data.count(0) == 1 &&
               chunks.size() == shape.size() &&
               a.zarray.value("compressor", SortedJson()).is_null();
  for (std::size_t d = 0; whole && d < shape.size(); ++d) whole = chunks[d] >= shape[d];
  if (!whole) return Ok();
  const SortedJson filters = a.zarray.value("filters", SortedJson());
  VZ_ASSIGN_OR_RETURN(auto count, CheckedProduct(shape, "element count"));
  std::vector<std::uint8_t> bytes = std::move(a.entries.inline_data[0]);
  if (filters.is_null()) {
    auto item = ItemSize(a.zarray.value("dtype", SortedJson()));
    if (!item || count * *item != bytes.size()) {
      a.entries.inline_data[0] = std::move(bytes);
      return Ok();
    }
    a.raw = std::move(bytes);
  } else if (filters.is_array() && filters.size() == 1 &&
             (filters[0].value("id", "") == "vlen-utf8" ||
              filters[0].value("id", "") == "vlen-array")) {
    auto strings = DecodeVlen(bytes);
    if (!strings.ok() || strings->size() != count) {
      return Corrupt(fmt::format("{}: {} holds a malformed {} chunk", label, a.name,
                                 filters[0].value("id", "")));
    }
    a.strings = std::move(*strings);
  } else {
    a.entries.inline_data[0] = std::move(bytes);
    return Ok();
  }
  a.entries = RefEntries{};
  a.entries.rank = shape.size();
  return Ok();
}

Result<RefStore> ReadRefStore(std::string_view text, const std::string& label) {
  VZ_ASSIGN_OR_RETURN(auto parsed, ParseLenientJson(text), "in {}", label);
  const SortedJson& top = parsed;
  if (!top.is_object()) return Corrupt(fmt::format("{}: not a kerchunk reference file", label));
  const SortedJson* refs = &top;
  if (top.contains("refs")) {
    if (top.value("version", 0) != 1 || !top["refs"].is_object()) {
      return Unsupported(fmt::format("{}: only kerchunk references version 1 are read", label));
    }
    refs = &top["refs"];
  }
  if (top.contains("templates") && !top["templates"].empty()) {
    return Unsupported(fmt::format("{}: reference templates are not supported", label));
  }
  RefStore store;
  if (top.contains("vzgen") && top["vzgen"].is_object()) store.meta = top["vzgen"];
  store.consolidated = refs->contains(".zmetadata");
  std::map<std::string, std::size_t> array_index;
  // Pass 1: groups and arrays.
  for (auto it = refs->begin(); it != refs->end(); ++it) {
    const std::string& key = it.key();
    const auto slash = key.rfind('/');
    const std::string base = slash == std::string::npos ? key : key.substr(slash + 1);
    const std::string prefix = slash == std::string::npos ? "" : key.substr(0, slash);
    if (base == ".zgroup") {
      auto attrs_it = refs->find(KeyPrefix(prefix) + ".zattrs");
      SortedJson attrs = SortedJson::object();
      if (attrs_it != refs->end()) {
        VZ_ASSIGN_OR_RETURN(auto a, MetadataValue(*attrs_it), "in {} of {}", key, label);
        attrs = std::move(a);
      }
      store.groups.push_back({prefix, std::move(attrs)});
    } else if (base == ".zarray") {
      RefArray a;
      a.name = prefix;
      VZ_ASSIGN_OR_RETURN(auto z, MetadataValue(it.value()), "in {} of {}", key, label);
      a.zarray = std::move(z);
      auto attrs_it = refs->find(KeyPrefix(prefix) + ".zattrs");
      a.zattrs = SortedJson::object();
      if (attrs_it != refs->end()) {
        VZ_ASSIGN_OR_RETURN(auto at, MetadataValue(*attrs_it), "in {} of {}", key, label);
        a.zattrs = std::move(at);
      }
      a.entries.rank = a.Shape().size();
      if (!a.zarray.contains("shape") || !a.zarray.contains("chunks") ||
          a.Chunks().size() != a.entries.rank) {
        return Corrupt(fmt::format("{}: {} has no valid shape and chunks", label, key));
      }
      array_index[prefix] = store.arrays.size();
      store.arrays.push_back(std::move(a));
    }
  }
  std::stable_sort(store.groups.begin(), store.groups.end(),
                   [](const RefGroup& x, const RefGroup& y) { return x.name < y.name; });
  if (store.groups.empty() || !store.groups.front().name.empty()) {
    store.groups.insert(store.groups.begin(), {"", SortedJson::object()});
  }
  // Pass 2: chunk entries.
  std::vector<std::uint32_t> chunk;
  for (auto it = refs->begin(); it != refs->end(); ++it) {
    const std::string& key = it.key();
    const auto slash = key.rfind('/');
    if (slash == std::string::npos) continue;  // root metadata
    const std::string base = key.substr(slash + 1);
    if (!base.empty() && base.front() == '.') continue;
    auto found = array_index.find(key.substr(0, slash));
    if (found == array_index.end()) continue;  // a key zarr would not read either
    RefArray& a = store.arrays[found->second];
    VZ_TRY(ReadChunkKey(label + ": " + a.name, base, a.entries.rank, chunk));
    const SortedJson& v = it.value();
    if (v.is_string()) {
      VZ_ASSIGN_OR_RETURN(auto bytes, InlineBytes(v.get_ref<const std::string&>()), "in {} of {}",
                          key, label);
      a.entries.AddInline(chunk, std::move(bytes));
    } else if (v.is_array() && v.size() == 3 && v[0].is_string() && v[1].is_number_unsigned() &&
               v[2].is_number_unsigned()) {
      a.entries.Add(chunk, store.UrlId(v[0].get<std::string>()), v[1].get<std::uint64_t>(),
                    v[2].get<std::uint64_t>());
    } else {
      return Unsupported(fmt::format(
          "{}: {} is neither inline data nor a [url, offset, length] reference", label, key));
    }
  }
  for (auto& a : store.arrays) {
    // JSON objects come back in key order ("0.10" before "0.2"): chunk order, as written.
    a.entries.SortByCoords();
    // Arrays stored whole and uncompressed in one inline chunk are held in memory.
    VZ_TRY(HoldWholeInlineInMemory(a, label));
  }
  return store;
}

}  // namespace vz::refs
