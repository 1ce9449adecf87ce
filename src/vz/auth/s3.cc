#include "vz/auth/s3.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>

namespace vz::auth {

Result<S3Location> ParseS3Url(const std::string& url) {
  if (url.rfind("s3://", 0) != 0) return InvalidArgument(fmt::format("{}: not an s3:// URL", url));
  std::string rest = url.substr(5);
  auto slash = rest.find('/');
  if (slash == 0 || slash == std::string::npos || slash + 1 == rest.size()) {
    return InvalidArgument(fmt::format("{}: expected s3://bucket/key", url));
  }
  return S3Location{rest.substr(0, slash), rest.substr(slash + 1)};
}

std::string S3HttpUrl(const S3Location& location, const S3Options& options) {
  std::string key = UriEncode(location.key, true);
  if (!options.endpoint.empty()) {
    std::string ep = options.endpoint;
    if (!ep.empty() && ep.back() == '/') ep.pop_back();
    return fmt::format("{}/{}/{}", ep, location.bucket, key);
  }
  if (options.path_style) {
    return fmt::format("https://s3.{}.amazonaws.com/{}/{}", options.region, location.bucket, key);
  }
  return fmt::format("https://{}.s3.{}.amazonaws.com/{}", location.bucket, options.region, key);
}

Result<AwsCredentials> EnvironmentCredentials() {
  const char* id = std::getenv("AWS_ACCESS_KEY_ID");
  const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
  if (id == nullptr || secret == nullptr || *id == '\0' || *secret == '\0') {
    return NotFound(
        "no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)");
  }
  const char* token = std::getenv("AWS_SESSION_TOKEN");
  return AwsCredentials{id, secret, token != nullptr ? token : ""};
}

namespace {

// Splits "scheme://host[:port]/path?query" into host (with port) and path.
void SplitUrl(const std::string& url, std::string* host, std::string* path) {
  auto scheme = url.find("://");
  auto start = scheme == std::string::npos ? 0 : scheme + 3;
  auto slash = url.find('/', start);
  *host = url.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
  *path = slash == std::string::npos ? "/" : url.substr(slash);
  auto q = path->find('?');
  if (q != std::string::npos) path->resize(q);
}

}  // namespace

Result<std::unique_ptr<io::ByteSource>> OpenS3Source(const std::string& s3_url, S3Options options,
                                                     io::HttpTransport& transport) {
  VZ_ASSIGN_OR_RETURN(auto loc, ParseS3Url(s3_url));
  if (!options.credentials) options.credentials = EnvironmentCredentials;
  std::string http_url = S3HttpUrl(loc, options);
  std::string region = options.region;
  auto credentials = options.credentials;
  io::HttpSourceOptions http = options.http;
  http.sign = [region, credentials, s3_url](io::HttpRequest& req) -> Status {
    VZ_ASSIGN_OR_RETURN(auto creds, credentials(), "signing a request for {}", s3_url);
    std::string host, path;
    SplitUrl(req.url, &host, &path);
    auto now = std::chrono::system_clock::now();
    std::string amz_date =
        AmzDate(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    const std::string payload = Sha256Hex("");
    SigV4Request sreq;
    sreq.method = req.method;
    sreq.path = path;
    sreq.headers = {{"host", host}, {"x-amz-date", amz_date}, {"x-amz-content-sha256", payload}};
    if (!creds.session_token.empty()) {
      sreq.headers.emplace_back("x-amz-security-token", creds.session_token);
    }
    sreq.payload_sha256 = payload;
    auto sig = SignV4(sreq, creds, region, "s3", amz_date);
    req.headers.push_back("x-amz-date: " + amz_date);
    req.headers.push_back("x-amz-content-sha256: " + payload);
    if (!creds.session_token.empty()) {
      req.headers.push_back("x-amz-security-token: " + creds.session_token);
    }
    req.headers.push_back("Authorization: " + sig.authorization);
    return Ok();
  };
  if (options.invalidate) {
    auto invalidate = options.invalidate;
    http.refresh_on_denied = [invalidate](const io::HttpResponse& r) {
      for (const char* code : {"ExpiredToken", "InvalidToken", "TokenRefreshRequired"}) {
        if (r.body.find(code) != std::string::npos) {
          invalidate();
          return true;
        }
      }
      return false;
    };
  }
  class Named final : public io::ByteSource {
   public:
    Named(std::string url, std::unique_ptr<io::HttpSource> inner)
        : url_(std::move(url)), inner_(std::move(inner)) {}
    const std::string& url() const override { return url_; }
    Result<io::SourceInfo> Stat() override { return inner_->Stat(); }
    Result<io::Bytes> ReadAt(std::uint64_t o, std::uint64_t n) override {
      return inner_->ReadAt(o, n);
    }
    Result<std::vector<io::Bytes>> ReadMany(std::span<const io::ByteRange> r) override {
      return inner_->ReadMany(r);
    }

   private:
    std::string url_;
    std::unique_ptr<io::HttpSource> inner_;
  };
  return std::unique_ptr<io::ByteSource>(std::make_unique<Named>(
      s3_url, std::make_unique<io::HttpSource>(http_url, transport, std::move(http))));
}

}  // namespace vz::auth
