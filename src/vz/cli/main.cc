// vzgen command line: argument parsing only; the work is in vz/app.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vz/app/atomic_file.h"
#include "vz/app/build.h"
#include "vz/app/catalog.h"
#include "vz/app/formats.h"
#include "vz/app/job.h"
#include "vz/app/plan.h"
#include "vz/app/runtime_options.h"
#include "vz/app/scan.h"
#include "vz/app/sources.h"
#include "vz/app/verify.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;   // the input or the environment is bad
constexpr int kExitUsage = 2;    // the command line is bad
constexpr int kExitPartial = 3;  // done, but some granules were skipped (--on-error skip)
// (4 is the job's: authentication failed)
constexpr int kExitNothingUsable = 5;  // --on-error skip, and every granule was skipped

// The variables `vzgen job --help` lists (docs/job.md has them all, with their defaults).
constexpr const char* kJobEnvironmentHelp = R"(
Environment (docs/job.md has every variable and its default):
  COLLECTION           collection short name (required)
  LOADABLE_VARS        comma-separated variables to embed (e.g. lat,lon,time)
  START_DATE END_DATE  the date range (M-D-YYYY or ISO 8601), optional
  OUTPUT_BUCKET        bucket the stores are published to (else VZ_OUTPUT_DIR, default out)
  STAGING_BUCKET       a second bucket written with the same stores, optional
  SSM_EDL_USERNAME SSM_EDL_PASSWORD  SSM parameter names of the Earthdata Login credentials
  VZ_JOB_MODE          build (default) or append
  VZ_ACCESS            auto (default), direct (S3 in region) or https
  VZ_LEVEL2            auto (default), yes or no
  VZ_METADATA          granule (default), dmrpp (the .dmrpp sidecars) or auto
  also: CPU_COUNT VZ_CMR_URL VZ_PROFILE VZ_PROVIDER VZ_COLLECTION_VERSION VZ_CONCEPT_ID
        VZ_GRANULE_NAMES VZ_BOUNDING_BOX VZ_S3_CREDENTIALS_URL VZ_S3_PART_SIZE AWS_REGION
        VZ_AWS_ENDPOINT VZ_CA_BUNDLE VZ_TIMEOUT VZ_CONNECT_TIMEOUT
Exit codes: 0 published, 1 failed, 2 bad configuration, 3 published with granules skipped,
4 authentication failed, 130/143 interrupted.)";

int Report(const vz::Status& status) {
  if (status.ok()) return kExitOk;
  std::cerr << "vzgen: error: " << status.error().ToString() << "\n";
  return status.error().code() == vz::ErrorCode::kInvalidArgument ? kExitUsage : kExitFailed;
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(pos, comma - pos);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    if (!item.empty()) out.push_back(item);
    pos = comma + 1;
  }
  return out;
}

int Run(int argc, char** argv) {
  // The usage line says "vzgen", whatever path the binary was started by.
  CLI::App app{"vzgen: NetCDF4/HDF5/netCDF-3 granules to virtual Zarr (kerchunk) references",
               "vzgen"};
  app.set_version_flag("--version", std::string("vzgen ") + VZ_VERSION);
  app.require_subcommand(1);

  vz::app::ScanOptions options;
  std::string input;
  std::string output;
  bool quiet = false;
  bool force = false;
  constexpr std::uint64_t kMaxBytes = std::uint64_t{1} << 40;

  // Dimension names in groups, for every command that writes references (docs/output.md).
  std::string group_dims = "netcdf";
  auto add_group_dims = [&group_dims](CLI::App* cmd) {
    cmd->add_option("--group-dims", group_dims,
                    "dimension names in groups: netcdf (\"time\", as netCDF readers show them; "
                    "default) or kerchunk (\"grp/time\", the scale's path)")
        ->check(CLI::IsMember({"netcdf", "kerchunk"}));
  };

  // The metadata read sizes, for every command that reads granules.
  auto add_cache_options = [](CLI::App* cmd, vz::io::BlockCacheOptions& cache) {
    cmd->add_option(
           "--first-read", cache.first_read,
           "bytes read from the start of a file at open (default 1 MiB remote, 64 KiB local)")
        ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 32));
    cmd->add_option(
           "--block-size", cache.block_size,
           "metadata read granularity after the first read (default 256 KiB remote, 16 KiB local)")
        ->check(CLI::Range(std::uint64_t{512}, std::uint64_t{1} << 30));
    cmd->add_option("--tail-read", cache.tail_read,
                    "bytes read from the end of a file at open, with the first read "
                    "(default 64 KiB)")
        ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 32));
  };
  auto cache_options_given = [](CLI::App* cmd) {
    return cmd->count("--first-read") + cmd->count("--block-size") + cmd->count("--tail-read") > 0;
  };

  CLI::App* scan = app.add_subcommand("scan", "write kerchunk JSON references for one file");
  scan->add_option("file", input, "HDF5 / netCDF-4 / netCDF-3 file, or its DMR++ sidecar (.dmrpp)")
      ->required();
  scan->add_option("-o,--output", output, "output JSON path, or - for standard output")->required();
  scan->add_option("--inline-threshold", options.kerchunk.inline_threshold,
                   "embed chunks smaller than this many bytes (default 500; 0 disables)")
      ->check(CLI::Range(std::uint64_t{0}, kMaxBytes));
  scan->add_option("--max-decoded-inline", options.kerchunk.max_decoded_inline,
                   "largest array (bytes, decoded) inlined when its filters need decoding by "
                   "vzgen (default 64 MiB)")
      ->check(CLI::Range(std::uint64_t{1}, kMaxBytes));
  scan->add_flag("--force", force,
                 "replace the output even when it exists and is not a reference store");
  scan->add_flag("-q,--quiet", quiet, "do not print warnings");
  add_group_dims(scan);
  add_cache_options(scan, options.cache);

  CLI::App* inspect = app.add_subcommand(
      "inspect", "print groups, arrays, dtype, shape, chunks, filters, chunk index and bytes");
  inspect->add_option("file", input, "HDF5 / netCDF-4 / netCDF-3 file")->required();
  add_cache_options(inspect, options.cache);

  vz::app::BuildOptions build_options;
  long concurrency = 128;
  std::string granule_table;
  std::vector<std::string> inputs;
  std::string loadable;
  std::string identical;
  std::string on_error = "fail";
  std::string store;
  auto add_combine_options = [&](CLI::App* cmd) {
    cmd->add_option("--concat-dim", build_options.combine.concat_dim,
                    "dimension to concatenate along (default: the unlimited one, else time)");
    cmd->add_option("--new-dim", build_options.combine.new_dim,
                    "concatenate along this new leading dimension instead (Level-2 swaths)");
    cmd->add_option("--granule-coord", build_options.combine.granule_coord,
                    "values of the new dimension: index, attr:NAME, var:NAME or regex:PATTERN "
                    "(default index)");
    cmd->add_option("--granule-table", granule_table,
                    "CSV of more coordinates along --new-dim: header file,name1,...; one row per "
                    "granule (base name or path)");
    cmd->add_option("--loadable-vars", loadable,
                    "comma-separated variables to decode and embed (the concat coordinate "
                    "always is)");
    cmd->add_option("--identical-vars", identical,
                    "comma-separated variables taken from the first granule without comparing "
                    "their values");
    cmd->add_option("--on-error", on_error,
                    "fail: stop at the first bad granule (default); skip: leave it out, list it "
                    "in the report and exit 3")
        ->check(CLI::IsMember({"fail", "skip"}));
    cmd->add_option("--report", build_options.report,
                    "run report path (default: <store>.report.json)");
    cmd->add_option("-j,--jobs", build_options.jobs,
                    "granules scanned at once (default: cores for local files, half of "
                    "--concurrency for remote ones)")
        ->check(CLI::Range(1u, 1024u));
    cmd->add_option(
           "--concurrency", concurrency,
           "HTTP/S3 requests in flight at once, to all hosts and to one host (default 128)")
        ->check(CLI::Range(1L, 1024L));
    cmd->add_option("--inline-threshold", build_options.scan.kerchunk.inline_threshold,
                    "embed chunks smaller than this many bytes (default 500; 0 disables)")
        ->check(CLI::Range(std::uint64_t{0}, kMaxBytes));
    cmd->add_option("--max-decoded-inline", build_options.scan.kerchunk.max_decoded_inline,
                    "largest variable (bytes, decoded) that is loaded or decoded and embedded "
                    "(default 64 MiB)")
        ->check(CLI::Range(std::uint64_t{1}, kMaxBytes));
    cmd->add_flag("--force", force,
                  "replace the output (and the report) even when it exists and is not a "
                  "reference store (a run report)");
    cmd->add_flag("-q,--quiet", quiet, "no warnings and no progress line");
    cmd->add_flag("--consolidated", build_options.consolidated,
                  "also write .zmetadata (zarr consolidated metadata)");
    add_group_dims(cmd);
    cmd->add_option("--format", build_options.format,
                    "store format: json (default), parquet or icechunk (docs/usage.md); append "
                    "keeps the store's")
        ->check(CLI::IsMember(vz::app::StoreFormatNames()));
    add_cache_options(cmd, build_options.scan.cache);
  };
  CLI::App* build = app.add_subcommand(
      "build", "combine many granules into one store (kerchunk JSON; --format for others)");
  build->add_option("files", inputs, "granules (paths or URLs; a .txt file lists one per line)");
  build->add_option("-o,--output", output,
                    "output store (JSON; not -: a store is written atomically, with its report "
                    "beside it); with --collection a directory or s3://bucket/prefix/");
  std::string collection;
  std::string start_date;
  std::string end_date;
  std::string cmr_url;
  std::string access = "https";
  build->add_option("--collection", collection,
                    "build a whole collection found in CMR instead of FILES (see docs/job.md)");
  build->add_option("--start", start_date, "with --collection: first day (M-D-YYYY or ISO 8601)");
  build->add_option("--end", end_date, "with --collection: last day, included");
  build->add_option("--cmr-url", cmr_url, "CMR search endpoint (default $VZ_CMR_URL, else NASA's)");
  vz::app::JobConfig filters;
  std::string granule_names;
  std::string profile;
  auto add_filters = [&](CLI::App* cmd) {
    cmd->add_option("--provider", filters.provider, "CMR provider, e.g. POCLOUD");
    cmd->add_option("--collection-version", filters.version, "collection version");
    cmd->add_option("--concept-id", filters.concept_id, "collection concept id (C...-POCLOUD)");
    cmd->add_option("--granule-name", granule_names,
                    "comma-separated granule name patterns (* and ? wildcards; any may match)");
    cmd->add_option("--bbox", filters.bounding_box, "bounding box W,S,E,N in degrees");
    cmd->add_option("--profile", profile,
                    "collection profile: a JSON file of several searches merged into one "
                    "(default $VZ_PROFILE; docs/job.md)");
  };
  add_filters(build);
  build->add_option("--access", access, "with --collection: https (default) or direct (s3)")
      ->check(CLI::IsMember({"https", "direct"}));
  add_combine_options(build);
  CLI::App* append =
      app.add_subcommand("append", "add granules to a store made by build (replaced atomically)");
  append->add_option("store", store, "the existing store (JSON)")->required();
  append->add_option("files", inputs, "granules to add")->required();
  add_combine_options(append);

  CLI::App* convert = app.add_subcommand(
      "convert", "write a store (any tool's kerchunk JSON, or Parquet) in another format");
  std::string convert_format;
  convert->add_option("store", store, "the store (JSON path or URL, or a Parquet directory)")
      ->required();
  convert->add_option("--format", convert_format, "json, parquet or icechunk")
      ->required()
      ->check(CLI::IsMember(vz::app::StoreFormatNames()));
  convert->add_option("-o,--output", output, "the new store")->required();
  convert->add_flag("--force", force, "JSON output: replace a file that is not a reference store");
  convert->add_flag("--consolidated", build_options.consolidated, "JSON output: also .zmetadata");

  CLI::App* search = app.add_subcommand(
      "search", "list a collection's granules from CMR (name, time, s3 and https links)");
  bool search_json = false;
  search->add_option("--collection", collection, "collection short name")->required();
  search->add_option("--start", start_date, "first day (M-D-YYYY or ISO 8601)");
  search->add_option("--end", end_date, "last day, included");
  search->add_option("--cmr-url", cmr_url,
                     "CMR search endpoint (default $VZ_CMR_URL, else NASA's)");
  search->add_flag("--json", search_json, "one JSON object per granule instead of a table");
  int page_size = 2000;
  search->add_option("--page-size", page_size, "granules per CMR page (default 2000, CMR's most)")
      ->check(CLI::Range(1, 2000));
  add_filters(search);
  CLI::App* job = app.add_subcommand(
      "job", "the collection job, configured by environment variables (docs/job.md)");
  job->footer(kJobEnvironmentHelp);

  CLI::App* verify = app.add_subcommand(
      "verify", "read a sample of a store's chunks through their references and decode them");
  std::size_t samples = 2;
  verify->add_option("store", store, "the store (path, https:// or s3:// URL)")->required();
  verify->add_option("--samples", samples, "chunks checked per array (default 2: first and last)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  verify->add_flag("-q,--quiet", quiet, "print only failures");

  // Scale-out (docs/job.md): plan -> shard (one per index, any order) -> merge -> publish.
  CLI::App* plan = app.add_subcommand(
      "plan", "fix a collection's granules, their order and shards for shard/merge (docs/job.md)");
  vz::app::PlanOptions plan_options;
  std::string run_format = "json";
  plan->add_option("files", inputs, "granules (paths or URLs; a .txt file lists one per line)");
  plan->add_option("-o,--output", plan_options.output,
                   "where runs are written: a directory or s3://bucket/prefix/ (the run is "
                   "<output>/<run id>/)")
      ->required();
  plan->add_option("--collection", collection, "plan a collection found in CMR instead of FILES");
  plan->add_option("--start", start_date, "with --collection: first day (M-D-YYYY or ISO 8601)");
  plan->add_option("--end", end_date, "with --collection: last day, included");
  plan->add_option("--cmr-url", cmr_url, "CMR search endpoint (default $VZ_CMR_URL, else NASA's)");
  plan->add_option("--access", access, "with --collection: https (default) or direct (s3)")
      ->check(CLI::IsMember({"https", "direct"}));
  add_filters(plan);
  plan->add_option("--shard-size", plan_options.shard_size, "granules per shard (default 1000)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100000000}));
  plan->add_option("--format", run_format,
                   "the merged store's format: json (the only one for now)");
  plan->add_option("--concat-dim", build_options.combine.concat_dim,
                   "dimension to concatenate along (default: the unlimited one, else time)");
  plan->add_option("--new-dim", build_options.combine.new_dim,
                   "concatenate along this new leading dimension instead (Level-2 swaths)");
  plan->add_option("--granule-coord", build_options.combine.granule_coord,
                   "values of the new dimension: index, attr:NAME, var:NAME or regex:PATTERN");
  plan->add_option("--granule-table", granule_table, "CSV of more coordinates along --new-dim");
  plan->add_option("--loadable-vars", loadable, "comma-separated variables to decode and embed");
  plan->add_option("--identical-vars", identical,
                   "comma-separated variables taken from the first granule unchecked");
  plan->add_option("--on-error", on_error, "fail (default) or skip a bad granule in its shard")
      ->check(CLI::IsMember({"fail", "skip"}));
  plan->add_option("--inline-threshold", build_options.scan.kerchunk.inline_threshold,
                   "embed chunks smaller than this many bytes (default 500; 0 disables)")
      ->check(CLI::Range(std::uint64_t{0}, kMaxBytes));
  plan->add_flag("--consolidated", build_options.consolidated,
                 "the merged store also has .zmetadata");
  CLI::App* shard = app.add_subcommand(
      "shard", "combine one shard of a plan (exits 0 at once when it is already done)");
  std::string run_dir;
  std::uint64_t shard_index = 0;
  std::string index_env;
  shard->add_option("run", run_dir, "the run: <output>/<run id>/ as plan printed it")->required();
  auto* index_opt = shard->add_option("--index", shard_index, "the shard index (0, 1, ...)");
  shard
      ->add_option("--index-env", index_env,
                   "read the index from this variable (AWS_BATCH_JOB_ARRAY_INDEX, "
                   "JOB_COMPLETION_INDEX)")
      ->excludes(index_opt);
  shard->add_option("-j,--jobs", build_options.jobs, "granules scanned at once")
      ->check(CLI::Range(1u, 1024u));
  shard->add_option("--concurrency", concurrency, "HTTP/S3 requests in flight (default 128)")
      ->check(CLI::Range(1L, 1024L));
  shard->add_flag("-q,--quiet", quiet, "no progress line");
  CLI::App* merge = app.add_subcommand(
      "merge", "merge a run's shards, in plan order, into RUN/merged/store.json");
  merge->add_option("run", run_dir, "the run")->required();
  merge->add_option("--format", run_format, "json (the only format for now)");
  CLI::App* publish = app.add_subcommand(
      "publish", "put a merged run's store in place (refuses to replace a newer run's)");
  std::string publish_to;
  publish->add_option("run", run_dir, "the run")->required();
  publish->add_option("--to", publish_to, "a directory or s3://bucket/prefix/")->required();

  std::string ca_bundle;
  std::string timeout;
  std::string connect_timeout;
  for (CLI::App* cmd :
       {scan, inspect, build, append, verify, search, plan, shard, merge, publish}) {
    cmd->add_option("--ca-bundle", ca_bundle,
                    "PEM file of the CAs that TLS is verified with, for private endpoints "
                    "(default $VZ_CA_BUNDLE, else the system's)");
    cmd->add_option("--timeout", timeout,
                    "seconds an HTTP/S3 transfer may go without receiving data before it is "
                    "retried (default $VZ_TIMEOUT, else 30)");
    cmd->add_option("--connect-timeout", connect_timeout,
                    "seconds to wait for an HTTP/S3 connection (default $VZ_CONNECT_TIMEOUT, "
                    "else 10)");
  }
  std::string metadata;
  for (CLI::App* cmd : {scan, inspect, build, append}) {
    cmd->add_option("--metadata", metadata,
                    "granule: read each granule's metadata (default); dmrpp: read <granule>.dmrpp "
                    "instead; auto: the sidecar when there is one that says everything "
                    "(docs/dmrpp.md)")
        ->check(CLI::IsMember({"auto", "dmrpp", "granule"}));
  }
  std::string s3_credentials_url;
  for (CLI::App* cmd : {scan, inspect, build, append, verify}) {
    cmd->add_option("--s3-credentials-url", s3_credentials_url,
                    "a DAAC's s3credentials endpoint: s3:// reads use its temporary in-region "
                    "credentials, fetched with Earthdata Login (default $VZ_S3_CREDENTIALS_URL)");
  }

  const std::string first = argc > 1 ? argv[1] : "";
  if (!first.empty() && first[0] != '-' && first != "scan" && first != "inspect" &&
      first != "build" && first != "append" && first != "verify" && first != "search" &&
      first != "job" && first != "convert" && first != "plan" && first != "shard" &&
      first != "merge" && first != "publish") {
    std::cerr << "vzgen: error: unknown command '" << argv[1]
              << "' (commands: scan, inspect, build, append, convert, verify, search, job, plan, "
                 "shard, merge, publish; see vzgen --help)\n";
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, like every other error.
    std::cerr << "vzgen: error: " << e.what() << " (see vzgen --help)\n";
    return kExitUsage;
  }
  options.kerchunk.group_dims_as_paths = group_dims == "kerchunk";
  build_options.scan.kerchunk.group_dims_as_paths = group_dims == "kerchunk";
  build_options.group_dims_given = build->count("--group-dims") + append->count("--group-dims") > 0;

  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
  };
  // `search` and `build --collection` find granules in CMR (and the job its own credentials).
  const bool catalog_run = search->parsed() || (build->parsed() && !collection.empty()) ||
                           (plan->parsed() && !collection.empty());
  {
    vz::app::RuntimeFlags flags{ca_bundle,          timeout,     connect_timeout,
                                s3_credentials_url, concurrency, !job->parsed() && !catalog_run};
    auto runtime = vz::app::RuntimeOptionsFrom(flags, env);
    if (!runtime.ok()) return Report(std::move(runtime).error());
    // Dates are checked here, before anything is sent.
    if (catalog_run) {
      if (auto st = vz::app::CheckCatalogDates(start_date, end_date); !st.ok()) return Report(st);
    }
    if (auto st = vz::app::UseRuntimeOptions(*runtime); !st.ok()) return Report(st);
  }
  for (CLI::App* cmd : {scan, inspect}) {
    if (cmd->parsed() && cache_options_given(cmd)) options.cache_set_by_user = true;
  }
  if (auto m = vz::app::ParseMetadataSource(metadata, "--metadata"); m.ok()) {
    options.metadata = *m;
    build_options.scan.metadata = *m;
  }
  if (scan->parsed()) {
    if (auto st = vz::app::CheckInputsAreFiles({input}); !st.ok()) return Report(st);
    if (auto st = vz::app::CheckOutputTarget(output, vz::app::OutputKind::kReferenceStore, {input},
                                             force);
        !st.ok()) {
      return Report(st);
    }
    vz::app::SetInterruptOutput(output == "-" ? "" : output);
    std::vector<std::string> warnings;
    auto status = vz::app::Scan(input, output, options, &warnings);
    if (!quiet) {
      for (const auto& w : warnings) std::cerr << "vzgen: warning: " << w << "\n";
    }
    return Report(status);
  }
  if (inspect->parsed()) {
    if (auto st = vz::app::CheckInputsAreFiles({input}); !st.ok()) return Report(st);
    return Report(vz::app::Inspect(input, options, std::cout));
  }
  if (convert->parsed()) {
    auto checked = vz::app::FindStoreFormat(convert_format);
    if (!checked.ok()) return Report(std::move(checked).error());
    if (auto st = vz::app::CheckStoreOutput(output, convert_format, {store}, force); !st.ok()) {
      return Report(st);
    }
    vz::app::SetInterruptOutput(output);
    vz::app::FormatWriteOptions wo;
    wo.consolidated = build_options.consolidated;
    return Report(vz::app::ConvertStore(store, output, convert_format, wo));
  }
  if (verify->parsed()) {
    auto loaded = vz::app::LoadStore(store);
    if (!loaded.ok()) return Report(std::move(loaded).error());
    vz::app::VerifyOptions vo;
    vo.samples_per_array = samples;
    auto result = vz::app::VerifyStore(*loaded, vo);
    if (!result.ok()) return Report(std::move(result).error());
    if (!quiet) {
      for (const auto& s : result->samples) {
        std::cout << fmt::format("ok {}{}{}\n", s.key, s.first.empty() ? "" : " first value ",
                                 s.first);
      }
    }
    for (const auto& f : result->failures) std::cerr << "vzgen: verify failed: " << f << "\n";
    std::cout << fmt::format("{} chunks of {} arrays decoded, {} failed\n", result->chunks,
                             result->arrays, result->failures.size());
    return result->failures.empty() ? kExitOk : kExitFailed;
  }
  if (cmr_url.empty()) cmr_url = env("VZ_CMR_URL");
  filters.granule_names = SplitList(granule_names);
  if (profile.empty()) profile = env("VZ_PROFILE");
  if (!profile.empty() && catalog_run) {
    auto parts = vz::app::LoadSearchProfile(profile);
    if (!parts.ok()) return Report(std::move(parts).error());
    filters.searches = std::move(parts).value();
  }
  auto with_filters = [&](vz::app::JobConfig c) {
    c.provider = filters.provider;
    c.version = filters.version;
    c.concept_id = filters.concept_id;
    c.granule_names = filters.granule_names;
    c.bounding_box = filters.bounding_box;
    c.searches = filters.searches;
    return c;
  };
  if (search->parsed()) {
    vz::app::JobConfig c = with_filters({});
    c.collection = collection;
    c.start_date = start_date;
    c.end_date = end_date;
    auto found = vz::app::SearchCatalog(vz::app::PlainTransport(), cmr_url, c, page_size);
    if (!found.ok()) return Report(std::move(found).error());
    for (const auto& g : found->granules) {
      if (search_json) {
        nlohmann::json j = {{"name", g.name},        {"begin", g.begin},     {"end", g.end},
                            {"s3", g.s3_url},        {"https", g.https_url}, {"size", g.size},
                            {"checksum", g.checksum}};
        if (g.cycle) j["cycle"] = *g.cycle;
        if (g.pass) j["pass"] = *g.pass;
        std::cout << j.dump() << "\n";
      } else {
        std::cout << fmt::format("{}  {}  {}\n", g.begin, g.name,
                                 g.s3_url.empty() ? g.https_url : g.s3_url);
      }
    }
    std::cerr << fmt::format("{} granules ({} without a netCDF/HDF5 file)\n",
                             found->granules.size(), found->without_data.size());
    return kExitOk;
  }
  if (plan->parsed()) {
    if (inputs.empty() == collection.empty()) {
      std::cerr << "vzgen: error: plan needs FILES or --collection (not both; see vzgen --help)\n";
      return kExitUsage;
    }
    plan_options.inputs = inputs;
    plan_options.search = with_filters({});
    plan_options.search.collection = collection;
    plan_options.search.start_date = start_date;
    plan_options.search.end_date = end_date;
    plan_options.search.level2 = "auto";
    plan_options.cmr_url = cmr_url;
    plan_options.access = access;
    plan_options.format = run_format;
    build_options.loadable_vars = SplitList(loadable);
    for (auto& v : SplitList(identical)) build_options.combine.identical_vars.insert(v);
    build_options.skip_bad = on_error == "skip";
    if (!granule_table.empty()) {
      auto table = vz::app::ReadGranuleTable(granule_table);
      if (!table.ok()) return Report(std::move(table).error());
      build_options.combine.extra_coords = std::move(*table);
    }
    plan_options.build = build_options;
    auto planned = vz::app::MakePlan(plan_options);
    if (!planned.ok()) return Report(std::move(planned).error());
    std::cout << fmt::format(
        "run {}: {} granules in {} shards of up to {} ({} duplicates left "
        "out)\n{}\n",
        planned->run_id, planned->granules, planned->shards, plan_options.shard_size,
        planned->duplicates, planned->run);
    return kExitOk;
  }
  if (shard->parsed()) {
    if (shard->count("--index") == 0 && index_env.empty()) {
      std::cerr << "vzgen: error: shard needs --index N or --index-env VAR (see vzgen --help)\n";
      return kExitUsage;
    }
    if (!index_env.empty()) {
      auto index = vz::app::ShardIndexFromEnvironment(index_env);
      if (!index.ok()) return Report(std::move(index).error());
      shard_index = *index;
    }
    auto done = vz::app::RunShard(run_dir, shard_index, build_options.jobs, !quiet);
    if (!done.ok())
      return Report(std::move(done).error().Annotate(fmt::format("shard {}", shard_index)));
    std::cout << fmt::format(
        "shard {}: {}\n", shard_index,
        done->already_done ? "already done (its _SUCCESS is there); nothing read"
        : done->lost
            ? "done, but another attempt finished first (same result)"
            : fmt::format("{} granules combined, {} skipped", done->granules, done->skipped));
    return kExitOk;
  }
  if (merge->parsed()) {
    auto merged = vz::app::MergeRun(run_dir, run_format);
    if (!merged.ok()) return Report(std::move(merged).error());
    std::cout << fmt::format("{} granules, {} references: {}\n", merged->granules,
                             merged->references, merged->store);
    return kExitOk;
  }
  if (publish->parsed()) {
    auto published = vz::app::PublishRun(run_dir, publish_to);
    if (!published.ok()) return Report(std::move(published).error());
    if (published->already_published) std::cout << "already published; stores written again\n";
    for (const auto& w : published->written) std::cout << w << "\n";
    return kExitOk;
  }
  auto run_job = [&](const vz::app::JobConfig& c) {
    vz::app::JobEnvironment je;
    je.getenv = env;
    je.aws_endpoint = env("VZ_AWS_ENDPOINT");
    if (!env("AWS_REGION").empty()) je.aws_region = env("AWS_REGION");
    const std::string url = c.cmr_url.empty() ? cmr_url : c.cmr_url;
    je.search = [url](const vz::app::JobConfig& jc) {
      return vz::app::SearchCatalog(vz::app::PlainTransport(), url, jc);
    };
    return vz::app::RunJob(c, je);
  };
  if (job->parsed() && vz::app::IsJobStep(env("VZ_JOB_MODE"))) return vz::app::RunJobStep(env);
  if (job->parsed()) {
    auto config = vz::app::JobConfigFromEnvironment(env);
    if (!config.ok()) {
      vz::app::LogJson("error", "config", {{"error", config.error().ToString()}});
      return vz::app::kJobBadConfig;
    }
    return run_job(*config);
  }
  if (build->parsed() && !collection.empty()) {
    if (!inputs.empty()) {
      std::cerr << "vzgen: error: give FILES or --collection, not both (see vzgen --help)\n";
      return kExitUsage;
    }
    vz::app::JobConfig c = with_filters({});
    c.collection = collection;
    c.start_date = start_date;
    c.end_date = end_date;
    c.loadable_vars = SplitList(loadable);
    c.access = access;
    c.cmr_url = cmr_url;
    if (!metadata.empty()) c.metadata = metadata;
    c.jobs = build_options.jobs;
    const std::string out = output.empty() ? "." : output;
    if (out.rfind("s3://", 0) == 0) {
      const std::string rest = out.substr(5);
      const auto slash = rest.find('/');
      c.output_bucket = rest.substr(0, slash);
      c.output_prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
      if (!c.output_prefix.empty() && c.output_prefix.back() != '/') c.output_prefix += '/';
    } else {
      c.output_dir = out;
      c.output_prefix = "";
    }
    return run_job(c);
  }
  if (build->parsed() && (inputs.empty() || output.empty())) {
    std::cerr
        << "vzgen: error: build needs FILES and -o STORE, or --collection (see vzgen --help)\n";
    return kExitUsage;
  }
  if (build->parsed() || append->parsed()) {
    CLI::App* cmd = build->parsed() ? build : append;
    build_options.scan.cache_set_by_user = cache_options_given(cmd);
    build_options.loadable_vars = SplitList(loadable);
    for (auto& v : SplitList(identical)) build_options.combine.identical_vars.insert(v);
    build_options.skip_bad = on_error == "skip";
    build_options.progress = !quiet;
    if (!build_options.combine.new_dim.empty() && !build_options.combine.concat_dim.empty()) {
      std::cerr << "vzgen: error: give --concat-dim or --new-dim, not both (see vzgen --help)\n";
      return kExitUsage;
    }
    if (!granule_table.empty()) {
      if (build_options.combine.new_dim.empty()) {
        std::cerr << "vzgen: error: --granule-table needs --new-dim (see vzgen --help)\n";
        return kExitUsage;
      }
      auto table = vz::app::ReadGranuleTable(granule_table);
      if (!table.ok()) return Report(std::move(table).error());
      build_options.combine.extra_coords = std::move(*table);
    }
    if (build->parsed() && output == "-") {
      return Report(vz::InvalidArgument(
          "build writes a file atomically, with its report beside it: -o - is not supported"));
    }
    auto expanded = vz::app::ExpandInputs(inputs);
    if (!expanded.ok()) return Report(std::move(expanded).error());
    // Before anything is read: the inputs are files, and the outputs may be replaced.
    if (auto st = vz::app::CheckInputsAreFiles(*expanded); !st.ok()) return Report(st);
    const std::string target = build->parsed() ? output : store;
    std::vector<std::string> everything = *expanded;
    everything.insert(everything.end(), inputs.begin(), inputs.end());
    const std::string there = vz::app::DetectStoreFormat(target);
    // append keeps the store's format (vz::app::Append refuses a different --format).
    const bool known = there == "json" || there == "parquet" || there == "icechunk";
    const std::string format = append->parsed() && known      ? there
                               : build_options.format.empty() ? "json"
                                                              : build_options.format;
    if (auto f = vz::app::FindStoreFormat(format); !f.ok()) return Report(std::move(f).error());
    if (append->parsed()) {
      if (format == "json") {
        if (auto st = vz::app::CheckInputsAreFiles({store}); !st.ok()) return Report(st);
      }
    } else if (auto st = vz::app::CheckStoreOutput(target, format, everything, force); !st.ok()) {
      return Report(st);
    }
    const std::string report_path =
        build_options.report.empty() ? target + ".report.json" : build_options.report;
    everything.push_back(target);
    if (auto st = vz::app::CheckOutputTarget(report_path, vz::app::OutputKind::kRunReport,
                                             everything, force);
        !st.ok()) {
      return Report(std::move(st).error().Annotate("the run report"));
    }
    vz::app::SetInterruptOutput(target);
    vz::app::RemoveStaleTemporaries(target);
    vz::app::RemoveStaleTemporaries(report_path);
    auto result = build->parsed() ? vz::app::Build(*expanded, output, build_options)
                                  : vz::app::Append(store, *expanded, build_options);
    if (!result.ok()) return Report(std::move(result).error());
    // Reasons are printed even with -q when nothing could be used: they are the error.
    const bool nothing = result->used.empty() && !result->skipped.empty();
    if (!quiet) {
      for (const auto& w : result->warnings) std::cerr << "vzgen: warning: " << w << "\n";
    }
    if (!quiet || nothing) {
      for (const auto& [path, why] : result->skipped) {
        std::cerr << "vzgen: skipped: " << why << "\n";
      }
    }
    if (nothing) {
      std::cerr << fmt::format(
          "vzgen: error: no granule could be used: all {} were skipped; {} is unchanged (the "
          "report lists the reasons)\n",
          result->skipped.size(), target);
      return kExitNothingUsable;
    }
    return result->skipped.empty() ? kExitOk : kExitPartial;
  }
  return kExitUsage;
}

// Every command, with errors that escape as one line.
int Main(int argc, char** argv) {
  try {
    const int code = Run(argc, argv);
    // Output that could not be written (a full disk, a closed pipe) is an error, on every
    // command.
    std::cout.flush();
    if (std::fflush(stdout) != 0 || !std::cout) {
      std::cerr << "vzgen: error: cannot write to standard output: " << std::strerror(errno)
                << "\n";
      return code == kExitOk ? kExitFailed : code;
    }
    return code;
  } catch (const std::exception& e) {
    std::cerr << "vzgen: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "vzgen: internal error\n";
  }
  return kExitFailed;
}

}  // namespace

#ifdef VZ_CLI_LIBRARY
// The Python package's console command runs this, with its writers registered (formats.h).
int VzgenMain(int argc, char** argv) { return Main(argc, argv); }
#else
int main(int argc, char** argv) {
  vz::app::InstallInterruptHandlers();
  return Main(argc, argv);
}
#endif
