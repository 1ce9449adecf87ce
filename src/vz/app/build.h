// `vzgen build` and `vzgen append`: many granules in, one combined reference store out.
// Granules are scanned in parallel (each once: metadata, small chunks, loaded variables), turned
// into reference stores and handed to the Combiner in input order; the store is written
// atomically with a JSON run report beside it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vz/app/scan.h"
#include "vz/base/error.h"
#include "vz/combine/combine.h"
#include "vz/refs/store.h"

namespace vz::app {

struct BuildOptions {
  ScanOptions scan;
  combine::CombineOptions combine;  // concat_dim "" = the unlimited dimension, else "time"
  // Variables (names or full paths) decoded and embedded; the concat coordinate always is.
  std::vector<std::string> loadable_vars;
  bool skip_bad = false;      // --on-error skip
  std::string report;         // "" = <output>.report.json
  unsigned jobs = 0;          // granules scanned at once; 0 = a default for local or remote input
  bool progress = false;      // a progress line on standard error
  bool consolidated = false;  // also write .zmetadata
  // --group-dims given: it overrides the dimension naming a store recorded (append).
  bool group_dims_given = false;
  // Called with each granule that scanned, before it is combined (in input order, from one
  // thread): `vzgen shard` records its schema fingerprint.
  std::function<void(const std::string& input, const refs::RefStore& granule)> on_granule;
  // The store format (formats.h): "" = json for build, the existing store's for append.
  std::string format;
};

struct BuildReport {
  std::vector<std::string> used;
  std::vector<std::pair<std::string, std::string>> skipped;  // input, reason
  std::vector<std::string> already_present;                  // append: inputs in the store
  std::vector<std::string> warnings;
  std::uint64_t references = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t requests = 0;  // byte ranges read
  std::uint64_t rounds = 0;    // dependent read calls (each ReadAt / ReadMany is one)
  double seconds = 0;
};

struct CombinedStore {
  refs::RefStore store;
  BuildReport report;
  bool usable = true;  // false: every granule was skipped (--on-error skip), no store
};

// Scans and combines `inputs` (after `existing`, a store being appended to, when given) in
// memory; writes nothing.
Result<CombinedStore> CombineInputs(std::optional<refs::RefStore> existing,
                                    const std::string& label,
                                    const std::vector<std::string>& inputs,
                                    const BuildOptions& options);

// The store's "vzgen" key: how it was made (what append and merge reuse) and its granules.
refs::SortedJson StoreMeta(const BuildOptions& options, const std::string& concat_dim,
                           const std::vector<std::string>& granules);

// The run report (docs/build.md) as JSON.
refs::SortedJson ReportJson(const std::string& command, const std::string& output,
                            std::size_t inputs, const BuildReport& report,
                            const refs::RefStore* store);

// Combines `inputs` into the store at `output`.
Result<BuildReport> Build(const std::vector<std::string>& inputs, const std::string& output,
                          const BuildOptions& options);

// Applies what a store recorded about how it was built (its "vzgen" key) to options the user
// did not give.
void OptionsFromStore(const refs::SortedJson& meta, BuildOptions& options);

// Adds `inputs` to the existing store at `store`, which is replaced atomically; inputs whose
// URL is already in the store are left out. Options the store was built with are reused unless
// given again. The store keeps its format; a different options.format is an error.
Result<BuildReport> Append(const std::string& store, const std::vector<std::string>& inputs,
                           BuildOptions options);

// A CSV table of per-granule coordinates for --new-dim: a header "file,name1,name2,...", then
// one row per granule (its base name or full path), values as integers, numbers or text
// (double quotes allowed around a field). Errors name the file and line.
Result<std::map<std::string, std::vector<std::pair<std::string, refs::SortedJson>>>>
ReadGranuleTable(const std::string& path);

// Inputs given as one text file of URLs (one per line, '#' comments) are expanded.
Result<std::vector<std::string>> ExpandInputs(const std::vector<std::string>& inputs);

}  // namespace vz::app
