#include "vz/io/curl_api.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <mutex>
#include <string>

namespace vz::io {
namespace {

constexpr const char* kLibrary = "libcurl.so.4";

template <typename F>
bool Resolve(void* lib, const char* name, F& out, std::string& missing) {
  void* p = ::dlsym(lib, name);
  if (p == nullptr) {
    missing += missing.empty() ? name : std::string(", ") + name;
    return false;
  }
  out = reinterpret_cast<F>(p);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  return true;
}

Result<const CurlApi*> Load() {
  // RTLD_NODELETE: libcurl's threads and handles outlive any scope here; it stays loaded.
  void* lib = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (lib == nullptr) {
    const char* why = ::dlerror();
    return IoError(
        fmt::format("HTTP needs {} (Debian package libcurl4), which could not be "
                    "loaded: {}",
                    kLibrary, why != nullptr ? why : "unknown error"));
  }
  static CurlApi api;
  std::string missing;
  Resolve(lib, "curl_global_init", api.global_init, missing);
  Resolve(lib, "curl_easy_init", api.easy_init, missing);
  Resolve(lib, "curl_easy_setopt", api.easy_setopt, missing);
  Resolve(lib, "curl_easy_getinfo", api.easy_getinfo, missing);
  Resolve(lib, "curl_easy_perform", api.easy_perform, missing);
  Resolve(lib, "curl_easy_cleanup", api.easy_cleanup, missing);
  Resolve(lib, "curl_easy_strerror", api.easy_strerror, missing);
  Resolve(lib, "curl_slist_append", api.slist_append, missing);
  Resolve(lib, "curl_slist_free_all", api.slist_free_all, missing);
  Resolve(lib, "curl_multi_init", api.multi_init, missing);
  Resolve(lib, "curl_multi_setopt", api.multi_setopt, missing);
  Resolve(lib, "curl_multi_add_handle", api.multi_add_handle, missing);
  Resolve(lib, "curl_multi_remove_handle", api.multi_remove_handle, missing);
  Resolve(lib, "curl_multi_perform", api.multi_perform, missing);
  Resolve(lib, "curl_multi_info_read", api.multi_info_read, missing);
  Resolve(lib, "curl_multi_poll", api.multi_poll, missing);
  Resolve(lib, "curl_multi_wakeup", api.multi_wakeup, missing);
  Resolve(lib, "curl_multi_cleanup", api.multi_cleanup, missing);
  Resolve(lib, "curl_share_init", api.share_init, missing);
  Resolve(lib, "curl_share_setopt", api.share_setopt, missing);
  Resolve(lib, "curl_share_cleanup", api.share_cleanup, missing);
  if (!missing.empty()) {
    return IoError(fmt::format("{} lacks {} (libcurl 7.68 or later is needed)", kLibrary, missing));
  }
  if (const CURLcode rc = api.global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK) {
    return IoError(fmt::format("{} failed to initialise: {}", kLibrary, api.easy_strerror(rc)));
  }
  return &api;
}

}  // namespace

Result<const CurlApi*> LoadCurl() {
  static const Result<const CurlApi*> loaded = Load();
  return loaded;
}

}  // namespace vz::io
