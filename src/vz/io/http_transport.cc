#include "vz/io/http_transport.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "vz/io/curl_api.h"

namespace vz::io {

std::string HttpResponse::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

namespace {

struct Transfer {
  const CurlApi* api = nullptr;
  HttpRequest request;
  std::promise<Result<HttpResponse>> promise;
  HttpResponse response;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  std::string range_text;
  char error[CURL_ERROR_SIZE] = {};
  bool too_big = false;
  long status_line = 0;  // the status of the response being received

  // A range was asked for and the server answered 200: it sends the whole object.
  bool RangeIgnored() const {
    return status_line == 200 && (request.range.has_value() || request.suffix > 0);
  }

  ~Transfer() {
    if (header_list != nullptr) api->slist_free_all(header_list);
    if (easy != nullptr) api->easy_cleanup(easy);
  }
};

std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t bytes = size * n;
  std::uint64_t cap = t->request.max_body;
  if (cap != 0 && t->RangeIgnored()) cap = std::max(cap, t->request.max_whole_body);
  if (cap != 0 && t->response.body.size() + bytes > cap) {
    t->too_big = true;
    return 0;  // aborts the transfer
  }
  if (t->response.body.empty()) {
    // A range answer's size is known: one allocation instead of a doubling series of copies.
    const std::uint64_t expect = t->request.range ? t->request.range->length : t->request.suffix;
    if (expect > bytes && expect <= (64ull << 20)) {
      t->response.body.reserve(static_cast<std::size_t>(expect));
    }
  }
  t->response.body.append(data, bytes);
  return bytes;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t bytes = size * n;
  std::string line(data, bytes);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();  // a new response (after a redirect or 100-continue)
    const auto space = line.find(' ');
    t->status_line =
        space == std::string::npos ? 0 : std::strtol(line.c_str() + space, nullptr, 10);
    return bytes;
  }
  auto colon = line.find(':');
  if (colon == std::string::npos) return bytes;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string value = line.substr(colon + 1);
  auto first = value.find_first_not_of(" \t");
  auto last = value.find_last_not_of(" \t\r\n");
  value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
  t->response.headers[name] = value;
  return bytes;
}

}  // namespace

struct HttpTransport::Impl {
  HttpTransportOptions options;
  const CurlApi* api = nullptr;     // null when libcurl could not be loaded:
  std::optional<Error> load_error;  // then every request fails with this
  CURLM* multi = nullptr;
  CURLSH* share = nullptr;  // cookie jar and DNS cache shared by every transfer
  std::mutex mu;
  std::deque<std::unique_ptr<Transfer>> queue;
  bool stopping = false;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active;
  std::thread thread;

  void Start(std::unique_ptr<Transfer> t) {
    t->api = api;
    CURL* e = api->easy_init();
    if (e == nullptr) {
      t->promise.set_value(
          IoError(fmt::format("{}: libcurl could not make a handle", t->request.url)));
      return;
    }
    t->easy = e;
    const HttpRequest& r = t->request;
    api->easy_setopt(e, CURLOPT_URL, r.url.c_str());
    api->easy_setopt(e, CURLOPT_PRIVATE, t.get());
    api->easy_setopt(e, CURLOPT_WRITEFUNCTION, OnBody);
    api->easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    api->easy_setopt(e, CURLOPT_HEADERFUNCTION, OnHeader);
    api->easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    api->easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    api->easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    api->easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, options.connect_timeout_ms);
    api->easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    api->easy_setopt(e, CURLOPT_LOW_SPEED_TIME, options.low_speed_seconds);
    api->easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    // Waiting for a connection being opened pays only when it may turn out to be HTTP/2 (TLS
    // with ALPN); over plain http a second request would wait for the first one's whole answer.
    if (r.url.rfind("https://", 0) == 0) api->easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    api->easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    api->easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    // Credentials are never sent to a host we were redirected to (libcurl's default, kept
    // explicit because Earthdata redirects across hosts).
    api->easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);
    if (!options.ca_bundle.empty()) api->easy_setopt(e, CURLOPT_CAINFO, options.ca_bundle.c_str());
    if (!options.netrc_file.empty()) {
      api->easy_setopt(e, CURLOPT_NETRC, static_cast<long>(CURL_NETRC_OPTIONAL));
      api->easy_setopt(e, CURLOPT_NETRC_FILE, options.netrc_file.c_str());
    }
    if (options.cookies) api->easy_setopt(e, CURLOPT_COOKIEFILE, "");
    api->easy_setopt(e, CURLOPT_SHARE, share);
    if (r.method == "HEAD") api->easy_setopt(e, CURLOPT_NOBODY, 1L);
    if (r.range) {
      t->range_text = fmt::format("{}-{}", r.range->offset, r.range->offset + r.range->length - 1);
      api->easy_setopt(e, CURLOPT_RANGE, t->range_text.c_str());
    } else if (r.suffix > 0) {
      t->range_text = fmt::format("-{}", r.suffix);
      api->easy_setopt(e, CURLOPT_RANGE, t->range_text.c_str());
    }
    for (const auto& h : r.headers) t->header_list = api->slist_append(t->header_list, h.c_str());
    if (t->header_list != nullptr) api->easy_setopt(e, CURLOPT_HTTPHEADER, t->header_list);
    api->multi_add_handle(multi, e);
    active.emplace(e, std::move(t));
  }

  void Finish(CURL* e, CURLcode code) {
    auto it = active.find(e);
    if (it == active.end()) return;
    std::unique_ptr<Transfer> t = std::move(it->second);
    active.erase(it);
    api->multi_remove_handle(multi, e);
    if (code == CURLE_OK) {
      api->easy_getinfo(e, CURLINFO_RESPONSE_CODE, &t->response.status);
      char* eff = nullptr;
      api->easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &eff);
      if (eff != nullptr) t->response.effective_url = eff;
      t->promise.set_value(std::move(t->response));
    } else if (t->too_big && t->RangeIgnored()) {
      // Not transient: asking again gets the same answer.
      t->promise.set_value(Unsupported(fmt::format(
          "GET {}: the server does not support range requests (it answered a range request "
          "with 200 and the whole object, more than the {} bytes vzgen reads that way)",
          t->request.url, std::max(t->request.max_body, t->request.max_whole_body))));
    } else if (t->too_big) {
      t->promise.set_value(
          IoError(fmt::format("GET {}: response larger than the {} bytes asked for", t->request.url,
                              t->request.max_body)));
    } else {
      std::string detail = t->error[0] != 0 ? t->error : api->easy_strerror(code);
      if (code == CURLE_OPERATION_TIMEDOUT) {
        curl_off_t connected = 0;
        api->easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connected);
        detail = connected == 0
                     ? fmt::format("no connection within {} s (--connect-timeout)",
                                   static_cast<double>(options.connect_timeout_ms) / 1000.0)
                     : fmt::format("the server stalled: no data for {} s (--timeout)",
                                   options.low_speed_seconds);
      }
      t->promise.set_value(
          IoError(fmt::format("{} {}: {}", t->request.method, t->request.url, detail)));
    }
  }

  void Loop() {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu);
        while (!queue.empty()) {
          Start(std::move(queue.front()));
          queue.pop_front();
        }
        if (stopping && active.empty()) return;
      }
      int running = 0;
      api->multi_perform(multi, &running);
      int left = 0;
      while (CURLMsg* msg = api->multi_info_read(multi, &left)) {
        if (msg->msg == CURLMSG_DONE) Finish(msg->easy_handle, msg->data.result);
      }
      api->multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
  }
};

namespace {
constexpr long kDefaultConnectTimeoutMs = 10'000;
constexpr long kDefaultLowSpeedSeconds = 30;
}  // namespace

HttpTransport::HttpTransport(HttpTransportOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  auto api = LoadCurl();
  if (!api.ok()) {
    impl_->load_error = api.error();
    return;
  }
  impl_->api = *api;
  if (impl_->options.connect_timeout_ms <= 0) {
    impl_->options.connect_timeout_ms = kDefaultConnectTimeoutMs;
  }
  if (impl_->options.low_speed_seconds <= 0) {
    impl_->options.low_speed_seconds = kDefaultLowSpeedSeconds;
  }
  impl_->multi = impl_->api->multi_init();
  // Only the event-loop thread touches transfers, so the share needs no lock callbacks.
  impl_->share = impl_->api->share_init();
  impl_->api->share_setopt(impl_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
  impl_->api->share_setopt(impl_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  impl_->api->multi_setopt(impl_->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                           impl_->options.max_in_flight);
  impl_->api->multi_setopt(impl_->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                           impl_->options.max_per_host);
  impl_->api->multi_setopt(impl_->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  impl_->thread = std::thread([this] { impl_->Loop(); });
}

HttpTransport::~HttpTransport() {
  if (impl_->api == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->api->multi_wakeup(impl_->multi);
  impl_->thread.join();
  impl_->api->multi_cleanup(impl_->multi);
  impl_->api->share_cleanup(impl_->share);
}

HttpTransport& HttpTransport::Default() {
  static HttpTransport* transport = new HttpTransport();  // never destroyed: used until exit
  return *transport;
}

std::future<Result<HttpResponse>> HttpTransport::Submit(HttpRequest request) {
  auto t = std::make_unique<Transfer>();
  t->request = std::move(request);
  auto future = t->promise.get_future();
  if (impl_->load_error) {
    t->promise.set_value(*impl_->load_error);
    return future;
  }
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->queue.push_back(std::move(t));
  }
  impl_->api->multi_wakeup(impl_->multi);
  return future;
}

}  // namespace vz::io
