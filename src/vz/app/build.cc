#include "vz/app/build.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "vz/app/atomic_file.h"
#include "vz/app/formats.h"
#include "vz/app/sources.h"
#include "vz/base/ordered_parallel.h"
#include "vz/io/byte_source.h"
#include "vz/materialize/materialize.h"
#include "vz/refs/store.h"
#include "vz/refs/translate.h"

namespace vz::app {

namespace {

using refs::SortedJson;

bool IsRemote(const std::string& url) {
  return url.find("://") != std::string::npos && url.rfind("file://", 0) != 0;
}

std::string BaseName(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The URL a granule's references will carry (absolute path for local files).
std::string CanonicalUrl(const std::string& input) {
  if (IsRemote(input)) return input;
  std::string path = input.rfind("file://", 0) == 0 ? input.substr(7) : input;
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec).lexically_normal();
  return ec ? path : abs.string();
}

// The dimension to concatenate along when none is given: the unlimited one, else "time".
std::string DefaultConcatDim(const model::VirtualDataset& ds) {
  for (const auto& a : ds.arrays) {
    if (a.is_dimension_scale && a.max_shape.size() == 1 &&
        a.max_shape[0] == model::Array::kUnlimited) {
      return a.Name();
    }
  }
  for (const auto& a : ds.arrays) {
    for (std::size_t d = 0; d < a.max_shape.size() && d < a.dims.size(); ++d) {
      if (a.max_shape[d] == model::Array::kUnlimited && !a.dims[d].empty()) {
        return BaseName(a.dims[d]);
      }
    }
  }
  return "time";
}

struct Scanned {  // NOLINT(bugprone-exception-escape): nlohmann::json members
  refs::RefStore store;
  std::vector<std::string> warnings;
  std::uint64_t bytes = 0;
  std::uint64_t requests = 0;
  std::uint64_t rounds = 0;
};

class GranuleScanner {
 public:
  explicit GranuleScanner(const BuildOptions& options) : options_(options) {
    for (const auto& v : options.loadable_vars) loadable_.insert(v);
    const std::string& spec = options.combine.granule_coord;
    if (!options.combine.new_dim.empty() && spec.rfind("var:", 0) == 0) {
      loadable_.insert(spec.substr(4));
    }
  }

  // Set once the first granule is known (build) or from the store (append).
  void set_concat_dim(std::string dim) { concat_dim_ = std::move(dim); }
  const std::string& concat_dim() const { return concat_dim_; }

  Result<Scanned> Scan(const std::string& url, bool first) {
    OpenedFile file;
    const bool adapt = IsRemote(url) && !options_.scan.cache_set_by_user;
    ScanOptions adapted;
    const ScanOptions* scan = &options_.scan;
    if (const std::uint64_t learned = learned_first_read_.load(); adapt && learned != 0) {
      adapted = options_.scan;
      adapted.cache.front_window = adapted.cache.first_read;
      adapted.cache.first_read = learned;
      scan = &adapted;
    }
    VZ_ASSIGN_OR_RETURN(auto parsed, OpenAndParse(url, *scan, file));
    model::VirtualDataset& ds = parsed;
    if (first && concat_dim_.empty() && options_.combine.new_dim.empty()) {
      concat_dim_ = DefaultConcatDim(ds);
    }
    std::map<std::size_t, std::string> load;
    // The concat coordinate's CF bounds variable (time_bnds) is loaded with it: its values must
    // be re-encoded with the coordinate's when granules use different units.
    std::string bounds;
    for (const auto& a : ds.arrays) {
      if (concat_dim_.empty() || a.Name() != concat_dim_ || a.shape.size() != 1) continue;
      for (const auto& attr : a.attributes) {
        const model::Json* v = &attr.value;
        if (v->is_array() && v->size() == 1) v = &(*v)[0];
        if (attr.name == "bounds" && v->is_string()) bounds = v->get<std::string>();
      }
    }
    for (std::size_t i = 0; i < ds.arrays.size(); ++i) {
      const auto& a = ds.arrays[i];
      if (a.is_dimension_only || !refs::SkipReason(a).empty()) continue;
      const std::string path = a.path.empty() || a.path[0] != '/' ? a.path : a.path.substr(1);
      const bool coordinate =
          !concat_dim_.empty() && a.Name() == concat_dim_ && a.shape.size() == 1;
      if (coordinate) {
        load[i] = fmt::format("is the {} coordinate", concat_dim_);
      } else if (!bounds.empty() && (a.Name() == bounds || path == bounds)) {
        load[i] = fmt::format("holds the bounds of the {} coordinate", concat_dim_);
      } else if (loadable_.count(a.Name()) != 0 || loadable_.count(path) != 0 ||
                 loadable_.count(a.path) != 0) {
        load[i] = "is in --loadable-vars";
      }
    }
    io::UncachedView data(*file.cache);
    VZ_TRY(materialize::MaterializeInline(ds, data, KerchunkOptionsFor(file, options_.scan), load));
    VZ_TRY(CheckGranuleAgainstSidecar(file, ds));
    if (adapt && file.sidecar == nullptr) LearnFirstRead(file.cache->front_extent());
    Scanned out;
    VZ_ASSIGN_OR_RETURN(out.store, refs::ToRefStore(ds));
    // The granule's ETag as its server sent it (HTTP and S3; none for local files), so that
    // formats that hold one (Icechunk) can refuse chunks of a granule changed since.
    if (auto info = file.raw->Stat(); info.ok() && !info->etag.empty()) {
      out.store.checksums.assign(out.store.urls.size(), "");
      for (std::size_t u = 0; u < out.store.urls.size(); ++u) {
        if (out.store.urls[u] == file.raw->url()) out.store.checksums[u] = info->etag;
      }
    }
    out.warnings = std::move(ds.warnings);
    out.bytes = file.bytes();
    out.requests = file.requests();
    out.rounds = file.rounds();
    return out;
  }

 private:
  // Granules of one collection share a layout: once one has shown how much of its front its
  // metadata takes, later remote granules read that much (plus a margin) first instead of the
  // whole --first-read, which for MUR-like granules is four times less for the same rounds.
  // Only ever grows: a granule that needed more raises it for the ones after it.
  void LearnFirstRead(std::uint64_t extent) {
    constexpr std::uint64_t kStep = 64 << 10;
    const std::uint64_t cap = options_.scan.cache.first_read;
    const std::uint64_t want =
        std::clamp((extent + extent / 4 + kStep - 1) / kStep * kStep, std::min(kStep, cap), cap);
    std::uint64_t seen = learned_first_read_.load();
    while (want > seen && !learned_first_read_.compare_exchange_weak(seen, want)) {
    }
  }

  const BuildOptions& options_;
  std::set<std::string> loadable_;
  std::string concat_dim_;
  std::atomic<std::uint64_t> learned_first_read_{0};  // 0: nothing learned yet
};

void PrintProgress(std::size_t done, std::size_t total,
                   std::chrono::steady_clock::time_point start) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0;
  std::cerr << fmt::format("\r{}/{} granules  {:.1f}/s  ETA {:.0f} s   ", done, total, rate, eta)
            << std::flush;
}

}  // namespace

SortedJson StoreMeta(const BuildOptions& options, const std::string& concat_dim,
                     const std::vector<std::string>& granules) {
  SortedJson meta = SortedJson::object();
  meta["granules"] = granules;
  meta["concat_dim"] = options.combine.new_dim.empty() ? concat_dim : options.combine.new_dim;
  if (!options.combine.new_dim.empty()) {
    meta["new_dim"] = options.combine.new_dim;
    meta["granule_coord"] = options.combine.granule_coord;
  }
  meta["loadable_vars"] = options.loadable_vars;
  meta["identical_vars"] = std::vector<std::string>(options.combine.identical_vars.begin(),
                                                    options.combine.identical_vars.end());
  // Only the non-default naming is recorded: stores in the default form keep their bytes.
  if (options.scan.kerchunk.group_dims_as_paths) meta["group_dims"] = "kerchunk";
  meta["vzgen_version"] = VZ_VERSION;
  return meta;
}

SortedJson ReportJson(const std::string& command, const std::string& output, std::size_t inputs,
                      const BuildReport& report, const refs::RefStore* store) {
  SortedJson j;
  j["command"] = command;
  j["output"] = output;
  j["inputs"] = inputs;
  j["granules_used"] = report.used;
  j["granules_skipped"] = SortedJson::array();
  for (const auto& [p, why] : report.skipped) {
    j["granules_skipped"].push_back({{"path", p}, {"reason", why}});
  }
  j["granules_already_present"] = report.already_present;
  j["warnings"] = report.warnings;
  j["references"] = report.references;
  j["bytes_read"] = report.bytes_read;
  j["requests"] = report.requests;
  j["rounds"] = report.rounds;
  j["seconds"] = report.seconds;
  if (store != nullptr) {
    SortedJson vars = SortedJson::object();
    for (const auto& a : store->arrays) {
      vars[a.name] = {{"shape", a.zarray.value("shape", SortedJson())},
                      {"dtype", a.zarray.value("dtype", SortedJson())},
                      {"dims", a.Dims()},
                      {"references", a.entries.size()},
                      {"in_memory", a.InMemory()}};
    }
    j["variables"] = vars;
  }
  return j;
}

namespace {

// Scans inputs[begin..] in parallel and hands each result, in input order, to `consume`.
// At most a window of finished results waits in memory.
Status ScanAll(GranuleScanner& scanner, const std::vector<std::string>& inputs, std::size_t begin,
               unsigned jobs, const std::function<Status(std::size_t, Result<Scanned>)>& consume) {
  return OrderedParallel<Result<Scanned>>(
      begin, inputs.size(), {jobs, 0},
      [&](std::size_t i) { return scanner.Scan(inputs[i], false); }, consume);
}

// The shared part of build and append: `first` (the existing store, or nullopt) then inputs.
}  // namespace

Result<CombinedStore> CombineInputs(std::optional<refs::RefStore> existing,
                                    const std::string& label,
                                    const std::vector<std::string>& inputs,
                                    const BuildOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  BuildReport report;
  std::vector<std::string> existing_granules;
  if (existing && existing->meta.is_object() && existing->meta.contains("granules")) {
    for (const auto& g : existing->meta["granules"]) {
      if (g.is_string()) existing_granules.push_back(g.get<std::string>());
    }
  }
  GranuleScanner scanner(options);
  std::size_t begin = 0;
  std::optional<combine::Combiner> combiner;
  auto make_combiner = [&] {
    combine::CombineOptions c = options.combine;
    if (c.new_dim.empty()) c.concat_dim = scanner.concat_dim();
    combiner.emplace(std::move(c));
  };
  auto fail_or_skip = [&](const std::string& input, Error error) -> Status {
    if (!options.skip_bad) return error;
    report.skipped.emplace_back(input, error.ToString());
    return Ok();
  };
  const bool tty = options.progress && isatty(STDERR_FILENO) != 0;
  std::size_t done = 0;
  auto accept = [&](const std::string& input, Result<Scanned> r) -> Status {
    ++done;
    if (tty) PrintProgress(done, inputs.size(), start);
    if (!r.ok()) return fail_or_skip(input, std::move(r).error().Annotate("in " + input));
    report.bytes_read += r->bytes;
    report.requests += r->requests;
    report.rounds += r->rounds;
    for (const auto& w : r->warnings) report.warnings.push_back(fmt::format("{}: {}", input, w));
    if (options.on_granule) options.on_granule(input, r->store);
    Status added = combiner->Add(std::move(r->store), input);
    if (!added.ok()) return fail_or_skip(input, std::move(added).error());
    report.used.push_back(input);
    return Ok();
  };
  if (existing) {
    if (options.combine.new_dim.empty()) scanner.set_concat_dim(options.combine.concat_dim);
    make_combiner();
    VZ_TRY(combiner->Add(std::move(*existing), label));
  } else {
    // The first granule that scans decides the dimension (when not given) and the layout.
    if (options.combine.new_dim.empty()) scanner.set_concat_dim(options.combine.concat_dim);
    while (begin < inputs.size() && !combiner) {
      auto r = scanner.Scan(inputs[begin], true);
      make_combiner();
      const std::size_t used_before = report.used.size();
      VZ_TRY(accept(inputs[begin], std::move(r)));
      ++begin;
      if (report.used.size() == used_before) {
        combiner.reset();  // skipped: the next granule decides
        if (options.combine.new_dim.empty()) scanner.set_concat_dim(options.combine.concat_dim);
      }
    }
  }
  if (!combiner) {
    // Every granule was skipped: there is no store, but the report says why.
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return CombinedStore{refs::RefStore{}, std::move(report), false};
  }
  unsigned jobs = options.jobs;
  if (jobs == 0) {
    const bool remote = std::any_of(inputs.begin(), inputs.end(), IsRemote);
    // A remote granule opens with two requests at once (its head and its tail).
    jobs = remote ? static_cast<unsigned>(std::max(1L, RemoteConcurrency() / 2))
                  : std::max(1u, std::thread::hardware_concurrency());
  }
  VZ_TRY(ScanAll(scanner, inputs, begin, jobs, [&](std::size_t i, Result<Scanned> r) {
    return accept(inputs[i], std::move(r));
  }));
  if (tty) std::cerr << "\n";
  VZ_ASSIGN_OR_RETURN(auto store, combiner->Finish());
  // Every granule in the store, so that append knows what is there and can rebuild in order.
  std::vector<std::string> granules;
  for (const auto& l : combiner->ordered_labels()) {
    if (existing && l == label) {
      granules.insert(granules.end(), existing_granules.begin(), existing_granules.end());
    } else {
      granules.push_back(CanonicalUrl(l));
    }
  }
  store.meta = StoreMeta(options, scanner.concat_dim(), granules);
  for (const auto& a : store.arrays) report.references += a.entries.size();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return CombinedStore{std::move(store), std::move(report), true};
}

namespace {

std::string ReportPath(const std::string& output, const BuildOptions& options) {
  return options.report.empty() ? output + ".report.json" : options.report;
}

// Writes the run report; a failure is a warning (the store itself was written, or was not to be).
void WriteReport(const std::string& command, const std::string& output, std::size_t inputs,
                 BuildReport& report, const refs::RefStore* store, const BuildOptions& options) {
  const SortedJson j = ReportJson(command, output, inputs, report, store);
  Status st = WriteFileAtomically(ReportPath(output, options), [&](std::ostream& out) {
    out << j.dump(2) << "\n";
    return Status(Ok());
  });
  if (!st.ok()) report.warnings.push_back("report not written: " + st.error().ToString());
}

// Combines, then writes the store atomically and its report beside it. `report` carries what
// the caller already knows of the run (append: the granules already present); `given` is the
// number of inputs the user gave.
Result<BuildReport> Combine(std::optional<refs::RefStore> existing, const std::string& label,
                            const std::vector<std::string>& inputs, const std::string& output,
                            const BuildOptions& options, const std::string& command,
                            std::size_t given, std::vector<std::string> already_present) {
  VZ_ASSIGN_OR_RETURN(const StoreFormat* format,
                      FindStoreFormat(options.format.empty() ? "json" : options.format));
  FormatWriteOptions w;
  w.consolidated = options.consolidated;
  w.append = existing.has_value();
  VZ_ASSIGN_OR_RETURN(auto combined, CombineInputs(std::move(existing), label, inputs, options));
  combined.report.already_present = std::move(already_present);
  if (combined.usable) VZ_TRY(format->write(combined.store, output, w));
  WriteReport(command, output, given, combined.report, combined.usable ? &combined.store : nullptr,
              options);
  return std::move(combined.report);
}

}  // namespace

namespace {

std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(field);
      field.clear();
    } else if (c != '\r') {
      field += c;
    }
  }
  out.push_back(field);
  return out;
}

SortedJson CsvValue(const std::string& text) {
  if (text.empty()) return text;
  char* end = nullptr;
  errno = 0;
  const long long i = std::strtoll(text.c_str(), &end, 10);
  if (errno == 0 && end != nullptr && *end == '\0') return i;
  errno = 0;
  const double d = std::strtod(text.c_str(), &end);
  if (errno == 0 && end != nullptr && *end == '\0') return d;
  return text;
}

}  // namespace

Result<std::map<std::string, std::vector<std::pair<std::string, SortedJson>>>> ReadGranuleTable(
    const std::string& path) {
  std::ifstream f(path);
  if (!f) return NotFound(fmt::format("cannot open the granule table {}", path));
  std::map<std::string, std::vector<std::pair<std::string, SortedJson>>> out;
  std::string line;
  std::vector<std::string> header;
  std::size_t n = 0;
  while (std::getline(f, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    auto fields = SplitCsvLine(line);
    if (header.empty()) {
      header = fields;
      if (header.size() < 2) {
        return InvalidArgument(fmt::format(
            "{}:{}: the header must name the file column and at least one coordinate", path, n));
      }
      continue;
    }
    if (fields.size() != header.size()) {
      return InvalidArgument(fmt::format("{}:{}: {} fields, the header has {}", path, n,
                                         fields.size(), header.size()));
    }
    auto& row = out[fields[0]];
    if (!row.empty())
      return InvalidArgument(fmt::format("{}:{}: {} listed twice", path, n, fields[0]));
    for (std::size_t k = 1; k < fields.size(); ++k)
      row.emplace_back(header[k], CsvValue(fields[k]));
  }
  if (out.empty()) return InvalidArgument(fmt::format("{}: no granules in the table", path));
  return out;
}

Result<std::vector<std::string>> ExpandInputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> out;
  for (const auto& in : inputs) {
    const bool list = in.size() > 4 && in.compare(in.size() - 4, 4, ".txt") == 0 && !IsRemote(in);
    if (!list) {
      out.push_back(in);
      continue;
    }
    std::ifstream f(in);
    if (!f) return NotFound(fmt::format("cannot open the list of inputs {}", in));
    std::string line;
    while (std::getline(f, line)) {
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())) != 0) {
        line.pop_back();
      }
      std::size_t s = 0;
      while (s < line.size() && std::isspace(static_cast<unsigned char>(line[s])) != 0) ++s;
      line.erase(0, s);
      if (line.empty() || line[0] == '#') continue;
      out.push_back(line);
    }
  }
  if (out.empty()) return InvalidArgument("no input granules");
  return out;
}

Result<BuildReport> Build(const std::vector<std::string>& inputs, const std::string& output,
                          const BuildOptions& options) {
  if (output == "-") return InvalidArgument("build writes a file; -o - is not supported");
  VZ_TRY(combine::ValidateGranuleCoord(options.combine.granule_coord));
  std::set<std::string> seen;
  std::vector<std::string> unique;
  for (const auto& in : inputs) {
    if (seen.insert(CanonicalUrl(in)).second) unique.push_back(in);
  }
  return Combine(std::nullopt, "", unique, output, options, "build", inputs.size(), {});
}

void OptionsFromStore(const SortedJson& meta, BuildOptions& options) {
  if (!meta.is_object()) return;
  if (options.combine.new_dim.empty() && options.combine.concat_dim.empty()) {
    if (meta.contains("new_dim")) {
      options.combine.new_dim = meta.value("new_dim", "");
      options.combine.granule_coord = meta.value("granule_coord", "index");
    } else {
      options.combine.concat_dim = meta.value("concat_dim", "");
    }
  }
  if (options.loadable_vars.empty() && meta.contains("loadable_vars")) {
    for (const auto& v : meta["loadable_vars"]) {
      if (v.is_string()) options.loadable_vars.push_back(v.get<std::string>());
    }
  }
  if (!options.group_dims_given && meta.value("group_dims", "") == "kerchunk") {
    options.scan.kerchunk.group_dims_as_paths = true;
  }
  if (options.combine.identical_vars.empty() && meta.contains("identical_vars")) {
    for (const auto& v : meta["identical_vars"]) {
      if (v.is_string()) options.combine.identical_vars.insert(v.get<std::string>());
    }
  }
}

Result<BuildReport> Append(const std::string& store_path, const std::vector<std::string>& inputs,
                           BuildOptions options) {
  // The store keeps its format.
  const std::string there = DetectStoreFormat(store_path);
  if (!options.format.empty() && !there.empty() && there != "other" && there != options.format) {
    return Incompatible(fmt::format(
        "{} is a {} store and append keeps a store's format: leave out --format {} (or convert "
        "the store first with vzgen convert)",
        store_path, there, options.format));
  }
  if (!there.empty() && there != "other") options.format = there;
  if (there == "icechunk") {
    return Unsupported(fmt::format(
        "{} is an Icechunk repository: vzgen append does not add to Icechunk repositories yet "
        "(build it again with --format icechunk)",
        store_path));
  }
  refs::RefStore store;
  if (there == "json") {
    std::ifstream f(store_path, std::ios::binary);
    if (!f) return NotFound(fmt::format("cannot open the store {}", store_path));
    std::stringstream text;
    text << f.rdbuf();
    VZ_ASSIGN_OR_RETURN(store, refs::ReadRefStore(text.str(), store_path));
  } else {
    VZ_ASSIGN_OR_RETURN(store, ReadAnyStore(store_path));
  }
  OptionsFromStore(store.meta, options);
  const SortedJson& meta = store.meta;
  if (options.combine.new_dim.empty() && options.combine.concat_dim.empty()) {
    return InvalidArgument(fmt::format(
        "{} does not say which dimension it was built along; give --concat-dim or --new-dim",
        store_path));
  }
  VZ_TRY(combine::ValidateGranuleCoord(options.combine.granule_coord));
  // The granules of the store: as recorded by vzgen, else the URLs its references point at.
  std::vector<std::string> granules;
  if (meta.is_object() && meta.contains("granules")) {
    for (const auto& g : meta["granules"]) {
      if (g.is_string()) granules.push_back(g.get<std::string>());
    }
  }
  std::set<std::string> present(granules.begin(), granules.end());
  if (granules.empty()) present.insert(store.urls.begin(), store.urls.end());
  std::vector<std::string> fresh;
  BuildReport skipped_report;
  for (const auto& in : inputs) {
    if (present.insert(CanonicalUrl(in)).second) {
      fresh.push_back(in);
    } else {
      skipped_report.already_present.push_back(in);
    }
  }
  // The store's layout is kept: consolidated metadata stays consolidated.
  options.consolidated = options.consolidated || store.consolidated;
  if (fresh.empty()) {
    // Nothing new: the store stays exactly as it is; the report says so.
    WriteReport("append", store_path, inputs.size(), skipped_report, &store, options);
    return skipped_report;
  }
  auto appended = Combine(std::move(store), store_path, fresh, store_path, options, "append",
                          inputs.size(), skipped_report.already_present);
  if (!appended.ok()) {
    // New granules that belong among the store's: rebuild it in order from all its granules
    // (possible when vzgen recorded them). A true duplicate fails again, naming both granules.
    const std::string& message = appended.error().message();
    const bool among = message.find(store_path) != std::string::npos &&
                       (message.find(" overlap ") != std::string::npos ||
                        message.find(" repeat ") != std::string::npos);
    if (!among || granules.empty()) return std::move(appended).error();
    std::vector<std::string> all = granules;
    all.insert(all.end(), fresh.begin(), fresh.end());
    appended = Combine(std::nullopt, "", all, store_path, options, "append (rebuilt in order)",
                       inputs.size(), skipped_report.already_present);
    VZ_TRY(appended);
  }
  return appended;
}

}  // namespace vz::app
