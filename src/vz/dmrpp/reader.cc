#include "vz/dmrpp/reader.h"

#include <fmt/format.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "vz/base/checked.h"
#include "vz/refs/base64.h"

namespace vz::dmrpp {

namespace {

using model::DType;
using Kind = DType::Kind;

// libxml2 owns what it returns; these give it back.
struct XmlFree {
  void operator()(xmlChar* p) const { xmlFree(p); }
  void operator()(xmlDoc* p) const { xmlFreeDoc(p); }
  void operator()(xmlParserCtxt* p) const { xmlFreeParserCtxt(p); }
};

std::string Text(const xmlChar* s) {
  return s == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(s));  // NOLINT
}

std::optional<std::string> Prop(const xmlNode* node, const char* name) {
  // xmlGetProp matches the name whatever its namespace prefix (dmrpp:href as href).
  std::unique_ptr<xmlChar, XmlFree> v(
      xmlGetProp(node, reinterpret_cast<const xmlChar*>(name)));  // NOLINT
  if (v == nullptr) return std::nullopt;
  return Text(v.get());
}

std::string Content(const xmlNode* node) {
  std::unique_ptr<xmlChar, XmlFree> v(xmlNodeGetContent(node));
  return Text(v.get());
}

std::string LocalName(const xmlNode* node) { return Text(node->name); }

// "chunks" for <dmrpp:chunks> (a namespace whose URL names dmrpp, or the literal prefix when
// the document forgot to declare it); "" for every other element.
std::string DmrppName(const xmlNode* node) {
  std::string name = LocalName(node);
  if (node->ns != nullptr && node->ns->href != nullptr &&
      Text(node->ns->href).find("/dmrpp/") != std::string::npos) {
    return name;
  }
  if (name.rfind("dmrpp:", 0) == 0) return name.substr(6);
  return "";
}

bool IsDap(const xmlNode* node, const char* name) {
  return node->type == XML_ELEMENT_NODE && DmrppName(node).empty() && LocalName(node) == name;
}

std::string Trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::strchr(" \t\r\n,", s[i]) != nullptr) ++i;
    std::size_t j = i;
    while (j < s.size() && std::strchr(" \t\r\n,", s[j]) == nullptr) ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<std::uint64_t> ParseU64(const std::string& s) {
  if (s.empty() || s[0] == '-' || s[0] == '+') return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const int base = s.rfind("0x", 0) == 0 || s.rfind("0X", 0) == 0 ? 16 : 10;
  const unsigned long long v = std::strtoull(s.c_str(), &end, base);
  if (errno != 0 || end == s.c_str() || *end != '\0') return std::nullopt;
  return static_cast<std::uint64_t>(v);
}

std::optional<std::int64_t> ParseI64(const std::string& s) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end == s.c_str() || *end != '\0') return std::nullopt;
  return static_cast<std::int64_t>(v);
}

std::optional<double> ParseF64(const std::string& s) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0') return std::nullopt;
  if (errno == ERANGE && std::isfinite(v) && v != 0) return std::nullopt;
  return v;
}

// A DAP4 atomic type as the numpy type HDF5 stores it with. nullopt: not atomic.
std::optional<DType> AtomicType(const std::string& name, char order) {
  auto num = [order](Kind k, std::uint32_t size) {
    DType t;
    t.kind = k;
    t.size = size;
    t.byte_order = size == 1 ? '|' : order;
    return t;
  };
  if (name == "Byte" || name == "UInt8") return num(Kind::kUInt, 1);
  if (name == "Int8") return num(Kind::kInt, 1);
  if (name == "Char") {
    DType t;
    t.kind = Kind::kFixedString;
    t.size = 1;
    return t;
  }
  if (name == "Int16") return num(Kind::kInt, 2);
  if (name == "UInt16") return num(Kind::kUInt, 2);
  if (name == "Int32") return num(Kind::kInt, 4);
  if (name == "UInt32") return num(Kind::kUInt, 4);
  if (name == "Int64") return num(Kind::kInt, 8);
  if (name == "UInt64") return num(Kind::kUInt, 8);
  if (name == "Float32") return num(Kind::kFloat, 4);
  if (name == "Float64") return num(Kind::kFloat, 8);
  if (name == "String" || name == "URL") {
    DType t;
    t.kind = Kind::kVlenString;
    t.size = 16;  // what an HDF5 vlen string element takes in the file
    return t;
  }
  return std::nullopt;
}

bool IsVariableElement(const std::string& name) {
  static const std::set<std::string> kTypes = {
      "Byte",   "UInt8",  "Int8",      "Char",     "Int16",   "UInt16",
      "Int32",  "UInt32", "Int64",     "UInt64",   "Float32", "Float64",
      "String", "URL",    "Structure", "Sequence", "Enum",    "Opaque"};
  return kTypes.count(name) != 0;
}

// One number of `type` as the little/big-endian bytes HDF5 holds it in.
std::optional<std::vector<std::uint8_t>> NumberBytes(const DType& t, const std::string& text) {
  std::vector<std::uint8_t> out(t.size);
  auto put = [&](auto v) {
    std::memcpy(out.data(), &v, sizeof v);
    if (t.byte_order == '>') std::reverse(out.begin(), out.end());
  };
  if (t.kind == Kind::kFloat) {
    auto v = ParseF64(text);
    if (!v) return std::nullopt;
    if (t.size == 4) {
      put(static_cast<float>(*v));
    } else {
      put(*v);
    }
    return out;
  }
  if (t.kind == Kind::kInt) {
    auto v = ParseI64(text);
    if (!v) return std::nullopt;
    const std::int64_t lo = t.size >= 8 ? std::numeric_limits<std::int64_t>::min()
                                        : -(std::int64_t{1} << (t.size * 8 - 1));
    const std::int64_t hi = t.size >= 8 ? std::numeric_limits<std::int64_t>::max()
                                        : (std::int64_t{1} << (t.size * 8 - 1)) - 1;
    if (*v < lo || *v > hi) return std::nullopt;
    switch (t.size) {
      case 1:
        put(static_cast<std::int8_t>(*v));
        break;
      case 2:
        put(static_cast<std::int16_t>(*v));
        break;
      case 4:
        put(static_cast<std::int32_t>(*v));
        break;
      default:
        put(*v);
    }
    return out;
  }
  if (t.kind == Kind::kUInt) {
    auto v = ParseU64(text);
    if (!v) return std::nullopt;
    if (t.size < 8 && *v >> (t.size * 8) != 0) return std::nullopt;
    switch (t.size) {
      case 1:
        put(static_cast<std::uint8_t>(*v));
        break;
      case 2:
        put(static_cast<std::uint16_t>(*v));
        break;
      case 4:
        put(static_cast<std::uint32_t>(*v));
        break;
      default:
        put(*v);
    }
    return out;
  }
  return std::nullopt;
}

std::optional<model::Json> NumberJson(const DType& t, const std::string& text) {
  if (t.kind == Kind::kFloat) {
    auto v = ParseF64(text);
    if (!v) return std::nullopt;
    // A Float32 attribute is the float nearest the text, as h5py gives it widened.
    return model::Json(t.size == 4 ? static_cast<double>(static_cast<float>(*v)) : *v);
  }
  if (!NumberBytes(t, text)) return std::nullopt;  // range check
  if (t.kind == Kind::kInt) return model::Json(*ParseI64(text));
  return model::Json(*ParseU64(text));
}

std::optional<std::vector<std::uint8_t>> Base64(std::string_view text) {
  std::string compact;
  compact.reserve(text.size());
  for (char c : text) {
    if (std::strchr(" \t\r\n", c) == nullptr) compact.push_back(c);
  }
  return refs::Base64Decode(compact);
}

// Filters HDF5 knows by id, as build_dmrpp names them in compressionType.
struct FilterName {
  const char* name;
  std::uint16_t id;
};
constexpr FilterName kFilters[] = {
    {"deflate", 1},     {"shuffle", 2}, {"fletcher32", 3}, {"szip", 4},    {"nbit", 5},
    {"scaleoffset", 6}, {"bzip2", 307}, {"blosc", 32001},  {"lz4", 32004}, {"zstd", 32015}};

class Parser {
 public:
  Parser(const ReadOptions& options, Sidecar& out) : options_(options), out_(out) {}

  Status Dataset(const xmlNode* root) {
    out_.href = Prop(root, "href").value_or("");
    name_ = Prop(root, "name").value_or("");
    versioned_ = Prop(root, "version").has_value();  // dmrpp:version, since build_dmrpp 3.20
    // netCDF-4 is HDF5 with conventions; a sidecar keeps few traces of them (_NCProperties is
    // left out): its attributes, or the granule's name.
    netcdf_ = NameLooksNetcdf();
    out_.dataset.paths = {options_.data_url};
    VZ_TRY(Group(root, "/", 0));
    out_.dataset.format = netcdf_ ? "netcdf4" : "hdf5";
    if (netcdf_) {
      for (auto& a : out_.dataset.arrays) a.netcdf_variable = true;
    }
    for (auto& a : out_.dataset.arrays) {
      for (std::size_t d = 0; d < a.dims.size(); ++d) {
        if (unlimited_.count(a.dims[d]) != 0 && d < a.max_shape.size()) {
          a.max_shape[d] = model::Array::kUnlimited;
        }
      }
    }
    return Ok();
  }

 private:
  // Warnings and gaps are reported with the sidecar's name in front; errors carry it.
  static std::string Where(const xmlNode* node) {
    return fmt::format("line {}", xmlGetLineNo(node));
  }
  Error Bad(const xmlNode* node, const std::string& what) const {
    return Corrupt(fmt::format("{} {}: {}", options_.sidecar_url, Where(node), what));
  }
  // An array's gap is said when it is skipped (its `unsupported`); others are warnings.
  void Gap(model::Array* array, const std::string& what) {
    out_.gaps.push_back(what);
    if (array == nullptr) {
      out_.dataset.warnings.push_back(what);
    } else if (array->unsupported.empty()) {
      array->unsupported = what;
    }
  }

  static std::string Join(const std::string& group, const std::string& name) {
    return group == "/" ? "/" + name : group + "/" + name;
  }

  Status Group(const xmlNode* node, const std::string& path, std::uint32_t depth) {
    if (depth > options_.limits.max_depth) return Bad(node, "groups nested too deeply");
    if (++objects_ > options_.limits.max_objects) {
      return LimitExceeded(fmt::format("{} {}: more than {} objects", options_.sidecar_url,
                                       Where(node), options_.limits.max_objects));
    }
    const std::size_t group_index = out_.dataset.groups.size();
    out_.dataset.groups.push_back({path, {}});
    // Dimensions first: variables name them wherever they are declared.
    for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
      if (!IsDap(c, "Dimension")) continue;
      auto name = Prop(c, "name");
      auto size = Prop(c, "size");
      auto n = size ? ParseU64(Trim(*size)) : std::nullopt;
      if (!name || name->empty() || !n) return Bad(c, "Dimension without a name and a size");
      dims_[Join(path, *name)] = *n;
    }
    std::vector<model::Attribute> attributes;
    for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
      if (c->type != XML_ELEMENT_NODE || !DmrppName(c).empty()) continue;
      const std::string el = LocalName(c);
      if (el == "Attribute") {
        VZ_TRY(Attribute(c, path, attributes));
      } else if (el == "Group") {
        auto name = Prop(c, "name");
        if (!name || name->empty() || name->find('/') != std::string::npos) {
          return Bad(c, "Group without a valid name");
        }
        VZ_TRY(Group(c, Join(path, *name), depth + 1));
      } else if (IsVariableElement(el)) {
        VZ_TRY(Variable(c, path, el));
      }
    }
    out_.dataset.groups[group_index].attributes = std::move(attributes);
    return Ok();
  }

  // An <Attribute>: appended to `into` when HDF5 could have held it.
  Status Attribute(const xmlNode* node, const std::string& owner,
                   std::vector<model::Attribute>& into) {
    auto name = Prop(node, "name");
    if (!name || name->empty()) return Bad(node, "Attribute without a name");
    const std::string type = Prop(node, "type").value_or("");
    if (into.size() >= options_.limits.max_attributes) {
      return LimitExceeded(fmt::format("{} {}: more than {} attributes on {}", options_.sidecar_url,
                                       Where(node), options_.limits.max_attributes, owner));
    }
    if (type == "Container") {
      // Hyrax adds these; they are not in the granule.
      if (*name == "build_dmrpp_metadata") return Ok();
      if (*name == "DODS_EXTRA") {
        for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
          if (!IsDap(c, "Attribute") || Prop(c, "name") != "Unlimited_Dimension") continue;
          for (const xmlNode* v = c->children; v != nullptr; v = v->next) {
            if (!IsDap(v, "Value")) continue;
            for (const auto& w : Words(Content(v))) unlimited_.insert(w);
          }
        }
        return Ok();
      }
      out_.dataset.warnings.push_back(
          fmt::format("{}: attribute container {} of {} left out (HDF5 attributes do not nest)",
                      Where(node), *name, owner));
      return Ok();
    }
    std::vector<std::string> values;
    for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
      if (IsDap(c, "Value")) values.push_back(Content(c));
      if (values.size() > options_.limits.max_elements_decoded) {
        return LimitExceeded(fmt::format("{} {}: attribute {} has too many values",
                                         options_.sidecar_url, Where(node), *name));
      }
    }
    model::Attribute a;
    a.name = *name;
    auto dtype = AtomicType(type, '<');
    if (!dtype) {
      Gap(nullptr, fmt::format("{}: attribute {} of {} has type '{}', which DMR++ gives no value "
                               "for",
                               Where(node), *name, owner, type));
      return Ok();
    }
    a.dtype = *dtype;
    if (values.size() != 1) a.shape = {values.size()};
    model::Json list = model::Json::array();
    for (const auto& v : values) {
      if (a.dtype.kind == Kind::kVlenString || a.dtype.kind == Kind::kFixedString) {
        list.push_back(v);
        continue;
      }
      auto j = NumberJson(a.dtype, Trim(v));
      if (!j) {
        return Bad(
            node, fmt::format("attribute {} of {}: '{}' is not a {}", *name, owner, Trim(v), type));
      }
      list.push_back(std::move(*j));
    }
    a.value = values.size() == 1 ? list[0] : list;
    if (a.name == "_NCProperties" || a.name == "_Netcdf4Dimid" || a.name == "_Netcdf4Coordinates") {
      netcdf_ = true;
    }
    into.push_back(std::move(a));
    return Ok();
  }

  Status Variable(const xmlNode* node, const std::string& group, const std::string& type) {
    auto name = Prop(node, "name");
    if (!name || name->empty() || name->find('/') != std::string::npos) {
      return Bad(node, fmt::format("{} variable without a valid name", type));
    }
    if (++objects_ > options_.limits.max_objects) {
      return LimitExceeded(fmt::format("{} {}: more than {} objects", options_.sidecar_url,
                                       Where(node), options_.limits.max_objects));
    }
    model::Array a;
    a.path = Join(group, *name);
    const std::string where = fmt::format("{} ({})", a.path, Where(node));

    // Shape and dimension names.
    for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
      if (!IsDap(c, "Dim")) continue;
      if (a.shape.size() >= options_.limits.max_rank) return Bad(c, "too many dimensions");
      if (auto size = Prop(c, "size")) {
        auto n = ParseU64(Trim(*size));
        if (!n) return Bad(c, fmt::format("Dim size '{}' of {} is not a count", *size, a.path));
        a.shape.push_back(*n);
        a.dims.emplace_back();
        continue;
      }
      auto dim = Prop(c, "name");
      if (!dim || dim->empty())
        return Bad(c, fmt::format("Dim of {} without name or size", a.path));
      auto found = FindDim(*dim, group);
      if (!found)
        return Bad(c, fmt::format("{} names dimension {}, which is not declared", a.path, *dim));
      a.shape.push_back(found->second);
      a.dims.push_back(found->first.substr(1));
    }
    a.max_shape = a.shape;
    if (a.shape.size() == 1 && a.dims[0] == a.path.substr(1)) a.is_dimension_scale = true;

    const xmlNode* chunks = nullptr;
    const xmlNode* compact = nullptr;
    const xmlNode* missing = nullptr;
    const xmlNode* vlsa = nullptr;
    const xmlNode* fixed = nullptr;
    const xmlNode* special = nullptr;
    for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
      if (c->type != XML_ELEMENT_NODE) continue;
      const std::string d = DmrppName(c);
      if (d == "chunks") chunks = c;
      if (d == "compact") compact = c;
      if (d == "missingdata") missing = c;
      if (d == "vlsa") vlsa = c;
      if (d == "FixedLengthStringArray") fixed = c;
      if (d == "specialstructuredata") special = c;
    }
    const auto byte_order = chunks != nullptr ? Prop(chunks, "byteOrder") : std::nullopt;
    const char order = byte_order == "BE" ? '>' : '<';
    auto dtype = AtomicType(type, order);
    if (dtype && dtype->IsNumeric() && dtype->size > 1 && chunks != nullptr && !byte_order &&
        !said_byte_order_) {
      // Older build_dmrpp wrote no byteOrder; readers of those sidecars assume little-endian,
      // which big-endian granules contradict.
      said_byte_order_ = true;
      Gap(nullptr, fmt::format("{}: no byteOrder (older build_dmrpp): little-endian assumed for "
                               "{} and every variable like it",
                               where, a.path));
    }
    if (!dtype) {
      a.dtype.kind = Kind::kOpaque;
      Gap(&a, fmt::format("{}: a DAP4 {}, which vzgen does not read from DMR++ (the granule "
                          "holds its HDF5 type)",
                          where, type));
      (void)special;
      out_.dataset.arrays.push_back(std::move(a));
      return Ok();
    }
    a.dtype = *dtype;
    if (type == "Int16" && !versioned_ && !said_int16_) {
      // DAP2 had no 8-bit signed type: build_dmrpp before dmrpp:version declared HDF5 int8
      // data as Int16 (MUR's mask, sea_ice_fraction, dt_1km_data), which nothing in the
      // document tells apart from real Int16 data.
      said_int16_ = true;
      Gap(nullptr, fmt::format("{}: an Int16 in a sidecar without dmrpp:version (older "
                               "build_dmrpp, which declared int8 data as Int16); kept as Int16",
                               where));
    }

    std::vector<model::Attribute> attributes;
    for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
      if (IsDap(c, "Attribute")) VZ_TRY(Attribute(c, a.path, attributes));
    }
    // Hyrax's HDF5 handler adds these two (H5.EnableAddPathAttrs); the granule has neither.
    const auto* full = FindAttr(attributes, "fullnamepath");
    const auto* orig = FindAttr(attributes, "origname");
    if (full != nullptr && orig != nullptr && full->value == model::Json(a.path) &&
        orig->value == model::Json(a.Name())) {
      std::erase_if(attributes, [](const model::Attribute& x) {
        return x.name == "fullnamepath" || x.name == "origname";
      });
    }
    a.attributes = std::move(attributes);

    VZ_ASSIGN_OR_RETURN(const std::uint64_t elements,
                        CheckedProduct(a.shape, "number of elements"));
    if (a.dtype.kind == Kind::kVlenString) {
      if (fixed != nullptr) {
        auto len = Prop(fixed, "string_length");
        auto n = len ? ParseU64(Trim(*len)) : std::nullopt;
        if (!n || *n == 0 || *n > (1u << 30)) {
          return Bad(fixed, fmt::format("string_length of {} is not a positive count", a.path));
        }
        a.dtype.kind = Kind::kFixedString;
        a.dtype.size = static_cast<std::uint32_t>(*n);
      } else if (vlsa != nullptr) {
        std::vector<std::optional<std::string>> values;
        for (const xmlNode* v = vlsa->children; v != nullptr; v = v->next) {
          if (v->type != XML_ELEMENT_NODE) continue;
          if (LocalName(v) != "v" && DmrppName(v) != "v") continue;
          if (values.size() >= options_.limits.max_elements_decoded) {
            return LimitExceeded(fmt::format("{}: too many strings", where));
          }
          values.emplace_back(Content(v));
        }
        if (values.size() != elements) {
          return Bad(vlsa, fmt::format("{} has {} elements but dmrpp:vlsa holds {} strings", a.path,
                                       elements, values.size()));
        }
        a.vlen_values = std::move(values);
        a.chunk_shape = a.shape;
        out_.dataset.arrays.push_back(std::move(a));
        return Ok();
      } else if (compact != nullptr && elements == 1) {
        auto bytes = Base64(Content(compact));
        if (!bytes) return Bad(compact, fmt::format("dmrpp:compact of {} is not base64", a.path));
        a.vlen_values =
            std::vector<std::optional<std::string>>{std::string(bytes->begin(), bytes->end())};
        a.chunk_shape = a.shape;
        a.layout = model::Layout::kCompact;
        out_.dataset.arrays.push_back(std::move(a));
        return Ok();
      } else {
        // Old sidecars give a String's chunks without saying whether its elements are fixed
        // (n bytes each) or variable-length (16-byte heap references, values elsewhere).
        std::uint64_t stored = 0;
        std::size_t pieces = 0;
        bool filtered = false;
        if (chunks != nullptr) {
          filtered = !Prop(chunks, "compressionType").value_or("").empty();
          for (const xmlNode* c = chunks->children; c != nullptr; c = c->next) {
            if (DmrppName(c) != "chunk") continue;
            ++pieces;
            stored += ParseU64(Prop(c, "nBytes").value_or("")).value_or(0);
          }
        }
        const bool chunked = chunks != nullptr && HasChild(chunks, "chunkDimensionSizes");
        if (pieces == 1 && !filtered && !chunked && elements != 0 && stored % elements == 0 &&
            stored / elements != 16 && stored / elements <= (1u << 30)) {
          a.dtype.kind = Kind::kFixedString;
          a.dtype.size = static_cast<std::uint32_t>(stored / elements);
        } else {
          Gap(&a, fmt::format("{}: a String without dmrpp:FixedLengthStringArray or dmrpp:vlsa "
                              "(fixed-length or variable-length: the sidecar does not say)",
                              where));
          out_.dataset.arrays.push_back(std::move(a));
          return Ok();
        }
      }
    }

    if (compact != nullptr) {
      auto bytes = Base64(Content(compact));
      if (!bytes) return Bad(compact, fmt::format("dmrpp:compact of {} is not base64", a.path));
      VZ_ASSIGN_OR_RETURN(auto want, CheckedMul(elements, a.dtype.size, "compact size"));
      if (bytes->size() != want) {
        return Bad(compact, fmt::format("dmrpp:compact of {} holds {} bytes, not the {} of {} "
                                        "elements",
                                        a.path, bytes->size(), want, elements));
      }
      a.layout = model::Layout::kCompact;
      a.chunk_shape = a.shape;
      a.compact_data = std::move(*bytes);
      if (chunks != nullptr) VZ_TRY(FillValue(chunks, a));
      out_.dataset.arrays.push_back(std::move(a));
      return Ok();
    }
    if (missing != nullptr) {
      // zlib-compressed values of data the granule does not hold: one embedded chunk.
      auto bytes = Base64(Content(missing));
      if (!bytes) return Bad(missing, fmt::format("dmrpp:missingdata of {} is not base64", a.path));
      a.layout = model::Layout::kChunked;
      a.chunk_shape = a.shape;
      a.filters = {model::Filter{1, "", 0, {6}}};
      a.manifest.rank = a.shape.size();
      std::vector<std::uint64_t> zero(a.shape.size(), 0);
      a.manifest.Add(zero, 0, bytes->size());
      a.manifest.inline_data[0] = std::move(*bytes);
      out_.dataset.arrays.push_back(std::move(a));
      return Ok();
    }
    a.chunk_shape = a.shape;
    a.manifest.rank = a.shape.size();
    if (chunks != nullptr) VZ_TRY(Chunks(chunks, a, where, elements));
    out_.dataset.arrays.push_back(std::move(a));
    return Ok();
  }

  static bool HasChild(const xmlNode* node, const char* dmrpp_name) {
    for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
      if (c->type == XML_ELEMENT_NODE && DmrppName(c) == dmrpp_name) return true;
    }
    return false;
  }

  static const model::Attribute* FindAttr(const std::vector<model::Attribute>& attrs,
                                          const std::string& name) {
    for (const auto& a : attrs) {
      if (a.name == name) return &a;
    }
    return nullptr;
  }

  // A dimension by its DAP4 name: absolute, or relative to the group and then its parents.
  std::optional<std::pair<std::string, std::uint64_t>> FindDim(const std::string& name,
                                                               const std::string& group) const {
    if (name[0] == '/') {
      auto it = dims_.find(name);
      if (it == dims_.end()) return std::nullopt;
      return *it;
    }
    std::string g = group;
    while (true) {
      auto it = dims_.find(Join(g, name));
      if (it != dims_.end()) return *it;
      if (g == "/") return std::nullopt;
      const auto slash = g.rfind('/');
      g = slash == 0 ? "/" : g.substr(0, slash);
    }
  }

  Status FillValue(const xmlNode* chunks, model::Array& a) {
    auto fill = Prop(chunks, "fillValue");
    if (!fill) return Ok();
    if (a.dtype.kind == Kind::kFixedString) {
      // build_dmrpp writes "" (or "unsupported-string") for a string's fill: NULs.
      a.fill_value = std::vector<std::uint8_t>(a.dtype.size, 0);
      if (*fill != "unsupported-string") {
        const std::size_t n = std::min<std::size_t>(fill->size(), a.dtype.size);
        std::copy_n(fill->begin(), n, a.fill_value->begin());
      }
      return Ok();
    }
    if (!a.dtype.IsNumeric()) return Ok();
    auto bytes = NumberBytes(a.dtype, Trim(*fill));
    if (!bytes) {
      return Bad(chunks, fmt::format("fillValue '{}' of {} is not a {}", *fill, a.path,
                                     a.dtype.NumpyStr()));
    }
    a.fill_value = std::move(*bytes);
    // netCDF-C stores its default fill value in every variable's HDF5 fill property; HDF5's own
    // default is 0. A sidecar keeps no other trace of netCDF-4 (no _NCProperties).
    if (IsNetcdfDefaultFill(a.dtype, Trim(*fill))) netcdf_ = true;
    return Ok();
  }

  static bool IsNetcdfDefaultFill(const DType& t, const std::string& text) {
    if (t.size < 2) return false;  // one-byte fills (-127, 255) are too common to tell
    if (t.kind == Kind::kFloat) {
      auto v = ParseF64(text);
      // NC_FILL_FLOAT / NC_FILL_DOUBLE, 9.9692099683868690e+36, printed to 6 digits or more.
      return v && std::fabs(*v / 9.969209968386869e36 - 1) < 1e-6;
    }
    static const std::map<std::pair<int, std::uint32_t>, std::string> kFills = {
        {{0, 2}, "-32767"}, {{0, 4}, "-2147483647"}, {{0, 8}, "-9223372036854775806"},
        {{1, 2}, "65535"},  {{1, 4}, "4294967295"},  {{1, 8}, "18446744073709551614"}};
    auto it = kFills.find({t.kind == Kind::kInt ? 0 : 1, t.size});
    return (t.kind == Kind::kInt || t.kind == Kind::kUInt) && it != kFills.end() &&
           it->second == text;
  }

  Status Chunks(const xmlNode* node, model::Array& a, const std::string& where,
                std::uint64_t elements) {
    VZ_TRY(FillValue(node, a));
    // Filters. build_dmrpp lists them in pipeline order, except that older versions wrote
    // "deflate shuffle" for data that was shuffled, then deflated (MUR): a shuffle after a
    // compressor is never written, so it moves before the first one; the rest keep their order
    // ("fletcher32 shuffle deflate" is netCDF-C's).
    std::vector<std::string> tokens = Words(Prop(node, "compressionType").value_or(""));
    const auto deflate = std::find(tokens.begin(), tokens.end(), "deflate");
    const auto shuffle = std::find(deflate, tokens.end(), "shuffle");
    if (deflate != tokens.end() && shuffle != tokens.end()) {
      std::rotate(deflate, shuffle, shuffle + 1);
    }
    std::uint32_t level = 6;
    for (const char* attr : {"deflateLevel", "deflate_level"}) {
      if (auto l = Prop(node, attr)) {
        auto v = ParseU64(Trim(*l));
        if (!v || *v > 9)
          return Bad(node, fmt::format("{} '{}' of {} is not 0-9", attr, *l, a.path));
        level = static_cast<std::uint32_t>(*v);
      }
    }
    for (const auto& t : tokens) {
      const FilterName* f = nullptr;
      for (const auto& k : kFilters) {
        if (t == k.name) f = &k;
      }
      if (f == nullptr) {
        Gap(&a,
            fmt::format("{}: compressionType '{}' is not an HDF5 filter vzgen knows", where, t));
        return Ok();
      }
      model::Filter filter;
      filter.id = f->id;
      if (f->id == 1) filter.client_data = {level};
      if (f->id == 2) filter.client_data = {a.dtype.size};
      if (f->id != 1 && f->id != 2 && f->id != 3) {
        // szip, nbit, scale-offset and the rest need their parameters, which DMR++ omits.
        Gap(&a, fmt::format("{}: filter {} needs parameters the sidecar does not give", where, t));
        return Ok();
      }
      a.filters.push_back(std::move(filter));
    }

    const xmlNode* sizes = nullptr;
    for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
      if (c->type == XML_ELEMENT_NODE && DmrppName(c) == "chunkDimensionSizes") sizes = c;
    }
    if (sizes != nullptr) {
      a.layout = model::Layout::kChunked;
      a.chunk_shape.clear();
      for (const auto& w : Words(Content(sizes))) {
        auto n = ParseU64(w);
        if (!n || *n == 0) return Bad(sizes, fmt::format("chunk size '{}' of {}", w, a.path));
        a.chunk_shape.push_back(*n);
      }
      if (a.chunk_shape.size() != a.shape.size()) {
        return Bad(sizes, fmt::format("{} has {} dimensions but {} chunk sizes", a.path,
                                      a.shape.size(), a.chunk_shape.size()));
      }
    } else {
      a.layout = model::Layout::kContiguous;
    }

    std::vector<std::uint64_t> coords(a.shape.size());
    std::uint64_t contiguous_end = 0;
    for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
      if (c->type != XML_ELEMENT_NODE || DmrppName(c) != "chunk") continue;
      if (a.manifest.size() >= options_.limits.max_chunks_per_array) {
        return LimitExceeded(
            fmt::format("{}: more than {} chunks", where, options_.limits.max_chunks_per_array));
      }
      auto offset = ParseU64(Trim(Prop(c, "offset").value_or("")));
      auto length = ParseU64(Trim(Prop(c, "nBytes").value_or("")));
      if (!offset || !length) {
        return Bad(c, fmt::format("dmrpp:chunk of {} without offset and nBytes", a.path));
      }
      if (!AddU64(*offset, *length)) {
        return Bad(c, fmt::format("dmrpp:chunk of {} ends past 2^64", a.path));
      }
      std::uint32_t mask = 0;
      if (auto fm = Prop(c, "fm")) {
        auto m = ParseU64(Trim(*fm));
        if (!m || *m > 0xffffffffu) return Bad(c, fmt::format("fm '{}' of {}", *fm, a.path));
        mask = static_cast<std::uint32_t>(*m);
      }
      std::uint32_t path_id = 0;
      if (auto href = Prop(c, "href")) {
        if (!href->empty() && *href != kDataUrlTemplate && *href != options_.data_url) {
          auto& paths = out_.dataset.paths;
          auto it = std::find(paths.begin(), paths.end(), *href);
          path_id = static_cast<std::uint32_t>(it - paths.begin());
          if (it == paths.end()) paths.push_back(*href);
        }
      }
      if (a.layout == model::Layout::kContiguous) {
        // Contiguous data a sidecar splits into pieces must be one run of bytes: a zarr chunk
        // is one range.
        if (a.manifest.size() > 0) {
          if (*offset != contiguous_end || path_id != 0 || mask != 0) {
            Gap(&a,
                fmt::format("{}: contiguous data in pieces that are not one run of bytes", where));
            return Ok();
          }
          a.manifest.lengths.back() += *length;
          contiguous_end += *length;
          continue;
        }
        contiguous_end = *offset + *length;
      } else {
        auto pos = Prop(c, "chunkPositionInArray");
        if (!pos) {
          return Bad(c,
                     fmt::format("dmrpp:chunk of chunked {} without chunkPositionInArray", a.path));
        }
        std::string p = Trim(*pos);
        if (p.size() < 2 || p.front() != '[' || p.back() != ']') {
          return Bad(c, fmt::format("chunkPositionInArray '{}' of {}", *pos, a.path));
        }
        auto words = Words(std::string_view(p).substr(1, p.size() - 2));
        if (words.size() != a.shape.size()) {
          return Bad(c, fmt::format("chunkPositionInArray '{}' of {} has {} numbers, not {}", *pos,
                                    a.path, words.size(), a.shape.size()));
        }
        for (std::size_t d = 0; d < words.size(); ++d) {
          auto v = ParseU64(words[d]);
          if (!v || *v % a.chunk_shape[d] != 0 || (*v >= a.shape[d] && a.shape[d] != 0)) {
            return Bad(c, fmt::format("chunkPositionInArray '{}' of {} is not the corner of a "
                                      "chunk inside shape ({})",
                                      *pos, a.path, fmt::join(a.shape, ", ")));
          }
          coords[d] = *v / a.chunk_shape[d];
        }
      }
      a.manifest.Add(coords, *offset, *length, mask);
      if (mask != 0 && a.manifest.filter_masks.empty()) {
        a.manifest.filter_masks.assign(a.manifest.size() - 1, 0);
      }
      if (!a.manifest.filter_masks.empty() && a.manifest.filter_masks.size() < a.manifest.size()) {
        a.manifest.filter_masks.push_back(mask);
      }
      if (path_id != 0 && a.manifest.path_ids.empty()) {
        a.manifest.path_ids.assign(a.manifest.size() - 1, 0);
      }
      if (!a.manifest.path_ids.empty() && a.manifest.path_ids.size() < a.manifest.size()) {
        a.manifest.path_ids.push_back(path_id);
      }
    }
    (void)elements;
    return Ok();
  }

  const ReadOptions& options_;
  Sidecar& out_;
  std::string name_;
  std::map<std::string, std::uint64_t> dims_;  // "/g/dim" -> size
  std::set<std::string> unlimited_;
  std::uint64_t objects_ = 0;
  bool netcdf_ = false;
  bool said_byte_order_ = false;
  bool versioned_ = false;
  bool said_int16_ = false;

  bool NameLooksNetcdf() const {
    for (const char* ext : {".nc", ".nc4", ".netcdf", ".cdf"}) {
      const std::string e = ext;
      if (name_.size() > e.size() && name_.compare(name_.size() - e.size(), e.size(), e) == 0) {
        return true;
      }
    }
    return false;
  }
};

struct FirstError {
  bool seen = false;
  int line = 0;
  std::string message;
};

void KeepFirstError(void* user, xmlError* error) {
  auto* first = static_cast<FirstError*>(user);
  if (first->seen || error == nullptr || error->level < XML_ERR_ERROR) return;
  first->seen = true;
  first->line = error->line;
  first->message = error->message != nullptr ? error->message : "error";
}

}  // namespace

bool LooksLikeDmrpp(std::span<const std::uint8_t> head) {
  std::string_view s(reinterpret_cast<const char*>(head.data()), head.size());        // NOLINT
  if (s.size() >= 3 && static_cast<unsigned char>(s[0]) == 0xef) s.remove_prefix(3);  // BOM
  while (!s.empty() && std::strchr(" \t\r\n", s.front()) != nullptr) s.remove_prefix(1);
  return s.rfind("<?xml", 0) == 0 || s.rfind("<Dataset", 0) == 0;
}

Result<Sidecar> Read(std::string_view xml, const ReadOptions& options) {
  static std::once_flag init;
  std::call_once(init, [] { xmlInitParser(); });
  if (xml.size() > options.limits.max_metadata_total) {
    return LimitExceeded(fmt::format("{}: a sidecar of {} bytes (the limit is {})",
                                     options.sidecar_url, xml.size(),
                                     options.limits.max_metadata_total));
  }
  if (xml.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return LimitExceeded(fmt::format("{}: sidecar too large", options.sidecar_url));
  }
  std::unique_ptr<xmlParserCtxt, XmlFree> ctxt(xmlNewParserCtxt());
  if (ctxt == nullptr) return Internal("libxml2 could not make a parser");
  // No entity expansion, no DTD loading, no network. The first error is the one to report
  // (later ones follow from it); the handler is per thread, so parallel scans keep theirs.
  FirstError first;
  xmlSetStructuredErrorFunc(&first, &KeepFirstError);
  const int flags = XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
  std::unique_ptr<xmlDoc, XmlFree> doc(xmlCtxtReadMemory(
      ctxt.get(), xml.data(), static_cast<int>(xml.size()), nullptr, nullptr, flags));
  xmlSetStructuredErrorFunc(nullptr, nullptr);
  if (doc == nullptr || first.seen) {
    std::string message = first.seen ? first.message : "not XML";
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    return Corrupt(
        fmt::format("{} line {}: malformed XML: {}", options.sidecar_url, first.line, message));
  }
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (root == nullptr || LocalName(root) != "Dataset") {
    return Corrupt(
        fmt::format("{} line {}: not a DMR++ document (the root element is {}, not "
                    "Dataset)",
                    options.sidecar_url, root != nullptr ? xmlGetLineNo(root) : 0,
                    root != nullptr ? LocalName(root) : "missing"));
  }
  Sidecar out;
  Parser parser(options, out);
  VZ_TRY(parser.Dataset(root));
  return out;
}

}  // namespace vz::dmrpp
