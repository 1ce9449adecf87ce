// The format-neutral result of parsing one file: groups and arrays with everything needed to
// write references (dims, shape, dtype, chunk shape, filter pipeline, fill value, attributes)
// and a columnar chunk manifest. Readers (hdf5, netcdf3, dmrpp) fill it faithfully; refs/
// applies the kerchunk output contract (hidden attributes, fill-value rules, codec ids).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vz::model {

using Json = nlohmann::ordered_json;

struct Field;

// A numpy-compatible element type.
struct DType {
  enum class Kind : std::uint8_t {
    kBool,          // numpy 'b'  (HDF5 enum FALSE/TRUE of int8, as h5py maps it)
    kInt,           // 'i'
    kUInt,          // 'u'
    kFloat,         // 'f'
    kComplex,       // 'c'
    kFixedString,   // 'S' fixed-length bytes, size = length
    kVlenString,    // 'O' variable-length string (HDF5 vlen string; netCDF string)
    kVlenSequence,  // 'O' variable-length sequence of a base type (fields[0].type is the base)
    kCompound,      // 'V' with fields
    kOpaque,        // 'V' raw bytes
    kReference,     // 'O' object/region reference
  };
  Kind kind = Kind::kUInt;
  char byte_order = '|';      // '<', '>' or '|' (not applicable)
  std::uint32_t size = 1;     // bytes per element as stored in the file (vlen: heap id size)
  std::vector<Field> fields;  // compound members (and the base of a vlen sequence)
  std::vector<std::uint64_t> subshape;  // non-empty for an HDF5 array type (size includes it)
  // Enum members (value -> name) when the HDF5 type was an enum; kind/size are its base.
  std::vector<std::pair<std::int64_t, std::string>> enum_members;

  // numpy dtype.str: "<f4", ">i2", "|u1", "|S10", "|O", "|V12".
  std::string NumpyStr() const;
  bool IsNumeric() const {
    return kind == Kind::kBool || kind == Kind::kInt || kind == Kind::kUInt ||
           kind == Kind::kFloat || kind == Kind::kComplex;
  }
  bool IsVariableLength() const { return kind == Kind::kVlenString || kind == Kind::kVlenSequence; }
};

struct Field {
  std::string name;
  std::uint64_t offset = 0;
  DType type;
};

struct Attribute {  // NOLINT(bugprone-exception-escape): nlohmann::json member
  std::string name;
  // Decoded value as numpy/h5py would give it and kerchunk would JSON-encode it: a scalar for
  // one element, a list otherwise; bytes decoded to strings; NaN/Inf kept as doubles.
  Json value;
  DType dtype;                       // the attribute's element type in the file
  std::vector<std::uint64_t> shape;  // empty for scalar
};

// One step of a filter pipeline, exactly as the file describes it (HDF5 filter ids: 1 deflate,
// 2 shuffle, 3 fletcher32, 4 szip, 5 nbit, 6 scaleoffset, 307 bzip2, 32001 blosc, 32015 zstd,
// 32004 lz4, ...). Mapping to numcodecs happens in refs/.
struct Filter {
  std::uint16_t id = 0;
  std::string name;
  std::uint16_t flags = 0;  // bit 0: optional
  std::vector<std::uint32_t> client_data;
};

enum class Layout : std::uint8_t { kCompact, kContiguous, kChunked, kVirtual };

// Columnar chunk references of one array: ~20 bytes a chunk, not a dict of strings.
struct ChunkManifest {
  std::size_t rank = 0;                     // entries per chunk in `coords`
  std::vector<std::uint64_t> coords;        // chunk grid indices, rank per chunk, row-major
  std::vector<std::uint64_t> offsets;       // byte offset in the source
  std::vector<std::uint64_t> lengths;       // stored (compressed) size in bytes
  std::vector<std::uint32_t> filter_masks;  // empty when every mask is 0; else one per chunk
  std::vector<std::uint32_t> path_ids;      // empty when every chunk is in path 0
  // Chunks whose bytes are embedded in the references instead of pointed at (chunk index ->
  // bytes, still encoded by the array's filters unless the writer was told otherwise).
  std::map<std::size_t, std::vector<std::uint8_t>> inline_data;

  std::size_t size() const { return offsets.size(); }
  void Add(std::span<const std::uint64_t> chunk_coords, std::uint64_t offset, std::uint64_t length,
           std::uint32_t filter_mask = 0);
};

struct Array {
  std::string path;  // absolute HDF5 path, "/grp/var"; for netCDF-3 "/var"
  DType dtype;
  std::vector<std::uint64_t> shape;
  std::vector<std::uint64_t> max_shape;    // kUnlimited for unlimited axes
  std::vector<std::uint64_t> chunk_shape;  // == shape for contiguous/compact
  Layout layout = Layout::kContiguous;
  // How the chunks are indexed in the file ("v1 B-tree", "fixed array", ...), for inspect.
  std::string chunk_index;
  std::vector<Filter> filters;  // pipeline order (the order applied on write)
  // Fill value bytes in the dtype's byte order; nullopt when the file defines none.
  std::optional<std::vector<std::uint8_t>> fill_value;
  std::vector<Attribute> attributes;
  // One entry per axis: the dimension's name (HDF5 path of the attached dimension scale without
  // the leading '/', e.g. "lat" or "grp/x"), or "" when no scale is attached.
  std::vector<std::string> dims;
  bool is_dimension_scale = false;
  // A netCDF-4 "dimension without a variable": a scale with no data (kerchunk skips these).
  bool is_dimension_only = false;
  ChunkManifest manifest;
  // Compact layout: the raw bytes stored in the object header.
  std::vector<std::uint8_t> compact_data;
  // Variable-length strings and sequences: every element decoded (row-major; a sequence as its
  // elements' raw bytes), nullopt for a null pointer.
  std::optional<std::vector<std::optional<std::string>>> vlen_values;
  // A variable of a netCDF-4 file: netCDF's fill rules apply even without _Netcdf4 attributes.
  bool netcdf_variable = false;
  // netCDF-3 record variables: byte stride between records (0 otherwise).
  std::uint64_t record_stride = 0;
  // Non-empty when the array cannot be referenced (external raw storage, virtual layout, ...):
  // the reason, to be reported to the user. Such an array is never silently dropped.
  std::string unsupported;

  static constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();
  std::string Name() const;  // last path component
};

struct Group {
  std::string path;  // "/" for the root, "/grp"
  std::vector<Attribute> attributes;
};

struct VirtualDataset {
  std::string format;  // "hdf5", "netcdf4", "netcdf3-classic", "netcdf3-64bit", "netcdf3-cdf5"
  std::vector<std::string> paths;  // path table; ChunkManifest::path_ids index into it
  std::vector<Group> groups;       // the root first
  std::vector<Array> arrays;
  std::vector<std::string> warnings;  // things a user should hear about (skipped links, ...)
  // How _ARRAY_DIMENSIONS names a dimension scale in a group: false = as netCDF readers show it
  // ("time", when the scale is in the array's group or one above it), true = its path
  // ("grp/time", kerchunk's form; --group-dims kerchunk).
  bool group_dims_as_paths = false;
};

}  // namespace vz::model
