#include "vz/combine/combine.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <regex>

#include "vz/base/checked.h"
#include "vz/combine/time_units.h"
#include "vz/model/scalar.h"

namespace vz::combine {

namespace {

using refs::RefArray;
using refs::RefStore;
using refs::SortedJson;

// Attributes that change what the numbers mean: parts must agree on them (never dropped).
bool IsCriticalAttribute(const std::string& name) {
  return name == "scale_factor" || name == "add_offset" || name == "_FillValue" ||
         name == "missing_value" || name == "units" || name == "calendar";
}

// JSON equality with NaN equal to NaN (attribute values may be NaN).
bool SameJson(const SortedJson& a, const SortedJson& b) {
  if (a.is_number_float() && b.is_number_float()) {
    const double x = a.get<double>();
    const double y = b.get<double>();
    return x == y || (std::isnan(x) && std::isnan(y));
  }
  if (a.type() != b.type()) {
    if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
    return false;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!SameJson(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !SameJson(it.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

std::string Short(const SortedJson& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

std::string BaseName(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool IsDim(const std::string& dim_name, const std::string& wanted) {
  return dim_name == wanted || BaseName(dim_name) == wanted;
}

int AxisOf(const RefArray& a, const std::string& dim) {
  const auto dims = a.Dims();
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (IsDim(dims[i], dim)) return static_cast<int>(i);
  }
  return -1;
}

// Codec settings that do not change decoding (compression levels) are not compared.
SortedJson Decoding(const SortedJson& codecs) {
  if (codecs.is_null()) return codecs;
  SortedJson out = codecs;
  auto strip = [](SortedJson& c) {
    if (c.is_object()) {
      c.erase("level");
      c.erase("clevel");
    }
  };
  if (out.is_array()) {
    for (auto& c : out) strip(c);
  } else {
    strip(out);
  }
  return out;
}

// The first difference between two arrays' .zarray that prevents combining them; "" when
// compatible. `axis` is ignored in the shape; chunks and codecs are ignored for in-memory arrays.
std::string ZarrayDifference(const RefArray& first, const RefArray& other, int axis) {
  const auto& a = first.zarray;
  const auto& b = other.zarray;
  if (first.InMemory() != other.InMemory()) {
    return fmt::format("it is stored {} here but {} in the first granule",
                       other.InMemory() ? "in memory (compact, loaded or decoded)" : "in chunks",
                       first.InMemory() ? "in memory (compact, loaded or decoded)" : "in chunks");
  }
  if (!SameJson(a.value("dtype", SortedJson()), b.value("dtype", SortedJson()))) {
    return fmt::format("dtype {} differs from {} in the first granule",
                       Short(b.value("dtype", SortedJson())),
                       Short(a.value("dtype", SortedJson())));
  }
  const auto sa = first.Shape();
  const auto sb = other.Shape();
  bool same_shape = sa.size() == sb.size();
  for (std::size_t d = 0; same_shape && d < sa.size(); ++d) {
    same_shape = static_cast<int>(d) == axis || sa[d] == sb[d];
  }
  if (!same_shape) {
    return fmt::format("shape {} differs from {} in the first granule{}",
                       Short(b.value("shape", SortedJson())), Short(a.value("shape", SortedJson())),
                       axis >= 0 ? " outside the concatenation axis" : "");
  }
  if (!SameJson(a.value("fill_value", SortedJson()), b.value("fill_value", SortedJson()))) {
    return fmt::format("fill value {} differs from {} in the first granule",
                       Short(b.value("fill_value", SortedJson())),
                       Short(a.value("fill_value", SortedJson())));
  }
  if (a.value("order", "C") != b.value("order", "C")) return "array order differs";
  if (first.InMemory()) return "";
  if (!SameJson(a.value("chunks", SortedJson()), b.value("chunks", SortedJson()))) {
    return fmt::format("chunk shape {} differs from {} in the first granule",
                       Short(b.value("chunks", SortedJson())),
                       Short(a.value("chunks", SortedJson())));
  }
  for (const char* key : {"filters", "compressor"}) {
    if (!SameJson(Decoding(a.value(key, SortedJson())), Decoding(b.value(key, SortedJson())))) {
      return fmt::format("codecs ({}) {} differ from {} in the first granule", key,
                         Short(b.value(key, SortedJson())), Short(a.value(key, SortedJson())));
    }
  }
  return "";
}

// The numeric element type of a zarr dtype string: kind 'i', 'u', 'f' of 1, 2, 4 or 8 bytes
// (floats of 4 or 8).
std::optional<model::DType> ParseNumType(const SortedJson& dtype) {
  if (!dtype.is_string()) return std::nullopt;
  const auto& s = dtype.get_ref<const std::string&>();
  if (s.size() != 3 || (s[1] != 'i' && s[1] != 'u' && s[1] != 'f') || s[2] < '1' || s[2] > '8') {
    return std::nullopt;
  }
  model::DType t;
  t.byte_order = s[0];
  t.kind = s[1] == 'i'   ? model::DType::Kind::kInt
           : s[1] == 'u' ? model::DType::Kind::kUInt
                         : model::DType::Kind::kFloat;
  t.size = static_cast<std::uint32_t>(s[2] - '0');
  if (t.size != 1 && t.size != 2 && t.size != 4 && t.size != 8) return std::nullopt;
  if (t.kind == model::DType::Kind::kFloat && t.size < 4) return std::nullopt;
  return t;
}

void StoreUint(std::uint8_t* p, std::size_t size, char order, std::uint64_t v) {
  model::StoreUnsigned(std::span<std::uint8_t>(p, size), size, order, v);
}

std::vector<double> Numbers(const std::vector<std::uint8_t>& raw, const model::DType& t) {
  std::vector<double> out(raw.size() / t.size);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto n = model::DecodeNumber(t, std::span(raw).subspan(i * t.size, t.size));
    out[i] = n ? model::ToDouble(*n) : 0.0;
  }
  return out;
}

// Writes `values` back in type `t`; false when an integer type cannot hold a value exactly.
bool StoreNumbers(const std::vector<double>& values, const model::DType& t,
                  std::vector<std::uint8_t>& raw) {
  raw.assign(values.size() * t.size, 0);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    std::uint64_t u = 0;
    if (t.kind == model::DType::Kind::kFloat) {
      u = t.size == 4 ? std::bit_cast<std::uint32_t>(static_cast<float>(v))
                      : std::bit_cast<std::uint64_t>(v);
    } else {
      const double r = std::round(v);
      if (std::isnan(v) || std::fabs(v - r) > 1e-6 * std::max(1.0, std::fabs(v)) ||
          std::fabs(r) > 9.0e15) {
        return false;
      }
      u = static_cast<std::uint64_t>(static_cast<std::int64_t>(r));
    }
    StoreUint(raw.data() + i * t.size, t.size, t.byte_order, u);
  }
  return true;
}

std::optional<std::string> StringAttr(const SortedJson& attrs, const char* name) {
  auto it = attrs.find(name);
  if (it == attrs.end()) return std::nullopt;
  const SortedJson* v = &*it;
  if (v->is_array() && v->size() == 1) v = &(*v)[0];
  if (!v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

bool StandardCalendar(const SortedJson& attrs) {
  auto cal = StringAttr(attrs, "calendar");
  if (!cal) return true;
  std::string c = *cal;
  std::transform(c.begin(), c.end(), c.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return c == "standard" || c == "gregorian" || c == "proleptic_gregorian";
}

// Concatenates equally shaped pieces (except along `axis`) of `item`-sized elements, in `order`.
template <typename T>
std::vector<T> ConcatPieces(const std::vector<std::vector<T>>& pieces,
                            const std::vector<std::uint64_t>& lengths,
                            const std::vector<std::size_t>& order,
                            const std::vector<std::uint64_t>& shape, int axis, std::size_t item) {
  std::size_t outer = 1;
  std::size_t inner = item;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (static_cast<int>(d) < axis) outer *= static_cast<std::size_t>(shape[d]);
    if (static_cast<int>(d) > axis) inner *= static_cast<std::size_t>(shape[d]);
  }
  std::vector<T> out;
  std::size_t total = 0;
  for (const auto& p : pieces) total += p.size();
  out.reserve(total);
  for (std::size_t o = 0; o < outer; ++o) {
    for (std::size_t p : order) {
      const std::size_t slab = static_cast<std::size_t>(lengths[p]) * inner;
      const auto begin = pieces[p].begin() + static_cast<std::ptrdiff_t>(o * slab);
      out.insert(out.end(), begin, begin + static_cast<std::ptrdiff_t>(slab));
    }
  }
  return out;
}

}  // namespace

namespace {

// Puts the references of each part together in the parts' concatenation order (stable).
void ReorderByPart(refs::RefEntries& e, std::vector<std::uint32_t>& entry_part,
                   const std::vector<std::size_t>& position) {
  const std::size_t n = e.size();
  bool sorted = true;
  for (std::size_t k = 1; k < n && sorted; ++k) {
    sorted = position[entry_part[k - 1]] <= position[entry_part[k]];
  }
  if (sorted) return;
  std::vector<std::uint32_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0u);
  std::stable_sort(idx.begin(), idx.end(), [&](std::uint32_t x, std::uint32_t y) {
    return position[entry_part[x]] < position[entry_part[y]];
  });
  refs::RefEntries out;
  out.rank = e.rank;
  out.coords.reserve(e.coords.size());
  out.path_ids.reserve(n);
  out.offsets.reserve(n);
  out.lengths.reserve(n);
  std::vector<std::uint32_t> parts;
  parts.reserve(n);
  for (std::uint32_t i : idx) {
    auto inl = e.inline_data.find(i);
    if (inl != e.inline_data.end()) {
      out.AddInline(e.Coords(i), std::move(inl->second));
    } else {
      out.Add(e.Coords(i), e.path_ids[i], e.offsets[i], e.lengths[i]);
    }
    parts.push_back(entry_part[i]);
  }
  e = std::move(out);
  entry_part = std::move(parts);
}

// Splits every chunk of an uncompressed array along axis 0 into sub-chunks of `rows` rows
// (byte ranges of the chunk), keeping only rows inside each part (`part_length`). False when the
// array has codecs or chunks whose stored size is not their raw size (nothing is changed then).
Result<bool> SplitLeadingAxis(RefArray& a, std::vector<std::uint32_t>& entry_part,
                              const std::vector<std::uint64_t>& part_length, std::uint64_t rows) {
  if (!a.zarray.value("compressor", SortedJson()).is_null() ||
      !a.zarray.value("filters", SortedJson()).is_null()) {
    return false;
  }
  const SortedJson& dtype = a.zarray.value("dtype", SortedJson());
  if (!dtype.is_string()) return false;
  const std::string& d = dtype.get_ref<const std::string&>();
  std::uint64_t item = 0;
  for (std::size_t i = 2; i < d.size(); ++i) {
    if (d[i] < '0' || d[i] > '9' || item > (1u << 20)) return false;
    item = item * 10 + static_cast<std::uint64_t>(d[i] - '0');
  }
  const auto chunks = a.Chunks();
  if (chunks.empty() || item == 0) return false;
  std::uint64_t row_bytes = item;
  for (std::size_t k = 1; k < chunks.size(); ++k) {
    VZ_ASSIGN_OR_RETURN(row_bytes, CheckedMul(row_bytes, chunks[k], "chunk row size"));
  }
  const std::uint64_t c = chunks[0];
  VZ_ASSIGN_OR_RETURN(const std::uint64_t chunk_bytes, CheckedMul(row_bytes, c, "chunk size"));
  auto& e = a.entries;
  for (std::size_t i = 0; i < e.size(); ++i) {
    auto inl = e.inline_data.find(i);
    const std::uint64_t len = inl != e.inline_data.end() ? inl->second.size() : e.lengths[i];
    if (len != chunk_bytes) return false;
  }
  refs::RefEntries out;
  out.rank = e.rank;
  std::vector<std::uint32_t> out_part;
  const std::uint64_t per_chunk = c / rows;
  std::vector<std::uint32_t> coords(e.rank);
  for (std::size_t i = 0; i < e.size(); ++i) {
    auto src = e.Coords(i);
    std::copy(src.begin(), src.end(), coords.begin());
    const std::uint64_t first_row = std::uint64_t{src[0]} * c;
    const std::uint64_t length = part_length[entry_part[i]];
    auto inl = e.inline_data.find(i);
    for (std::uint64_t j = 0; j < per_chunk; ++j) {
      if (first_row + j * rows >= length) break;  // rows past the granule's end
      const std::uint64_t v = std::uint64_t{src[0]} * per_chunk + j;
      if (v > std::numeric_limits<std::uint32_t>::max()) {
        return LimitExceeded(fmt::format("{}: chunk index {} too large", a.name, v));
      }
      coords[0] = static_cast<std::uint32_t>(v);
      const std::uint64_t skip = j * rows * row_bytes;
      const std::uint64_t take = rows * row_bytes;
      if (inl != e.inline_data.end()) {
        out.AddInline(coords, std::vector<std::uint8_t>(
                                  inl->second.begin() + static_cast<std::ptrdiff_t>(skip),
                                  inl->second.begin() + static_cast<std::ptrdiff_t>(skip + take)));
      } else {
        out.Add(coords, e.path_ids[i], e.offsets[i] + skip, take);
      }
      out_part.push_back(entry_part[i]);
    }
  }
  e = std::move(out);
  entry_part = std::move(out_part);
  a.zarray["chunks"][0] = rows;
  return true;
}

}  // namespace

Status ValidateGranuleCoord(const std::string& spec) {
  if (spec == "index") return Ok();
  for (const char* prefix : {"attr:", "var:", "regex:"}) {
    if (spec.rfind(prefix, 0) == 0 && spec.size() > std::strlen(prefix)) {
      if (std::string(prefix) == "regex:") {
        try {
          std::regex re(spec.substr(6));
        } catch (const std::regex_error& e) {
          return InvalidArgument(
              fmt::format("--granule-coord {}: bad regular expression ({})", spec, e.what()));
        }
      }
      return Ok();
    }
  }
  return InvalidArgument(fmt::format(
      "--granule-coord '{}': expected index, attr:NAME, var:NAME or regex:PATTERN", spec));
}

Combiner::Combiner(CombineOptions options) : options_(std::move(options)) {
  dim_ = options_.new_dim.empty() ? options_.concat_dim : options_.new_dim;
}

Status Combiner::ExpandNewDim(RefStore& part, const std::string& label) {
  const std::string& dim = options_.new_dim;
  if (part.FindArray(dim) != nullptr) return Ok();  // an existing store: already has the axis
  const std::string& spec = options_.granule_coord;
  RefArray coord;
  coord.name = dim;
  coord.zarray = {{"chunks", {1}},         {"compressor", nullptr}, {"dtype", "<i8"},
                  {"fill_value", nullptr}, {"filters", nullptr},    {"order", "C"},
                  {"shape", {1}},          {"zarr_format", 2}};
  coord.zattrs = {{"_ARRAY_DIMENSIONS", {dim}}};
  auto set_string = [&](std::string value) {
    coord.zarray["dtype"] = "|O";
    coord.zarray["filters"] = SortedJson::array({{{"id", "vlen-utf8"}}});
    coord.strings = std::vector<std::optional<std::string>>{std::move(value)};
  };
  auto set_double = [&](double value) {
    coord.zarray["dtype"] = "<f8";
    coord.zarray["fill_value"] = "NaN";
    coord.raw = std::vector<std::uint8_t>(8);
    StoreUint(coord.raw->data(), 8, '<', std::bit_cast<std::uint64_t>(value));
  };
  if (spec == "index") {
    coord.raw = std::vector<std::uint8_t>(8);
    StoreUint(coord.raw->data(), 8, '<', granules_);
  } else if (spec.rfind("attr:", 0) == 0) {
    const std::string name = spec.substr(5);
    const SortedJson& attrs = part.groups.front().zattrs;
    auto it = attrs.find(name);
    if (it == attrs.end()) {
      return NotFound(fmt::format("{}: no global attribute {} for --granule-coord", label, name));
    }
    const SortedJson* v = &*it;
    if (v->is_array() && v->size() == 1) v = &(*v)[0];
    if (v->is_string()) {
      set_string(v->get<std::string>());
    } else if (v->is_number()) {
      set_double(v->get<double>());
    } else {
      return Unsupported(
          fmt::format("{}: global attribute {} is neither a string nor a number", label, name));
    }
  } else if (spec.rfind("regex:", 0) == 0) {
    const std::regex re(spec.substr(6));
    const std::string base = BaseName(label);
    std::smatch m;
    if (!std::regex_search(base, m, re)) {
      return NotFound(
          fmt::format("{}: the file name does not match --granule-coord {}", label, spec));
    }
    set_string(m.size() > 1 ? m[1].str() : m[0].str());
  } else if (spec.rfind("var:", 0) == 0) {
    const std::string name = spec.substr(4);
    const RefArray* v = part.FindArray(name);
    if (v == nullptr || !v->raw) {
      return NotFound(fmt::format("{}: no variable {} in memory for --granule-coord", label, name));
    }
    if (!v->Shape().empty() && (v->Shape().size() != 1 || v->Shape()[0] != 1)) {
      return Unsupported(
          fmt::format("{}: --granule-coord variable {} is not a scalar", label, name));
    }
    coord.zarray["dtype"] = v->zarray.value("dtype", SortedJson("<f8"));
    coord.zarray["fill_value"] = v->zarray.value("fill_value", SortedJson());
    coord.zattrs = v->zattrs;
    coord.zattrs["_ARRAY_DIMENSIONS"] = {dim};
    coord.raw = v->raw;
  } else {
    return ValidateGranuleCoord(spec);
  }
  for (auto& a : part.arrays) {
    const auto dims = a.Dims();
    if (dims.size() == 1 && IsDim(dims[0], BaseName(a.name))) continue;  // a dimension coordinate
    SortedJson shape = SortedJson::array({1});
    SortedJson chunks = SortedJson::array({1});
    for (auto s : a.Shape()) shape.push_back(s);
    for (auto c : a.Chunks()) chunks.push_back(c);
    a.zarray["shape"] = shape;
    a.zarray["chunks"] = chunks;
    SortedJson new_dims = SortedJson::array({dim});
    for (const auto& d : dims) new_dims.push_back(d);
    a.zattrs["_ARRAY_DIMENSIONS"] = new_dims;
    auto& e = a.entries;
    std::vector<std::uint32_t> coords;
    coords.reserve(e.coords.size() + e.size());
    for (std::size_t i = 0; i < e.size(); ++i) {
      coords.push_back(0);
      auto c = e.Coords(i);
      coords.insert(coords.end(), c.begin(), c.end());
    }
    e.coords = std::move(coords);
    e.rank += 1;
  }
  if (!options_.extra_coords.empty()) {
    auto extra = options_.extra_coords.find(label);
    if (extra == options_.extra_coords.end()) extra = options_.extra_coords.find(BaseName(label));
    if (extra == options_.extra_coords.end()) {
      return NotFound(fmt::format("{}: no coordinate values given for it", label));
    }
    for (const auto& [name, value] : extra->second) {
      if (part.FindArray(name) != nullptr || name == dim) {
        return Incompatible(
            fmt::format("{}: coordinate {} would replace its variable {}", label, name, name));
      }
      RefArray a;
      a.name = name;
      a.zarray = coord.zarray;
      a.zarray["fill_value"] = nullptr;
      a.zarray["filters"] = nullptr;
      a.zattrs = {{"_ARRAY_DIMENSIONS", {dim}}};
      if (value.is_string()) {
        a.zarray["dtype"] = "|O";
        a.zarray["filters"] = SortedJson::array({{{"id", "vlen-utf8"}}});
        a.strings = std::vector<std::optional<std::string>>{value.get<std::string>()};
      } else if (value.is_number_integer()) {
        a.zarray["dtype"] = "<i8";
        a.raw = std::vector<std::uint8_t>(8);
        StoreUint(a.raw->data(), 8, '<', static_cast<std::uint64_t>(value.get<std::int64_t>()));
      } else if (value.is_number()) {
        a.zarray["dtype"] = "<f8";
        a.zarray["fill_value"] = "NaN";
        a.raw = std::vector<std::uint8_t>(8);
        StoreUint(a.raw->data(), 8, '<', std::bit_cast<std::uint64_t>(value.get<double>()));
      } else {
        return Incompatible(fmt::format("{}: coordinate {} has no usable value", label, name));
      }
      part.arrays.insert(part.arrays.begin(), std::move(a));
    }
  }
  part.arrays.insert(part.arrays.begin(), std::move(coord));
  return Ok();
}

Result<Combiner::SortKey> Combiner::KeyOf(const RefStore& part, const std::string& label) const {
  SortKey key;
  const RefArray* c = part.FindArray(dim_);
  if (c == nullptr || c->Shape().size() != 1 || !c->InMemory()) return key;
  if (c->strings) {
    for (const auto& s : *c->strings) {
      if (!s) continue;
      if (!key.has_value || *s < key.first_text) key.first_text = *s;
      if (!key.has_value || *s > key.last_text) key.last_text = *s;
      key.has_value = true;
    }
    key.is_string = true;
    return key;
  }
  auto t = ParseNumType(c->zarray.value("dtype", SortedJson()));
  if (!t) {
    return Unsupported(fmt::format("{}: the {} coordinate has dtype {}, not a number", label, dim_,
                                   Short(c->zarray.value("dtype", SortedJson()))));
  }
  for (double v : Numbers(*c->raw, *t)) {
    if (std::isnan(v)) continue;
    if (!key.has_value || v < key.first) key.first = v;
    if (!key.has_value || v > key.last) key.last = v;
    key.has_value = true;
  }
  return key;
}

Status Combiner::Add(RefStore part, const std::string& label) {
  if (dim_.empty()) return InvalidArgument("no dimension to concatenate along");
  // A small array inlined whole from a granule is the same as that array read back from a
  // store: both are held in memory, so that appending to a store compares like with like.
  for (auto& a : part.arrays) VZ_TRY(refs::HoldWholeInlineInMemory(a, label));
  // Stores read from disk are untrusted: every array's metadata must agree with itself.
  for (const auto& a : part.arrays) {
    const auto shape = a.Shape();
    const auto dims = a.Dims();
    if (a.Chunks().size() != shape.size() || (!dims.empty() && dims.size() != shape.size()) ||
        (!a.InMemory() && a.entries.rank != shape.size()) ||
        a.entries.coords.size() != a.entries.size() * a.entries.rank ||
        a.entries.path_ids.size() != a.entries.size() ||
        a.entries.lengths.size() != a.entries.size()) {
      return Corrupt(
          fmt::format("{}: variable {} has inconsistent shape, chunks, dimensions or "
                      "references",
                      label, a.name));
    }
    for (std::size_t i = 0; i < a.entries.size(); ++i) {
      if (a.entries.path_ids[i] >= part.urls.size() && a.entries.inline_data.count(i) == 0) {
        return Corrupt(fmt::format("{}: variable {} refers to a missing URL", label, a.name));
      }
    }
  }
  if (part.groups.empty()) return Corrupt(fmt::format("{}: no root group", label));
  if (!options_.new_dim.empty()) VZ_TRY(ExpandNewDim(part, label));
  if (parts_.empty()) {
    // The first part defines the dataset; check that it has the dimension at all.
    std::optional<std::uint64_t> length;
    for (const auto& a : part.arrays) {
      const int axis = AxisOf(a, dim_);
      if (axis < 0) continue;
      const std::uint64_t n = a.Shape()[static_cast<std::size_t>(axis)];
      if (length && *length != n) {
        return Corrupt(fmt::format("{}: {} has {} values along {}, other variables {}", label,
                                   a.name, n, dim_, *length));
      }
      length = n;
    }
    if (!length) {
      return NotFound(
          fmt::format("{}: no variable has the dimension {} to concatenate along", label, dim_));
    }
    VZ_ASSIGN_OR_RETURN(auto key, KeyOf(part, label));
    result_ = std::move(part);
    first_global_attributes_ = result_.groups.front().zattrs.size();
    for (std::size_t i = 0; i < result_.urls.size(); ++i) {
      url_ids_[result_.urls[i]] = static_cast<std::uint32_t>(i);
    }
    state_.assign(result_.arrays.size(), ArrayState{});
    for (std::size_t i = 0; i < result_.arrays.size(); ++i) {
      auto& a = result_.arrays[i];
      auto& s = state_[i];
      s.axis = AxisOf(a, dim_);
      if (s.axis < 0) continue;
      s.piece_length.push_back(*length);
      if (a.raw) {
        s.raw_pieces.push_back(std::move(*a.raw));
        a.raw = std::vector<std::uint8_t>();
      } else if (a.strings) {
        s.string_pieces.push_back(std::move(*a.strings));
        a.strings = std::vector<std::optional<std::string>>();
      } else {
        s.entry_part.assign(a.entries.size(), 0);
      }
    }
    parts_.push_back({label, *length, key});
    granules_ += *length;
    return Ok();
  }
  return CheckAndMerge(part, label);
}

Status Combiner::CheckAndMerge(RefStore& part, const std::string& label) {
  // Everything is checked before anything is merged, so a rejected part leaves no trace.
  if (part.arrays.size() != result_.arrays.size()) {
    for (const auto& a : part.arrays) {
      if (result_.FindArray(a.name) == nullptr) {
        return Incompatible(
            fmt::format("{}: variable {} is not in the first granule", label, a.name));
      }
    }
  }
  std::vector<RefArray*> matched(result_.arrays.size(), nullptr);
  std::optional<std::uint64_t> length;
  for (std::size_t i = 0; i < result_.arrays.size(); ++i) {
    const RefArray& first = result_.arrays[i];
    const ArrayState& s = state_[i];
    RefArray* a = part.FindArray(first.name);
    if (a == nullptr) {
      return Incompatible(
          fmt::format("{}: variable {} is missing (the first granule has it)", label, first.name));
    }
    matched[i] = a;
    const std::string where = fmt::format("{}: variable {}", label, first.name);
    if (a->Dims() != first.Dims()) {
      return Incompatible(
          fmt::format("{}: dimensions {} differ from {} in the first granule", where,
                      Short(a->zattrs.value("_ARRAY_DIMENSIONS", SortedJson())),
                      Short(first.zattrs.value("_ARRAY_DIMENSIONS", SortedJson()))));
    }
    // Time coordinates with their own epoch (days since <file date>) are re-encoded into the
    // first granule's units before anything is compared.
    if (s.axis >= 0 && a->raw) {
      auto mine = StringAttr(a->zattrs, "units");
      auto theirs = StringAttr(first.zattrs, "units");
      if (mine && theirs && *mine != *theirs && StandardCalendar(a->zattrs) &&
          StandardCalendar(first.zattrs)) {
        auto from = ParseTimeUnits(*mine);
        auto to = ParseTimeUnits(*theirs);
        auto t = ParseNumType(a->zarray.value("dtype", SortedJson()));
        if (from && to && t) {
          std::vector<double> values = Numbers(*a->raw, *t);
          for (double& v : values) v = Reencode(v, *from, *to);
          std::vector<std::uint8_t> bytes;
          if (!StoreNumbers(values, *t, bytes)) {
            return Incompatible(fmt::format(
                "{}: values in '{}' are not whole numbers of '{}' (the first granule's units), "
                "which its integer dtype cannot hold",
                where, *mine, *theirs));
          }
          a->raw = std::move(bytes);
          a->zattrs["units"] = first.zattrs["units"];
        }
      }
    }
    const std::string diff = ZarrayDifference(first, *a, s.axis);
    if (!diff.empty()) return Incompatible(fmt::format("{}: {}", where, diff));
    for (auto it = first.zattrs.begin(); it != first.zattrs.end(); ++it) {
      if (!IsCriticalAttribute(it.key())) continue;
      auto other = a->zattrs.find(it.key());
      if (other == a->zattrs.end()) {
        return Incompatible(fmt::format("{}: attribute {} is missing (the first granule has {})",
                                        where, it.key(), Short(it.value())));
      }
      if (!SameJson(it.value(), *other)) {
        return Incompatible(fmt::format("{}: {} {} differs from {} in the first granule", where,
                                        it.key(), Short(*other), Short(it.value())));
      }
    }
    for (auto it = a->zattrs.begin(); it != a->zattrs.end(); ++it) {
      if (IsCriticalAttribute(it.key()) && !first.zattrs.contains(it.key())) {
        return Incompatible(fmt::format("{}: attribute {} = {} is not in the first granule", where,
                                        it.key(), Short(it.value())));
      }
    }
    if (s.axis >= 0) {
      const std::uint64_t n = a->Shape()[static_cast<std::size_t>(s.axis)];
      if (length && *length != n) {
        return Corrupt(
            fmt::format("{}: has {} values along {}, other variables {}", where, n, dim_, *length));
      }
      length = n;
      continue;
    }
    // Not along the axis: must be the same in every part.
    if (options_.identical_vars.count(first.name) != 0 ||
        options_.identical_vars.count(BaseName(first.name)) != 0) {
      continue;
    }
    bool same = true;
    if (first.raw) same = a->raw == first.raw;
    if (first.strings) same = a->strings == first.strings;
    if (!same) {
      return Incompatible(fmt::format(
          "{}: values differ from the first granule and {} is not a dimension of it (list it "
          "in --identical-vars to take the first granule's values)",
          where, dim_));
    }
  }
  if (!length) {
    return NotFound(fmt::format("{}: no variable has the dimension {}", label, dim_));
  }
  VZ_ASSIGN_OR_RETURN(auto key, KeyOf(part, label));

  // Merge: attributes keep what all parts agree on; references and pieces are appended.
  const auto part_id = static_cast<std::uint32_t>(parts_.size());
  auto drop_conflicts = [](SortedJson& kept, const SortedJson& other) {
    for (auto it = kept.begin(); it != kept.end();) {
      auto o = other.find(it.key());
      if (o == other.end() || !SameJson(it.value(), *o)) {
        it = kept.erase(it);
      } else {
        ++it;
      }
    }
  };
  for (auto& g : result_.groups) {
    const refs::RefGroup* other = nullptr;
    for (const auto& pg : part.groups) {
      if (pg.name == g.name) other = &pg;
    }
    drop_conflicts(g.zattrs, other != nullptr ? other->zattrs : SortedJson::object());
  }
  std::vector<std::uint32_t> url_map(part.urls.size());
  for (std::size_t u = 0; u < part.urls.size(); ++u) {
    auto [it, inserted] =
        url_ids_.emplace(part.urls[u], static_cast<std::uint32_t>(result_.urls.size()));
    if (inserted) {
      result_.urls.push_back(part.urls[u]);
      // The granule's ETag / Last-Modified follow its URL (parallel vectors, "" / 0 unknown).
      if (u < part.checksums.size() || !result_.checksums.empty()) {
        result_.checksums.resize(result_.urls.size());
        if (u < part.checksums.size()) result_.checksums.back() = part.checksums[u];
      }
      if (u < part.last_modified.size() || !result_.last_modified.empty()) {
        result_.last_modified.resize(result_.urls.size());
        if (u < part.last_modified.size()) result_.last_modified.back() = part.last_modified[u];
      }
    }
    url_map[u] = it->second;
  }
  for (std::size_t i = 0; i < result_.arrays.size(); ++i) {
    RefArray& first = result_.arrays[i];
    RefArray& a = *matched[i];
    ArrayState& s = state_[i];
    for (auto it = first.zattrs.begin(); it != first.zattrs.end();) {
      auto o = a.zattrs.find(it.key());
      if (!IsCriticalAttribute(it.key()) && it.key() != "_ARRAY_DIMENSIONS" &&
          (o == a.zattrs.end() || !SameJson(it.value(), *o))) {
        it = first.zattrs.erase(it);
      } else {
        ++it;
      }
    }
    if (s.axis < 0) continue;
    s.piece_length.push_back(*length);
    if (a.raw) {
      s.raw_pieces.push_back(std::move(*a.raw));
      continue;
    }
    if (a.strings) {
      s.string_pieces.push_back(std::move(*a.strings));
      continue;
    }
    auto& e = first.entries;
    const auto& pe = a.entries;
    const std::size_t base = e.size();
    for (std::size_t k = 0; k < pe.size(); ++k) {
      auto inl = pe.inline_data.find(k);
      if (inl != pe.inline_data.end()) {
        e.AddInline(pe.Coords(k), inl->second);
      } else {
        e.Add(pe.Coords(k), url_map[pe.path_ids[k]], pe.offsets[k], pe.lengths[k]);
      }
    }
    s.entry_part.resize(base + pe.size(), part_id);
  }
  parts_.push_back({label, *length, key});
  granules_ += *length;
  return Ok();
}

Result<RefStore> Combiner::Finish() {
  if (parts_.empty()) return InvalidArgument("nothing to combine: no granule was added");
  std::vector<std::size_t> order(parts_.size());
  std::iota(order.begin(), order.end(), 0);
  const bool keyed =
      std::all_of(parts_.begin(), parts_.end(), [](const Part& p) { return p.key.has_value; });
  if (keyed) {
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
      const SortKey& a = parts_[x].key;
      const SortKey& b = parts_[y].key;
      return a.is_string ? a.first_text < b.first_text : a.first < b.first;
    });
    for (std::size_t k = 1; k < order.size(); ++k) {
      const Part& prev = parts_[order[k - 1]];
      const Part& next = parts_[order[k]];
      const bool overlap = next.key.is_string ? next.key.first_text <= prev.key.last_text
                                              : next.key.first <= prev.key.last;
      if (!overlap) continue;
      auto range = [](const SortKey& key) {
        return key.is_string ? fmt::format("{} .. {}", key.first_text, key.last_text)
                             : fmt::format("{} .. {}", key.first, key.last);
      };
      const bool duplicate = next.key.is_string ? next.key.first_text == prev.key.last_text
                                                : next.key.first == prev.key.last;
      return Incompatible(fmt::format("{}: {} values {} {} those of {} ({})", next.label, dim_,
                                      range(next.key), duplicate ? "repeat" : "overlap", prev.label,
                                      range(prev.key)));
    }
  }
  for (std::size_t p : order) ordered_labels_.push_back(parts_[p].label);
  std::vector<std::size_t> position(parts_.size());
  for (std::size_t k = 0; k < order.size(); ++k) position[order[k]] = k;
  std::vector<std::uint64_t> start(parts_.size(), 0);
  std::uint64_t total = 0;
  for (std::size_t p : order) {
    start[p] = total;
    VZ_ASSIGN_OR_RETURN(total, CheckedAdd(total, parts_[p].length, "concatenated length"));
  }
  for (std::size_t i = 0; i < result_.arrays.size(); ++i) {
    RefArray& a = result_.arrays[i];
    ArrayState& s = state_[i];
    if (s.axis < 0) continue;
    const auto ax = static_cast<std::size_t>(s.axis);
    auto shape = a.Shape();
    shape[ax] = total;
    a.zarray["shape"][ax] = total;
    if (!s.raw_pieces.empty() || !s.string_pieces.empty()) {
      std::vector<std::uint64_t> piece_shape = shape;
      if (!s.raw_pieces.empty()) {
        std::uint64_t elements = 0;
        for (auto n : s.piece_length) elements += n;
        std::uint64_t bytes = 0;
        for (const auto& p : s.raw_pieces) bytes += p.size();
        std::uint64_t outer = 1;
        for (std::size_t d = 0; d < shape.size(); ++d) {
          if (d != ax) outer *= shape[d];
        }
        const std::uint64_t item = elements * outer == 0 ? 1 : bytes / (elements * outer);
        a.raw = ConcatPieces(s.raw_pieces, s.piece_length, order, shape, s.axis,
                             static_cast<std::size_t>(item));
      } else {
        a.strings = ConcatPieces(s.string_pieces, s.piece_length, order, shape, s.axis, 1);
      }
      s = ArrayState{};
      continue;
    }
    auto chunks = a.Chunks();
    std::uint64_t c = chunks[ax] == 0 ? 1 : chunks[ax];
    // Chunks longer than a granule along the leading axis (netCDF's default 512 or 1024 for
    // unlimited dimensions) cannot be concatenated as they are; without codecs their rows are
    // plain bytes, so they are split into sub-chunks of rows that tile every granule.
    std::uint64_t g = c;
    for (std::size_t k = 0; k + 1 < order.size(); ++k) g = std::gcd(g, parts_[order[k]].length);
    if (g != c && g > 0 && ax == 0) {
      std::vector<std::uint64_t> part_length(parts_.size());
      for (std::size_t p = 0; p < parts_.size(); ++p) part_length[p] = parts_[p].length;
      VZ_ASSIGN_OR_RETURN(bool split, SplitLeadingAxis(a, s.entry_part, part_length, g));
      if (split) {
        c = g;
        chunks = a.Chunks();
      }
    }
    for (std::size_t k = 0; k + 1 < order.size(); ++k) {
      const Part& p = parts_[order[k]];
      if (p.length % c != 0) {
        return Incompatible(fmt::format(
            "{}: variable {} has {} values along {} in chunks of {}; its last chunk is partial "
            "and another granule follows, which Zarr v2 cannot express (add {} to "
            "--loadable-vars to embed its values instead)",
            p.label, a.name, p.length, dim_, c, BaseName(a.name)));
      }
    }
    auto& e = a.entries;
    // References in concatenation order, whatever order the parts came in, so that the same
    // granules always give the same file.
    ReorderByPart(e, s.entry_part, position);
    for (std::size_t k = 0; k < e.size(); ++k) {
      const std::uint64_t v = e.coords[k * e.rank + ax] + start[s.entry_part[k]] / c;
      if (v > std::numeric_limits<std::uint32_t>::max()) {
        return LimitExceeded(fmt::format("{}: chunk index {} too large", a.name, v));
      }
      e.coords[k * e.rank + ax] = static_cast<std::uint32_t>(v);
    }
    s = ArrayState{};
  }
  if (result_.groups.empty() || !result_.groups.front().zattrs.is_object()) {
    return Internal("combined store has no root group");
  }
  if (parts_.size() > 1 && first_global_attributes_ > 0 && result_.groups.front().zattrs.empty()) {
    return Incompatible(fmt::format(
        "no global attribute has the same value in every granule ({} .. {}); the combined "
        "store would have none",
        parts_.front().label, parts_.back().label));
  }
  return std::move(result_);
}

}  // namespace vz::combine
