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

void AddHttpsBase(const std::string& s3_url, const std::string& https_url,
                  std::map<std::string, std::string>& https_base) {
  if (s3_url.size() <= 5 || s3_url.rfind("s3://", 0) != 0 || https_url.empty()) return;
  const std::string key = s3_url.substr(5);
  if (https_url.size() > key.size() &&
      https_url.compare(https_url.size() - key.size(), key.size(), key) == 0) {
    https_base.emplace(key.substr(0, key.find('/')),
                       https_url.substr(0, https_url.size() - key.size()));
  }
}

Result<std::string> TwinUrl(const std::string& url, bool s3,
                            const std::map<std::string, std::string>& https_base) {
  const bool is_s3 = url.rfind("s3://", 0) == 0;
  if (s3) return is_s3 ? Result<std::string>(url) : S3TwinUrl(url);
  if (!is_s3) return url;
  const std::string key = url.substr(5);
  auto base = https_base.find(key.substr(0, key.find('/')));
  if (base != https_base.end()) return base->second + key;
  return HttpsTwinUrl(url);
}

Result<refs::RefStore> MapStoreUrls(refs::RefStore store, bool s3,
                                    const std::map<std::string, std::string>& https_base) {
  for (auto& u : store.urls) {
    VZ_ASSIGN_OR_RETURN(u, TwinUrl(u, s3, https_base));
  }
  if (store.meta.is_object() && store.meta.contains("granules") &&
      store.meta["granules"].is_array()) {
    for (auto& name : store.meta["granules"]) {
      if (!name.is_string()) continue;
      auto twin = TwinUrl(name.get<std::string>(), s3, https_base);
      if (twin.ok()) name = *twin;
    }
  }
  return store;
}

std::string StoreFileName(const std::string& collection, const std::string& start,
                          const std::string& end, const std::string& kind) {
  if (start.empty() && end.empty()) return fmt::format("{}_virtual_{}.json", collection, kind);
  return fmt::format("{}_{}_to_{}_virtual_{}.json", collection, start.empty() ? "beginning" : start,
                     end.empty() ? "present" : end, kind);
}

}  // namespace vz::app
