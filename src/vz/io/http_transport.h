// HttpTransport: every HTTP request of the process goes through one libcurl multi handle driven
// by one event-loop thread (tensorstore-style). Callers submit requests and wait on futures, so
// a ReadMany of 100 ranges costs one round trip, not 100, and connections are reused across
// granules (keep-alive, HTTP/2 multiplexing where the server offers it).
#pragma once

#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vz/base/error.h"
#include "vz/io/byte_source.h"

namespace vz::io {

struct HttpRequest {
  std::string url;
  std::string method = "GET";        // GET or HEAD
  std::vector<std::string> headers;  // "Name: value"
  std::optional<ByteRange> range;
  std::uint64_t suffix = 0;  // without `range`: the last `suffix` bytes ("Range: bytes=-N")
  // The transfer is aborted (kIo error) when the body grows beyond this; 0 means no cap.
  std::uint64_t max_body = 0;
  // When the server ignores `range`/`suffix` and answers 200 with the whole object, a body up to
  // this size is kept (as the whole object); a larger one fails as kUnsupported.
  std::uint64_t max_whole_body = 0;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string effective_url;
  std::string Header(const std::string& lower_name) const;
};

struct HttpTransportOptions {
  long max_in_flight = 64;  // requests transferring at once, all hosts together
  long max_per_host = 16;   // connections to one host
  // 0 or less: 10 s and 30 s (app::RuntimeOptions sets them from --connect-timeout /
  // $VZ_CONNECT_TIMEOUT and --timeout / $VZ_TIMEOUT).
  long connect_timeout_ms = 0;
  long low_speed_seconds = 0;  // abort a transfer that receives no data for this long
  std::string ca_bundle;       // empty: the system's CA store
  // A netrc file whose entries answer each host's Basic challenge (Earthdata Login). Entries
  // are per host, so a password only ever goes to the host it names.
  std::string netrc_file;
  // Keep cookies across requests and hosts (the Earthdata session cookie of the data host).
  bool cookies = true;
};

class HttpTransport {
 public:
  explicit HttpTransport(HttpTransportOptions options = {});
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // A transport with the default options (the system's CA store, default timeouts), for tests
  // and tools; vzgen's commands make theirs from app::RuntimeOptions.
  static HttpTransport& Default();

  // Queues a request; the future resolves when it completes. A transport-level failure
  // (DNS, connect, reset, timeout) is a kIo error; any HTTP status is a response.
  std::future<Result<HttpResponse>> Submit(HttpRequest request);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vz::io
