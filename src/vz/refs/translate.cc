#include "vz/refs/translate.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>
#include <map>
#include <set>
#include <string_view>

#include "vz/base/checked.h"
#include "vz/model/scalar.h"
#include "vz/refs/base64.h"
#include "vz/refs/json_writer.h"

namespace vz::refs {

namespace {

using Kind = model::DType::Kind;

std::string FilterLabel(const model::Filter& f) {
  // NOLINTNEXTLINE(*-identifier-naming)
  static const std::map<std::uint16_t, const char*> kNames = {
      {1, "deflate"}, {2, "shuffle"},     {3, "fletcher32"},     {4, "szip"},
      {5, "nbit"},    {6, "scaleoffset"}, {307, "bzip2"},        {32001, "blosc"},
      {32004, "lz4"}, {32015, "zstd"},    {32008, "bitshuffle"}, {32026, "blosc2"}};
  std::string name = f.name;
  if (name.empty()) {
    auto it = kNames.find(f.id);
    name = it != kNames.end() ? it->second : "unknown";
  }
  return fmt::format("{} ({})", name, f.id);
}

std::uint32_t ClientData(const model::Filter& f, std::size_t i, std::uint32_t fallback) {
  return i < f.client_data.size() ? f.client_data[i] : fallback;
}

bool HasVariableLengthMember(const model::DType& t) {
  if (t.kind == Kind::kVlenString || t.kind == Kind::kVlenSequence || t.kind == Kind::kReference) {
    return true;
  }
  return std::any_of(t.fields.begin(), t.fields.end(),
                     [](const model::Field& f) { return HasVariableLengthMember(f.type); });
}

// Field element size without its subarray dims (DType::size includes them).
Result<model::DType> FieldBase(const model::DType& t) {
  model::DType base = t;
  base.subshape.clear();
  if (t.subshape.empty()) return base;
  std::uint64_t n = 1;
  for (auto d : t.subshape) {
    auto m = MulU64(n, d);
    if (!m) return Unsupported("field subarray too large");
    n = *m;
  }
  if (n == 0 || t.size % n != 0) return Unsupported("field subarray size mismatch");
  base.size = static_cast<std::uint32_t>(t.size / n);
  return base;
}

Status CheckCompound(const model::DType& t) {
  std::vector<const model::Field*> fields;
  for (const auto& f : t.fields) fields.push_back(&f);
  std::stable_sort(fields.begin(), fields.end(), [](const model::Field* a, const model::Field* b) {
    return a->offset < b->offset;
  });
  std::uint64_t pos = 0;
  for (const auto* f : fields) {
    if (f->offset < pos) return Unsupported("compound fields overlap");
    VZ_ASSIGN_OR_RETURN(auto base, FieldBase(f->type));
    if (base.kind == Kind::kCompound) VZ_TRY(CheckCompound(base));
    pos = f->offset + f->type.size;
  }
  if (pos > t.size) return Unsupported("compound fields extend past the element size");
  return Ok();
}

SortedJson FloatJson(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

// One float of `size` bytes in `order`, through the scalar codec.
std::optional<double> ReadFloat(std::span<const std::uint8_t> bytes, std::size_t size, char order) {
  model::DType t;
  t.kind = Kind::kFloat;
  t.size = static_cast<std::uint32_t>(size);
  t.byte_order = order;
  auto n = model::DecodeNumber(t, bytes);
  if (!n) return std::nullopt;
  return model::ToDouble(*n);
}

const model::Attribute* FindAttribute(const model::Array& array, std::string_view name) {
  for (const auto& a : array.attributes) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

// zarr's encode_fill_value applied to an attribute value (_FillValue / missing_value) for the
// array's dtype; nullopt when the value cannot be expressed (the attribute is then kept).
std::optional<SortedJson> EncodeAttributeFill(const model::DType& dtype, const model::Json& raw) {
  const model::Json* v = &raw;
  if (v->is_array()) {
    if (v->empty()) return std::nullopt;
    v = &(*v)[0];
  }
  switch (dtype.kind) {
    case Kind::kFloat:
    case Kind::kComplex:
      if (v->is_number()) {
        const double d = v->get<double>();
        if (dtype.kind == Kind::kComplex) return SortedJson::array({FloatJson(d), 0.0});
        return FloatJson(d);
      }
      return std::nullopt;
    case Kind::kInt:
    case Kind::kUInt:
      if (v->is_number_unsigned()) return SortedJson(v->get<std::uint64_t>());
      if (v->is_number_integer()) return SortedJson(v->get<std::int64_t>());
      if (v->is_number_float()) {
        const double d = v->get<double>();
        if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return std::nullopt;
        return SortedJson(static_cast<std::int64_t>(d));
      }
      if (v->is_boolean()) return SortedJson(v->get<bool>() ? 1 : 0);
      return std::nullopt;
    case Kind::kBool:
      if (v->is_boolean()) return SortedJson(v->get<bool>());
      if (v->is_number()) return SortedJson(v->get<double>() != 0.0);
      return std::nullopt;
    case Kind::kFixedString:
      if (v->is_string()) {
        const auto& s = v->get_ref<const std::string&>();
        return SortedJson(Base64Encode(std::span<const std::uint8_t>(
            reinterpret_cast<const std::uint8_t*>(s.data()), s.size())));  // NOLINT
      }
      return std::nullopt;
    case Kind::kVlenString:
      if (v->is_string()) return SortedJson(SanitizeUtf8(v->get_ref<const std::string&>()));
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

bool IsNetcdfVariable(const model::Array& array) {
  return std::any_of(
      array.attributes.begin(), array.attributes.end(),
      [](const model::Attribute& a) { return a.name.find("_Netcdf4") != std::string::npos; });
}

bool IsNetcdfDatetime(const model::Array& array);

}  // namespace

bool UsesNetcdfFillRule(const model::Array& array) {
  return array.netcdf_variable || IsNetcdfDatetime(array) || IsNetcdfVariable(array);
}

namespace {

bool IsNetcdfDatetime(const model::Array& array) {
  const auto* units = FindAttribute(array, "units");
  if (units == nullptr) return false;
  const model::Json* v = &units->value;
  if (v->is_array() && v->size() == 1) v = &(*v)[0];
  return v->is_string() && v->get_ref<const std::string&>().find("since") != std::string::npos;
}

// model::Json (insertion-ordered, raw strings) as the sorted, UTF-8-clean JSON zarr writes.
SortedJson ToSorted(const model::Json& v) {
  switch (v.type()) {
    case model::Json::value_t::string:
      return SanitizeUtf8(v.get_ref<const std::string&>());
    case model::Json::value_t::array: {
      SortedJson out = SortedJson::array();
      for (const auto& x : v) out.push_back(ToSorted(x));
      return out;
    }
    case model::Json::value_t::object: {
      SortedJson out = SortedJson::object();
      for (auto it = v.begin(); it != v.end(); ++it) out[SanitizeUtf8(it.key())] = ToSorted(*it);
      return out;
    }
    case model::Json::value_t::boolean:
      return v.get<bool>();
    case model::Json::value_t::number_integer:
      return v.get<std::int64_t>();
    case model::Json::value_t::number_unsigned:
      return v.get<std::uint64_t>();
    case model::Json::value_t::number_float:
      // A non-finite attribute value is held as the string it is written as ("NaN", ...), so
      // a granule and a store read back from disk compare equal.
      return FloatJson(v.get<double>());
    default:
      return nullptr;
  }
}

// zarr writes .zattrs with sorted keys; names are sanitised first so that the order is that of
// the text a reader sees (a later duplicate after sanitising wins, as it did in the text).
SortedJson AttributesJson(const std::vector<model::Attribute>& attributes,
                          const std::set<std::string>& drop, const std::vector<std::string>* dims) {
  SortedJson out = SortedJson::object();
  for (const auto& a : attributes) {
    if (IsHiddenAttribute(a) || drop.count(a.name) != 0) continue;
    out[SanitizeUtf8(a.name)] = ToSorted(a.value);
  }
  if (dims != nullptr) {
    SortedJson list = SortedJson::array();
    for (const auto& d : *dims) list.push_back(SanitizeUtf8(d));
    out["_ARRAY_DIMENSIONS"] = std::move(list);
  }
  return out;
}

SortedJson UintList(std::span<const std::uint64_t> values, bool zero_to_one) {
  SortedJson out = SortedJson::array();
  for (auto v : values) out.push_back(zero_to_one && v == 0 ? std::uint64_t{1} : v);
  return out;
}

void AppendUintList(std::string& out, std::span<const std::uint64_t> values, bool zero_to_one) {
  out += '[';
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    fmt::format_to(std::back_inserter(out), "{}",
                   zero_to_one && values[i] == 0 ? std::uint64_t{1} : values[i]);
  }
  out += ']';
}

// The text of AppendJson(ToSorted(v)) without building the sorted tree: object keys are
// sanitised, then sorted (bytewise, as std::map orders them), and of keys equal after
// sanitising the last one wins. Strings need no sanitising here: AppendJsonString replaces
// ill-formed UTF-8 exactly as SanitizeUtf8 does.
struct SortedMember {
  std::string_view key;
  const model::Json* value;  // nullptr: the _ARRAY_DIMENSIONS list
  std::size_t order;         // position in the source, which breaks ties between equal keys
};

void AppendSortedJson(std::string& out, const model::Json& v);

// Sorts members by key, keeping only the last of equal keys, and appends them as an object;
// `dims` is what a member with a null value holds.
void AppendSortedMembers(std::string& out, std::vector<SortedMember>& members,
                         const std::vector<std::string>* dims) {
  // Ordered by key, then by position (std::sort needs no buffer, unlike std::stable_sort).
  std::sort(members.begin(), members.end(), [](const SortedMember& a, const SortedMember& b) {
    return a.key != b.key ? a.key < b.key : a.order < b.order;
  });
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (i + 1 < members.size() && members[i + 1].key == members[i].key) continue;
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, members[i].key);
    out += ':';
    if (members[i].value != nullptr) {
      AppendSortedJson(out, *members[i].value);
      continue;
    }
    out += '[';
    for (std::size_t d = 0; dims != nullptr && d < dims->size(); ++d) {
      if (d > 0) out += ',';
      AppendJsonString(out, (*dims)[d]);
    }
    out += ']';
  }
  out += '}';
}

// The key as a sorted map would hold it: `text` itself when well-formed, else a sanitised copy
// kept in `owned` (whose capacity the caller reserved, so that earlier views stay valid).
std::string_view SortKey(const std::string& text, std::vector<std::string>& owned) {
  if (IsValidUtf8(text)) return text;
  owned.push_back(SanitizeUtf8(text));
  return owned.back();
}

void AppendSortedJson(std::string& out, const model::Json& v) {
  switch (v.type()) {
    case model::Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& x : v) {
        if (!first) out += ',';
        first = false;
        AppendSortedJson(out, x);
      }
      out += ']';
      return;
    }
    case model::Json::value_t::object: {
      std::vector<std::string> owned;
      owned.reserve(v.size());
      std::vector<SortedMember> members;
      members.reserve(v.size());
      for (auto it = v.begin(); it != v.end(); ++it) {
        members.push_back({SortKey(it.key(), owned), &*it, members.size()});
      }
      AppendSortedMembers(out, members, nullptr);
      return;
    }
    default:
      AppendJson(out, v);
  }
}

// AppendJson(AttributesJson(...)) without the tree.
void AppendAttributes(std::string& out, const std::vector<model::Attribute>& attributes,
                      const std::set<std::string>& drop, const std::vector<std::string>* dims) {
  std::vector<std::string> owned;
  owned.reserve(attributes.size());
  std::vector<SortedMember> members;
  members.reserve(attributes.size() + 1);
  for (const auto& a : attributes) {
    if (IsHiddenAttribute(a) || drop.count(a.name) != 0) continue;
    members.push_back({SortKey(a.name, owned), &a.value, members.size()});
  }
  if (dims != nullptr) members.push_back({"_ARRAY_DIMENSIONS", nullptr, members.size()});
  AppendSortedMembers(out, members, dims);
}

}  // namespace

CodecPlan PlanCodecs(const model::Array& array) {
  CodecPlan plan;
  plan.filters = SortedJson::array();
  const auto& filters = array.filters;
  for (std::size_t i = 0; i < filters.size(); ++i) {
    const auto& f = filters[i];
    // Members set one by one: nlohmann's initializer lists copy every value twice.
    SortedJson codec = SortedJson::object();
    switch (f.id) {
      case kFilterDeflate:
        codec["id"] = "zlib";
        codec["level"] = ClientData(f, 0, 6);
        break;
      case kFilterShuffle:
        codec["id"] = "shuffle";
        codec["elementsize"] = array.dtype.size;
        break;
      case kFilterFletcher32:
        if (i + 1 != filters.size()) {
          plan.needs_decode = true;
          plan.decode_reason = "filter fletcher32 (3) not last in the pipeline";
        } else {
          plan.trim = 4;
        }
        continue;
      case kFilterBlosc: {
        static constexpr std::array<const char*, 6> kNames = {"blosclz", "lz4",  "lz4hc",
                                                              "snappy",  "zlib", "zstd"};
        const std::uint32_t code = ClientData(f, 6, 0);
        codec["id"] = "blosc";
        codec["cname"] = code < kNames.size() ? kNames[code] : "blosclz";
        codec["clevel"] = ClientData(f, 4, 5);
        codec["shuffle"] = ClientData(f, 5, 1);
        codec["blocksize"] = 0;
        break;
      }
      case kFilterZstd:
        codec["id"] = "zstd";
        codec["level"] = ClientData(f, 0, 3);
        break;
      case kFilterBzip2:
        codec["id"] = "bz2";
        codec["level"] = std::clamp<std::uint32_t>(ClientData(f, 0, 9), 1, 9);
        break;
      default:
        if (!plan.needs_decode) {
          plan.needs_decode = true;
          plan.decode_reason = "filter " + FilterLabel(f);
        }
        continue;
    }
    plan.filters.push_back(std::move(codec));
  }
  if (!plan.needs_decode) {
    const auto& masks = array.manifest.filter_masks;
    for (std::size_t c = 0; c < masks.size(); ++c) {
      if (masks[c] == 0) continue;
      std::vector<std::string> skipped;
      for (std::size_t b = 0; b < filters.size() && b < 32; ++b) {
        if ((masks[c] >> b) & 1u) skipped.push_back(FilterLabel(filters[b]));
      }
      plan.needs_decode = true;
      plan.decode_reason = fmt::format("chunk {} skips filter {} (filter mask {:#x})", c,
                                       skipped.empty() ? "?" : skipped.front(), masks[c]);
      break;
    }
  }
  if (plan.needs_decode) plan.trim = 0;
  if (plan.filters.empty()) plan.filters = nullptr;
  return plan;
}

std::string SkipReason(const model::Array& array) {
  if (!array.unsupported.empty()) return array.unsupported;
  const auto& t = array.dtype;
  switch (t.kind) {
    case Kind::kReference:
      return "object reference datatype not supported";
    case Kind::kVlenSequence:
      if (!array.vlen_values) return "variable-length sequences were not decoded";
      break;
    case Kind::kVlenString:
      if (!array.vlen_values) return "variable-length strings were not decoded";
      break;
    case Kind::kCompound: {
      if (HasVariableLengthMember(t)) return "compound datatype with variable-length members";
      auto st = CheckCompound(t);
      if (!st.ok()) return st.error().message();
      break;
    }
    default:
      break;
  }
  if (!t.subshape.empty()) return "HDF5 array datatype as the element type not supported";
  if (t.size == 0) return "zero-size datatype";
  return "";
}

bool IsHiddenAttribute(const model::Attribute& attribute) {
  // NOLINTNEXTLINE(*-identifier-naming)
  static const std::set<std::string_view> kHidden = {
      "REFERENCE_LIST",      "CLASS",       "DIMENSION_LIST", "NAME", "_Netcdf4Dimid",
      "_Netcdf4Coordinates", "_nc3_strict", "_NCProperties"};
  if (kHidden.count(attribute.name) != 0) return true;
  const model::Json* v = &attribute.value;
  if (v->is_array() && v->size() == 1) v = &(*v)[0];
  return v->is_string() && v->get_ref<const std::string&>() == "DIMENSION_SCALE";
}

namespace {

// A netCDF-4 integer attribute as a list of numbers (empty when absent or not integers).
std::vector<std::int64_t> IntList(const model::Array& a, std::string_view name) {
  std::vector<std::int64_t> out;
  const auto* attr = FindAttribute(a, name);
  if (attr == nullptr) return out;
  const model::Json& v = attr->value;
  if (v.is_number_integer()) return {v.get<std::int64_t>()};
  if (!v.is_array()) return out;
  for (const auto& x : v) {
    if (!x.is_number_integer()) return {};
    out.push_back(x.get<std::int64_t>());
  }
  return out;
}

// The name netCDF readers give the dimension scale at `scale` (a path without the leading '/')
// from an array in `group` ("" for the root): its own name when its group is the array's or an
// ancestor of it (netCDF's scoping), else the path, which is the only unambiguous name.
std::string NetcdfDimensionName(const std::string& scale, const std::string& group) {
  const auto slash = scale.rfind('/');
  if (slash == std::string::npos) return scale;
  const std::string parent = scale.substr(0, slash);
  const bool ancestor = group == parent || (group.size() > parent.size() &&
                                            group.compare(0, parent.size(), parent) == 0 &&
                                            group[parent.size()] == '/');
  return ancestor ? scale.substr(slash + 1) : scale;
}

}  // namespace

std::vector<std::vector<std::string>> ResolveDimensions(const model::VirtualDataset& dataset) {
  std::vector<std::vector<std::string>> out(dataset.arrays.size());
  // netCDF-4 dimension ids: a multi-dimensional coordinate variable (itself a dimension scale,
  // which cannot have scales attached) names its other dimensions in _Netcdf4Coordinates.
  std::map<std::int64_t, std::string> dim_by_id;
  for (const auto& a : dataset.arrays) {
    if (!a.is_dimension_scale) continue;
    const auto id = IntList(a, "_Netcdf4Dimid");
    if (id.size() != 1) continue;
    std::string name = a.path;
    while (!name.empty() && name.front() == '/') name.erase(name.begin());
    dim_by_id.emplace(id[0], name);
  }
  // group path -> phony dims of that group, in creation order: (length, name)
  std::map<std::string, std::vector<std::pair<std::uint64_t, std::string>>> phony;
  std::uint64_t next = 0;
  for (std::size_t i = 0; i < dataset.arrays.size(); ++i) {
    const auto& a = dataset.arrays[i];
    if (a.is_dimension_only || !SkipReason(a).empty()) continue;
    const auto slash = a.path.rfind('/');
    const std::string group =
        slash == std::string::npos || slash == 0 ? "/" : a.path.substr(0, slash);
    auto& dims = out[i];
    dims.assign(a.shape.size(), "");
    std::set<std::string> used;
    std::string own_group = group;
    while (!own_group.empty() && own_group.front() == '/') own_group.erase(own_group.begin());
    auto scale_name = [&](const std::string& scale) {
      return SanitizeUtf8(dataset.group_dims_as_paths ? scale
                                                      : NetcdfDimensionName(scale, own_group));
    };
    const auto coordinate_ids = IntList(a, "_Netcdf4Coordinates");
    for (std::size_t d = 0; d < a.shape.size(); ++d) {
      if (d < a.dims.size() && !a.dims[d].empty()) {
        dims[d] = scale_name(a.dims[d]);
        continue;
      }
      if (coordinate_ids.size() == a.shape.size()) {
        auto named = dim_by_id.find(coordinate_ids[d]);
        if (named != dim_by_id.end()) {
          dims[d] = scale_name(named->second);
          continue;
        }
      }
      auto& candidates = phony[group];
      std::string name;
      for (const auto& [len, n] : candidates) {
        if (len == a.shape[d] && used.count(n) == 0) {
          name = n;
          break;
        }
      }
      if (name.empty()) {
        name = fmt::format("phony_dim_{}", next++);
        candidates.emplace_back(a.shape[d], name);
      }
      used.insert(name);
      dims[d] = name;
    }
  }
  return out;
}

SortedJson ZarrDtype(const model::DType& dtype) {
  if (dtype.kind != Kind::kCompound) return dtype.NumpyStr();
  std::vector<const model::Field*> fields;
  for (const auto& f : dtype.fields) fields.push_back(&f);
  std::stable_sort(fields.begin(), fields.end(), [](const model::Field* a, const model::Field* b) {
    return a->offset < b->offset;
  });
  SortedJson descr = SortedJson::array();
  std::uint64_t pos = 0;
  for (const auto* f : fields) {
    if (f->offset > pos) descr.push_back({"", fmt::format("|V{}", f->offset - pos)});
    auto base = FieldBase(f->type);
    const model::DType& elem = base.ok() ? *base : f->type;
    SortedJson entry = {SanitizeUtf8(f->name), ZarrDtype(elem)};
    if (!f->type.subshape.empty()) entry.push_back(f->type.subshape);
    descr.push_back(std::move(entry));
    pos = std::max(pos, f->offset + f->type.size);
  }
  if (pos < dtype.size) descr.push_back({"", fmt::format("|V{}", dtype.size - pos)});
  return descr;
}

SortedJson DecodeFillValue(const model::DType& dtype,
                           const std::optional<std::vector<std::uint8_t>>& bytes) {
  std::vector<std::uint8_t> value(dtype.size, 0);
  if (bytes && bytes->size() == dtype.size) value = *bytes;
  const std::size_t size = dtype.size;
  switch (dtype.kind) {
    case Kind::kBool:
      return SortedJson(std::any_of(value.begin(), value.end(), [](auto b) { return b != 0; }));
    case Kind::kInt: {
      auto n = model::DecodeNumber(dtype, value);
      if (!n) return nullptr;
      return SortedJson(std::get<std::int64_t>(*n));
    }
    case Kind::kUInt: {
      auto n = model::DecodeNumber(dtype, value);
      if (!n) return nullptr;
      return SortedJson(std::get<std::uint64_t>(*n));
    }
    case Kind::kFloat: {
      auto f = ReadFloat(value, size, dtype.byte_order);
      if (!f) return nullptr;
      return FloatJson(*f);
    }
    case Kind::kComplex: {
      const std::size_t half = size / 2;
      auto re = ReadFloat(std::span<const std::uint8_t>(value).first(half), half, dtype.byte_order);
      auto im =
          ReadFloat(std::span<const std::uint8_t>(value).subspan(half), half, dtype.byte_order);
      if (!re || !im) return nullptr;
      return SortedJson::array({FloatJson(*re), FloatJson(*im)});
    }
    case Kind::kFixedString: {
      // numpy drops trailing NULs from a bytes scalar; kerchunk then uses " " for an empty fill.
      while (!value.empty() && value.back() == 0) value.pop_back();
      if (value.empty()) value.push_back(' ');
      return SortedJson(Base64Encode(value));
    }
    case Kind::kOpaque:
      return SortedJson(Base64Encode(value));
    default:
      return nullptr;
  }
}

namespace {
bool HasUnwrittenChunks(const model::Array& array) {
  std::uint64_t grid = 1;
  for (std::size_t i = 0; i < array.shape.size(); ++i) {
    const std::uint64_t c = i < array.chunk_shape.size() ? array.chunk_shape[i] : 1;
    if (c == 0) return false;
    grid *= array.shape[i] / c + (array.shape[i] % c != 0);
  }
  return array.manifest.size() < grid;
}
}  // namespace

namespace {

// What .zarray holds besides the fixed members, and the attributes the fill value consumed.
struct ZarrayParts {  // NOLINT(bugprone-exception-escape): nlohmann::json member
  bool vlen = false;
  bool in_memory = false;
  SortedJson fill;
  std::set<std::string> consumed;
  std::span<const std::uint64_t> chunks;
};

ZarrayParts ChooseParts(const model::Array& array, bool netcdf3) {
  ZarrayParts p;
  p.vlen = array.dtype.IsVariableLength();
  // Compact arrays, and arrays MaterializeInline decoded (it turns them into compact ones), are
  // held whole and raw in the references: one chunk, no filters.
  p.in_memory = array.layout == model::Layout::kCompact;
  p.chunks = p.vlen || p.in_memory ? array.shape : array.chunk_shape;

  // Fill value, in kerchunk's order of rules (KERCHUNK.md 4.3).
  const Kind kind = array.dtype.kind;
  // The rules' order matters more than merging branches that happen to agree.
  if (netcdf3 || p.in_memory || p.vlen) {  // NOLINT(bugprone-branch-clone)
    p.fill = nullptr;
  } else if (kind == Kind::kFixedString) {  // NOLINT(bugprone-branch-clone)
    p.fill = DecodeFillValue(array.dtype, array.fill_value);
  } else if (UsesNetcdfFillRule(array)) {
    // kerchunk's rule is null here; but with null, zarr returns uninitialised memory for
    // chunks the file never wrote. When some are missing, the HDF5 fill value (what netCDF
    // and h5py return for them) is the only right answer.
    p.fill = HasUnwrittenChunks(array) ? DecodeFillValue(array.dtype, array.fill_value) : nullptr;
  } else if (kind == Kind::kCompound) {
    p.fill = nullptr;
  } else {
    p.fill = DecodeFillValue(array.dtype, array.fill_value);
  }
  static const std::vector<std::string> kNetcdf3Fill = {"missing_value", "_FillValue"};
  static const std::vector<std::string> kFill = {"_FillValue"};
  for (const auto& name : netcdf3 ? kNetcdf3Fill : kFill) {
    const auto* attr = FindAttribute(array, name);
    if (attr == nullptr) continue;
    auto encoded = EncodeAttributeFill(array.dtype, attr->value);
    if (!encoded) continue;
    p.fill = std::move(*encoded);
    p.consumed.insert(name);
    break;
  }
  // missing_value stays an attribute: the original shows it and CF readers use it (kerchunk
  // drops it); _FillValue leaves .zattrs as for HDF5.
  if (netcdf3 && !p.consumed.empty()) p.consumed = {"_FillValue"};
  return p;
}

SortedJson FiltersJson(const model::Array& array, const ZarrayParts& p, const CodecPlan& plan) {
  if (p.vlen) return SortedJson::array({VlenCodec(array.dtype)});
  if (p.in_memory) return nullptr;
  return plan.filters;
}

}  // namespace

ArrayMetadataJson TranslateArrayJson(const model::Array& array,
                                     const std::vector<std::string>& dims, bool netcdf3,
                                     const CodecPlan& plan) {
  ZarrayParts p = ChooseParts(array, netcdf3);
  ArrayMetadataJson meta;
  meta.zarray = SortedJson::object();
  meta.zarray["chunks"] = UintList(p.chunks, true);
  meta.zarray["compressor"] = nullptr;
  meta.zarray["dtype"] = p.vlen ? SortedJson("|O") : ZarrDtype(array.dtype);
  meta.zarray["fill_value"] = std::move(p.fill);
  meta.zarray["filters"] = FiltersJson(array, p, plan);
  meta.zarray["order"] = "C";
  meta.zarray["shape"] = UintList(array.shape, false);
  meta.zarray["zarr_format"] = 2;
  meta.zattrs = AttributesJson(array.attributes, p.consumed, &dims);
  return meta;
}

ArrayMetadata TranslateArray(const model::Array& array, const std::vector<std::string>& dims,
                             bool netcdf3, const CodecPlan& plan) {
  // The same text as AppendJson(TranslateArrayJson(...)), written directly: the members in
  // sorted order, the attributes without a sorted tree.
  const ZarrayParts p = ChooseParts(array, netcdf3);
  ArrayMetadata meta;
  std::string& z = meta.zarray;
  z += "{\"chunks\":";
  AppendUintList(z, p.chunks, true);
  z += ",\"compressor\":null,\"dtype\":";
  if (p.vlen) {
    z += "\"|O\"";
  } else {
    AppendJson(z, ZarrDtype(array.dtype));
  }
  z += ",\"fill_value\":";
  AppendJson(z, p.fill);
  z += ",\"filters\":";
  if (p.vlen || p.in_memory) {
    AppendJson(z, FiltersJson(array, p, plan));
  } else {
    AppendJson(z, plan.filters);  // FiltersJson would copy it
  }
  z += ",\"order\":\"C\",\"shape\":";
  AppendUintList(z, array.shape, false);
  z += ",\"zarr_format\":2}";
  AppendAttributes(meta.zattrs, array.attributes, p.consumed, &dims);
  return meta;
}

SortedJson TranslateGroupAttributesJson(const model::Group& group) {
  return AttributesJson(group.attributes, {}, nullptr);
}

std::string TranslateGroupAttributes(const model::Group& group) {
  std::string out;
  AppendAttributes(out, group.attributes, {}, nullptr);
  return out;
}

bool IsVlenArray(const model::DType& dtype) {
  return dtype.kind == Kind::kVlenSequence && !dtype.fields.empty();
}

SortedJson VlenCodec(const model::DType& dtype) {
  if (IsVlenArray(dtype)) {
    return {{"dtype", dtype.fields[0].type.NumpyStr()}, {"id", "vlen-array"}};
  }
  return {{"id", "vlen-utf8"}};
}

Result<std::vector<std::uint8_t>> EncodeVlen(const std::vector<std::optional<std::string>>& values,
                                             bool utf8) {
  std::vector<std::uint8_t> out;
  auto put32 = [&out](std::uint64_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  if (values.size() > 0xffffffffu) return LimitExceeded("too many elements for one vlen chunk");
  put32(values.size());
  for (const auto& v : values) {
    const std::string text = !v ? std::string() : utf8 ? SanitizeUtf8(*v) : *v;
    if (text.size() > 0xffffffffu) return LimitExceeded("element too long for one vlen chunk");
    put32(text.size());
    out.insert(out.end(), text.begin(), text.end());
  }
  return out;
}

void AppendInlineValue(std::string& out, std::span<const std::uint8_t> bytes) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()),  // NOLINT
                              bytes.size());
  if (IsValidUtf8(bytes) && text.rfind("base64:", 0) != 0) {
    AppendJsonString(out, text);
    return;
  }
  out += "\"base64:";
  AppendBase64(out, bytes);
  out += '"';
}

std::string ChunkKey(const std::string& prefix, std::span<const std::uint64_t> coords) {
  std::string key = prefix;
  if (coords.empty()) return key + "0";
  for (std::size_t i = 0; i < coords.size(); ++i) {
    if (i > 0) key += '.';
    key += std::to_string(coords[i]);
  }
  return key;
}

}  // namespace vz::refs
