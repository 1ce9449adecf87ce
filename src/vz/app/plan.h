// A collection build cut in four steps that an existing engine runs (AWS Batch array jobs,
// Kubernetes Indexed Jobs; docs/job.md):
//   plan     fixes the granules and their total order, splits them into shards, and writes
//            RUN/plan.json and RUN/manifest.jsonl; RUN = <prefix>/<run id>/, the run id being a
//            hash of both, so the same inputs give the same run;
//   shard k  combines its slice into RUN/shards/<k>/part.json with meta.json beside it (each
//            granule's schema fingerprint and extent along the concat dimension), then creates
//            RUN/shards/<k>/_SUCCESS only if it does not exist (S3 If-None-Match: *, link(2)
//            locally): a duplicate or zombie attempt loses cleanly, a finished shard is skipped;
//   merge    refuses unless every shard has a valid _SUCCESS, checks the fingerprints, combines
//            the parts in plan order, one at a time, into RUN/merged/store.json, byte for byte
//            what `vzgen build` of the manifest's granules writes;
//   publish  writes the merged store under the job's names (and its https twin) at a
//            destination after a conditional write of the destination's pointer object, which
//            refuses a run planned before the published one.
// RUN and the destination are local directories or s3:// prefixes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "vz/app/build.h"
#include "vz/app/job_config.h"
#include "vz/base/error.h"

namespace vz::app {

// Exit code of shard, merge and publish when another attempt or run already did the work.
inline constexpr int kStepDone = 0;

struct PlanOptions {
  // Either granules (paths, URLs, .txt lists, as build takes them) ...
  std::vector<std::string> inputs;
  // ... or a catalog search (collection non-empty): the configuration build --collection uses.
  JobConfig search;
  std::string cmr_url;
  std::string access = "https";  // which catalog links the shards read: https or direct (s3)
  std::string output;            // the prefix runs are written under (directory or s3://)
  std::uint64_t shard_size = 1000;
  BuildOptions build;           // how the shards scan and combine (recorded in plan.json)
  std::string format = "json";  // the merged store's format
};

struct PlanResult {
  std::string run_id;
  std::string run;  // <output>/<run id>/
  std::uint64_t granules = 0;
  std::uint64_t shards = 0;
  std::uint64_t duplicates = 0;  // catalog revisions or repeated inputs left out
};

Result<PlanResult> MakePlan(const PlanOptions& options);

struct ShardResult {
  bool already_done = false;  // a valid _SUCCESS was there: nothing was read
  bool lost = false;          // another attempt created _SUCCESS first (same bytes)
  std::uint64_t granules = 0;
  std::uint64_t skipped = 0;
};

// Runs shard `index` of the run at `run`. `jobs` 0 = build's default.
Result<ShardResult> RunShard(const std::string& run, std::uint64_t index, unsigned jobs,
                             bool progress);

// The shard index from the environment variable `name` (AWS_BATCH_JOB_ARRAY_INDEX,
// JOB_COMPLETION_INDEX, ...); errors name the variable.
Result<std::uint64_t> ShardIndexFromEnvironment(const std::string& name);

struct MergeResult {
  std::string store;  // where the merged store was written
  std::uint64_t granules = 0;
  std::uint64_t references = 0;
};

// Merges the shards of `run`; `format` is the output format ("json"; others are refused).
Result<MergeResult> MergeRun(const std::string& run, const std::string& format);

struct PublishResult {
  bool already_published = false;  // the destination's pointer already named this run
  std::vector<std::string> written;
};

// Publishes the merged store of `run` at `destination`: <name>_virtual_s3.json and
// <name>_virtual_https.json (the job's names, from the plan's collection and dates), then the
// pointer _PUBLISHED.json naming the run. Refuses when the pointer names a run planned later.
Result<PublishResult> PublishRun(const std::string& run, const std::string& destination);

// VZ_JOB_MODE plan, shard, merge or publish: `vzgen job` runs that step (docs/job.md).
bool IsJobStep(const std::string& mode);
int RunJobStep(const std::function<std::string(const char*)>& getenv);

}  // namespace vz::app
