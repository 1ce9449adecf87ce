// A reference store at the level of its keys: what a kerchunk JSON v1 file holds, with the
// .zarray/.zattrs metadata parsed and the chunk references kept columnar. `vzgen build` combines
// granules in this form (each granule's VirtualDataset is translated once by ToRefStore), and
// `vzgen append` reads an existing store back into it (ReadRefStore), so both go through one
// writer (WriteRefStore).
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "vz/base/error.h"
#include "vz/model/dataset.h"

namespace vz::refs {

using SortedJson = nlohmann::json;

// Columnar chunk references of one array: ~36 bytes an entry for a rank-3 array.
struct RefEntries {
  std::size_t rank = 0;
  std::vector<std::uint32_t> coords;  // chunk grid index, `rank` per entry
  std::vector<std::uint32_t> path_ids;
  std::vector<std::uint64_t> offsets;
  std::vector<std::uint64_t> lengths;
  // Entries whose value is embedded (entry index -> bytes, encoded by the array's codecs).
  std::map<std::size_t, std::vector<std::uint8_t>> inline_data;

  std::size_t size() const { return offsets.size(); }
  std::span<const std::uint32_t> Coords(std::size_t i) const {
    return std::span<const std::uint32_t>(coords).subspan(i * rank, rank);
  }
  void Add(std::span<const std::uint32_t> chunk, std::uint32_t path_id, std::uint64_t offset,
           std::uint64_t length);
  void AddInline(std::span<const std::uint32_t> chunk, std::vector<std::uint8_t> bytes);
  // Puts the entries in chunk-grid (row-major) order, the order a build writes them in.
  void SortByCoords();
};

struct RefArray {      // NOLINT(bugprone-exception-escape): nlohmann::json members
  std::string name;    // "var" or "grp/var"
  SortedJson zarray;   // parsed .zarray
  SortedJson zattrs;   // parsed .zattrs, with _ARRAY_DIMENSIONS
  RefEntries entries;  // chunk references (empty when the array is held in memory)
  // The whole array decoded, C order, in the dtype of .zarray, when it is held in memory
  // (loaded variables, compact data, filters only vzgen decodes). It is written as one inline
  // chunk with chunks = shape and no codecs.
  std::optional<std::vector<std::uint8_t>> raw;
  // Variable-length strings of the whole array (dtype "|O", codec vlen-utf8), in memory.
  std::optional<std::vector<std::optional<std::string>>> strings;

  bool InMemory() const { return raw.has_value() || strings.has_value(); }
  std::vector<std::uint64_t> Shape() const;
  std::vector<std::uint64_t> Chunks() const;
  std::vector<std::string> Dims() const;  // _ARRAY_DIMENSIONS (empty when absent)
};

struct RefGroup {
  std::string name;  // "" for the root, "grp", "grp/sub"
  SortedJson zattrs;
};

struct RefStore {                 // NOLINT(bugprone-exception-escape): nlohmann::json members
  std::vector<std::string> urls;  // path table: RefEntries::path_ids index into it
  // Per URL, when known (parallel to urls, or empty): the ETag as the server sent it (quotes
  // kept) and Last-Modified in seconds since the epoch (0 = unknown). Formats that can hold
  // them (Icechunk) let readers refuse chunks of a granule changed since; JSON does not.
  std::vector<std::string> checksums;
  std::vector<std::int64_t> last_modified;
  std::vector<RefGroup> groups;  // the root first
  std::vector<RefArray> arrays;
  // How the store was made (written as the top-level "vzgen" key, which readers ignore), so
  // that `vzgen append` combines new granules the same way. Null when absent.
  SortedJson meta;
  // The store had ".zmetadata" when it was read (append keeps it consolidated).
  bool consolidated = false;

  RefArray* FindArray(const std::string& name);
  const RefArray* FindArray(const std::string& name) const;
  std::uint32_t UrlId(const std::string& url);  // adds the URL when new
};

// Translates a parsed (and MaterializeInline'd) dataset by the kerchunk output contract.
// Compact and decoded arrays become in-memory arrays; references point at dataset.paths.
Result<RefStore> ToRefStore(const model::VirtualDataset& dataset);

struct WriteOptions {
  // Also write ".zmetadata" (zarr's consolidated metadata) so that readers may open the store
  // with consolidated=True and read all metadata in one key.
  bool consolidated = false;
};

// Writes the store as kerchunk JSON v1, streaming.
Status WriteRefStore(const RefStore& store, std::ostream& out, const WriteOptions& options = {});

// Translates and writes a dataset: the same bytes as WriteRefStore(ToRefStore(dataset)), with
// .zarray/.zattrs rendered straight from the model instead of through JSON trees (which cost a
// scan more than reading the file). The whole dataset is translated before anything is written,
// so a translation error leaves `out` untouched.
Status WriteTranslated(const model::VirtualDataset& dataset, std::ostream& out);

// Reads kerchunk JSON v1 written by vzgen, kerchunk or VirtualiZarr (tolerating ujson's "\/"
// escapes and bare NaN/Infinity). Inline chunks of arrays without codecs whose single chunk
// covers the whole array are read into `raw`; vlen-utf8 ones into `strings`. `label` names the
// file in errors.
Result<RefStore> ReadRefStore(std::string_view text, const std::string& label);

// An array stored whole and uncompressed in one inline chunk is held in memory (raw bytes, or
// strings for vlen-utf8/vlen-array), as a store read back from JSON holds it; anything else is
// left as it is. `label` names the store in errors.
Status HoldWholeInlineInMemory(RefArray& a, const std::string& label);

// JSON text parsed with bare NaN, Infinity and -Infinity accepted (as Python's json does); they
// become the strings "NaN", "Infinity" and "-Infinity", as vzgen writes them.
Result<SortedJson> ParseLenientJson(std::string_view text);

}  // namespace vz::refs
