// What plan, shard, merge and publish share: reading a run's plan back, the names of a shard's
// objects, and a granule's schema fingerprint (plan.h has the protocol).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "vz/app/build.h"
#include "vz/app/run_store.h"
#include "vz/base/error.h"
#include "vz/refs/store.h"

namespace vz::app {

struct PlannedGranule {
  std::string url;
  std::vector<std::pair<std::string, refs::SortedJson>> coords;  // along --new-dim, in order
};

struct LoadedPlan {  // NOLINT(bugprone-exception-escape): nlohmann::json members
  refs::SortedJson plan;
  std::string run_id;
  std::uint64_t shard_size = 0;
  std::uint64_t shards = 0;
  std::vector<PlannedGranule> granules;
  BuildOptions options;
};

// plan.json and manifest.jsonl of `run`, checked against each other. Errors name the object.
Result<LoadedPlan> LoadPlan(const RunLocation& run);

// "shards/00007/"
std::string ShardDir(std::uint64_t index);

// A granule's schema as build compares it (variables; each one's dimensions, dtype, fill value,
// order, shape outside the concat axis; chunks and codecs when stored in chunks): one line per
// variable, and its fingerprint, the SHA-256 of those lines.
struct Schema {
  std::vector<std::pair<std::string, std::string>> variables;  // name, description
  std::string fingerprint;
};
// The metadata SchemaOf needs, kept per granule while a shard combines (the concat dimension is
// known only afterwards when it was not given).
refs::SortedJson SchemaSummary(const refs::RefStore& granule);
Schema SchemaOf(const refs::SortedJson& summary, const std::string& concat_dim);
refs::SortedJson SchemaJson(const Schema& schema);

// How two schemas (SchemaJson) differ, for an error message ("" when they do not).
std::string SchemaDifference(const refs::SortedJson& first, const refs::SortedJson& other);

}  // namespace vz::app
