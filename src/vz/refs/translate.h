// The kerchunk translation rules (docs: KERCHUNK.md 4.2-4.6), as pure functions of the model so
// that each rule is testable on its own: which arrays get keys, HDF5 filters -> numcodecs ids,
// zarr dtype and fill value, hidden attributes, _ARRAY_DIMENSIONS with netCDF-style phony
// dimensions, vlen-utf8 chunk encoding and the inline-value form (UTF-8 text or "base64:").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vz/base/error.h"
#include "vz/model/dataset.h"

namespace vz::refs {

// nlohmann::json keeps object keys sorted, as zarr's json_dumps(sort_keys=True) writes them.
using SortedJson = nlohmann::json;

// HDF5 filter ids the translation knows by name.
inline constexpr std::uint16_t kFilterDeflate = 1;
inline constexpr std::uint16_t kFilterShuffle = 2;
inline constexpr std::uint16_t kFilterFletcher32 = 3;
inline constexpr std::uint16_t kFilterBzip2 = 307;
inline constexpr std::uint16_t kFilterBlosc = 32001;
inline constexpr std::uint16_t kFilterZstd = 32015;

// How an array's stored chunks are expressed for a zarr v2 reader with numcodecs 0.11.
struct CodecPlan {  // NOLINT(bugprone-exception-escape): nlohmann::json members
  // True when no numcodecs codec chain reads the stored chunks (szip, n-bit, scale-offset, HDF5
  // lz4, unknown ids, fletcher32 not last, a chunk that skipped a filter): the array must be
  // decoded by vzgen and inlined raw.
  bool needs_decode = false;
  std::string decode_reason;  // names the filter (or chunk) that forces decoding
  SortedJson filters;         // the "filters" list in pipeline order, or null when empty
  // numcodecs 0.11 has no fletcher32 codec: when fletcher32 is the last filter its 4-byte
  // checksum is cut off every chunk reference (kerchunk does the same) instead.
  std::uint64_t trim = 0;
};
CodecPlan PlanCodecs(const model::Array& array);

// Why the array gets no keys ("" when it does). Dimension-only arrays are skipped separately
// and silently; everything with a reason here is reported as a warning.
std::string SkipReason(const model::Array& array);

// netCDF variables (and netCDF datetimes) get kerchunk's null fill value unless chunks are
// missing (docs/output.md).
bool UsesNetcdfFillRule(const model::Array& array);

// kerchunk/h5netcdf hidden attributes, and any attribute whose value is "DIMENSION_SCALE".
bool IsHiddenAttribute(const model::Attribute& attribute);

// _ARRAY_DIMENSIONS for every array (parallel to dataset.arrays; empty for arrays that get no
// keys). An attached dimension scale is named as netCDF readers name it (its own name when it is
// in the array's group or above it, else its path), or by its path for every scale when
// dataset.group_dims_as_paths (kerchunk's form). Axes without a dimension scale get netCDF-C style
// phony dimensions: one per distinct length within a group, reused by later arrays of that group
// unless the same array already uses it, named phony_dim_<n> with n counted across the file in
// order of first use.
std::vector<std::vector<std::string>> ResolveDimensions(const model::VirtualDataset& dataset);

// numpy's dtype descriptor: "<f4", or for compounds the dtype.descr list with '' padding.
SortedJson ZarrDtype(const model::DType& dtype);

// The HDF5 fill value (bytes in the dtype's byte order; nullopt = the HDF5 default, zeros) as
// zarr's encode_fill_value writes it: numbers, "NaN"/"Infinity"/"-Infinity", base64 for S/V.
SortedJson DecodeFillValue(const model::DType& dtype,
                           const std::optional<std::vector<std::uint8_t>>& bytes);

struct ArrayMetadata {
  std::string zarray;  // compact JSON text (stored as a JSON string in the refs)
  std::string zattrs;
};

// .zarray and .zattrs for an array that gets keys. `dims` comes from ResolveDimensions.
// `netcdf3` selects the netCDF-3 fill rule (missing_value before _FillValue). The text is that
// of TranslateArrayJson written compactly, rendered without building the JSON trees.
ArrayMetadata TranslateArray(const model::Array& array, const std::vector<std::string>& dims,
                             bool netcdf3, const CodecPlan& plan);

// The same as parsed JSON (what reference stores hold).
struct ArrayMetadataJson {  // NOLINT(bugprone-exception-escape): nlohmann::json members
  SortedJson zarray;
  SortedJson zattrs;
};
ArrayMetadataJson TranslateArrayJson(const model::Array& array,
                                     const std::vector<std::string>& dims, bool netcdf3,
                                     const CodecPlan& plan);

// .zattrs of a group: its attributes minus hidden ones, keys sorted (the text is rendered
// directly; the Json form is what reference stores hold).
std::string TranslateGroupAttributes(const model::Group& group);
SortedJson TranslateGroupAttributesJson(const model::Group& group);

// The numcodecs codec of a variable-length array: {"id": "vlen-utf8"} for strings,
// {"id": "vlen-array", "dtype": "<i4"} for sequences (one numpy array per element).
SortedJson VlenCodec(const model::DType& dtype);
// Whether VlenCodec is vlen-array: the values are raw element bytes, not text to keep UTF-8.
bool IsVlenArray(const model::DType& dtype);

// numcodecs VLenUTF8 / VLenArray buffer (the two share it): uint32 LE item count, then per item
// uint32 LE length and the bytes. A null becomes empty; with `utf8`, ill-formed UTF-8 is replaced
// so that Python can decode it (sequences hold their elements' raw bytes and are left as they are).
Result<std::vector<std::uint8_t>> EncodeVlen(const std::vector<std::optional<std::string>>& values,
                                             bool utf8 = true);

// Appends an inline chunk value: the bytes as a JSON string when they are UTF-8 text (and do not
// look like the "base64:" prefix), else "base64:<b64>".
void AppendInlineValue(std::string& out, std::span<const std::uint8_t> bytes);

// "grp/var/1.2" ("var/0" for a 0-d array); `prefix` is the array path without its leading '/'
// plus '/'.
std::string ChunkKey(const std::string& prefix, std::span<const std::uint64_t> coords);

}  // namespace vz::refs
