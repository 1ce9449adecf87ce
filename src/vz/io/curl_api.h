#pragma once
// libcurl, loaded when the first HTTP request needs it rather than at process start: libcurl
// brings in some thirty shared libraries (TLS, Kerberos, LDAP, ...) whose loading costs about
// 6 ms per process, which local `scan` and `build` runs would otherwise pay for nothing.
//
// Only the functions vzgen calls are resolved; the types and constants come from
// <curl/curl.h> as usual.

#include <curl/curl.h>

#include "vz/base/error.h"

namespace vz::io {

struct CurlApi {
  decltype(&curl_global_init) global_init = nullptr;
  decltype(&curl_easy_init) easy_init = nullptr;
  decltype(&curl_easy_setopt) easy_setopt = nullptr;
  decltype(&curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&curl_easy_perform) easy_perform = nullptr;
  decltype(&curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&curl_easy_strerror) easy_strerror = nullptr;
  decltype(&curl_slist_append) slist_append = nullptr;
  decltype(&curl_slist_free_all) slist_free_all = nullptr;
  decltype(&curl_multi_init) multi_init = nullptr;
  decltype(&curl_multi_setopt) multi_setopt = nullptr;
  decltype(&curl_multi_add_handle) multi_add_handle = nullptr;
  decltype(&curl_multi_remove_handle) multi_remove_handle = nullptr;
  decltype(&curl_multi_perform) multi_perform = nullptr;
  decltype(&curl_multi_info_read) multi_info_read = nullptr;
  decltype(&curl_multi_poll) multi_poll = nullptr;
  decltype(&curl_multi_wakeup) multi_wakeup = nullptr;
  decltype(&curl_multi_cleanup) multi_cleanup = nullptr;
  decltype(&curl_share_init) share_init = nullptr;
  decltype(&curl_share_setopt) share_setopt = nullptr;
  decltype(&curl_share_cleanup) share_cleanup = nullptr;
};

// Loads and initialises libcurl once (thread-safe); every later call returns the same table,
// or the same error naming the library and what was missing.
Result<const CurlApi*> LoadCurl();

}  // namespace vz::io
