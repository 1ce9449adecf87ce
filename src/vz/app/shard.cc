// `vzgen shard`: one slice of a plan into a partial store (plan.h).
#include <fmt/format.h>

#include <map>
#include <sstream>

#include "vz/app/plan.h"
#include "vz/app/plan_internal.h"
#include "vz/app/sources.h"
#include "vz/auth/sigv4.h"

namespace vz::app {

using refs::SortedJson;

SortedJson SchemaSummary(const refs::RefStore& granule) {
  SortedJson out = SortedJson::array();
  for (const auto& a : granule.arrays) {
    bool chunked = !a.InMemory();
    if (chunked && a.entries.size() > 0 && a.entries.inline_data.size() == a.entries.size() &&
        a.Chunks() == a.Shape()) {
      chunked = false;  // inlined whole: held in memory once combined
    }
    out.push_back(
        {{"name", a.name}, {"zarray", a.zarray}, {"dims", a.Dims()}, {"chunked", chunked}});
  }
  return out;
}

Schema SchemaOf(const SortedJson& summary, const std::string& concat_dim) {
  Schema s;
  std::map<std::string, std::string> vars;
  for (const auto& a : summary) {
    const SortedJson& z = a["zarray"];
    const auto dims = a["dims"].get<std::vector<std::string>>();
    SortedJson shape = z.value("shape", SortedJson::array());
    for (std::size_t d = 0; d < dims.size() && d < shape.size(); ++d) {
      if (dims[d] == concat_dim) shape[d] = "*";
    }
    std::string desc = fmt::format("dims {} dtype {} fill_value {} order {} shape {}",
                                   a["dims"].dump(), z.value("dtype", SortedJson()).dump(),
                                   z.value("fill_value", SortedJson()).dump(),
                                   z.value("order", SortedJson("C")).dump(), shape.dump());
    if (a.value("chunked", false)) {
      desc += fmt::format(
          " chunks {} compressor {} filters {}", z.value("chunks", SortedJson()).dump(),
          z.value("compressor", SortedJson()).dump(), z.value("filters", SortedJson()).dump());
    }
    vars[a["name"].get<std::string>()] = desc;
  }
  std::string text;
  for (auto& [name, desc] : vars) {
    text += name + ": " + desc + "\n";
    s.variables.emplace_back(name, desc);
  }
  s.fingerprint = auth::Sha256Hex(text).substr(0, 16);
  return s;
}

SortedJson SchemaJson(const Schema& schema) {
  SortedJson j = SortedJson::object();
  for (const auto& [name, desc] : schema.variables) j[name] = desc;
  return j;
}

std::string SchemaDifference(const SortedJson& first, const SortedJson& other) {
  for (auto it = first.begin(); it != first.end(); ++it) {
    auto o = other.find(it.key());
    if (o == other.end())
      return fmt::format("variable {} is missing (the first granule has it)", it.key());
    if (*o != *it) {
      return fmt::format("variable {}: {} (the first granule: {})", it.key(), o->get<std::string>(),
                         it->get<std::string>());
    }
  }
  for (auto it = other.begin(); it != other.end(); ++it) {
    if (!first.contains(it.key())) {
      return fmt::format("variable {} is not in the first granule", it.key());
    }
  }
  return "";
}

namespace {

// A _SUCCESS written by this run for this index (the part and meta hashes are checked by merge).
bool ValidMarker(const std::string& text, const std::string& run_id, std::uint64_t index) {
  const SortedJson j = SortedJson::parse(text, nullptr, false);
  return j.is_object() && j.value("run_id", "") == run_id &&
         j.value("index", std::uint64_t{0} - 1) == index && j.contains("part_sha256") &&
         j.contains("meta_sha256");
}

}  // namespace

Result<ShardResult> RunShard(const std::string& where, std::uint64_t index, unsigned jobs,
                             bool progress) {
  VZ_ASSIGN_OR_RETURN(auto run, RunLocation::Open(where));
  VZ_ASSIGN_OR_RETURN(auto plan, LoadPlan(run));
  if (index >= plan.shards) {
    return InvalidArgument(
        fmt::format("shard index {} is out of range: run {} has {} shards "
                    "(0 to {})",
                    index, plan.run_id, plan.shards, plan.shards - 1));
  }
  const std::string dir = ShardDir(index);
  ShardResult result;
  VZ_ASSIGN_OR_RETURN(auto marker, run.Read(dir + "_SUCCESS"));
  if (marker) {
    if (!ValidMarker(marker->body, plan.run_id, index)) {
      return Corrupt(fmt::format(
          "{} is not a completion marker of shard {} of run {}; delete it to run the shard again",
          run.Url(dir + "_SUCCESS"), index, plan.run_id));
    }
    result.already_done = true;
    return result;
  }
  const std::uint64_t first = index * plan.shard_size;
  const std::uint64_t end = std::min<std::uint64_t>(first + plan.shard_size, plan.granules.size());
  BuildOptions options = plan.options;
  options.jobs = jobs;
  options.progress = progress;
  std::vector<std::string> urls;
  for (std::uint64_t i = first; i < end; ++i) {
    const PlannedGranule& g = plan.granules[i];
    urls.push_back(g.url);
    if (!g.coords.empty()) options.combine.extra_coords[g.url] = g.coords;
  }
  const std::string creds = plan.plan["options"].value("s3_credentials_url", "");
  if (!creds.empty()) {
    VZ_TRY(UseEarthdataS3Credentials(creds).Annotate("the plan's s3credentials endpoint"));
  }
  std::map<std::string, SortedJson> summaries;
  options.on_granule = [&](const std::string& input, const refs::RefStore& granule) {
    summaries[input] = SchemaSummary(granule);
  };
  VZ_ASSIGN_OR_RETURN(auto combined, CombineInputs(std::nullopt, "", urls, options));
  std::string part;
  SortedJson meta;
  meta["run_id"] = plan.run_id;
  meta["index"] = index;
  meta["first"] = first;
  meta["count"] = end - first;
  meta["used"] = combined.report.used;
  meta["skipped"] = SortedJson::array();
  for (const auto& [url, why] : combined.report.skipped) {
    meta["skipped"].push_back({{"url", url}, {"reason", why}});
  }
  meta["warnings"] = combined.report.warnings;
  meta["granules"] = SortedJson::array();
  meta["schemas"] = SortedJson::object();
  if (combined.usable) {
    std::ostringstream out;
    VZ_TRY(refs::WriteRefStore(combined.store, out));
    part = out.str();
    const std::string concat_dim = combined.store.meta.value("concat_dim", "");
    meta["concat_dim"] = concat_dim;
    std::uint64_t references = 0;
    for (const auto& a : combined.store.arrays) references += a.entries.size();
    meta["references"] = references;
    // The order build writes them in (reading the part back orders them its own way).
    meta["groups"] = SortedJson::array();
    for (const auto& g : combined.store.groups) meta["groups"].push_back(g.name);
    meta["arrays"] = SortedJson::array();
    for (const auto& a : combined.store.arrays) meta["arrays"].push_back(a.name);
    for (const auto& url : combined.report.used) {
      const Schema schema = SchemaOf(summaries[url], concat_dim);
      meta["granules"].push_back({{"url", url}, {"fingerprint", schema.fingerprint}});
      meta["schemas"][schema.fingerprint] = SchemaJson(schema);
    }
  }
  const std::string meta_text = meta.dump(2) + "\n";
  // The part and meta.json first, _SUCCESS last. Two attempts write the same bytes, so the
  // loser's writes change nothing; only the marker decides who finished.
  if (combined.usable) VZ_TRY(run.Write(dir + "part.json", part));
  VZ_TRY(run.Write(dir + "meta.json", meta_text));
  const SortedJson done = {{"run_id", plan.run_id},
                           {"index", index},
                           {"granules", combined.report.used.size()},
                           {"part_sha256", combined.usable ? auth::Sha256Hex(part) : ""},
                           {"meta_sha256", auth::Sha256Hex(meta_text)}};
  VZ_ASSIGN_OR_RETURN(bool created, run.Create(dir + "_SUCCESS", done.dump(2) + "\n"));
  result.lost = !created;
  result.granules = combined.report.used.size();
  result.skipped = combined.report.skipped.size();
  return result;
}

}  // namespace vz::app
