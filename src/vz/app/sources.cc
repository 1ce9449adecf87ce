#include "vz/app/sources.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

#include "vz/auth/aws_credentials.h"
#include "vz/auth/netrc.h"
#include "vz/auth/s3.h"
#include "vz/io/http_source.h"
#include "vz/io/http_transport.h"

namespace vz::app {

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

// Written once by UseRuntimeOptions before any transport exists, read-only afterwards.
RuntimeOptions g_runtime;
std::mutex g_s3_mu;
std::function<Result<auth::AwsCredentials>()> g_s3_credentials;
std::function<void()> g_s3_invalidate;

// One transport per netrc file for the whole process (connections and cookies are shared).
Result<io::HttpTransport*> TransportFor(const std::string& netrc) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<io::HttpTransport>> transports;
  std::lock_guard<std::mutex> lock(mu);
  auto& t = transports[netrc];
  if (!t) {
    io::HttpTransportOptions o;
    o.max_in_flight = g_runtime.concurrency;
    o.max_per_host = g_runtime.concurrency;
    o.ca_bundle = g_runtime.ca_bundle;
    o.connect_timeout_ms = g_runtime.connect_timeout_ms;
    o.low_speed_seconds = g_runtime.low_speed_seconds;
    if (!netrc.empty()) {
      // Refuse an unsafe file before curl reads it.
      VZ_TRY(auth::LoadNetrc(netrc));
      o.netrc_file = netrc;
    }
    t = std::make_unique<io::HttpTransport>(o);
  }
  return t.get();
}

// Adds who was refused to an access-denied error (never the password).
class Explained final : public io::ByteSource {
 public:
  Explained(std::unique_ptr<io::ByteSource> inner, std::string who)
      : inner_(std::move(inner)), who_(std::move(who)) {}
  const std::string& url() const override { return inner_->url(); }
  Result<io::SourceInfo> Stat() override { return Explain(inner_->Stat()); }
  Result<io::Bytes> ReadAt(std::uint64_t o, std::uint64_t n) override {
    return Explain(inner_->ReadAt(o, n));
  }
  Result<std::vector<io::Bytes>> ReadMany(std::span<const io::ByteRange> r) override {
    return Explain(inner_->ReadMany(r));
  }

 private:
  template <typename T>
  Result<T> Explain(Result<T> r) {
    if (!r.ok() && r.error().code() == ErrorCode::kPermission) {
      return PermissionDenied(fmt::format("{}: {}", r.error().message(), who_));
    }
    return r;
  }
  std::unique_ptr<io::ByteSource> inner_;
  std::string who_;
};

}  // namespace

void SetS3Credentials(std::function<Result<auth::AwsCredentials>()> provider,
                      std::function<void()> invalidate) {
  std::lock_guard<std::mutex> lock(g_s3_mu);
  g_s3_credentials = std::move(provider);
  g_s3_invalidate = std::move(invalidate);
}

Result<io::HttpResponse> EarthdataGet(const std::string& url) {
  std::string netrc = Env("NETRC");
  if (netrc.empty()) {
    std::string def = auth::DefaultNetrcPath();
    std::error_code ec;
    if (!def.empty() && std::filesystem::exists(def, ec)) netrc = def;
  }
  VZ_ASSIGN_OR_RETURN(auto* transport, TransportFor(netrc));
  io::HttpRequest req;
  req.url = url;
  req.max_body = 1 << 20;
  const std::string token = Env("EARTHDATA_TOKEN");
  if (!token.empty()) req.headers.push_back("Authorization: Bearer " + token);
  return transport->Submit(req).get();
}

Status UseRuntimeOptions(const RuntimeOptions& options) {
  g_runtime = options;
  g_runtime.concurrency = std::max(1L, g_runtime.concurrency);
  if (!options.s3_credentials_url.empty()) {
    VZ_TRY(UseEarthdataS3Credentials(options.s3_credentials_url), "--s3-credentials-url");
  }
  return Ok();
}

const RuntimeOptions& CurrentRuntimeOptions() { return g_runtime; }
long RemoteConcurrency() { return g_runtime.concurrency; }

io::HttpTransport& PlainTransport() {
  return *TransportFor("").value();  // without a netrc file there is nothing that can fail
}

Status UseEarthdataS3Credentials(const std::string& url) {
  // The DAAC's keys last an hour: one cache for the whole process.
  auto cache = std::make_shared<auth::CachedCredentials>([url]() -> Result<auth::TimedCredentials> {
    VZ_ASSIGN_OR_RETURN(auto r, EarthdataGet(url), "fetching {}", url);
    if (r.status == 401 || r.status == 403) {
      return PermissionDenied(fmt::format("{}: HTTP {} (Earthdata Login)", url, r.status));
    }
    if (r.status != 200) return IoError(fmt::format("{}: HTTP {}", url, r.status));
    return auth::ParseEarthdataS3Credentials(r.body).Annotate(url);
  });
  SetS3Credentials([cache] { return cache->Get(); }, [cache] { cache->Invalidate(); });
  VZ_TRY(cache->Get());
  return Ok();
}

RemoteOptions RemoteOptionsFromEnvironment() {
  RemoteOptions o;
  if (!Env("AWS_REGION").empty())
    o.s3_region = Env("AWS_REGION");
  else if (!Env("AWS_DEFAULT_REGION").empty())
    o.s3_region = Env("AWS_DEFAULT_REGION");
  o.s3_endpoint = Env("VZ_S3_ENDPOINT");
  return o;
}

Result<std::unique_ptr<io::ByteSource>> OpenUrl(const std::string& url,
                                                const RemoteOptions& options) {
  if (url.rfind("s3://", 0) == 0) {
    auth::S3Options s3;
    s3.region = options.s3_region;
    s3.endpoint = options.s3_endpoint;
    s3.http.open_read = options.open_read;
    s3.http.open_tail = options.open_tail;
    {
      std::lock_guard<std::mutex> lock(g_s3_mu);
      if (!g_s3_credentials) {
        // AWS's chain (environment, ~/.aws/credentials, ECS, EC2), shared and refreshed.
        auto cache = std::make_shared<auth::CachedCredentials>(
            [] { return auth::CredentialsFromChain([](const char* name) { return Env(name); }); });
        g_s3_credentials = [cache] { return cache->Get(); };
        g_s3_invalidate = [cache] { cache->Invalidate(); };
      }
      s3.credentials = g_s3_credentials;
      s3.invalidate = g_s3_invalidate;
    }
    VZ_ASSIGN_OR_RETURN(auto* transport, TransportFor(""));
    return auth::OpenS3Source(url, s3, *transport);
  }
  if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
    std::string netrc = options.netrc;
    if (netrc.empty()) {
      std::string def = auth::DefaultNetrcPath();
      std::error_code ec;
      if (!def.empty() && std::filesystem::exists(def, ec)) netrc = def;
    }
    VZ_ASSIGN_OR_RETURN(auto* transport, TransportFor(netrc));
    io::HttpSourceOptions http;
    http.open_read = options.open_read;
    http.open_tail = options.open_tail;
    std::string token = Env("EARTHDATA_TOKEN");
    if (!token.empty()) {
      http.sign = [token](io::HttpRequest& r) -> Status {
        // libcurl drops this header when a redirect leaves the host (e.g. to S3).
        r.headers.push_back("Authorization: Bearer " + token);
        return Ok();
      };
    }
    // Who was refused, for the one error line a user sees (never the password).
    std::string who;
    if (!token.empty()) {
      who = "Earthdata Login rejected the bearer token in EARTHDATA_TOKEN";
    } else if (!netrc.empty()) {
      const std::string edl =
          Env("VZ_EDL_HOST").empty() ? "urs.earthdata.nasa.gov" : Env("VZ_EDL_HOST");
      auto entries = auth::LoadNetrc(netrc);
      if (entries.ok()) {
        if (auto e = auth::FindNetrc(*entries, edl)) {
          who = fmt::format("Earthdata Login rejected the credentials for {} (from {})", e->login,
                            netrc);
        }
      }
    }
    if (who.empty()) {
      who =
          "no Earthdata Login credentials: set EARTHDATA_TOKEN or add urs.earthdata.nasa.gov "
          "to ~/.netrc";
    }
    return std::unique_ptr<io::ByteSource>(std::make_unique<Explained>(
        std::make_unique<io::HttpSource>(url, *transport, std::move(http)), who));
  }
  return io::OpenSource(url);
}

}  // namespace vz::app
