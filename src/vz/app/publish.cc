#include "vz/app/publish.h"

#include <fmt/format.h>

namespace vz::app {

Result<std::string> HttpsTwinUrl(const std::string& s3_url) {
  if (s3_url.rfind("s3://", 0) != 0)
    return InvalidArgument(fmt::format("not an s3:// URL: {}", s3_url));
  const std::string rest = s3_url.substr(5);
  const auto slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size()) {
    return InvalidArgument(fmt::format("s3 URL without bucket and key: {}", s3_url));
  }
  const std::string bucket = rest.substr(0, slash);
  const bool swot = bucket.rfind("podaac-swot-", 0) == 0;
  const char* host =
      swot ? "archive.swot.podaac.earthdata.nasa.gov" : "archive.podaac.earthdata.nasa.gov";
  return fmt::format("https://{}/{}", host, rest);
}

Result<std::string> S3TwinUrl(const std::string& https_url) {
  // http:// too: test servers and private mirrors.
  const std::string scheme = https_url.rfind("http://", 0) == 0 ? "http://" : "https://";
  if (https_url.rfind(scheme, 0) != 0) {
    return InvalidArgument(fmt::format("not an https:// URL: {}", https_url));
  }
  const std::string rest = https_url.substr(scheme.size());
  const auto host_end = rest.find('/');
  if (host_end == std::string::npos) {
    return InvalidArgument(fmt::format("https URL without bucket and key: {}", https_url));
  }
  const std::string path = rest.substr(host_end + 1);
  const auto slash = path.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == path.size()) {
    return InvalidArgument(fmt::format("https URL without bucket and key: {}", https_url));
  }
  return "s3://" + path;
}

Result<refs::RefStore> WithTwinUrls(const refs::RefStore& store, const std::string& kind) {
  refs::RefStore out = store;
  for (auto& url : out.urls) {
    if (kind == "s3") {
      if (url.rfind("s3://", 0) == 0) continue;
      VZ_ASSIGN_OR_RETURN(url, S3TwinUrl(url));
    } else if (kind == "https") {
      if (url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0) continue;
      VZ_ASSIGN_OR_RETURN(url, HttpsTwinUrl(url));
    } else {
      return InvalidArgument(fmt::format("unknown store kind {}", kind));
    }
  }
  return out;
}

std::string StoreFileName(const std::string& collection, const std::string& start,
                          const std::string& end, const std::string& kind) {
  if (start.empty() && end.empty()) return fmt::format("{}_virtual_{}.json", collection, kind);
  return fmt::format("{}_{}_to_{}_virtual_{}.json", collection, start.empty() ? "beginning" : start,
                     end.empty() ? "present" : end, kind);
}

}  // namespace vz::app
