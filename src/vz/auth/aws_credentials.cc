#include "vz/auth/aws_credentials.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "vz/auth/aws_api.h"

namespace vz::auth {

namespace {

using Json = nlohmann::json;

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"} (container and instance metadata).
Result<TimedCredentials> FromMetadataJson(const std::string& body, const std::string& where) {
  const Json j = Json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("AccessKeyId") || !j.contains("SecretAccessKey") ||
      !j["AccessKeyId"].is_string() || !j["SecretAccessKey"].is_string()) {
    return Corrupt(fmt::format("{} answered without credentials", where));
  }
  TimedCredentials t;
  t.credentials.access_key_id = j["AccessKeyId"].get<std::string>();
  t.credentials.secret_access_key = j["SecretAccessKey"].get<std::string>();
  if (j.contains("Token") && j["Token"].is_string()) {
    t.credentials.session_token = j["Token"].get<std::string>();
  }
  if (j.contains("Expiration") && j["Expiration"].is_string()) {
    t.expires = ParseExpiration(j["Expiration"].get<std::string>());
    if (!t.expires) return Corrupt(fmt::format("{}: unreadable Expiration", where));
  }
  return t;
}

// Unsigned metadata requests: short timeouts, a few attempts.
Result<AwsReply> Metadata(const std::string& method, const std::string& url,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
  AwsEndpoint e;
  e.timeout_ms = 2000;
  Result<AwsReply> r = AwsRequest(method, url, headers, "", e, "");
  for (int attempt = 1; attempt < 3 && (!r.ok() || r->status >= 500); ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    r = AwsRequest(method, url, headers, "", e, "");
  }
  return r;
}

bool AllowedContainerUrl(const std::string& url) {
  if (url.rfind("https://", 0) == 0) return true;
  for (const char* host : {"http://127.", "http://localhost", "http://169.254.170.2",
                           "http://169.254.170.23", "http://[::1]", "http://[fd00:ec2::23]"}) {
    if (url.rfind(host, 0) == 0) return true;
  }
  return false;
}

}  // namespace

std::optional<Clock::time_point> ParseExpiration(const std::string& text) {
  int y = 0;
  int mo = 0;
  int d = 0;
  int h = 0;
  int mi = 0;
  int s = 0;
  char sep = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &y, &mo, &d, &sep, &h, &mi, &s) != 7 ||
      (sep != 'T' && sep != ' ') || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
      s > 60) {
    return std::nullopt;
  }
  // Only UTC is written by AWS and TEA ("Z" or "+00:00").
  const std::string rest = text.substr(19);
  std::string zone = rest;
  if (!zone.empty() && zone[0] == '.') {
    const auto end = zone.find_first_not_of("0123456789", 1);
    zone = end == std::string::npos ? "" : zone.substr(end);
  }
  if (!zone.empty() && zone != "Z" && zone != "+00:00" && zone != "+0000") return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return Clock::from_time_t(timegm(&tm));
}

Result<TimedCredentials> CredentialsFromEnvironment(const Getenv& getenv) {
  const std::string id = getenv("AWS_ACCESS_KEY_ID");
  const std::string secret = getenv("AWS_SECRET_ACCESS_KEY");
  if (id.empty() || secret.empty()) {
    return NotFound("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set");
  }
  return TimedCredentials{AwsCredentials{id, secret, getenv("AWS_SESSION_TOKEN")}, std::nullopt};
}

Result<TimedCredentials> CredentialsFromProfile(const Getenv& getenv) {
  std::string path = getenv("AWS_SHARED_CREDENTIALS_FILE");
  if (path.empty()) {
    const std::string home = getenv("HOME");
    if (home.empty()) return NotFound("no HOME for ~/.aws/credentials");
    path = home + "/.aws/credentials";
  }
  std::string profile = getenv("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  std::ifstream f(path);
  if (!f) return NotFound(fmt::format("no credentials file {}", path));
  std::string line;
  std::string section;
  TimedCredentials t;
  bool found = false;
  int n = 0;
  while (std::getline(f, line)) {
    ++n;
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') return Corrupt(fmt::format("{}:{}: unterminated section", path, n));
      section = Trim(line.substr(1, line.size() - 2));
      if (section.rfind("profile ", 0) == 0) section = Trim(section.substr(8));
      found = found || section == profile;
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      return Corrupt(fmt::format("{}:{}: expected key = value", path, n));
    }
    if (section != profile) continue;
    const std::string key = Trim(line.substr(0, eq));
    const std::string value = Trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") t.credentials.access_key_id = value;
    if (key == "aws_secret_access_key") t.credentials.secret_access_key = value;
    if (key == "aws_session_token") t.credentials.session_token = value;
  }
  if (!found) return NotFound(fmt::format("no profile [{}] in {}", profile, path));
  if (t.credentials.access_key_id.empty() || t.credentials.secret_access_key.empty()) {
    return Corrupt(
        fmt::format("profile [{}] in {} has no aws_access_key_id and "
                    "aws_secret_access_key",
                    profile, path));
  }
  return t;
}

Result<TimedCredentials> CredentialsFromContainer(const Getenv& getenv) {
  std::string url;
  if (!getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").empty()) {
    url = "http://169.254.170.2" + getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  } else if (!getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI").empty()) {
    url = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (!AllowedContainerUrl(url)) {
      return InvalidArgument(fmt::format(
          "AWS_CONTAINER_CREDENTIALS_FULL_URI {} is neither https nor a loopback or ECS address",
          url));
    }
  } else {
    return NotFound("not in an ECS container (no AWS_CONTAINER_CREDENTIALS_*_URI)");
  }
  std::string token = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  if (!getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").empty()) {
    std::ifstream f(getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
    std::stringstream s;
    s << f.rdbuf();
    token = Trim(s.str());
  }
  if (token.find_first_of("\r\n") != std::string::npos) {
    return InvalidArgument("the container authorization token contains a line break");
  }
  std::vector<std::pair<std::string, std::string>> headers = {{"accept", "application/json"}};
  if (!token.empty()) headers.emplace_back("authorization", token);
  VZ_ASSIGN_OR_RETURN(auto r, Metadata("GET", url, headers), "reading ECS container credentials");
  if (r.status != 200) {
    const std::string msg =
        fmt::format("ECS container credentials: HTTP {} from {}", r.status, url);
    return r.status == 401 || r.status == 403 ? Error(PermissionDenied(msg)) : Error(IoError(msg));
  }
  return FromMetadataJson(r.body, "the ECS container endpoint");
}

Result<TimedCredentials> CredentialsFromInstance(const Getenv& getenv) {
  if (getenv("AWS_EC2_METADATA_DISABLED") == "true") {
    return NotFound("EC2 instance metadata disabled (AWS_EC2_METADATA_DISABLED)");
  }
  std::string base = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (base.empty()) base = "http://169.254.169.254";
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto token = Metadata("PUT", base + "/latest/api/token",
                        {{"x-aws-ec2-metadata-token-ttl-seconds", "21600"}});
  if (!token.ok() || token->status == 404 || token->status == 403 || token->status == 405) {
    return NotFound("not on EC2 (no instance metadata service)");
  }
  if (token->status != 200) {
    return IoError(fmt::format("EC2 metadata token: HTTP {}", token->status));
  }
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"x-aws-ec2-metadata-token", Trim(token->body)}};
  VZ_ASSIGN_OR_RETURN(auto role,
                      Metadata("GET", base + "/latest/meta-data/iam/security-credentials/", auth),
                      "reading the EC2 instance role");
  if (role.status != 200 || Trim(role.body).empty()) {
    return NotFound("the EC2 instance has no IAM role");
  }
  const std::string name = Trim(role.body.substr(0, role.body.find('\n')));
  VZ_ASSIGN_OR_RETURN(
      auto creds,
      Metadata("GET", base + "/latest/meta-data/iam/security-credentials/" + name, auth),
      "reading the EC2 role credentials");
  if (creds.status != 200) {
    return IoError(fmt::format("EC2 role credentials: HTTP {}", creds.status));
  }
  return FromMetadataJson(creds.body, "the EC2 instance metadata service");
}

Result<TimedCredentials> CredentialsFromChain(const Getenv& getenv) {
  std::vector<std::string> tried;
  for (const auto& source : {CredentialsFromEnvironment, CredentialsFromProfile,
                             CredentialsFromContainer, CredentialsFromInstance}) {
    auto r = source(getenv);
    if (r.ok()) return r;
    if (r.error().code() != ErrorCode::kNotFound) return r;  // present but broken: say so
    tried.push_back(r.error().message());
  }
  std::string all;
  for (const auto& t : tried) all += (all.empty() ? "" : "; ") + t;
  return PermissionDenied("no AWS credentials: " + all);
}

CachedCredentials::CachedCredentials(Fetch fetch, std::chrono::seconds margin)
    : fetch_(std::move(fetch)), margin_(margin) {}

Result<AwsCredentials> CachedCredentials::Get() {
  std::lock_guard<std::mutex> lock(mu_);
  const bool fresh =
      current_ && (!current_->expires || Clock::now() + margin_ < *current_->expires);
  if (!fresh) {
    ++fetches_;
    VZ_ASSIGN_OR_RETURN(auto next, fetch_());
    current_ = std::move(next);
  }
  return current_->credentials;
}

void CachedCredentials::Invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  current_.reset();
}

int CachedCredentials::fetches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fetches_;
}

Result<TimedCredentials> ParseEarthdataS3Credentials(const std::string& body) {
  const Json j = Json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("accessKeyId") || !j.contains("secretAccessKey") ||
      !j["accessKeyId"].is_string() || !j["secretAccessKey"].is_string()) {
    return Corrupt("the s3credentials endpoint answered without credentials (a login page?)");
  }
  TimedCredentials t;
  t.credentials.access_key_id = j["accessKeyId"].get<std::string>();
  t.credentials.secret_access_key = j["secretAccessKey"].get<std::string>();
  if (j.contains("sessionToken") && j["sessionToken"].is_string()) {
    t.credentials.session_token = j["sessionToken"].get<std::string>();
  }
  if (j.contains("expiration") && j["expiration"].is_string()) {
    t.expires = ParseExpiration(j["expiration"].get<std::string>());
    if (!t.expires) return Corrupt("s3credentials: unreadable expiration");
  }
  return t;
}

}  // namespace vz::auth
