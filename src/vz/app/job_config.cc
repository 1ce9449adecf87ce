#include "vz/app/job_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iostream>
#include <mutex>

#include "vz/app/catalog.h"
#include "vz/app/dmrpp_input.h"
#include "vz/refs/json_writer.h"

namespace vz::app {

namespace {

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(pos, comma - pos);
    const auto b = item.find_first_not_of(" \t");
    const auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    pos = comma + 1;
  }
  return out;
}

bool ValidBucket(const std::string& b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return true;
}

}  // namespace

Result<JobConfig> JobConfigFromEnvironment(const std::function<std::string(const char*)>& getenv) {
  JobConfig c;
  c.collection = getenv("COLLECTION");
  if (c.collection.empty()) {
    return InvalidArgument(
        "COLLECTION is not set: the short name of the collection to publish, "
        "e.g. MUR-JPL-L4-GLOB-v4.1");
  }
  if (c.collection.find_first_of(" /\\\"'") != std::string::npos) {
    return InvalidArgument(
        fmt::format("COLLECTION '{}' is not a collection short name", c.collection));
  }
  c.loadable_vars = SplitComma(getenv("LOADABLE_VARS"));
  c.start_date = getenv("START_DATE");
  c.end_date = getenv("END_DATE");
  c.output_bucket = getenv("OUTPUT_BUCKET");
  c.staging_bucket = getenv("STAGING_BUCKET");
  for (const auto& [name, value] :
       {std::pair<const char*, std::string>{"OUTPUT_BUCKET", c.output_bucket},
        {"STAGING_BUCKET", c.staging_bucket}}) {
    if (!value.empty() && !ValidBucket(value)) {
      return InvalidArgument(fmt::format("{} '{}' is not an S3 bucket name", name, value));
    }
  }
  c.ssm_edl_username = getenv("SSM_EDL_USERNAME");
  c.ssm_edl_password = getenv("SSM_EDL_PASSWORD");
  if (c.ssm_edl_username.empty() != c.ssm_edl_password.empty()) {
    return InvalidArgument("SSM_EDL_USERNAME and SSM_EDL_PASSWORD must be set together");
  }
  const std::string mode = getenv("VZ_JOB_MODE");
  if (!mode.empty()) c.mode = mode;
  if (c.mode != "build" && c.mode != "append" && c.mode != "plan" && c.mode != "publish") {
    return InvalidArgument(fmt::format(
        "VZ_JOB_MODE '{}' is none of build, append, plan, shard, merge, publish", c.mode));
  }
  const std::string formats = getenv("VZ_FORMAT");
  if (!formats.empty()) {
    c.formats.clear();
    for (const auto& f : SplitComma(formats)) {
      if (f != "json" && f != "parquet" && f != "icechunk") {
        return InvalidArgument(
            fmt::format("VZ_FORMAT '{}': '{}' is none of json, parquet, icechunk", formats, f));
      }
      c.formats.push_back(f);
    }
    if (std::find(c.formats.begin(), c.formats.end(), "json") == c.formats.end()) {
      c.formats.insert(c.formats.begin(), "json");  // the seed's stores are always published
    }
  }
  const std::string access = getenv("VZ_ACCESS");
  if (!access.empty()) c.access = access;
  if (c.access != "auto" && c.access != "direct" && c.access != "https") {
    return InvalidArgument(fmt::format("VZ_ACCESS '{}' is none of auto, direct, https", c.access));
  }
  c.metadata = getenv("VZ_METADATA");
  if (c.metadata.empty()) c.metadata = "granule";
  if (auto m = ParseMetadataSource(c.metadata, "VZ_METADATA"); !m.ok()) return std::move(m).error();
  c.level2 = getenv("VZ_LEVEL2");
  if (c.level2.empty()) c.level2 = "auto";
  if (c.level2 != "auto" && c.level2 != "yes" && c.level2 != "no") {
    return InvalidArgument(fmt::format("VZ_LEVEL2 '{}' is none of auto, yes, no", c.level2));
  }
  c.output_dir = getenv("VZ_OUTPUT_DIR");
  if (c.output_bucket.empty() && c.output_dir.empty()) c.output_dir = "out";
  c.cmr_url = getenv("VZ_CMR_URL");
  c.provider = getenv("VZ_PROVIDER");
  c.version = getenv("VZ_COLLECTION_VERSION");
  c.concept_id = getenv("VZ_CONCEPT_ID");
  c.granule_names = SplitComma(getenv("VZ_GRANULE_NAMES"));
  c.bounding_box = getenv("VZ_BOUNDING_BOX");
  const std::string profile = getenv("VZ_PROFILE");
  if (!profile.empty()) {
    VZ_ASSIGN_OR_RETURN(c.searches, LoadSearchProfile(profile).Annotate("VZ_PROFILE"));
  }
  const std::string cpus = getenv("CPU_COUNT");
  if (!cpus.empty()) {
    char* end = nullptr;
    const unsigned long n = std::strtoul(cpus.c_str(), &end, 10);
    if (end == cpus.c_str() || *end != '\0' || n == 0 || n > 1024) {
      return InvalidArgument(fmt::format("CPU_COUNT '{}' is not a number of CPUs", cpus));
    }
    c.jobs = static_cast<unsigned>(n) * 8;  // granules in flight: I/O bound, not CPU bound
  }
  if (!getenv("MEMORY_LIMIT").empty()) {
    c.notices.push_back("MEMORY_LIMIT is ignored: vzgen keeps about 40 bytes per reference");
  }
  if (!getenv("BATCH_SIZE").empty()) {
    c.notices.push_back("BATCH_SIZE is ignored: granules are streamed, not batched");
  }
  return c;
}

void LogJson(const std::string& level, const std::string& event,
             const std::vector<std::pair<std::string, std::string>>& fields) {
  static std::mutex mu;
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string line = fmt::format(
      R"({{"time":"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z","level":)", tm.tm_year + 1900,
      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  refs::AppendJsonString(line, level);
  line += ",\"event\":";
  refs::AppendJsonString(line, event);
  for (const auto& [k, v] : fields) {
    line += ',';
    refs::AppendJsonString(line, k);
    line += ':';
    refs::AppendJsonString(line, v);
  }
  line += "}\n";
  std::lock_guard<std::mutex> lock(mu);
  std::cerr << line << std::flush;
}

}  // namespace vz::app
