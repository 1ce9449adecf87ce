// Combining reference stores (one per granule, or an existing store being appended to) into one
// virtual dataset, the way xarray's open_mfdataset(combine="nested", concat_dim=...) would see
// the originals (docs/build.md):
//   - arrays with the concatenation dimension are concatenated along it: chunk keys re-indexed,
//     in-memory (loaded) arrays joined, parts sorted by the concat coordinate;
//   - arrays without it are taken from the first part after checking that every part agrees;
//   - a new dimension (--new-dim) is an existing one after giving every part a leading axis of
//     length 1 and a coordinate value (index, global attribute, file name pattern, variable);
//   - attributes keep what every part agrees on, except the CF-critical ones, which must agree.
// Every check names the part (granule) and the variable. Memory: the columnar references of all
// parts plus the first part's metadata; per-part metadata is compared and dropped.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "vz/base/error.h"
#include "vz/refs/store.h"

namespace vz::combine {

struct CombineOptions {
  // The dimension to concatenate along (required unless new_dim is set).
  std::string concat_dim;
  // Non-empty: concatenate along this new leading dimension instead.
  std::string new_dim;
  // How the new dimension's coordinate is made: "index", "attr:NAME" (root attribute),
  // "regex:PATTERN" (first capture group, else the whole match, of the file name), "var:NAME"
  // (a scalar variable, which must be held in memory).
  std::string granule_coord = "index";
  // Arrays (names or full paths) taken from the first part without comparing values.
  std::set<std::string> identical_vars;
  // More coordinates along the new dimension, per part (keyed by label, or by its base name):
  // name -> value (a string, an integer or a number), e.g. from catalog metadata. Every part
  // must have the same names.
  std::map<std::string, std::vector<std::pair<std::string, refs::SortedJson>>> extra_coords;
};

// Checks a --granule-coord value; the error says what is accepted.
Status ValidateGranuleCoord(const std::string& spec);

class Combiner {
 public:
  explicit Combiner(CombineOptions options);

  // Adds one part. `label` names it in errors and is what regex: matches (its base name). On
  // error nothing of the part is kept, so the caller may skip it and go on.
  Status Add(refs::RefStore part, const std::string& label);

  std::size_t parts() const { return parts_.size(); }

  // Sorts the parts by the concat coordinate, checks order and chunk alignment, and returns the
  // combined store. The Combiner is spent afterwards.
  Result<refs::RefStore> Finish();

  // After Finish: the parts' labels in the order they were concatenated.
  const std::vector<std::string>& ordered_labels() const { return ordered_labels_; }

 private:
  struct SortKey {
    bool has_value = false;
    bool is_string = false;
    double first = 0, last = 0;  // min and max of the part's values
    std::string first_text, last_text;
  };
  struct Part {
    std::string label;
    std::uint64_t length = 0;  // along the concat dimension
    SortKey key;
  };
  // Per-array combine state (parallel to result_.arrays).
  struct ArrayState {
    int axis = -1;                          // concat axis, -1 when the array does not have it
    std::vector<std::uint32_t> entry_part;  // part of each reference entry
    // In-memory arrays along the axis: each part's piece (raw bytes or strings).
    std::vector<std::vector<std::uint8_t>> raw_pieces;
    std::vector<std::vector<std::optional<std::string>>> string_pieces;
    std::vector<std::uint64_t> piece_length;
  };

  Status ExpandNewDim(refs::RefStore& part, const std::string& label);
  Status CheckAndMerge(refs::RefStore& part, const std::string& label);
  Result<SortKey> KeyOf(const refs::RefStore& part, const std::string& label) const;

  CombineOptions options_;
  std::string dim_;  // the dimension concatenated along
  refs::RefStore result_;
  std::unordered_map<std::string, std::uint32_t> url_ids_;
  std::vector<ArrayState> state_;
  std::vector<Part> parts_;
  std::uint64_t granules_ = 0;
  std::size_t first_global_attributes_ = 0;
  std::vector<std::string> ordered_labels_;  // along dim_, for index coordinates
};

}  // namespace vz::combine
