#include "vz/app/job.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>

#include "vz/app/atomic_file.h"
#include "vz/app/build.h"
#include "vz/app/formats.h"
#include "vz/app/publish.h"
#include "vz/app/sources.h"
#include "vz/app/verify.h"
#include "vz/auth/aws_api.h"
#include "vz/auth/aws_credentials.h"
#include "vz/auth/s3.h"
#include "vz/refs/store.h"

namespace vz::app {

namespace {

using refs::SortedJson;

int ExitFor(const Error& e) {
  switch (e.code()) {
    case ErrorCode::kPermission:
      return kJobAuthFailed;
    case ErrorCode::kInvalidArgument:
      return kJobBadConfig;
    default:
      return kJobFailed;
  }
}

int Fail(const std::string& event, const Error& e, int code) {
  LogJson("error", event, {{"error", e.ToString()}, {"exit_code", std::to_string(code)}});
  return code;
}

// A private netrc for Earthdata Login (0600, in a directory only we can read), named by $NETRC
// so that every HTTPS read of this process answers the login redirect with it. The directory is
// removed when the job ends, whichever way it ends, so that the password does not outlive the
// run on disk (the container's /tmp, or a developer's).
class PrivateNetrc {
 public:
  PrivateNetrc() = default;
  PrivateNetrc(const PrivateNetrc&) = delete;
  PrivateNetrc& operator=(const PrivateNetrc&) = delete;
  ~PrivateNetrc() {
    if (dir_.empty()) return;
    unsetenv("NETRC");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Status Use(const std::string& user, const std::string& password, const std::string& edl_host) {
    char tmpl[] = "/tmp/vzgen-job-XXXXXX";
    const char* dir = mkdtemp(tmpl);
    if (dir == nullptr) return IoError("cannot create a private directory for the netrc");
    dir_ = dir;
    const std::string path = dir_ + "/netrc";
    {
      std::ofstream f(path);
      f << "machine " << edl_host << " login " << user << " password " << password << "\n";
      if (!f) return IoError("cannot write the netrc");
    }
    chmod(path.c_str(), 0600);
    setenv("NETRC", path.c_str(), 1);
    return Ok();
  }

 private:
  std::string dir_;
};

// The job's own AWS identity (SSM, the output bucket): AWS's credential chain, cached and
// refreshed before expiry (the ECS task role in production).
auth::AwsEndpoint JobAws(const JobEnvironment& env) {
  static std::shared_ptr<auth::CachedCredentials> cache;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (!cache) {
    auth::Getenv getenv = env.getenv;
    cache = std::make_shared<auth::CachedCredentials>(
        [getenv] { return auth::CredentialsFromChain(getenv); });
  }
  auth::AwsEndpoint e;
  e.region = env.aws_region;
  e.endpoint = env.aws_endpoint;
  auto c = cache;
  e.credentials = [c] { return c->Get(); };
  return e;
}

std::string Prefix(const JobConfig& c) { return c.output_prefix + c.collection + "/"; }

// VZ_S3_PART_SIZE: a store larger than this goes up as a multipart upload in parts of this size
// (AWS needs at least 5 MiB; S3PutObject raises smaller values for AWS's own endpoints).
Result<std::uint64_t> PartSize(const JobEnvironment& env) {
  const std::string text = env.getenv ? env.getenv("VZ_S3_PART_SIZE") : "";
  if (text.empty()) return std::uint64_t{64} << 20;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || n == 0 || text[0] == '-') {
    return InvalidArgument(fmt::format("VZ_S3_PART_SIZE '{}' is not a number of bytes", text));
  }
  return static_cast<std::uint64_t>(n);
}

// Writes `text` to every destination of the job: OUTPUT_BUCKET (and STAGING_BUCKET) or the
// local output directory. Returns where it went.
Result<std::vector<std::string>> Publish(const JobConfig& c, const JobEnvironment& env,
                                         const std::string& name, const std::string& text) {
  std::vector<std::string> written;
  if (c.output_bucket.empty()) {
    const std::string dir = c.output_dir + "/" + Prefix(c);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return IoError(fmt::format("cannot create {}: {}", dir, ec.message()));
    VZ_TRY(WriteFileAtomically(dir + name, [&](std::ostream& out) {
      out << text;
      return out ? Status(Ok()) : Status(IoError("cannot write " + dir + name));
    }));
    written.push_back(dir + name);
    return written;
  }
  const auth::AwsEndpoint e = JobAws(env);
  VZ_ASSIGN_OR_RETURN(const std::uint64_t part_size, PartSize(env));
  for (const std::string& bucket : {c.output_bucket, c.staging_bucket}) {
    if (bucket.empty()) continue;
    const std::string url = fmt::format("s3://{}/{}{}", bucket, Prefix(c), name);
    VZ_TRY(auth::S3PutObject(url, text, e, "application/json", part_size));
    written.push_back(url);
  }
  return written;
}

// The published s3 store, for append; nullopt when there is none yet.
Result<std::optional<refs::RefStore>> ReadPublished(const JobConfig& c, const JobEnvironment& env,
                                                    const std::string& name) {
  std::string text;
  if (c.output_bucket.empty()) {
    const std::string path = c.output_dir + "/" + Prefix(c) + name;
    std::ifstream f(path, std::ios::binary);
    if (!f) return std::optional<refs::RefStore>();
    std::stringstream s;
    s << f.rdbuf();
    text = s.str();
  } else {
    const auth::AwsEndpoint e = JobAws(env);
    auto got = auth::S3GetObject(fmt::format("s3://{}/{}{}", c.output_bucket, Prefix(c), name), e);
    if (!got.ok() && got.error().code() == ErrorCode::kNotFound) {
      return std::optional<refs::RefStore>();
    }
    VZ_ASSIGN_OR_RETURN(text, std::move(got));
  }
  VZ_ASSIGN_OR_RETURN(auto store, refs::ReadRefStore(text, name));
  return std::optional<refs::RefStore>(std::move(store));
}

std::string StoreText(const refs::RefStore& store) {
  std::ostringstream out;
  (void)refs::WriteRefStore(store, out);
  return out.str();
}

}  // namespace

int RunJob(const JobConfig& c, const JobEnvironment& env) {
  const auto started = std::chrono::steady_clock::now();
  LogJson("info", "start",
          {{"collection", c.collection},
           {"mode", c.mode},
           {"start_date", c.start_date},
           {"end_date", c.end_date},
           {"output", c.output_bucket.empty() ? c.output_dir : "s3://" + c.output_bucket}});
  for (const auto& n : c.notices) LogJson("notice", "setting ignored", {{"detail", n}});
  if (auto part = PartSize(env); !part.ok()) return Fail("config", part.error(), kJobBadConfig);
  for (const auto& f : c.formats) {
    auto format = FindStoreFormat(f);
    if (!format.ok()) return Fail("config", format.error(), kJobBadConfig);
    if (f == "icechunk") {
      return Fail("config",
                  Unsupported("VZ_FORMAT=icechunk: the job does not publish Icechunk yet"),
                  kJobBadConfig);
    }
    if (f != "json" && !c.output_bucket.empty()) {
      return Fail("config",
                  Unsupported(fmt::format("VZ_FORMAT={}: the job publishes {} stores to "
                                          "VZ_OUTPUT_DIR only, not to OUTPUT_BUCKET yet",
                                          f, f)),
                  kJobBadConfig);
    }
  }

  // 1. Earthdata Login credentials: SSM, else the environment (token, user/password, netrc).
  const std::string edl_host =
      env.getenv("VZ_EDL_HOST").empty() ? "urs.earthdata.nasa.gov" : env.getenv("VZ_EDL_HOST");
  std::string edl_user;
  PrivateNetrc netrc;
  if (!c.ssm_edl_username.empty()) {
    const auth::AwsEndpoint e = JobAws(env);
    auto user = auth::SsmGetParameter(c.ssm_edl_username, e);
    if (!user.ok()) {
      const int code = user.error().code() == ErrorCode::kNotFound     ? kJobBadConfig
                       : user.error().code() == ErrorCode::kPermission ? kJobAuthFailed
                                                                       : kJobFailed;
      return Fail("credentials", std::move(user).error().Annotate("SSM_EDL_USERNAME"), code);
    }
    auto password = auth::SsmGetParameter(c.ssm_edl_password, e);
    if (!password.ok()) {
      const int code = password.error().code() == ErrorCode::kNotFound     ? kJobBadConfig
                       : password.error().code() == ErrorCode::kPermission ? kJobAuthFailed
                                                                           : kJobFailed;
      return Fail("credentials", std::move(password).error().Annotate("SSM_EDL_PASSWORD"), code);
    }
    Status st = netrc.Use(*user, *password, edl_host);
    if (!st.ok()) return Fail("credentials", st.error(), kJobFailed);
    edl_user = *user;
    LogJson("info", "credentials", {{"source", "ssm"}, {"user", *user}});
  } else if (!env.getenv("EARTHDATA_USERNAME").empty()) {
    edl_user = env.getenv("EARTHDATA_USERNAME");
    Status st =
        netrc.Use(env.getenv("EARTHDATA_USERNAME"), env.getenv("EARTHDATA_PASSWORD"), edl_host);
    if (!st.ok()) return Fail("credentials", st.error(), kJobFailed);
    LogJson("info", "credentials",
            {{"source", "environment"}, {"user", env.getenv("EARTHDATA_USERNAME")}});
  }

  // 2. The granules.
  if (!env.search) return Fail("search", Internal("no catalog search configured"), kJobFailed);
  auto found = env.search(c);
  if (!found.ok()) {
    const int code = found.error().code() == ErrorCode::kNotFound ||
                             found.error().code() == ErrorCode::kInvalidArgument
                         ? kJobBadConfig
                         : ExitFor(found.error());
    return Fail("search", found.error(), code);
  }
  if (found->granules.empty()) {
    return Fail("search",
                InvalidArgument(fmt::format("no granules of {} between {} and {}", c.collection,
                                            c.start_date.empty() ? "the beginning" : c.start_date,
                                            c.end_date.empty() ? "now" : c.end_date)),
                kJobBadConfig);
  }
  LogJson("info", "search",
          {{"granules", std::to_string(found->granules.size())},
           {"granules_without_netcdf", std::to_string(found->without_data.size())}});

  // 3. How to read them: in-region S3 (direct) with the DAAC's temporary credentials, or
  //    HTTPS with Earthdata Login. "auto" tries direct and falls back to HTTPS.
  auto probe_first = [](const std::string& url) -> Status {
    VZ_ASSIGN_OR_RETURN(auto source, OpenUrl(url, RemoteOptionsFromEnvironment()));
    VZ_TRY(source->Stat());
    return Ok();
  };
  bool direct = false;
  if (c.access != "https") {
    std::string creds_url = env.getenv("VZ_S3_CREDENTIALS_URL");
    if (creds_url.empty()) creds_url = found->s3_credentials_url;
    const bool links = std::all_of(found->granules.begin(), found->granules.end(),
                                   [](const CatalogGranule& g) { return !g.s3_url.empty(); });
    Status why = Ok();
    if (!links) {
      why = NotFound("not every granule has a direct-access (s3) link");
    } else if (creds_url.empty()) {
      why = NotFound("no s3credentials endpoint in the catalog (set VZ_S3_CREDENTIALS_URL)");
    } else {
      auto first = UseEarthdataS3Credentials(creds_url);
      why = first.ok() ? probe_first(found->granules.front().s3_url) : first;
    }
    if (why.ok()) {
      direct = true;
    } else if (c.access == "direct") {
      const int code = why.error().code() == ErrorCode::kPermission ? kJobAuthFailed : kJobFailed;
      return Fail("credentials", std::move(why).error().Annotate("direct (s3) access"), code);
    } else {
      LogJson("notice", "access", {{"detail", "reading over https: " + why.error().ToString()}});
    }
  }
  LogJson("info", "access", {{"mode", direct ? "direct" : "https"}});
  std::vector<std::string> urls;
  std::map<std::string, const CatalogGranule*> by_url;
  for (const auto& g : found->granules) {
    const std::string& url = direct ? g.s3_url : g.https_url;
    if (url.empty()) {
      return Fail("search",
                  InvalidArgument(fmt::format("granule {} has no {} link", g.name,
                                              direct ? "direct-access (s3)" : "https")),
                  kJobBadConfig);
    }
    urls.push_back(url);
    by_url[url] = &g;
  }

  // Credentials are checked on the first granule: when they are refused, every granule would
  // be skipped for the same reason.
  if (Status st = probe_first(urls.front());
      !st.ok() && st.error().code() == ErrorCode::kPermission) {
    const std::string who = edl_user.empty() ? "" : " for " + edl_user;
    return Fail(
        "credentials",
        std::move(st).error().Annotate(direct ? "reading the first granule from S3"
                                              : "Earthdata Login rejected the credentials" + who),
        kJobAuthFailed);
  }

  // 4. Build, or append to what is published.
  BuildOptions options;
  options.loadable_vars = c.loadable_vars;
  if (auto m = ParseMetadataSource(c.metadata, "VZ_METADATA"); m.ok()) options.scan.metadata = *m;
  options.jobs = c.jobs;
  options.skip_bad = true;  // one bad granule must not stop a collection; the report says why
  const bool level2 = c.level2 == "yes" || (c.level2 == "auto" && found->level2);
  if (level2) {
    options.combine.new_dim = "granule";
    options.combine.granule_coord = "index";
    for (const auto& [url, g] : by_url) {
      auto& row = options.combine.extra_coords[url];
      row.emplace_back("granule_begin_time", g->begin);
      row.emplace_back("filename", g->name);
      if (g->cycle) row.emplace_back("cycle", *g->cycle);
      if (g->pass) row.emplace_back("pass", *g->pass);
    }
  }
  const std::string s3_name = StoreFileName(c.collection, c.start_date, c.end_date, "s3");
  const std::string https_name = StoreFileName(c.collection, c.start_date, c.end_date, "https");
  // URLs in either form: s3://bucket/key, or the catalog's https link for it (the seed's host
  // map when the catalog does not say). The same references give both stores.
  std::map<std::string, std::string> https_base;  // bucket -> "https://host/"
  for (const auto& g : found->granules) AddHttpsBase(g.s3_url, g.https_url, https_base);
  auto map_store = [&](refs::RefStore store, bool s3) -> Result<refs::RefStore> {
    return MapStoreUrls(std::move(store), s3, https_base);
  };

  std::optional<refs::RefStore> existing;
  if (c.mode == "append") {
    auto published = ReadPublished(c, env, s3_name);
    if (!published.ok()) return Fail("append", published.error(), ExitFor(published.error()));
    if (*published) {
      // The published store speaks s3://; compare and extend it in the URLs read now.
      auto mapped = map_store(std::move(**published), direct);
      if (!mapped.ok()) return Fail("append", mapped.error(), kJobFailed);
      OptionsFromStore(mapped->meta, options);
      std::set<std::string> present;
      for (const auto& gname : mapped->meta["granules"]) {
        if (gname.is_string()) present.insert(gname.get<std::string>());
      }
      std::vector<std::string> fresh;
      for (const auto& u : urls) {
        if (present.count(u) == 0) fresh.push_back(u);
      }
      LogJson("info", "append",
              {{"published_granules", std::to_string(present.size())},
               {"new_granules", std::to_string(fresh.size())}});
      if (fresh.empty()) {
        LogJson("info", "done", {{"detail", "nothing new to append"}});
        return kJobOk;
      }
      urls = std::move(fresh);
      existing = std::move(*mapped);
    }
  }
  auto combined = CombineInputs(std::move(existing), s3_name, urls, options);
  if (!combined.ok()) return Fail("build", combined.error(), ExitFor(combined.error()));
  for (const auto& [path, why] : combined->report.skipped) {
    LogJson("warning", "granule skipped", {{"granule", path}, {"reason", why}});
  }

  // 5. A sample read back through the new references.
  VerifyOptions vo;
  vo.samples_per_array = 1;
  auto verified = VerifyStore(combined->store, vo);

  // 6. The two stores, from the same references.
  auto s3_store = map_store(combined->store, true);
  auto https_store = map_store(combined->store, false);
  if (!s3_store.ok()) return Fail("publish", s3_store.error(), kJobFailed);
  if (!https_store.ok()) return Fail("publish", https_store.error(), kJobFailed);
  std::vector<std::string> published;
  for (const auto& [name, store] :
       {std::pair<std::string, const refs::RefStore*>{s3_name, &*s3_store},
        {https_name, &*https_store}}) {
    auto where = Publish(c, env, name, StoreText(*store));
    if (!where.ok()) return Fail("publish", where.error(), ExitFor(where.error()));
    published.insert(published.end(), where->begin(), where->end());
    // VZ_FORMAT's other formats beside it, from the same store: NAME.json -> NAME.parq/.
    for (const auto& f : c.formats) {
      if (f == "json") continue;
      auto format = FindStoreFormat(f);
      if (!format.ok()) return Fail("publish", format.error(), kJobBadConfig);
      const std::string target =
          c.output_dir + "/" + Prefix(c) + name.substr(0, name.size() - 5) + ".parq";
      if (auto st = (*format)->write(*store, target, {}); !st.ok()) {
        return Fail("publish", st.error(), ExitFor(st.error()));
      }
      published.push_back(target);
    }
  }

  // 7. The run report beside them.
  auto& report = combined->report;
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  SortedJson j = ReportJson("job", s3_name, urls.size(), report, &combined->store);
  j["collection"] = c.collection;
  j["mode"] = c.mode;
  j["start_date"] = c.start_date;
  j["end_date"] = c.end_date;
  j["access"] = direct ? "direct" : "https";
  j["earthdata_user"] = edl_user;
  j["granules_found"] = found->granules.size();
  j["granules_without_netcdf"] = found->without_data;
  j["published"] = published;
  if (verified.ok()) {
    SortedJson samples = SortedJson::array();
    for (const auto& s : verified->samples) {
      samples.push_back({{"key", s.key}, {"url", s.url}, {"first_value", s.first}});
    }
    j["sample"] = samples;
    j["sample_failures"] = verified->failures;
  } else {
    j["sample_failures"] = {verified.error().ToString()};
  }
  const std::string report_name = StoreFileName(c.collection, c.start_date, c.end_date, "report");
  auto where = Publish(c, env, report_name, j.dump(2) + "\n");
  if (!where.ok())
    LogJson("warning", "report not published", {{"error", where.error().ToString()}});

  const bool partial = !report.skipped.empty();
  LogJson("info", "done",
          {{"granules_used", std::to_string(report.used.size())},
           {"granules_skipped", std::to_string(report.skipped.size())},
           {"references", std::to_string(report.references)},
           {"seconds", fmt::format("{:.1f}", report.seconds)},
           {"stores", published.empty() ? "" : published.front()}});
  return partial ? kJobPartial : kJobOk;
}

}  // namespace vz::app
