// Attribute messages (File Format Specification v3.0, IV.A.2.m) and the values they hold, decoded
// as h5py returns them; variable-length strings and sequences through the global heap
// (III.E), for attributes and for the elements of variable-length datasets.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <variant>

#include "vz/base/checked.h"
#include "vz/base/utf8.h"
#include "vz/codecs/assemble.h"
#include "vz/codecs/codecs.h"
#include "vz/hdf5/reader_internal.h"
#include "vz/model/scalar.h"

namespace vz::hdf5 {
namespace {

using model::DType;
using model::Json;
using Kind = model::DType::Kind;

std::string DecodeFixedString(std::span<const std::uint8_t> p) {
  std::size_t n = p.size();
  while (n > 0 && (p[n - 1] == 0)) --n;
  // h5py returns bytes up to the first NUL for null-terminated/padded strings.
  std::string s(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(n));
  auto z = s.find('\0');
  if (z != std::string::npos) s.resize(z);
  return SanitizeUtf8(std::move(s));
}

// Why the elements of a variable-length sequence of `base` cannot be written as a numcodecs
// vlen-array (one numpy array per element), or "" when they can.
std::string VlenSequenceUnsupported(const DType& base) {
  const bool plain = base.kind == Kind::kInt || base.kind == Kind::kUInt ||
                     base.kind == Kind::kFloat || base.kind == Kind::kBool;
  if (plain && base.subshape.empty() && base.size > 0 && base.size <= 8) return "";
  static const char* const kNames[] = {"bool",
                                       "integer",
                                       "unsigned integer",
                                       "float",
                                       "complex",
                                       "fixed-length string",
                                       "variable-length string",
                                       "variable-length sequence",
                                       "compound",
                                       "opaque",
                                       "reference"};
  const auto k = static_cast<std::size_t>(base.kind);
  return fmt::format("variable-length sequence of {}{} elements not supported",
                     k < std::size(kNames) ? kNames[k] : "unknown",
                     base.subshape.empty() ? "" : " array");
}

}  // namespace

Result<std::optional<Reader::VlenObject>> Reader::ReadVlenObject(std::span<const std::uint8_t> p) {
  ByteCursor c(p);
  VZ_ASSIGN_OR_RETURN(auto len, c.U32());
  VZ_ASSIGN_OR_RETURN(auto coll, ctx.ReadOffset(c));
  VZ_ASSIGN_OR_RETURN(auto index, c.U32());
  if (coll == 0 || ctx.IsUndefined(coll)) return std::optional<VlenObject>();
  if (len == 0) return std::optional<VlenObject>(VlenObject{});
  VZ_ASSIGN_OR_RETURN(auto obj, gheap.Get(ctx, coll, index));
  return std::optional<VlenObject>(VlenObject{len, obj});
}

Result<std::optional<std::string>> Reader::ReadVlenString(std::span<const std::uint8_t> p) {
  VZ_ASSIGN_OR_RETURN(auto v, ReadVlenObject(p));
  if (!v) return std::optional<std::string>();
  const auto& obj = v->bytes;
  std::string s(obj.begin(), obj.begin() + static_cast<std::ptrdiff_t>(
                                               std::min<std::size_t>(obj.size(), v->length)));
  auto z = s.find('\0');
  if (z != std::string::npos) s.resize(z);
  return std::optional<std::string>(SanitizeUtf8(std::move(s)));
}

Result<std::string> Reader::ReadVlenBytes(std::span<const std::uint8_t> p, const DType& base) {
  VZ_ASSIGN_OR_RETURN(auto v, ReadVlenObject(p));
  if (!v || v->length == 0) return std::string();
  const std::uint32_t len = v->length;
  const auto& obj = v->bytes;
  VZ_ASSIGN_OR_RETURN(auto nbytes, CheckedMul(len, base.size, "sequence size"));
  if (nbytes > obj.size()) {
    return Corrupt(
        fmt::format("variable-length sequence of {} elements needs {} bytes, its heap "
                    "object holds {}",
                    len, nbytes, obj.size()));
  }
  std::string bytes(reinterpret_cast<const char*>(obj.data()),  // NOLINT
                    static_cast<std::size_t>(nbytes));
  // Big-endian elements come out little-endian, as h5py reads them (see BuildArray).
  if (base.byte_order == '>' && base.size > 1) {
    for (std::size_t i = 0; i + base.size <= bytes.size(); i += base.size) {
      std::reverse(bytes.begin() + static_cast<std::ptrdiff_t>(i),
                   bytes.begin() + static_cast<std::ptrdiff_t>(i + base.size));
    }
  }
  return bytes;
}

Result<VlenValues> Reader::DecodeVlenValues(const model::Array& arr, const DataLayout& dl) {
  const bool strings = arr.dtype.kind == Kind::kVlenString;
  if (!strings) {
    if (arr.dtype.fields.empty()) return Corrupt("variable-length sequence without a base type");
    const auto why = VlenSequenceUnsupported(arr.dtype.fields[0].type);
    if (!why.empty()) return Unsupported(why);
  }
  if (!arr.dtype.subshape.empty()) {
    return Unsupported("HDF5 array of variable-length elements not supported");
  }
  VZ_ASSIGN_OR_RETURN(auto n, CheckedProduct(arr.shape, "element count"));
  const std::uint64_t esz = arr.dtype.size;
  if (n > ctx.limits.max_elements_decoded || n * esz > ctx.limits.max_metadata_block) {
    return LimitExceeded(fmt::format("too many variable-length {} to decode ({} elements)",
                                     strings ? "strings" : "sequences", n));
  }
  // The heap ids (length, collection, index) of every element, row-major. Storage never
  // written holds the fill value (itself a heap id) when there is one, else null elements.
  std::vector<std::uint8_t> raw(static_cast<std::size_t>(n * esz), 0);
  if (arr.fill_value && arr.fill_value->size() == esz) {
    for (std::size_t i = 0; i < raw.size(); i += static_cast<std::size_t>(esz)) {
      std::copy(arr.fill_value->begin(), arr.fill_value->end(),
                raw.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  if (dl.layout == model::Layout::kCompact) {
    std::copy_n(dl.compact_data.begin(), std::min(dl.compact_data.size(), raw.size()), raw.begin());
  } else if (dl.layout == model::Layout::kContiguous && !ctx.IsUndefined(dl.address)) {
    VZ_ASSIGN_OR_RETURN(auto stored, ctx.Read(dl.address, std::min<std::uint64_t>(dl.size, n * esz),
                                              "variable-length data"));
    std::copy_n(stored.begin(), std::min(stored.size(), raw.size()), raw.begin());
  } else if (dl.layout == model::Layout::kChunked) {
    const auto& m = arr.manifest;
    const std::size_t rank = arr.shape.size();
    VZ_ASSIGN_OR_RETURN(auto chunk_elements, CheckedProduct(arr.chunk_shape, "chunk elements"));
    VZ_ASSIGN_OR_RETURN(auto chunk_bytes, CheckedMul(chunk_elements, esz, "chunk size"));
    if (chunk_bytes > ctx.limits.max_metadata_block) {
      return LimitExceeded(fmt::format("variable-length chunks of {} bytes", chunk_bytes));
    }
    codecs::ChunkInfo info{arr.dtype, arr.chunk_shape, chunk_bytes};
    for (std::size_t ci = 0; ci < m.size(); ++ci) {
      if (m.lengths[ci] > ctx.limits.max_metadata_block) {
        return LimitExceeded(fmt::format("variable-length chunk {} at {} holds {} bytes", ci,
                                         Hex(m.offsets[ci]), m.lengths[ci]));
      }
      VZ_ASSIGN_OR_RETURN(auto stored, ctx.source->ReadAt(m.offsets[ci], m.lengths[ci]));
      std::vector<std::uint8_t> chunk;
      if (arr.filters.empty()) {
        chunk.assign(stored.begin(), stored.end());
      } else {
        const std::uint32_t mask = m.filter_masks.empty() ? 0 : m.filter_masks[ci];
        VZ_ASSIGN_OR_RETURN(chunk, codecs::DecodeChunk(stored, arr.filters, mask, info),
                            "chunk {} at {}", ci, Hex(m.offsets[ci]));
      }
      chunk.resize(static_cast<std::size_t>(chunk_bytes), 0);  // a short chunk: nulls
      codecs::CopyChunkIntoArray(chunk, std::span(m.coords).subspan(ci * rank, rank),
                                 arr.chunk_shape, arr.shape, static_cast<std::size_t>(esz), raw);
    }
  }
  std::vector<std::optional<std::string>> vals;
  vals.reserve(static_cast<std::size_t>(n));
  std::uint64_t total = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    const auto p = std::span<const std::uint8_t>(raw).subspan(static_cast<std::size_t>(i * esz),
                                                              static_cast<std::size_t>(esz));
    if (strings) {
      VZ_ASSIGN_OR_RETURN(auto s, ReadVlenString(p));
      total += s ? s->size() : 0;
      vals.push_back(std::move(s));
    } else {
      VZ_ASSIGN_OR_RETURN(auto b, ReadVlenBytes(p, arr.dtype.fields[0].type));
      total += b.size();
      vals.emplace_back(std::move(b));
    }
    if (total > ctx.limits.max_metadata_block) {
      return LimitExceeded(fmt::format("more than {} bytes of variable-length data to decode",
                                       ctx.limits.max_metadata_block));
    }
  }
  return vals;
}

Result<Json> Reader::DecodeElement(const DType& t, std::span<const std::uint8_t> p,
                                   std::vector<std::uint64_t>* refs) {
  if (t.size == 0 || p.size() < t.size) return Json(nullptr);
  switch (t.kind) {
    case Kind::kBool:
      return Json(p[0] != 0);
    case Kind::kInt:
    case Kind::kUInt:
    case Kind::kFloat: {
      const auto n = model::DecodeNumber(t, p);
      if (!n) return Json(nullptr);
      return std::visit([](auto v) { return Json(v); }, *n);
    }
    case Kind::kFixedString:
      return Json(DecodeFixedString(p));
    case Kind::kVlenString: {
      VZ_ASSIGN_OR_RETURN(auto s, ReadVlenString(p));
      return s ? Json(*s) : Json(nullptr);
    }
    case Kind::kVlenSequence: {
      VZ_ASSIGN_OR_RETURN(auto heap_object, ReadVlenObject(p));
      if (!heap_object || heap_object->length == 0) return Json::array();
      const std::uint32_t len = heap_object->length;
      const auto obj = heap_object->bytes;
      const DType& base = t.fields[0].type;
      if (base.size == 0) return Json::array();
      Json arr = Json::array();
      for (std::size_t i = 0; i < len && (i + 1) * base.size <= obj.size(); ++i) {
        auto elem = obj.subspan(i * base.size, base.size);
        if (base.kind == Kind::kReference && refs != nullptr && base.size >= ctx.size_of_offsets) {
          ByteCursor rc(elem);
          VZ_ASSIGN_OR_RETURN(auto a, ctx.ReadOffset(rc));
          refs->push_back(a);
        }
        VZ_ASSIGN_OR_RETURN(auto v, DecodeElement(base, elem, nullptr));
        arr.push_back(std::move(v));
      }
      return arr;
    }
    case Kind::kCompound: {
      Json arr = Json::array();
      for (const auto& f : t.fields) {
        if (f.offset + f.type.size > p.size()) {
          arr.push_back(nullptr);
          continue;
        }
        const auto member = p.subspan(f.offset, f.type.size);
        if (f.type.subshape.empty()) {
          VZ_ASSIGN_OR_RETURN(auto v, DecodeElement(f.type, member, nullptr));
          arr.push_back(std::move(v));
          continue;
        }
        // An array member (say 2 points, each a compound): nested lists in row-major order,
        // as numpy's tolist() gives them.
        DType base = f.type;
        base.subshape.clear();
        std::uint64_t n = 1;
        for (auto d : f.type.subshape) n *= d;
        if (n == 0 || f.type.size % n != 0) {
          arr.push_back(nullptr);
          continue;
        }
        base.size = static_cast<std::uint32_t>(f.type.size / n);
        std::size_t pos = 0;
        std::function<Result<Json>(std::size_t)> nest = [&](std::size_t axis) -> Result<Json> {
          Json level = Json::array();
          for (std::uint64_t i = 0; i < f.type.subshape[axis]; ++i) {
            if (axis + 1 == f.type.subshape.size()) {
              VZ_ASSIGN_OR_RETURN(auto v,
                                  DecodeElement(base, member.subspan(pos, base.size), nullptr));
              pos += base.size;
              level.push_back(std::move(v));
            } else {
              VZ_ASSIGN_OR_RETURN(auto v, nest(axis + 1));
              level.push_back(std::move(v));
            }
          }
          return level;
        };
        VZ_ASSIGN_OR_RETURN(auto v, nest(0));
        arr.push_back(std::move(v));
      }
      return arr;
    }
    case Kind::kComplex: {
      DType half = t;
      half.kind = Kind::kFloat;
      half.size = t.size / 2;
      VZ_ASSIGN_OR_RETURN(auto re, DecodeElement(half, p.first(half.size), nullptr));
      VZ_ASSIGN_OR_RETURN(auto im, DecodeElement(half, p.subspan(half.size), nullptr));
      return Json::array({re, im});
    }
    case Kind::kOpaque:
    case Kind::kReference:
      return Json(nullptr);
  }
  return Json(nullptr);
}

Result<model::Attribute> Reader::ParseAttribute(std::span<const std::uint8_t> body,
                                                std::uint64_t offset,
                                                std::vector<std::uint64_t>* refs) {
  ByteCursor cur(body, offset);
  model::Attribute a;
  VZ_ASSIGN_OR_RETURN(auto version, cur.U8());
  VZ_ASSIGN_OR_RETURN(auto flags, cur.U8());
  VZ_ASSIGN_OR_RETURN(auto name_size, cur.U16());
  VZ_ASSIGN_OR_RETURN(auto dt_size, cur.U16());
  VZ_ASSIGN_OR_RETURN(auto ds_size, cur.U16());
  if (version == 3) VZ_TRY(cur.Skip(1));
  if (version < 1 || version > 3)
    return Unsupported(fmt::format("attribute message version {}", version));
  auto pad = [&](std::size_t n) -> std::size_t { return version == 1 ? (n + 7u) / 8u * 8u : n; };
  VZ_ASSIGN_OR_RETURN(auto name_bytes, cur.Bytes(pad(name_size)));
  a.name.assign(name_bytes.begin(), name_bytes.end());
  a.name.resize(std::strlen(a.name.c_str()));
  a.name = SanitizeUtf8(std::move(a.name));
  VZ_ASSIGN_OR_RETURN(auto dtc, cur.Sub(pad(dt_size)));
  if (flags & 1) {
    Message m;
    m.type = MessageType::kDatatype;
    m.flags = kMessageShared;
    m.body.assign(dtc.data().begin(), dtc.data().end());
    m.offset = dtc.base_offset();
    VZ_TRY(ResolveShared(m, 0));
    ByteCursor c2(m.body, m.offset);
    VZ_ASSIGN_OR_RETURN(a.dtype, ParseDatatype(c2));
  } else {
    VZ_ASSIGN_OR_RETURN(a.dtype, ParseDatatype(dtc));
  }
  VZ_ASSIGN_OR_RETURN(auto dsc, cur.Sub(pad(ds_size)));
  if (flags & 2) return Unsupported("shared dataspace in attribute");
  VZ_ASSIGN_OR_RETURN(auto space, ParseDataspace(ctx, dsc));
  if (space.null) {
    // No values (netCDF-C writes empty NC_CHAR attributes so): netCDF4-python shows "" for
    // text and an empty array for numbers.
    const bool text = a.dtype.kind == Kind::kFixedString || a.dtype.kind == Kind::kVlenString;
    a.value = text ? Json("") : Json::array();
    return a;
  }
  a.shape = std::move(space.dims);
  VZ_ASSIGN_OR_RETURN(auto n, CheckedProduct(a.shape, "attribute element count"));
  if (n > ctx.limits.max_elements_decoded) return LimitExceeded("attribute has too many elements");
  if (a.dtype.size == 0 && n > 0) {
    return Corrupt(fmt::format("attribute {} has a zero-size datatype", a.name));
  }
  VZ_ASSIGN_OR_RETURN(auto sub, CheckedProduct(a.dtype.subshape, "attribute array type"));
  DType elem = a.dtype;
  elem.subshape.clear();
  if (!a.dtype.subshape.empty() && sub > 0)
    elem.size = static_cast<std::uint32_t>(a.dtype.size / sub);
  VZ_ASSIGN_OR_RETURN(auto total, CheckedMul(n, a.dtype.size, "attribute size"));
  if (total > cur.remaining())
    return Corrupt(
        fmt::format("attribute {} data truncated at {}", a.name, Hex(cur.file_offset())));
  auto data = cur.rest();
  VZ_ASSIGN_OR_RETURN(auto count, CheckedMul(n, sub, "attribute element count"));
  if (count > ctx.limits.max_elements_decoded)
    return LimitExceeded("attribute has too many elements");
  if (count == 1) {  // most attributes: one value, no list
    VZ_ASSIGN_OR_RETURN(a.value, DecodeElement(elem, data.first(elem.size), refs));
    return a;
  }
  std::vector<Json> flat;
  flat.reserve(static_cast<std::size_t>(count));
  for (std::uint64_t i = 0; i < count; ++i) {
    VZ_ASSIGN_OR_RETURN(
        auto v, DecodeElement(
                    elem, data.subspan(static_cast<std::size_t>(i * elem.size), elem.size), refs));
    flat.push_back(std::move(v));
  }
  std::vector<std::uint64_t> shape = a.shape;
  shape.insert(shape.end(), a.dtype.subshape.begin(), a.dtype.subshape.end());
  if (shape.size() == 1) {  // a list: the decoded values as they are
    a.value = Json::array();
    a.value.get_ref<Json::array_t&>() = std::move(flat);
    return a;
  }
  // Nest row-major.
  std::function<Json(std::size_t, std::size_t&)> build = [&](std::size_t axis, std::size_t& pos) {
    Json arr = Json::array();
    for (std::uint64_t i = 0; i < shape[axis]; ++i) {
      if (axis + 1 == shape.size()) {
        arr.push_back(std::move(flat[pos++]));
      } else {
        arr.push_back(build(axis + 1, pos));
      }
    }
    return arr;
  };
  std::size_t pos = 0;
  a.value = shape.empty() ? Json::array() : build(0, pos);
  return a;
}

}  // namespace vz::hdf5
