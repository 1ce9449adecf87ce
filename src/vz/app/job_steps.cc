// `VZ_JOB_MODE=plan|shard|merge|publish vzgen job`: the scale-out steps configured by the
// environment, for the container (AWS Batch array jobs, Kubernetes Indexed Jobs).
#include <fmt/format.h>

#include "vz/app/job.h"
#include "vz/app/plan.h"
#include "vz/app/run_store.h"
#include "vz/app/sources.h"

namespace vz::app {

namespace {

int StepFailed(const std::string& event, const Error& e) {
  const int code = e.code() == ErrorCode::kInvalidArgument ? kJobBadConfig
                   : e.code() == ErrorCode::kPermission    ? kJobAuthFailed
                                                           : kJobFailed;
  LogJson("error", event, {{"error", e.ToString()}, {"exit_code", std::to_string(code)}});
  return code;
}

// Where the collection's runs go: VZ_RUN_PREFIX, else <output>/runs/<COLLECTION>/.
std::string RunPrefix(const JobConfig& c, const std::function<std::string(const char*)>& getenv) {
  std::string prefix = getenv("VZ_RUN_PREFIX");
  if (!prefix.empty()) return prefix;
  if (!c.output_bucket.empty())
    return fmt::format("s3://{}/runs/{}/", c.output_bucket, c.collection);
  return fmt::format("{}/runs/{}/", c.output_dir, c.collection);
}

}  // namespace

bool IsJobStep(const std::string& mode) {
  return mode == "plan" || mode == "shard" || mode == "merge" || mode == "publish";
}

int RunJobStep(const std::function<std::string(const char*)>& getenv) {
  const std::string mode = getenv("VZ_JOB_MODE");
  const std::string run = getenv("VZ_RUN");
  LogJson("info", "start", {{"mode", mode}, {"run", run}});
  if (mode == "shard" || mode == "merge") {
    if (run.empty()) return StepFailed("config", InvalidArgument("VZ_RUN (the run) is not set"));
    if (mode == "merge") {
      auto merged = MergeRun(run, getenv("VZ_FORMAT").empty() ? "json" : getenv("VZ_FORMAT"));
      if (!merged.ok()) return StepFailed("merge", merged.error());
      LogJson("info", "done",
              {{"granules", std::to_string(merged->granules)},
               {"references", std::to_string(merged->references)},
               {"store", merged->store}});
      return kJobOk;
    }
    // The index: VZ_SHARD_INDEX_ENV names the variable, else AWS Batch's, else Kubernetes'.
    std::string var = getenv("VZ_SHARD_INDEX_ENV");
    if (var.empty()) {
      var = !getenv("AWS_BATCH_JOB_ARRAY_INDEX").empty() ? "AWS_BATCH_JOB_ARRAY_INDEX"
                                                         : "JOB_COMPLETION_INDEX";
    }
    auto index = ShardIndexFromEnvironment(var);
    if (!index.ok()) return StepFailed("config", index.error());
    auto done = RunShard(run, *index, 0, false);
    if (!done.ok())
      return StepFailed("shard", std::move(done).error().Annotate(fmt::format("shard {}", *index)));
    LogJson("info", "done",
            {{"shard", std::to_string(*index)},
             {"already_done", done->already_done ? "true" : "false"},
             {"lost_race", done->lost ? "true" : "false"},
             {"granules", std::to_string(done->granules)},
             {"granules_skipped", std::to_string(done->skipped)}});
    return kJobOk;
  }
  auto config = JobConfigFromEnvironment(getenv);
  if (!config.ok()) return StepFailed("config", config.error());
  const JobConfig& c = *config;
  if (mode == "publish") {
    if (run.empty()) return StepFailed("config", InvalidArgument("VZ_RUN (the run) is not set"));
    const std::string to =
        c.output_bucket.empty()
            ? fmt::format("{}/{}{}/", c.output_dir, c.output_prefix, c.collection)
            : fmt::format("s3://{}/{}{}/", c.output_bucket, c.output_prefix, c.collection);
    auto published = PublishRun(run, to);
    if (!published.ok()) return StepFailed("publish", published.error());
    LogJson("info", "done",
            {{"already_published", published->already_published ? "true" : "false"},
             {"stores", published->written.empty() ? "" : published->written.front()}});
    return kJobOk;
  }
  PlanOptions p;
  p.search = c;
  p.cmr_url = c.cmr_url;
  p.access = c.access == "direct" ? "direct" : "https";
  p.output = RunPrefix(c, getenv);
  p.build.loadable_vars = c.loadable_vars;
  p.build.skip_bad = true;  // as the job: one bad granule does not stop a collection
  const std::string size = getenv("VZ_SHARD_SIZE");
  if (!size.empty()) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(size.c_str(), &end, 10);
    if (end == size.c_str() || *end != '\0' || n == 0 || size[0] == '-') {
      return StepFailed("config", InvalidArgument(fmt::format(
                                      "VZ_SHARD_SIZE '{}' is not a number of granules", size)));
    }
    p.shard_size = n;
  }
  auto planned = MakePlan(p);
  if (!planned.ok()) {
    const bool config_error = planned.error().code() == ErrorCode::kNotFound ||
                              planned.error().code() == ErrorCode::kInvalidArgument;
    if (config_error) {
      LogJson(
          "error", "plan",
          {{"error", planned.error().ToString()}, {"exit_code", std::to_string(kJobBadConfig)}});
      return kJobBadConfig;
    }
    return StepFailed("plan", planned.error());
  }
  // The latest run of this prefix, for an orchestrator that submits the array next (the Step
  // Functions state machine of deploy/terraform reads it to size the array).
  auto prefix = RunLocation::Open(p.output, true);
  if (prefix.ok()) {
    const refs::SortedJson latest = {
        {"run", planned->run}, {"run_id", planned->run_id}, {"shards", planned->shards}};
    if (Status st = prefix->Write("latest.json", latest.dump() + "\n"); !st.ok()) {
      return StepFailed("plan", st.error());
    }
  }
  LogJson("info", "done",
          {{"run_id", planned->run_id},
           {"run", planned->run},
           {"granules", std::to_string(planned->granules)},
           {"shards", std::to_string(planned->shards)}});
  return kJobOk;
}

}  // namespace vz::app
