// `vzgen job`: the collection job's configuration, read from the environment exactly as the
// seed pipeline's container reads it (COLLECTION, LOADABLE_VARS, START_DATE, END_DATE,
// OUTPUT_BUCKET, STAGING_BUCKET, SSM_EDL_USERNAME, SSM_EDL_PASSWORD; CPU_COUNT, MEMORY_LIMIT and
// BATCH_SIZE are accepted), plus vzgen's own VZ_* settings (docs/job.md).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "vz/base/error.h"

namespace vz::app {

// Exit codes of `vzgen job` (and `vzgen build --collection`), documented in docs/job.md.
inline constexpr int kJobOk = 0;
inline constexpr int kJobFailed = 1;  // anything else: I/O, a bad granule with fail, ...
inline constexpr int kJobBadConfig =
    2;                                 // missing/invalid settings, unknown collection, no granules
inline constexpr int kJobPartial = 3;  // published, but some granules were skipped
inline constexpr int kJobAuthFailed = 4;  // Earthdata Login, SSM or AWS credentials refused

// One CMR search of a collection profile: its own granule-name patterns (empty: the run's) and
// its own temporal window, intersected with the run's START_DATE/END_DATE ("" = open).
struct SearchPart {
  std::vector<std::string> granule_names;
  std::string start;
  std::string end;
};

struct JobConfig {
  std::string collection;
  std::vector<std::string> loadable_vars;
  std::string start_date;  // as given (M-D-YYYY or ISO 8601); "" = from the beginning
  std::string end_date;    // "" = until now
  std::string output_bucket;
  std::string staging_bucket;
  std::string ssm_edl_username;  // SSM parameter names
  std::string ssm_edl_password;
  std::string mode = "build";   // VZ_JOB_MODE: build (replace) or append (add new granules)
  std::string access = "auto";  // VZ_ACCESS: auto, direct (s3) or https
  // VZ_FORMAT: the store formats published; JSON (the seed's) always is, parquet beside it.
  std::vector<std::string> formats = {"json"};
  std::string output_dir;  // VZ_OUTPUT_DIR: local output when OUTPUT_BUCKET is unset
  std::string output_prefix = "virtual_collections/";  // key prefix; <COLLECTION>/ follows
  std::string cmr_url;                                 // VZ_CMR_URL
  // Optional CMR filters: provider (POCLOUD), version, collection concept id, granule name
  // patterns (* and ? wildcards; any may match), bounding box "W,S,E,N".
  std::string provider;
  std::string version;
  std::string concept_id;
  std::vector<std::string> granule_names;
  std::string bounding_box;
  // Several searches whose granules make one store (a collection profile, VZ_PROFILE /
  // --profile): e.g. SWOT's reprocessed and forward-processed periods with their own CRIDs.
  std::vector<SearchPart> searches;
  std::string level2;                // VZ_LEVEL2: auto (collection name has "L2"), yes, no
  std::string metadata = "granule";  // VZ_METADATA: granule, dmrpp (the .dmrpp sidecars) or auto
  unsigned jobs = 0;                 // from CPU_COUNT
  std::vector<std::string> notices;  // settings accepted but without effect, said once each
};

// Reads and checks the configuration; an error names the variable (kInvalidArgument).
Result<JobConfig> JobConfigFromEnvironment(const std::function<std::string(const char*)>& getenv);

// A JSON-lines log record on standard error (CloudWatch friendly): {"time", "level", "event",
// ...fields}. Callers never pass secrets.
void LogJson(const std::string& level, const std::string& event,
             const std::vector<std::pair<std::string, std::string>>& fields = {});

}  // namespace vz::app
