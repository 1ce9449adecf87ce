// `vzgen merge` and `vzgen publish`: the shards of a plan into one store, and that store into
// place (plan.h).
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <sstream>

#include "vz/app/atomic_file.h"
#include "vz/app/plan.h"
#include "vz/app/plan_internal.h"
#include "vz/app/publish.h"
#include "vz/auth/sigv4.h"
#include "vz/base/checked.h"
#include "vz/combine/combine.h"

namespace vz::app {

using refs::SortedJson;

namespace {

struct ShardFiles {  // NOLINT(bugprone-exception-escape): nlohmann::json members
  SortedJson marker;
  SortedJson meta;
};

SortedJson ParseObject(const std::string& text) {
  SortedJson j = SortedJson::parse(text, nullptr, false);
  return j.is_object() ? j : SortedJson();
}

std::string ListShards(const std::vector<std::uint64_t>& indexes) {
  std::string out;
  for (std::size_t i = 0; i < indexes.size() && i < 20; ++i) {
    out += (i == 0 ? "" : ", ") + std::to_string(indexes[i]);
  }
  if (indexes.size() > 20) out += fmt::format(" and {} more", indexes.size() - 20);
  return out;
}

// Each chunk key of each array once (a merge that placed two parts on one key would silently
// shadow references).
Status CheckKeysUnique(const refs::RefStore& store) {
  for (const auto& a : store.arrays) {
    const auto& e = a.entries;
    if (e.size() < 2) continue;
    const auto shape = a.Shape();
    const auto chunks = a.Chunks();
    std::vector<std::uint64_t> grid(e.rank, 1);
    for (std::size_t d = 0; d < e.rank && d < shape.size() && d < chunks.size(); ++d) {
      grid[d] = chunks[d] == 0 ? 1 : (shape[d] + chunks[d] - 1) / chunks[d];
    }
    std::vector<std::uint64_t> keys(e.size());
    for (std::size_t i = 0; i < e.size(); ++i) {
      std::uint64_t k = 0;
      const auto c = e.Coords(i);
      for (std::size_t d = 0; d < e.rank; ++d) {
        VZ_ASSIGN_OR_RETURN(k, CheckedMul(k, std::max<std::uint64_t>(grid[d], 1), "chunk key"));
        VZ_ASSIGN_OR_RETURN(k, CheckedAdd(k, c[d], "chunk key"));
      }
      keys[i] = k;
    }
    std::sort(keys.begin(), keys.end());
    if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) {
      return Internal(
          fmt::format("merged variable {} has two references for one chunk key", a.name));
    }
  }
  return Ok();
}

// Level 2 with index coordinates: each shard numbered its granules from 0; build numbers them
// across the whole run, so shard k's are shifted by the granules before it.
Status Renumber(refs::RefArray& coord, std::uint64_t base, const std::string& label) {
  if (!coord.raw || coord.zarray.value("dtype", "") != "<i8" || coord.raw->size() % 8 != 0) {
    return Corrupt(
        fmt::format("{}: the {} coordinate is not the index vzgen writes", label, coord.name));
  }
  for (std::size_t i = 0; i < coord.raw->size(); i += 8) {
    std::uint64_t v = 0;
    std::memcpy(&v, coord.raw->data() + i, 8);  // little-endian on every supported host
    v += base;
    std::memcpy(coord.raw->data() + i, &v, 8);
  }
  return Ok();
}

// Reading a store back orders its groups and arrays its own way; build writes them in the
// first granule's order, which shard records (and merge, for publish).
void OrderLike(refs::RefStore& store, const SortedJson& group_names,
               const SortedJson& array_names) {
  auto rank_of = [](const SortedJson& names) {
    std::map<std::string, std::size_t> rank;
    if (names.is_array()) {
      for (const auto& n : names) {
        if (n.is_string()) rank.emplace(n.get<std::string>(), rank.size());
      }
    }
    return rank;
  };
  const auto groups = rank_of(group_names);
  const auto arrays = rank_of(array_names);
  auto rank = [](const std::map<std::string, std::size_t>& r, const std::string& name) {
    auto it = r.find(name);
    return it == r.end() ? r.size() : it->second;
  };
  std::stable_sort(store.groups.begin(), store.groups.end(), [&](const auto& a, const auto& b) {
    return rank(groups, a.name) < rank(groups, b.name);
  });
  std::stable_sort(store.arrays.begin(), store.arrays.end(), [&](const auto& a, const auto& b) {
    return rank(arrays, a.name) < rank(arrays, b.name);
  });
}

SortedJson Names(const refs::RefStore& store, bool arrays) {
  SortedJson out = SortedJson::array();
  if (arrays) {
    for (const auto& a : store.arrays) out.push_back(a.name);
  } else {
    for (const auto& g : store.groups) out.push_back(g.name);
  }
  return out;
}

}  // namespace

Result<MergeResult> MergeRun(const std::string& where, const std::string& format) {
  if (format != "json") {
    return Unsupported(fmt::format(
        "--format {}: not yet; merge writes kerchunk JSON (json) only for now", format));
  }
  VZ_ASSIGN_OR_RETURN(auto run, RunLocation::Open(where));
  VZ_ASSIGN_OR_RETURN(auto plan, LoadPlan(run));

  // 1. Every shard finished, for this plan.
  std::vector<ShardFiles> shards(plan.shards);
  std::vector<std::uint64_t> missing;
  for (std::uint64_t k = 0; k < plan.shards; ++k) {
    VZ_ASSIGN_OR_RETURN(auto marker, run.Read(ShardDir(k) + "_SUCCESS"));
    if (!marker) {
      missing.push_back(k);
      continue;
    }
    shards[k].marker = ParseObject(marker->body);
    if (shards[k].marker.value("run_id", "") != plan.run_id ||
        shards[k].marker.value("index", std::uint64_t{0} - 1) != k) {
      return Corrupt(fmt::format("{} is not a completion marker of shard {} of run {}",
                                 run.Url(ShardDir(k) + "_SUCCESS"), k, plan.run_id));
    }
  }
  if (!missing.empty()) {
    return NotFound(fmt::format(
        "run {}: {} of {} shards have not finished (no _SUCCESS): {} (e.g. {}); run them again "
        "(finished shards are skipped)",
        plan.run_id, missing.size(), plan.shards, ListShards(missing),
        run.Url(ShardDir(missing.front()) + "_SUCCESS")));
  }

  // 2. Their meta.json: unchanged since the marker, in plan order, one schema.
  std::string first_granule;
  std::string first_fingerprint;
  SortedJson first_schema;
  std::uint64_t used = 0;
  for (std::uint64_t k = 0; k < plan.shards; ++k) {
    const std::string name = ShardDir(k) + "meta.json";
    VZ_ASSIGN_OR_RETURN(auto text, run.Read(name));
    if (!text) return NotFound(fmt::format("{} is missing", run.Url(name)));
    if (auth::Sha256Hex(text->body) != shards[k].marker.value("meta_sha256", "")) {
      return Corrupt(
          fmt::format("{} was changed after shard {} finished (its SHA-256 is not the one _SUCCESS "
                      "records); delete {} and run the shard again",
                      run.Url(name), k, run.Url(ShardDir(k) + "_SUCCESS")));
    }
    SortedJson meta = ParseObject(text->body);
    const std::uint64_t begin = k * plan.shard_size;
    const std::uint64_t end =
        std::min<std::uint64_t>(begin + plan.shard_size, plan.granules.size());
    if (meta.is_null() || !meta.contains("granules") || !meta["granules"].is_array() ||
        meta.value("run_id", "") != plan.run_id || meta.value("first", end) != begin ||
        meta.value("count", std::uint64_t{0}) != end - begin) {
      return Corrupt(fmt::format("{} is not the meta.json of shard {} of run {}", run.Url(name), k,
                                 plan.run_id));
    }
    const SortedJson& granules = meta["granules"];
    const std::size_t skipped = meta.value("skipped", SortedJson::array()).size();
    if (granules.size() + skipped != end - begin) {
      return Corrupt(fmt::format("{}: {} granules used and {} skipped, the plan gives it {}",
                                 run.Url(name), granules.size(), skipped, end - begin));
    }
    for (const auto& g : granules) {
      const std::string url = g.value("url", "");
      const std::string fp = g.value("fingerprint", "");
      const SortedJson& schemas = meta.value("schemas", SortedJson::object());
      if (!schemas.contains(fp)) {
        return Corrupt(fmt::format("{}: granule {} has no schema", run.Url(name), url));
      }
      if (first_granule.empty()) {
        first_granule = url;
        first_fingerprint = fp;
        first_schema = schemas[fp];
      } else if (fp != first_fingerprint) {
        const std::string diff = SchemaDifference(first_schema, schemas[fp]);
        return Incompatible(
            fmt::format("{} (shard {}): its schema differs from the first "
                        "granule {}: {}",
                        url, k, first_granule, diff.empty() ? "fingerprint " + fp : diff));
      }
    }
    used += granules.size();
    meta.erase("schemas");
    shards[k].meta = std::move(meta);
  }
  if (used == 0)
    return InvalidArgument(fmt::format("run {}: every granule was skipped", plan.run_id));

  // 3. The parts, in plan order, one at a time.
  combine::CombineOptions copts = plan.options.combine;
  std::string concat_dim;
  for (const auto& s : shards) {
    if (s.meta.contains("concat_dim")) {
      concat_dim = s.meta.value("concat_dim", "");
      break;
    }
  }
  if (copts.new_dim.empty()) copts.concat_dim = concat_dim;
  copts.extra_coords.clear();  // the parts already have them
  combine::Combiner combiner(copts);
  std::map<std::string, std::uint64_t> shard_of_label;
  std::vector<std::vector<std::string>> granules_of(plan.shards);
  std::uint64_t before = 0;
  for (std::uint64_t k = 0; k < plan.shards; ++k) {
    if (shards[k].meta["granules"].empty()) continue;
    const std::string name = ShardDir(k) + "part.json";
    const std::string label =
        fmt::format("shard {} (from {})", k, shards[k].meta["granules"][0].value("url", ""));
    refs::RefStore part;
    {
      VZ_ASSIGN_OR_RETURN(auto text, run.Read(name));
      if (!text) return NotFound(fmt::format("{} is missing", run.Url(name)));
      if (auth::Sha256Hex(text->body) != shards[k].marker.value("part_sha256", "")) {
        return Corrupt(
            fmt::format("{} was changed after shard {} finished; delete {} and run the shard again",
                        run.Url(name), k, run.Url(ShardDir(k) + "_SUCCESS")));
      }
      VZ_ASSIGN_OR_RETURN(part, refs::ReadRefStore(text->body, run.Url(name)));
    }
    for (const auto& g : part.meta.value("granules", SortedJson::array())) {
      if (g.is_string()) granules_of[k].push_back(g.get<std::string>());
    }
    if (granules_of[k].size() != shards[k].meta["granules"].size()) {
      return Corrupt(fmt::format("{} holds {} granules, its meta.json {}", run.Url(name),
                                 granules_of[k].size(), shards[k].meta["granules"].size()));
    }
    if (!copts.new_dim.empty() && copts.granule_coord == "index") {
      refs::RefArray* coord = part.FindArray(copts.new_dim);
      if (coord == nullptr) {
        return Corrupt(fmt::format("{} has no {} coordinate", run.Url(name), copts.new_dim));
      }
      VZ_TRY(Renumber(*coord, before, run.Url(name)));
    }
    before += granules_of[k].size();
    shard_of_label[label] = k;
    VZ_TRY(combiner.Add(std::move(part), label));
  }
  VZ_ASSIGN_OR_RETURN(auto store, combiner.Finish());
  // Groups and arrays in the order of the first granule, as build writes them.
  for (const auto& s : shards) {
    if (s.meta["granules"].empty()) continue;
    OrderLike(store, s.meta.value("groups", SortedJson()), s.meta.value("arrays", SortedJson()));
    break;
  }

  // 4. What build records, and the checks that the parts added up.
  std::vector<std::string> granules;
  for (const auto& label : combiner.ordered_labels()) {
    const auto& g = granules_of[shard_of_label[label]];
    granules.insert(granules.end(), g.begin(), g.end());
  }
  if (granules.size() != used) {
    return Internal(fmt::format("merged {} granules, the shards used {}", granules.size(), used));
  }
  store.meta = StoreMeta(plan.options, concat_dim, granules);
  VZ_TRY(CheckKeysUnique(store));
  MergeResult result;
  result.granules = used;
  for (const auto& a : store.arrays) result.references += a.entries.size();
  refs::WriteOptions w;
  w.consolidated = plan.options.consolidated;
  std::ostringstream out;
  VZ_TRY(refs::WriteRefStore(store, out, w));
  const std::string text = out.str();
  VZ_TRY(run.Write("merged/store.json", text));
  const SortedJson done = {
      {"run_id", plan.run_id},           {"granules", used},
      {"references", result.references}, {"store_sha256", auth::Sha256Hex(text)},
      {"groups", Names(store, false)},   {"arrays", Names(store, true)}};
  VZ_TRY(run.Write("merged/_SUCCESS", done.dump(2) + "\n"));
  result.store = run.Url("merged/store.json");
  return result;
}

Result<PublishResult> PublishRun(const std::string& where, const std::string& destination) {
  VZ_ASSIGN_OR_RETURN(auto run, RunLocation::Open(where));
  VZ_ASSIGN_OR_RETURN(auto plan, LoadPlan(run));
  VZ_ASSIGN_OR_RETURN(auto done, run.Read("merged/_SUCCESS"));
  if (!done) {
    return NotFound(fmt::format("run {} is not merged (no {}); run vzgen merge first", plan.run_id,
                                run.Url("merged/_SUCCESS")));
  }
  VZ_ASSIGN_OR_RETURN(auto text, run.Read("merged/store.json"));
  const SortedJson marker = ParseObject(done->body);
  if (!text || auth::Sha256Hex(text->body) != marker.value("store_sha256", "")) {
    return Corrupt(fmt::format("{} is missing or not the store merge wrote; run vzgen merge again",
                               run.Url("merged/store.json")));
  }
  VZ_ASSIGN_OR_RETURN(auto merged, refs::ReadRefStore(text->body, run.Url("merged/store.json")));
  OrderLike(merged, marker.value("groups", SortedJson()), marker.value("arrays", SortedJson()));
  const SortedJson& o = plan.plan["options"];
  const std::string name = o.value("name", "store");
  const std::string start = o.value("start", "");
  const std::string end = o.value("end", "");

  // The stores to write: the s3:// store and its https:// twin when the references are remote
  // (the catalog's https links say which host serves a bucket), else the store as it is.
  std::vector<std::pair<std::string, std::string>> stores;  // file name, text
  auto is_remote = [](const std::string& u) {
    return u.rfind("s3://", 0) == 0 || u.rfind("https://", 0) == 0 || u.rfind("http://", 0) == 0;
  };
  bool remote = !merged.urls.empty() || merged.meta.contains("granules");
  for (const auto& u : merged.urls) remote = remote && is_remote(u);
  if (merged.meta.contains("granules") && merged.meta["granules"].is_array()) {
    for (const auto& g : merged.meta["granules"]) {
      remote = remote && g.is_string() && is_remote(g.get<std::string>());
    }
  }
  refs::WriteOptions w;
  w.consolidated = plan.options.consolidated;
  if (remote) {
    std::map<std::string, std::string> https_base;
    VZ_ASSIGN_OR_RETURN(auto manifest, run.Read("manifest.jsonl"));
    std::istringstream lines(manifest ? manifest->body : "");
    std::string line;
    while (std::getline(lines, line)) {
      const SortedJson g = ParseObject(line);
      if (g.is_null()) continue;
      AddHttpsBase(g.value("s3", ""), g.value("https", ""), https_base);
    }
    for (const char* kind : {"s3", "https"}) {
      VZ_ASSIGN_OR_RETURN(auto twin, MapStoreUrls(merged, kind == std::string("s3"), https_base));
      std::ostringstream out;
      VZ_TRY(refs::WriteRefStore(twin, out, w));
      stores.emplace_back(StoreFileName(name, start, end, kind), out.str());
    }
  } else {
    stores.emplace_back(StoreFileName(name, start, end, "local"), text->body);
  }

  // The pointer decides: a run planned later than ours already published wins.
  VZ_ASSIGN_OR_RETURN(auto dest, RunLocation::Open(destination, true));
  const std::string planned_at = plan.plan.value("planned_at", "");
  SortedJson pointer = {{"run_id", plan.run_id},
                        {"planned_at", planned_at},
                        {"run", run.root()},
                        {"granules", marker.value("granules", std::uint64_t{0})},
                        {"stores", SortedJson::array()}};
  for (const auto& [file, body] : stores) pointer["stores"].push_back(file);
  const std::string pointer_text = pointer.dump(2) + "\n";
  PublishResult result;
  VZ_ASSIGN_OR_RETURN(auto lock, dest.LockForUpdate());
  auto check_newer = [&](const SortedJson& current) -> Status {
    const std::string theirs = current.value("planned_at", "");
    if (theirs > planned_at && current.value("run_id", "") != plan.run_id) {
      return Incompatible(fmt::format(
          "{} holds run {} planned at {}, after this run {} (planned at {}): a stale run does "
          "not replace a newer one",
          destination, current.value("run_id", ""), theirs, plan.run_id, planned_at));
    }
    return Ok();
  };
  if (!dest.is_s3()) {
    // Under the directory's lock: compare, write the stores, then the pointer.
    VZ_ASSIGN_OR_RETURN(auto current, dest.Read("_PUBLISHED.json"));
    if (current) {
      const SortedJson j = ParseObject(current->body);
      VZ_TRY(check_newer(j));
      result.already_published = j.value("run_id", "") == plan.run_id;
    }
    for (const auto& [file, body] : stores) {
      VZ_TRY(dest.Write(file, body));
      result.written.push_back(dest.Url(file));
    }
    VZ_TRY(dest.Write("_PUBLISHED.json", pointer_text));
    return result;
  }
  // On S3: win the pointer with a conditional write, then write each store with a conditional
  // write on the version read after checking that the pointer is still ours. A publisher that
  // lost the pointer meanwhile can then never land its store after the new owner's: its write
  // is conditional on a version the new owner has since replaced.
  for (int attempt = 0;; ++attempt) {
    VZ_ASSIGN_OR_RETURN(auto current, dest.Read("_PUBLISHED.json"));
    std::string version;
    if (current) {
      const SortedJson j = ParseObject(current->body);
      VZ_TRY(check_newer(j));
      version = current->version;
      if (j.value("run_id", "") == plan.run_id) {
        result.already_published = true;
        break;
      }
    }
    VZ_ASSIGN_OR_RETURN(bool won, dest.Replace("_PUBLISHED.json", pointer_text, version));
    if (won) break;
    if (attempt >= 8) {
      return IoError(fmt::format("{}: the pointer kept changing under 9 attempts to publish",
                                 dest.Url("_PUBLISHED.json")));
    }
  }
  for (const auto& [file, body] : stores) {
    for (int attempt = 0;; ++attempt) {
      VZ_ASSIGN_OR_RETURN(auto current, dest.Read("_PUBLISHED.json"));
      const SortedJson j = current ? ParseObject(current->body) : SortedJson();
      if (j.is_null() || j.value("run_id", "") != plan.run_id) {
        return Incompatible(
            fmt::format("{}: run {} took the pointer while run {} was publishing; its stores stand",
                        destination, j.is_null() ? "?" : j.value("run_id", "?"), plan.run_id));
      }
      VZ_ASSIGN_OR_RETURN(auto version, dest.Version(file));
      auto won = dest.Replace(file, body, version.value_or(""));
      if (won.ok() && *won) break;
      if (attempt >= 8) {
        if (!won.ok()) return std::move(won).error();
        return IoError(
            fmt::format("{} kept changing under 9 attempts to publish it", dest.Url(file)));
      }
    }
    result.written.push_back(dest.Url(file));
  }
  return result;
}

}  // namespace vz::app
