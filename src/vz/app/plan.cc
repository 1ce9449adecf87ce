#include "vz/app/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "vz/app/atomic_file.h"
#include "vz/app/catalog.h"
#include "vz/app/plan_internal.h"
#include "vz/app/run_store.h"
#include "vz/auth/sigv4.h"
#include "vz/io/http_transport.h"

namespace vz::app {

using refs::SortedJson;

namespace {

std::string AbsoluteInput(const std::string& input) {
  if (input.find("://") != std::string::npos && input.rfind("file://", 0) != 0) return input;
  std::string path = input.rfind("file://", 0) == 0 ? input.substr(7) : input;
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec).lexically_normal();
  return ec ? path : abs.string();
}

std::string BaseName(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Microseconds, so that two plans of one second still order.
std::string UtcNow() {
  const auto now = std::chrono::system_clock::now();
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us % 1000000);
}

SortedJson OptionsJson(const PlanOptions& o, const std::string& s3_credentials_url,
                       const std::string& name) {
  const BuildOptions& b = o.build;
  SortedJson j;
  j["concat_dim"] = b.combine.concat_dim;
  j["new_dim"] = b.combine.new_dim;
  j["granule_coord"] = b.combine.granule_coord;
  j["loadable_vars"] = b.loadable_vars;
  j["identical_vars"] =
      std::vector<std::string>(b.combine.identical_vars.begin(), b.combine.identical_vars.end());
  j["on_error"] = b.skip_bad ? "skip" : "fail";
  j["inline_threshold"] = b.scan.kerchunk.inline_threshold;
  j["max_decoded_inline"] = b.scan.kerchunk.max_decoded_inline;
  j["consolidated"] = b.consolidated;
  j["format"] = o.format;
  j["s3_credentials_url"] = s3_credentials_url;
  j["name"] = name;
  j["start"] = o.search.start_date;
  j["end"] = o.search.end_date;
  return j;
}

}  // namespace

Result<BuildOptions> BuildOptionsFromPlan(const SortedJson& plan, const std::string& where) {
  const SortedJson& j = plan.value("options", SortedJson::object());
  if (!j.is_object()) return Corrupt(fmt::format("{}: options is not an object", where));
  BuildOptions b;
  try {
    b.combine.concat_dim = j.value("concat_dim", "");
    b.combine.new_dim = j.value("new_dim", "");
    b.combine.granule_coord = j.value("granule_coord", "index");
    b.loadable_vars = j.value("loadable_vars", std::vector<std::string>{});
    for (const auto& v : j.value("identical_vars", std::vector<std::string>{})) {
      b.combine.identical_vars.insert(v);
    }
    b.skip_bad = j.value("on_error", "fail") == "skip";
    b.scan.kerchunk.inline_threshold =
        j.value("inline_threshold", b.scan.kerchunk.inline_threshold);
    b.scan.kerchunk.max_decoded_inline =
        j.value("max_decoded_inline", b.scan.kerchunk.max_decoded_inline);
    b.consolidated = j.value("consolidated", false);
  } catch (const nlohmann::json::exception& e) {
    return Corrupt(fmt::format("{}: options: {}", where, e.what()));
  }
  return b;
}

std::string ShardDir(std::uint64_t index) { return fmt::format("shards/{:05}/", index); }

Result<LoadedPlan> LoadPlan(const RunLocation& run) {
  VZ_ASSIGN_OR_RETURN(auto plan_text, run.Read("plan.json"));
  if (!plan_text) {
    return NotFound(fmt::format("{} has no plan.json: not a run made by vzgen plan", run.root()));
  }
  LoadedPlan out;
  out.plan = SortedJson::parse(plan_text->body, nullptr, false);
  const std::string where = run.Url("plan.json");
  if (out.plan.is_discarded() || !out.plan.is_object() ||
      out.plan.value("format", "") != "vzgen-plan/1" || !out.plan.contains("run_id")) {
    return Corrupt(fmt::format("{} is not a vzgen plan", where));
  }
  try {
    out.run_id = out.plan.at("run_id").get<std::string>();
    out.shard_size = out.plan.at("shard_size").get<std::uint64_t>();
    out.shards = out.plan.at("shards").get<std::uint64_t>();
    const std::uint64_t granules = out.plan.at("granules").get<std::uint64_t>();
    const std::string manifest_sha = out.plan.at("manifest_sha256").get<std::string>();
    VZ_ASSIGN_OR_RETURN(auto manifest, run.Read("manifest.jsonl"));
    if (!manifest) return NotFound(fmt::format("{} has no manifest.jsonl", run.root()));
    if (auth::Sha256Hex(manifest->body) != manifest_sha) {
      return Corrupt(fmt::format("{} does not match the SHA-256 plan.json records for it",
                                 run.Url("manifest.jsonl")));
    }
    std::istringstream lines(manifest->body);
    std::string line;
    while (std::getline(lines, line)) {
      const SortedJson g = SortedJson::parse(line, nullptr, false);
      if (g.is_discarded() || !g.is_object() || !g.contains("url")) {
        return Corrupt(fmt::format("{}: line {} is not a granule", run.Url("manifest.jsonl"),
                                   out.granules.size() + 1));
      }
      PlannedGranule p;
      p.url = g.at("url").get<std::string>();
      if (g.contains("coords")) {
        for (const auto& pair : g.at("coords")) {
          p.coords.emplace_back(pair.at(0).get<std::string>(), pair.at(1));
        }
      }
      out.granules.push_back(std::move(p));
    }
    if (out.granules.size() != granules || out.shard_size == 0 ||
        out.shards != (granules + out.shard_size - 1) / out.shard_size) {
      return Corrupt(fmt::format("{}: {} granules in shards of {} do not make {} shards", where,
                                 out.granules.size(), out.shard_size, out.shards));
    }
  } catch (const nlohmann::json::exception& e) {
    return Corrupt(fmt::format("{}: {}", where, e.what()));
  }
  VZ_ASSIGN_OR_RETURN(out.options, BuildOptionsFromPlan(out.plan, where));
  return out;
}

Result<PlanResult> MakePlan(const PlanOptions& options) {
  if (options.shard_size == 0) return InvalidArgument("--shard-size must be at least 1");
  if (options.format != "json") {
    return Unsupported(fmt::format(
        "--format {}: not yet; merge writes kerchunk JSON (json) only for now", options.format));
  }
  VZ_TRY(combine::ValidateGranuleCoord(options.build.combine.granule_coord));
  PlanOptions o = options;
  SortedJson query;
  std::vector<SortedJson> manifest;
  std::uint64_t duplicates = 0;
  std::string s3_credentials_url;
  std::string name = o.search.collection.empty() ? "store" : o.search.collection;
  if (!o.search.collection.empty()) {
    auto found = SearchCatalog(io::HttpTransport::Default(), o.cmr_url, o.search);
    if (!found.ok()) return std::move(found).error();
    // A granule whose metadata was revised appears once per revision in some answers (and
    // across paging that straddles an update): keep its latest revision only.
    std::map<std::string, std::size_t> latest;  // granule UR (else file name) -> index
    std::vector<CatalogGranule> unique;
    for (auto& g : found->granules) {
      const std::string id = (g.granule_ur.empty() ? g.name : g.granule_ur) + "\n" + g.name;
      auto [it, fresh] = latest.emplace(id, unique.size());
      if (fresh) {
        unique.push_back(std::move(g));
      } else {
        ++duplicates;
        if (g.revision > unique[it->second].revision) unique[it->second] = std::move(g);
      }
    }
    std::stable_sort(
        unique.begin(), unique.end(), [](const CatalogGranule& a, const CatalogGranule& b) {
          return std::tie(a.begin, a.granule_ur, a.name) < std::tie(b.begin, b.granule_ur, b.name);
        });
    if (unique.empty()) {
      return InvalidArgument(
          fmt::format("no granules of {} between {} and {}", o.search.collection,
                      o.search.start_date.empty() ? "the beginning" : o.search.start_date,
                      o.search.end_date.empty() ? "now" : o.search.end_date));
    }
    const bool direct = o.access == "direct";
    if (direct) s3_credentials_url = found->s3_credentials_url;
    const bool level2 = o.search.level2 == "yes" || (o.search.level2 == "auto" && found->level2);
    if (level2 && o.build.combine.new_dim.empty()) {
      o.build.combine.new_dim = "granule";
      o.build.combine.granule_coord = "index";
      o.build.combine.concat_dim.clear();
    }
    for (const auto& g : unique) {
      const std::string& url = direct ? g.s3_url : g.https_url;
      if (url.empty()) {
        return InvalidArgument(fmt::format("granule {} has no {} link", g.name,
                                           direct ? "direct-access (s3)" : "https"));
      }
      SortedJson m = {{"url", url},
                      {"name", g.name},
                      {"granule_ur", g.granule_ur},
                      {"concept_id", g.concept_id},
                      {"revision", g.revision},
                      {"begin", g.begin},
                      {"end", g.end},
                      {"s3", g.s3_url},
                      {"https", g.https_url}};
      if (level2) {
        // The catalog's coordinates along the granule dimension, as the job adds them.
        SortedJson coords = SortedJson::array();
        coords.push_back({"granule_begin_time", g.begin});
        coords.push_back({"filename", g.name});
        if (g.cycle) coords.push_back({"cycle", *g.cycle});
        if (g.pass) coords.push_back({"pass", *g.pass});
        m["coords"] = coords;
      }
      manifest.push_back(std::move(m));
    }
    query = {{"collection", o.search.collection},
             {"start", o.search.start_date},
             {"end", o.search.end_date},
             {"provider", o.search.provider},
             {"version", o.search.version},
             {"concept_id", o.search.concept_id},
             {"granule_names", o.search.granule_names},
             {"bounding_box", o.search.bounding_box},
             {"access", o.access},
             {"cmr_url", o.cmr_url}};
  } else {
    VZ_ASSIGN_OR_RETURN(auto expanded, ExpandInputs(o.inputs));
    VZ_TRY(CheckInputsAreFiles(expanded));
    std::set<std::string> seen;
    for (const auto& in : expanded) {
      const std::string url = AbsoluteInput(in);
      if (!seen.insert(url).second) {
        ++duplicates;
        continue;
      }
      SortedJson m = {{"url", url}, {"name", BaseName(url)}};
      const auto& extra = o.build.combine.extra_coords;
      if (!extra.empty()) {
        auto it = extra.find(in);
        if (it == extra.end()) it = extra.find(url);
        if (it == extra.end()) it = extra.find(BaseName(url));
        if (it == extra.end()) {
          return NotFound(fmt::format("{}: no row of the granule table for it", in));
        }
        SortedJson coords = SortedJson::array();
        for (const auto& [k, v] : it->second) coords.push_back({k, v});
        m["coords"] = coords;
      }
      manifest.push_back(std::move(m));
    }
    query = {{"inputs", o.inputs}};
  }
  if (!o.build.combine.new_dim.empty() && !o.build.combine.concat_dim.empty()) {
    return InvalidArgument("give --concat-dim or --new-dim, not both");
  }
  std::string manifest_text;
  for (std::size_t i = 0; i < manifest.size(); ++i) {
    manifest[i]["index"] = i;
    manifest_text += manifest[i].dump() + "\n";
  }
  const std::uint64_t n = manifest.size();
  const std::uint64_t shards = (n + o.shard_size - 1) / o.shard_size;
  SortedJson plan;
  plan["format"] = "vzgen-plan/1";
  plan["vzgen_version"] = VZ_VERSION;
  plan["query"] = query;
  plan["granules"] = n;
  plan["duplicates_dropped"] = duplicates;
  plan["shard_size"] = o.shard_size;
  plan["shards"] = shards;
  plan["options"] = OptionsJson(o, s3_credentials_url, name);
  plan["config_hash"] = auth::Sha256Hex(plan["options"].dump());
  plan["manifest_sha256"] = auth::Sha256Hex(manifest_text);
  // The run id is the hash of everything that decides the result, so that the same inputs give
  // the same run (and a rerun of plan the same directory).
  const std::string run_id = auth::Sha256Hex(plan.dump() + "\n" + manifest_text).substr(0, 16);
  plan["run_id"] = run_id;
  plan["planned_at"] = UtcNow();  // orders publishes; not part of the run id

  VZ_ASSIGN_OR_RETURN(auto prefix, RunLocation::Open(o.output, true));
  VZ_ASSIGN_OR_RETURN(auto run, RunLocation::Open(prefix.Url(run_id), true));
  VZ_TRY(run.Write("manifest.jsonl", manifest_text));
  // plan.json last: its presence says the plan is complete. A plan already there (the same
  // inputs planned before) is kept, with its own planned_at.
  VZ_ASSIGN_OR_RETURN(bool created, run.Create("plan.json", plan.dump(2) + "\n"));
  if (!created) {
    auto existing = LoadPlan(run);
    if (!existing.ok()) return std::move(existing).error();
  }
  return PlanResult{run_id, run.root(), n, shards, duplicates};
}

Result<std::uint64_t> ShardIndexFromEnvironment(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr || *v == '\0') {
    return InvalidArgument(fmt::format("--index-env {}: the variable is not set", name));
  }
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || v[0] == '-') {
    return InvalidArgument(
        fmt::format("--index-env {}: '{}' is not a shard index (0, 1, ...)", name, v));
  }
  return static_cast<std::uint64_t>(n);
}

}  // namespace vz::app
