// netCDF classic format (the netCDF "File Format Specification", CDF-1, CDF-2 and CDF-5):
//
//   header  = magic numrecs dim_list gatt_list var_list       (all integers big-endian)
//   magic   = 'C' 'D' 'F' version (1 classic, 2 64-bit offset, 5 64-bit data)
//   numrecs = count of records, or all ones while a writer streams (then: from the file size)
//   list    = tag count items | 0 0   (tags 10 dimensions, 12 attributes, 11 variables)
//   name    = count bytes, padded to 4
//   dim     = name length            (length 0: the record dimension)
//   attr    = name type count values (values padded to 4)
//   var     = name ndims dimids... attr_list type vsize begin
// Counts, lengths, dim ids and vsize are 4 bytes, 8 in CDF-5; begin is 4 bytes in CDF-1 and
// 8 bytes otherwise. Fixed-size variables are stored contiguously at `begin`. Record variables
// (first dimension the record dimension) are interleaved: record r of a variable is at
// begin + r * recsize, where recsize is the sum of all record variables' sizes per record, each
// padded to 4 bytes, except that a lone record variable is not padded.
#include "vz/netcdf3/reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "vz/base/byte_cursor.h"
#include "vz/base/checked.h"

namespace vz::netcdf3 {
namespace {

using model::DType;
using Kind = model::DType::Kind;

constexpr std::uint32_t kTagDimension = 10;
constexpr std::uint32_t kTagVariable = 11;
constexpr std::uint32_t kTagAttribute = 12;

// netCDF external types.
enum NcType : std::uint32_t {
  kByte = 1,
  kChar = 2,
  kShort = 3,
  kInt = 4,
  kFloat = 5,
  kDouble = 6,
  kUByte = 7,
  kUShort = 8,
  kUInt = 9,
  kInt64 = 10,
  kUInt64 = 11,
};

struct Dim {
  std::string name;
  std::uint64_t length = 0;
};

struct Att {
  std::string name;
  std::uint32_t type = 0;
  std::uint64_t count = 0;
  std::vector<std::uint8_t> raw;  // count values, big-endian
};

struct Var {
  std::string name;
  std::vector<std::uint64_t> dim_ids;
  std::vector<Att> atts;
  std::uint32_t type = 0;
  std::uint64_t begin = 0;
};

struct Header {
  int version = 1;
  std::uint64_t numrecs = 0;
  bool streaming = false;
  std::vector<Dim> dims;
  std::vector<Att> global_atts;
  std::vector<Var> vars;
};

std::uint32_t TypeSize(std::uint32_t type) {
  switch (type) {
    case kByte:
    case kChar:
    case kUByte:
      return 1;
    case kShort:
    case kUShort:
      return 2;
    case kInt:
    case kFloat:
    case kUInt:
      return 4;
    case kDouble:
    case kInt64:
    case kUInt64:
      return 8;
    default:
      return 0;
  }
}

DType TypeToDType(std::uint32_t type) {
  DType t;
  t.size = TypeSize(type);
  t.byte_order = t.size > 1 ? '>' : '|';
  switch (type) {
    case kByte:
    case kShort:
    case kInt:
    case kInt64:
      t.kind = Kind::kInt;
      break;
    case kUByte:
    case kUShort:
    case kUInt:
    case kUInt64:
      t.kind = Kind::kUInt;
      break;
    case kFloat:
    case kDouble:
      t.kind = Kind::kFloat;
      break;
    default:  // kChar
      t.kind = Kind::kFixedString;
      break;
  }
  return t;
}

std::uint64_t Pad4(std::uint64_t n) { return (n + 3) / 4 * 4; }

// Parses the header from a prefix of the file. When a read runs past the prefix and the prefix
// is not the whole file, short_buffer() tells the caller to retry with more bytes.
class HeaderParser {
 public:
  HeaderParser(std::span<const std::uint8_t> buf, std::uint64_t file_size, std::uint64_t cap,
               const Limits& limits)
      : cur_(buf),
        whole_(buf.size() >= file_size),
        whole_cap_(cap >= file_size),
        cap_(cap),
        limits_(limits) {}

  bool short_buffer() const { return short_; }

  Result<Header> Parse() {
    Header h;
    VZ_TRY(cur_.ExpectMagic("CDF", "netCDF-3 header"));
    VZ_ASSIGN_OR_RETURN(const std::uint8_t version, U8());
    if (version != 1 && version != 2 && version != 5) {
      return Corrupt(fmt::format("netCDF-3 header: unknown version byte {}", version));
    }
    h.version = version;
    cdf5_ = version == 5;
    VZ_ASSIGN_OR_RETURN(h.numrecs, Count());
    const std::uint64_t streaming = cdf5_ ? ~std::uint64_t{0} : 0xffffffffu;
    h.streaming = h.numrecs == streaming;

    // Dimensions.
    VZ_ASSIGN_OR_RETURN(const std::uint64_t ndims, ListHeader(kTagDimension, "dimension", 8));
    for (std::uint64_t i = 0; i < ndims; ++i) {
      Dim d;
      VZ_ASSIGN_OR_RETURN(d.name, Name("dimension name"));
      VZ_ASSIGN_OR_RETURN(d.length, Count());
      h.dims.push_back(std::move(d));
    }
    VZ_ASSIGN_OR_RETURN(h.global_atts, AttList());

    // Variables.
    VZ_ASSIGN_OR_RETURN(const std::uint64_t nvars, ListHeader(kTagVariable, "variable", 16));
    if (nvars > limits_.max_objects) {
      return LimitExceeded(fmt::format("netCDF-3 header: {} variables exceed the limit of {}",
                                       nvars, limits_.max_objects));
    }
    for (std::uint64_t i = 0; i < nvars; ++i) {
      Var v;
      const std::uint64_t at = cur_.file_offset();
      VZ_ASSIGN_OR_RETURN(v.name, Name("variable name"));
      VZ_ASSIGN_OR_RETURN(const std::uint64_t rank, Count());
      if (rank > limits_.max_rank) {
        return LimitExceeded(
            fmt::format("netCDF-3 variable '{}' at {}: rank {} exceeds the limit of {}", v.name,
                        Hex(at), rank, limits_.max_rank));
      }
      for (std::uint64_t k = 0; k < rank; ++k) {
        VZ_ASSIGN_OR_RETURN(const std::uint64_t id, Count());
        if (id >= h.dims.size()) {
          return Corrupt(fmt::format("netCDF-3 variable '{}' at {}: dimension id {} of {}", v.name,
                                     Hex(at), id, h.dims.size()));
        }
        v.dim_ids.push_back(id);
      }
      VZ_ASSIGN_OR_RETURN(v.atts, AttList());
      VZ_ASSIGN_OR_RETURN(v.type, U32());
      VZ_TRY(CheckType(v.type));
      VZ_ASSIGN_OR_RETURN(const std::uint64_t vsize, Count());
      (void)vsize;  // recomputed: CDF-1/2 writers store 2^32-1 for large variables
      if (version == 1) {
        VZ_ASSIGN_OR_RETURN(const std::uint32_t begin, U32());
        v.begin = begin;
      } else {
        VZ_ASSIGN_OR_RETURN(v.begin, U64());
      }
      h.vars.push_back(std::move(v));
    }
    return h;
  }

 private:
  Status Need(std::size_t n) {
    if (n > cur_.remaining()) {
      short_ = !whole_;
      return cur_.Truncated(n);
    }
    return Ok();
  }
  Result<std::uint8_t> U8() {
    VZ_TRY(Need(1));
    return cur_.U8();
  }
  Result<std::uint32_t> U32() {
    VZ_TRY(Need(4));
    return cur_.U32BE();
  }
  Result<std::uint64_t> U64() {
    VZ_TRY(Need(8));
    return cur_.U64BE();
  }
  // A count, length or dimension id: 4 bytes, 8 in CDF-5.
  Result<std::uint64_t> Count() {
    if (cdf5_) return U64();
    VZ_ASSIGN_OR_RETURN(const std::uint32_t v, U32());
    return std::uint64_t{v};
  }
  // What a header that cannot fit in cap_ bytes is: corrupt when cap_ is the file size, over
  // the limit when cap_ is Limits::max_metadata_block.
  Error DoesNotFit(std::string message) const {
    return whole_cap_ ? Corrupt(std::move(message))
                      : LimitExceeded(message + " (max_metadata_block)");
  }
  Result<std::span<const std::uint8_t>> PaddedBytes(std::uint64_t n, const char* what) {
    if (n > cap_ || Pad4(n) > cap_) {
      return DoesNotFit(fmt::format("netCDF-3 header: {} of {} bytes at {} cannot fit in {} bytes",
                                    what, n, Hex(cur_.file_offset()), cap_));
    }
    const auto len = static_cast<std::size_t>(n);
    VZ_TRY(Need(static_cast<std::size_t>(Pad4(n))));
    VZ_ASSIGN_OR_RETURN(auto bytes, cur_.Bytes(len));
    VZ_TRY(cur_.Skip(static_cast<std::size_t>(Pad4(n) - n)));
    return bytes;
  }
  // Names end at their first NUL: netCDF-C renames in place by overwriting the old name, so
  // "plugh\0\0" with a stored length of 7 is the name "plugh" (as every C reader sees it).
  Result<std::string> Name(const char* what) {
    VZ_ASSIGN_OR_RETURN(const std::uint64_t n, Count());
    VZ_ASSIGN_OR_RETURN(auto bytes, PaddedBytes(n, what));
    std::string name(bytes.begin(), bytes.end());
    name.resize(std::strlen(name.c_str()));
    return name;
  }
  Status CheckType(std::uint32_t type) {
    if (TypeSize(type) == 0) {
      return Corrupt(
          fmt::format("netCDF-3 header: unknown type {} at {}", type, Hex(cur_.file_offset() - 4)));
    }
    if (type > kDouble && !cdf5_) {
      return Corrupt(fmt::format("netCDF-3 header: type {} at {} exists only in CDF-5 files", type,
                                 Hex(cur_.file_offset() - 4)));
    }
    return Ok();
  }
  // Reads "tag count" or "ABSENT"; every item needs at least min_item bytes, so a count that
  // cannot fit the header is rejected before anything is allocated.
  Result<std::uint64_t> ListHeader(std::uint32_t tag, const char* what, std::uint64_t min_item) {
    const std::uint64_t at = cur_.file_offset();
    VZ_ASSIGN_OR_RETURN(const std::uint32_t t, U32());
    VZ_ASSIGN_OR_RETURN(const std::uint64_t n, Count());
    if (t == 0 && n == 0) return std::uint64_t{0};
    if (t != tag) {
      return Corrupt(fmt::format("netCDF-3 header: expected the {} list tag {} at {}, found {}",
                                 what, tag, Hex(at), t));
    }
    if (n > cap_ / min_item) {
      return DoesNotFit(fmt::format("netCDF-3 header: {} {}s at {} cannot fit in {} bytes", n, what,
                                    Hex(at), cap_));
    }
    return n;
  }
  Result<std::vector<Att>> AttList() {
    VZ_ASSIGN_OR_RETURN(const std::uint64_t n, ListHeader(kTagAttribute, "attribute", 12));
    if (n > limits_.max_attributes) {
      return LimitExceeded(
          fmt::format("netCDF-3 header: {} attributes exceed the limit of {} at {}", n,
                      limits_.max_attributes, Hex(cur_.file_offset())));
    }
    std::vector<Att> atts;
    for (std::uint64_t i = 0; i < n; ++i) {
      Att a;
      VZ_ASSIGN_OR_RETURN(a.name, Name("attribute name"));
      VZ_ASSIGN_OR_RETURN(a.type, U32());
      VZ_TRY(CheckType(a.type));
      VZ_ASSIGN_OR_RETURN(a.count, Count());
      if (a.count > cap_) {
        return DoesNotFit(fmt::format("netCDF-3 attribute '{}': {} values cannot fit in {} bytes",
                                      a.name, a.count, cap_));
      }
      if (a.count > limits_.max_elements_decoded) {
        return LimitExceeded(
            fmt::format("netCDF-3 attribute '{}': {} values exceed the limit of {}", a.name,
                        a.count, limits_.max_elements_decoded));
      }
      VZ_ASSIGN_OR_RETURN(const std::uint64_t bytes,
                          CheckedMul(a.count, TypeSize(a.type), "netCDF-3 attribute size"));
      VZ_ASSIGN_OR_RETURN(auto values, PaddedBytes(bytes, "attribute value"));
      a.raw.assign(values.begin(), values.end());
      atts.push_back(std::move(a));
    }
    return atts;
  }

  ByteCursor cur_;
  bool whole_;
  bool whole_cap_;
  std::uint64_t cap_;
  const Limits& limits_;
  bool cdf5_ = false;
  bool short_ = false;
};

model::Json ElementToJson(std::uint32_t type, const std::uint8_t* p) {
  switch (type) {
    case kByte:
      return static_cast<std::int8_t>(p[0]);
    case kUByte:
      return p[0];
    case kShort:
      return static_cast<std::int16_t>(UnsafeLoadU16BE(p));
    case kUShort:
      return UnsafeLoadU16BE(p);
    case kInt:
      return static_cast<std::int32_t>(UnsafeLoadU32BE(p));
    case kUInt:
      return UnsafeLoadU32BE(p);
    case kInt64:
      return static_cast<std::int64_t>(UnsafeLoadU64BE(p));
    case kUInt64:
      return UnsafeLoadU64BE(p);
    case kFloat: {
      const std::uint32_t bits = UnsafeLoadU32BE(p);
      float f = 0;
      std::memcpy(&f, &bits, 4);
      return static_cast<double>(f);
    }
    default: {  // kDouble
      const std::uint64_t bits = UnsafeLoadU64BE(p);
      double d = 0;
      std::memcpy(&d, &bits, 8);
      return d;
    }
  }
}

model::Attribute ToAttribute(const Att& a) {
  model::Attribute out;
  out.name = a.name;
  out.dtype = TypeToDType(a.type);
  if (a.type == kChar) {
    // Text; writers in C often count the terminating NUL, which readers drop.
    std::string text(a.raw.begin(), a.raw.end());
    while (!text.empty() && text.back() == '\0') text.pop_back();
    out.dtype.size = static_cast<std::uint32_t>(std::max<std::size_t>(a.raw.size(), 1));
    out.value = std::move(text);
    return out;
  }
  const std::uint32_t size = TypeSize(a.type);
  if (a.count == 1) {
    out.value = ElementToJson(a.type, a.raw.data());
    return out;
  }
  out.shape = {a.count};
  out.value = model::Json::array();
  for (std::size_t i = 0; i < a.raw.size(); i += size) {
    out.value.push_back(ElementToJson(a.type, a.raw.data() + i));
  }
  return out;
}

// The fill value as bytes of the variable's type (big-endian). netCDF requires _FillValue to
// have the variable's type, but other writers (scipy, old tools) store e.g. a double NaN on a
// float variable; such a value is converted when the variable's type holds it exactly, as
// xarray's CF decoding would.
std::optional<std::vector<std::uint8_t>> FillBytes(const Att& a, std::uint32_t var_type) {
  const std::uint32_t size = TypeSize(var_type);
  if (a.count < 1) return std::nullopt;
  if (a.type == var_type) return std::vector<std::uint8_t>(a.raw.begin(), a.raw.begin() + size);
  if (a.type == kChar || var_type == kChar) return std::nullopt;
  const model::Json value = ElementToJson(a.type, a.raw.data());
  std::uint64_t bits = 0;
  if (var_type == kFloat || var_type == kDouble) {
    const double d = value.get<double>();
    if (var_type == kFloat) {
      const auto f = static_cast<float>(d);
      if (static_cast<double>(f) != d && !std::isnan(d)) return std::nullopt;
      std::uint32_t b32 = 0;
      std::memcpy(&b32, &f, 4);
      bits = b32;
    } else {
      std::memcpy(&bits, &d, 8);
    }
  } else {
    // An integer variable: the value must be an integer in range.
    const bool is_signed =
        var_type == kByte || var_type == kShort || var_type == kInt || var_type == kInt64;
    const int width = static_cast<int>(size * 8);
    if (value.is_number_float()) {
      const double d = value.get<double>();
      if (!(d == std::floor(d)) || std::fabs(d) > 9.007199254740992e15) return std::nullopt;
      bits = static_cast<std::uint64_t>(static_cast<std::int64_t>(d));
      if (d < 0 && !is_signed) return std::nullopt;
    } else if (value.is_number_unsigned()) {
      bits = value.get<std::uint64_t>();
    } else {
      const std::int64_t i = value.get<std::int64_t>();
      if (i < 0 && !is_signed) return std::nullopt;
      bits = static_cast<std::uint64_t>(i);
    }
    if (width < 64) {
      const auto i = static_cast<std::int64_t>(bits);
      const std::int64_t lo = is_signed ? -(std::int64_t{1} << (width - 1)) : 0;
      const std::int64_t hi =
          is_signed ? (std::int64_t{1} << (width - 1)) - 1 : (std::int64_t{1} << width) - 1;
      if (i < lo || i > hi) return std::nullopt;
    } else if (is_signed && value.is_number_unsigned() && bits > (~std::uint64_t{0} >> 1)) {
      return std::nullopt;
    }
  }
  std::vector<std::uint8_t> out(size);
  for (std::uint32_t k = 0; k < size; ++k) {
    out[size - 1 - k] = static_cast<std::uint8_t>(bits >> (8 * k));
  }
  return out;
}

Result<model::VirtualDataset> Build(const Header& h, std::uint64_t file_size,
                                    const Limits& limits) {
  model::VirtualDataset ds;
  ds.format = h.version == 1   ? "netcdf3-classic"
              : h.version == 2 ? "netcdf3-64bit"
                               : "netcdf3-cdf5";
  model::Group root;
  root.path = "/";
  for (const Att& a : h.global_atts) root.attributes.push_back(ToAttribute(a));
  ds.groups.push_back(std::move(root));

  std::optional<std::uint64_t> record_dim;
  for (std::size_t i = 0; i < h.dims.size(); ++i) {
    if (h.dims[i].length != 0) continue;
    if (record_dim) {
      return Corrupt(fmt::format("netCDF-3 header: dimensions '{}' and '{}' are both unlimited",
                                 h.dims[*record_dim].name, h.dims[i].name));
    }
    record_dim = i;
  }

  // Per-record size of each variable (elements along the other dimensions), and recsize.
  std::vector<std::uint64_t> record_bytes(h.vars.size(), 0);
  std::uint64_t recsize = 0;
  std::size_t record_vars = 0;
  std::uint64_t first_record_begin = ~std::uint64_t{0};
  for (std::size_t i = 0; i < h.vars.size(); ++i) {
    const Var& v = h.vars[i];
    const bool is_record = record_dim && !v.dim_ids.empty() && v.dim_ids[0] == *record_dim;
    std::uint64_t bytes = TypeSize(v.type);
    for (std::size_t k = is_record ? 1 : 0; k < v.dim_ids.size(); ++k) {
      if (record_dim && v.dim_ids[k] == *record_dim) {
        return Corrupt(fmt::format(
            "netCDF-3 variable '{}': the record dimension must be its first dimension", v.name));
      }
      VZ_ASSIGN_OR_RETURN(bytes,
                          CheckedMul(bytes, h.dims[v.dim_ids[k]].length, "netCDF-3 variable size"));
    }
    record_bytes[i] = bytes;
    if (is_record) {
      ++record_vars;
      VZ_ASSIGN_OR_RETURN(recsize, CheckedAdd(recsize, Pad4(bytes), "netCDF-3 record size"));
      first_record_begin = std::min(first_record_begin, v.begin);
    }
  }
  if (record_vars == 1) {  // a lone record variable is not padded
    for (std::size_t i = 0; i < h.vars.size(); ++i) {
      const Var& v = h.vars[i];
      if (record_dim && !v.dim_ids.empty() && v.dim_ids[0] == *record_dim) {
        recsize = record_bytes[i];
      }
    }
  }

  std::uint64_t numrecs = h.numrecs;
  if (h.streaming) {
    numrecs = (record_vars > 0 && recsize > 0 && file_size > first_record_begin)
                  ? (file_size - first_record_begin) / recsize
                  : 0;
  }

  for (std::size_t i = 0; i < h.vars.size(); ++i) {
    const Var& v = h.vars[i];
    model::Array arr;
    arr.path = "/" + v.name;
    arr.dtype = TypeToDType(v.type);
    const bool is_record = record_dim && !v.dim_ids.empty() && v.dim_ids[0] == *record_dim;
    for (const std::uint64_t id : v.dim_ids) {
      const Dim& d = h.dims[id];
      const bool unlimited = record_dim && id == *record_dim;
      arr.dims.push_back(d.name);
      arr.shape.push_back(unlimited ? numrecs : d.length);
      arr.max_shape.push_back(unlimited ? model::Array::kUnlimited : d.length);
    }
    for (const Att& a : v.atts) {
      arr.attributes.push_back(ToAttribute(a));
      if (a.name == "_FillValue") {
        auto fill = FillBytes(a, v.type);
        if (fill) {
          arr.fill_value = std::move(*fill);
        } else {
          ds.warnings.push_back(fmt::format(
              "{}: _FillValue (type {}, {} values) cannot be represented in the variable's type "
              "{}; ignored",
              arr.path, a.type, a.count, v.type));
        }
      }
    }
    arr.manifest.rank = v.dim_ids.size();
    const std::uint64_t bytes = record_bytes[i];
    if (!is_record) {
      arr.layout = model::Layout::kContiguous;
      arr.chunk_index = "contiguous";
      arr.chunk_shape = arr.shape;
      if (bytes > 0) {
        const std::vector<std::uint64_t> zeros(arr.manifest.rank, 0);
        arr.manifest.Add(zeros, v.begin, bytes);
        VZ_ASSIGN_OR_RETURN(const std::uint64_t end,
                            CheckedAdd(v.begin, bytes, "netCDF-3 variable end"));
        // A truncated file: references past its end would fail in every reader (the HDF5
        // reader refuses the same).
        if (end > file_size) {
          return Corrupt(fmt::format(
              "netCDF-3 variable '{}': data at {:#x} ends at byte {:#x}, past the end of the "
              "file ({} bytes); the file is truncated",
              v.name, v.begin, end, file_size));
        }
      }
    } else {
      arr.layout = model::Layout::kChunked;
      arr.chunk_index = "netCDF-3 records";
      arr.chunk_shape = arr.shape;
      arr.chunk_shape[0] = 1;
      arr.record_stride = recsize;
      if (bytes > 0 && numrecs > 0) {
        VZ_ASSIGN_OR_RETURN(const std::uint64_t last_start,
                            CheckedMul(numrecs - 1, recsize, "netCDF-3 record offset"));
        VZ_ASSIGN_OR_RETURN(const std::uint64_t last,
                            CheckedAdd(v.begin, last_start, "netCDF-3 record offset"));
        if (last >= file_size) {
          return Corrupt(
              fmt::format("netCDF-3 variable '{}': record {} would start at byte {:#x}, past the "
                          "end of the file "
                          "({} bytes); numrecs {} is wrong",
                          v.name, numrecs - 1, last, file_size, numrecs));
        }
        if (numrecs > limits.max_chunks_per_array) {
          return LimitExceeded(fmt::format(
              "netCDF-3 variable '{}': {} records exceed the limit of {} chunks per array", v.name,
              numrecs, limits.max_chunks_per_array));
        }
        if (last + bytes > file_size) {
          return Corrupt(fmt::format(
              "netCDF-3 variable '{}': record {} at {:#x} ends past the end of the file ({} "
              "bytes); the file is truncated",
              v.name, numrecs - 1, last, file_size));
        }
        std::vector<std::uint64_t> coords(arr.manifest.rank, 0);
        arr.manifest.offsets.reserve(static_cast<std::size_t>(numrecs));
        for (std::uint64_t r = 0; r < numrecs; ++r) {
          coords[0] = r;
          arr.manifest.Add(coords, v.begin + r * recsize, bytes);
        }
      }
    }
    ds.arrays.push_back(std::move(arr));
  }
  return ds;
}

}  // namespace

bool LooksLikeNetcdf3(std::span<const std::uint8_t> head) {
  return head.size() >= 4 && head[0] == 'C' && head[1] == 'D' && head[2] == 'F' &&
         (head[3] == 1 || head[3] == 2 || head[3] == 5);
}

Result<model::VirtualDataset> Read(io::ByteSource& source, const Limits& limits) {
  VZ_ASSIGN_OR_RETURN(const io::SourceInfo info, source.Stat());
  const std::uint64_t cap = std::min(info.size, limits.max_metadata_block);
  std::uint64_t want = std::min<std::uint64_t>(cap, std::uint64_t{64} << 10);
  while (true) {
    VZ_ASSIGN_OR_RETURN(const io::Bytes head, source.ReadAt(0, want));
    HeaderParser parser(head, info.size, cap, limits);
    auto header = parser.Parse();
    if (header.ok()) {
      return Build(*header, info.size, limits).Annotate("in " + source.url());
    }
    if (parser.short_buffer() && want < cap) {
      want = std::min(cap, want * 4);
      continue;
    }
    if (parser.short_buffer()) {
      return LimitExceeded(fmt::format("netCDF-3 header is larger than the limit of {} bytes "
                                       "(max_metadata_block)",
                                       limits.max_metadata_block))
          .Annotate("in " + source.url());
    }
    return std::move(header).error().Annotate("in " + source.url());
  }
}

}  // namespace vz::netcdf3
