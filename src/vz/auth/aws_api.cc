#include "vz/auth/aws_api.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "vz/auth/s3.h"
#include "vz/io/curl_api.h"

namespace vz::auth {

namespace {

struct CurlDeleter {
  const io::CurlApi* api;
  void operator()(CURL* c) const { api->easy_cleanup(c); }
};
struct SlistDeleter {
  const io::CurlApi* api;
  void operator()(curl_slist* l) const { api->slist_free_all(l); }
};

std::size_t WriteBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  out->append(data, size * n);
  return size * n;
}

std::size_t WriteHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * n);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(value.begin());
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*headers)[name] = value;
  }
  return size * n;
}

// "scheme://host[:port]/path?query" -> host, path (still encoded), decoded query pairs.
void SplitUrl(const std::string& url, std::string& host, std::string& path,
              std::vector<std::pair<std::string, std::string>>& query) {
  const auto scheme = url.find("://");
  const auto start = scheme == std::string::npos ? 0 : scheme + 3;
  const auto slash = url.find('/', start);
  host = url.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
  path = slash == std::string::npos ? "/" : url.substr(slash);
  const auto q = path.find('?');
  if (q == std::string::npos) return;
  const std::string qs = path.substr(q + 1);
  path.resize(q);
  std::size_t pos = 0;
  while (pos <= qs.size()) {
    auto amp = qs.find('&', pos);
    if (amp == std::string::npos) amp = qs.size();
    const std::string item = qs.substr(pos, amp - pos);
    if (!item.empty()) {
      const auto eq = item.find('=');
      // Our own URLs only: names and values need no percent-decoding here.
      query.emplace_back(item.substr(0, eq),
                         eq == std::string::npos ? std::string() : item.substr(eq + 1));
    }
    pos = amp + 1;
  }
}

std::string Base64(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data,  // NOLINT
                                  static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

std::string ContentMd5(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  return Base64(md, len);
}

std::string ServiceHost(const std::string& service, const AwsEndpoint& e) {
  return fmt::format("https://{}.{}.amazonaws.com", service, e.region);
}

// https://bucket.s3.region.amazonaws.com/key, or endpoint/bucket/key (path style).
Result<std::string> ObjectUrl(const std::string& s3_url, const AwsEndpoint& e) {
  VZ_ASSIGN_OR_RETURN(auto loc, ParseS3Url(s3_url));
  const std::string key = UriEncode(loc.key, /*keep_slash=*/true);
  if (!e.endpoint.empty()) {
    std::string base = e.endpoint;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return fmt::format("{}/{}/{}", base, loc.bucket, key);
  }
  return fmt::format("https://{}.s3.{}.amazonaws.com/{}", loc.bucket, e.region, key);
}

// S3's XML error code ("AccessDenied"), or "".
std::string XmlCode(const std::string& body) {
  const auto a = body.find("<Code>");
  const auto b = body.find("</Code>");
  if (a == std::string::npos || b == std::string::npos || b < a) return "";
  return body.substr(a + 6, b - a - 6);
}

std::string XmlValue(const std::string& body, const std::string& tag) {
  const auto a = body.find("<" + tag + ">");
  const auto b = body.find("</" + tag + ">");
  if (a == std::string::npos || b == std::string::npos || b < a) return "";
  return body.substr(a + tag.size() + 2, b - a - tag.size() - 2);
}

Error S3Error(const AwsReply& r, const std::string& what) {
  const std::string code = XmlCode(r.body);
  const std::string msg =
      fmt::format("{}: HTTP {}{}", what, r.status, code.empty() ? "" : " " + code);
  if (r.status == 403) return PermissionDenied(msg);
  if (r.status == 404) return NotFound(msg);
  return IoError(msg);
}

bool Transient(const Result<AwsReply>& r) {
  if (!r.ok()) return r.error().code() == ErrorCode::kIo;
  return r->status == 429 || r->status >= 500;
}

// AwsRequest with up to 4 attempts on network errors, 5xx and 429.
Result<AwsReply> WithRetries(const std::function<Result<AwsReply>()>& call) {
  Result<AwsReply> r = call();
  for (int attempt = 1; attempt < 4 && Transient(r); ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
    r = call();
  }
  return r;
}

}  // namespace

Result<AwsReply> AwsRequest(const std::string& method, const std::string& url,
                            const std::vector<std::pair<std::string, std::string>>& headers,
                            const std::string& body, const AwsEndpoint& endpoint,
                            const std::string& service) {
  const bool sign = !service.empty();
  if (sign && !endpoint.credentials) return Internal("no AWS credential provider");
  AwsCredentials creds;
  if (sign) {
    VZ_ASSIGN_OR_RETURN(creds, endpoint.credentials());
  }
  std::string host;
  std::string path;
  SigV4Request sreq;
  SplitUrl(url, host, path, sreq.query);
  const auto now = std::chrono::system_clock::now();
  const std::string amz_date =
      AmzDate(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  const std::string payload = Sha256Hex(body);
  sreq.method = method;
  sreq.path = path;
  sreq.payload_sha256 = payload;
  sreq.headers = {{"host", host}, {"x-amz-date", amz_date}};
  if (service == "s3") sreq.headers.emplace_back("x-amz-content-sha256", payload);
  if (!creds.session_token.empty()) {
    sreq.headers.emplace_back("x-amz-security-token", creds.session_token);
  }
  for (const auto& [k, v] : headers) {
    std::string lower = k;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    sreq.headers.emplace_back(lower, v);
  }
  const auto sig =
      sign ? SignV4(sreq, creds, endpoint.region, service, amz_date) : SigV4Signature{};

  VZ_ASSIGN_OR_RETURN(const io::CurlApi* api, io::LoadCurl());
  std::unique_ptr<CURL, CurlDeleter> curl(api->easy_init(), CurlDeleter{api});
  if (!curl) return IoError(fmt::format("{} {}: libcurl could not make a handle", method, url));
  curl_slist* list = nullptr;
  for (const auto& [k, v] : sreq.headers) {
    if (k == "host") continue;
    std::string line = k;
    line += ": ";
    line += v;
    list = api->slist_append(list, line.c_str());
  }
  if (sign) list = api->slist_append(list, ("Authorization: " + sig.authorization).c_str());
  list = api->slist_append(list, "Expect:");
  // Without this libcurl labels every body it sends application/x-www-form-urlencoded: S3
  // ignores that for an UploadPart, but servers that honour it parse the part as a form
  // (moto then loses the partNumber and uploadId of the query).
  const bool typed = std::any_of(sreq.headers.begin(), sreq.headers.end(),
                                 [](const auto& h) { return h.first == "content-type"; });
  if (!typed) list = api->slist_append(list, "Content-Type:");
  std::unique_ptr<curl_slist, SlistDeleter> guard(list, SlistDeleter{api});
  AwsReply reply;
  CURL* c = curl.get();
  api->easy_setopt(c, CURLOPT_URL, url.c_str());
  api->easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  api->easy_setopt(c, CURLOPT_HTTPHEADER, list);
  if (method == "PUT" || method == "POST") {
    api->easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    api->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  if (method == "HEAD") api->easy_setopt(c, CURLOPT_NOBODY, 1L);
  api->easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody);
  api->easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  api->easy_setopt(c, CURLOPT_HEADERFUNCTION, WriteHeader);
  api->easy_setopt(c, CURLOPT_HEADERDATA, &reply.headers);
  api->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   endpoint.timeout_ms > 0 ? std::min(endpoint.timeout_ms, 10000L) : 10000L);
  if (endpoint.timeout_ms > 0) api->easy_setopt(c, CURLOPT_TIMEOUT_MS, endpoint.timeout_ms);
  api->easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  api->easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  api->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (!endpoint.ca_bundle.empty()) api->easy_setopt(c, CURLOPT_CAINFO, endpoint.ca_bundle.c_str());
  const CURLcode rc = api->easy_perform(c);
  if (rc != CURLE_OK) {
    return IoError(fmt::format("{} {}: {}", method, url, api->easy_strerror(rc)));
  }
  api->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

Result<std::string> SsmGetParameter(const std::string& name, const AwsEndpoint& endpoint) {
  const std::string url =
      endpoint.endpoint.empty() ? ServiceHost("ssm", endpoint) + "/" : endpoint.endpoint + "/";
  const nlohmann::json req = {{"Name", name}, {"WithDecryption", true}};
  const std::string body = req.dump();
  VZ_ASSIGN_OR_RETURN(auto reply, WithRetries([&] {
                        return AwsRequest("POST", url,
                                          {{"content-type", "application/x-amz-json-1.1"},
                                           {"x-amz-target", "AmazonSSM.GetParameter"}},
                                          body, endpoint, "ssm");
                      }),
                      "reading SSM parameter {}", name);
  const auto j = nlohmann::json::parse(reply.body, nullptr, false);
  if (reply.status != 200) {
    std::string type = j.is_object() ? j.value("__type", "") : "";
    if (const auto hash = type.find('#'); hash != std::string::npos) type = type.substr(hash + 1);
    const std::string msg = fmt::format("SSM parameter {}: HTTP {}{}", name, reply.status,
                                        type.empty() ? "" : " " + type);
    if (type == "ParameterNotFound") return NotFound(msg);
    if (reply.status == 403 || type.find("AccessDenied") != std::string::npos ||
        type.find("UnrecognizedClient") != std::string::npos ||
        type.find("Signature") != std::string::npos) {
      return PermissionDenied(msg);
    }
    return IoError(msg);
  }
  if (!j.is_object() || !j.contains("Parameter") || !j["Parameter"].is_object() ||
      !j["Parameter"].contains("Value") || !j["Parameter"]["Value"].is_string()) {
    return Corrupt(fmt::format("SSM parameter {}: unexpected answer", name));
  }
  return j["Parameter"]["Value"].get<std::string>();
}

Status S3PutObject(const std::string& s3_url, const std::string& data, const AwsEndpoint& endpoint,
                   const std::string& content_type, std::uint64_t part_size) {
  VZ_ASSIGN_OR_RETURN(const std::string url, ObjectUrl(s3_url, endpoint));
  if (part_size < (5u << 20) && !endpoint.endpoint.empty()) {
    // Tests use small parts; AWS requires 5 MiB for all parts but the last.
  } else if (part_size < (5u << 20)) {
    part_size = 5u << 20;
  }
  if (data.size() <= part_size) {
    VZ_ASSIGN_OR_RETURN(auto r, WithRetries([&] {
                          return AwsRequest(
                              "PUT", url,
                              {{"content-type", content_type}, {"content-md5", ContentMd5(data)}},
                              data, endpoint, "s3");
                        }),
                        "uploading {}", s3_url);
    if (r.status != 200) return S3Error(r, "uploading " + s3_url);
    return Ok();
  }
  VZ_ASSIGN_OR_RETURN(auto init, WithRetries([&] {
                        return AwsRequest("POST",
                                          url + "?uploads=", {{"content-type", content_type}}, "",
                                          endpoint, "s3");
                      }),
                      "starting the upload of {}", s3_url);
  if (init.status != 200) return S3Error(init, "starting the upload of " + s3_url);
  const std::string upload_id = XmlValue(init.body, "UploadId");
  if (upload_id.empty()) return Corrupt("S3 did not return an UploadId for " + s3_url);
  auto abort = [&](Error e) -> Status {
    (void)AwsRequest("DELETE", url + "?uploadId=" + upload_id, {}, "", endpoint, "s3");
    return e;
  };
  std::string complete = "<CompleteMultipartUpload>";
  std::uint64_t number = 0;
  for (std::uint64_t off = 0; off < data.size(); off += part_size) {
    ++number;
    const std::string part = data.substr(off, part_size);
    const std::string part_url =
        fmt::format("{}?partNumber={}&uploadId={}", url, number, upload_id);
    auto r = WithRetries([&] {
      return AwsRequest("PUT", part_url, {{"content-md5", ContentMd5(part)}}, part, endpoint, "s3");
    });
    if (!r.ok()) return abort(std::move(r).error().Annotate("uploading " + s3_url));
    if (r->status != 200)
      return abort(S3Error(*r, fmt::format("uploading part {} of {}", number, s3_url)));
    complete += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", number,
                            r->headers["etag"]);
  }
  complete += "</CompleteMultipartUpload>";
  auto done = WithRetries([&] {
    return AwsRequest("POST", url + "?uploadId=" + upload_id, {{"content-type", "application/xml"}},
                      complete, endpoint, "s3");
  });
  if (!done.ok()) return abort(std::move(done).error().Annotate("completing " + s3_url));
  if (done->status != 200 || done->body.find("<Error>") != std::string::npos) {
    return abort(S3Error(*done, "completing the upload of " + s3_url));
  }
  return Ok();
}

Result<bool> S3PutObjectIf(const std::string& s3_url, const std::string& data,
                           const AwsEndpoint& endpoint, const std::string& if_match,
                           const std::string& content_type) {
  VZ_ASSIGN_OR_RETURN(const std::string url, ObjectUrl(s3_url, endpoint));
  std::vector<std::pair<std::string, std::string>> headers = {{"content-type", content_type},
                                                              {"content-md5", ContentMd5(data)}};
  if (if_match == "*") {
    headers.emplace_back("if-none-match", "*");
  } else {
    headers.emplace_back("if-match", if_match);
  }
  // No retries: a retried conditional PUT whose first attempt did land would report a loss.
  auto r = AwsRequest("PUT", url, headers, data, endpoint, "s3");
  if (!r.ok()) return std::move(r).error().Annotate("uploading " + s3_url);
  if (r->status == 412 || r->status == 409 || (r->status == 404 && if_match != "*")) {
    return false;
  }
  if (r->status != 200) return S3Error(*r, "uploading " + s3_url);
  return true;
}

Result<std::optional<std::string>> S3ObjectEtag(const std::string& s3_url,
                                                const AwsEndpoint& endpoint) {
  VZ_ASSIGN_OR_RETURN(const std::string url, ObjectUrl(s3_url, endpoint));
  auto r = WithRetries([&] { return AwsRequest("HEAD", url, {}, "", endpoint, "s3"); });
  if (!r.ok()) return std::move(r).error().Annotate("reading " + s3_url);
  if (r->status == 404) return std::optional<std::string>();
  if (r->status != 200) return S3Error(*r, "reading " + s3_url);
  auto etag = r->headers.find("etag");
  return std::optional<std::string>(etag == r->headers.end() ? "" : etag->second);
}

Result<S3Object> S3GetObjectWithEtag(const std::string& s3_url, const AwsEndpoint& endpoint) {
  VZ_ASSIGN_OR_RETURN(const std::string url, ObjectUrl(s3_url, endpoint));
  auto r = WithRetries([&] { return AwsRequest("GET", url, {}, "", endpoint, "s3"); });
  if (!r.ok()) return std::move(r).error().Annotate("reading " + s3_url);
  if (r->status != 200) return S3Error(*r, "reading " + s3_url);
  auto etag = r->headers.find("etag");
  return S3Object{std::move(r->body), etag == r->headers.end() ? "" : etag->second};
}

Result<std::string> S3GetObject(const std::string& s3_url, const AwsEndpoint& endpoint) {
  VZ_ASSIGN_OR_RETURN(const std::string url, ObjectUrl(s3_url, endpoint));
  VZ_ASSIGN_OR_RETURN(auto r,
                      WithRetries([&] { return AwsRequest("GET", url, {}, "", endpoint, "s3"); }),
                      "reading {}", s3_url);
  if (r.status != 200) return S3Error(r, "reading " + s3_url);
  return std::move(r.body);
}

}  // namespace vz::auth
