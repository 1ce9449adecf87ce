#include "vz/io/http_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <ctime>
#include <future>
#include <optional>
#include <random>
#include <thread>

#include "vz/base/checked.h"

namespace vz::io {

namespace {

struct ContentRange {
  std::uint64_t first = 0, last = 0, total = 0;
};

// "bytes 0-99/1234"; total may be "*" (unknown), which we reject.
bool ParseContentRange(const std::string& v, ContentRange* out) {
  unsigned long long a = 0, b = 0, t = 0;
  if (std::sscanf(v.c_str(), "bytes %llu-%llu/%llu", &a, &b, &t) != 3 || b < a) return false;
  *out = {a, b, t};
  return true;
}

// Bytes [from, from + n) of a response body (a memcpy, not a byte-by-byte conversion).
Bytes Slice(const std::string& body, std::uint64_t from, std::uint64_t n) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(body.data()) + from;  // NOLINT
  return Bytes(p, p + n);
}

bool Transient(long status) { return status == 429 || status >= 500; }

// A server's Retry-After in milliseconds (the delta-seconds form), 0 when absent.
std::uint64_t RetryAfterMs(const HttpResponse& r) {
  const std::string v = r.Header("retry-after");
  if (v.empty() || v.size() > 6 ||
      !std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
    return 0;
  }
  return std::stoull(v) * 1000;
}

// Seconds a presigned S3 URL stays valid from now: X-Amz-Date + X-Amz-Expires (minus a minute,
// as TEA's Cache-Control does); 0 when the URL is not presigned.
std::int64_t PresignedSecondsLeft(const std::string& url) {
  auto param = [&](const std::string& name) -> std::string {
    const auto p = url.find(name + "=");
    if (p == std::string::npos || (url[p - 1] != '?' && url[p - 1] != '&')) return "";
    const auto start = p + name.size() + 1;
    return url.substr(start, url.find('&', start) - start);
  };
  const std::string date = param("X-Amz-Date");
  const std::string expires = param("X-Amz-Expires");
  if (param("X-Amz-Signature").empty() || date.size() != 16 || expires.empty() ||
      expires.size() > 9 || !std::all_of(expires.begin(), expires.end(), [](unsigned char c) {
        return std::isdigit(c) != 0;
      })) {
    return 0;
  }
  std::tm tm{};
  if (std::sscanf(date.c_str(), "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::int64_t until = static_cast<std::int64_t>(timegm(&tm)) + std::stoll(expires) - 60;
  return until - static_cast<std::int64_t>(std::time(nullptr));
}

Error StatusError(const std::string& url, long status) {
  std::string msg = fmt::format("GET {}: HTTP {}", url, status);
  if (status == 404 || status == 410)
    return NotFound(fmt::format("{}: not found (HTTP {})", url, status));
  if (status == 401 || status == 403) {
    return PermissionDenied(fmt::format("{}: access denied (HTTP {})", url, status));
  }
  if (status == 412) return IoError(fmt::format("{} changed while it was being read (ETag)", url));
  if (status == 416) return Corrupt(fmt::format("{}: range not satisfiable (HTTP 416)", url));
  return IoError(msg);
}

}  // namespace

HttpSource::HttpSource(std::string url, HttpTransport& transport, HttpSourceOptions options)
    : url_(std::move(url)), transport_(transport), options_(std::move(options)) {}

Status HttpSource::EnsureOpen() {
  if (open_) return Ok();
  // One request learns the size and ETag and brings the first bytes.
  std::uint64_t want = std::max<std::uint64_t>(options_.open_read, 1);
  std::optional<std::future<Result<HttpResponse>>> tail;
  if (options_.open_tail > 0) {
    HttpRequest req{url_, "GET", {}, std::nullopt, options_.open_tail, options_.open_tail};
    if (!options_.sign || options_.sign(req).ok()) tail = transport_.Submit(std::move(req));
  }
  bool refreshed = false;
  for (int attempt = 1;; ++attempt) {
    HttpRequest req{url_, "GET", {}, ByteRange{0, want}, 0, want};
    // A server that ignores ranges sends the whole object: kept when it is small enough, and
    // then every later read is served from it.
    req.max_whole_body = kMaxWholeObject;
    if (options_.sign) VZ_TRY(options_.sign(req));
    auto res = transport_.Submit(req).get();
    const bool permanent = !res.ok() && res.error().code() == ErrorCode::kUnsupported;
    bool retry = (!res.ok() && !permanent) || (res.ok() && Transient(res->status));
    if (retry && attempt < options_.max_attempts) {
      std::uint64_t delay = options_.backoff_ms << (attempt - 1);
      if (res.ok()) delay = std::max(delay, std::min(RetryAfterMs(*res), options_.max_backoff_ms));
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      continue;
    }
    if (!res.ok()) {
      return attempt > 1
                 ? std::move(res).error().Annotate(fmt::format("after {} attempts", attempt))
                 : std::move(res).error();
    }
    const HttpResponse& r = *res;
    if ((r.status == 401 || r.status == 403) && !refreshed && options_.refresh_on_denied &&
        options_.refresh_on_denied(r)) {
      refreshed = true;  // expired credentials: once more with fresh ones
      continue;
    }
    if (r.status == 200 || r.status == 206) RememberRedirect(r);
    if (r.status == 416) {  // an empty object answers a range request with 416
      ContentRange cr;
      std::string v = r.Header("content-range");
      unsigned long long total = 0;
      if (std::sscanf(v.c_str(), "bytes */%llu", &total) == 1 && total == 0) {
        info_ = {0, r.Header("etag")};
        open_ = true;
        return Ok();
      }
      (void)cr;
      return StatusError(url_, r.status);
    }
    if (r.status == 206) {
      ContentRange cr;
      if (!ParseContentRange(r.Header("content-range"), &cr) || cr.first != 0 ||
          cr.last - cr.first + 1 != r.body.size()) {
        return IoError(fmt::format("GET {}: bad Content-Range '{}' for {} bytes", url_,
                                   r.Header("content-range"), r.body.size()));
      }
      info_ = {cr.total, r.Header("etag")};
    } else if (r.status == 200) {
      // The server ignored the range: the whole (small) object came back.
      info_ = {r.body.size(), r.Header("etag")};
    } else {
      return StatusError(url_, r.status);
    }
    head_ = std::move(res->body);
    open_ = true;
    if (tail) KeepTail(tail->get());
    return Ok();
  }
}

void HttpSource::KeepTail(Result<HttpResponse> res) {
  // Kept only when it is exactly the end of the object opened (same size and ETag); anything
  // else (an error, a server without suffix ranges, a changed object) is simply not used.
  if (!res.ok() || res->status != 206 || res->Header("etag") != info_.etag) return;
  ContentRange cr;
  if (!ParseContentRange(res->Header("content-range"), &cr) || cr.total != info_.size ||
      cr.last + 1 != cr.total || cr.last - cr.first + 1 != res->body.size()) {
    return;
  }
  tail_ = std::move(res->body);
  tail_at_ = cr.first;
}

Result<SourceInfo> HttpSource::Stat() {
  std::lock_guard<std::mutex> lock(mu_);
  VZ_TRY(EnsureOpen());
  return info_;
}

Result<Bytes> HttpSource::ReadAt(std::uint64_t offset, std::uint64_t length) {
  ByteRange r{offset, length};
  VZ_ASSIGN_OR_RETURN(auto v, ReadMany(std::span<const ByteRange>(&r, 1)));
  return std::move(v[0]);
}

Result<std::vector<Bytes>> HttpSource::ReadMany(std::span<const ByteRange> ranges) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    VZ_TRY(EnsureOpen());
  }
  for (const auto& r : ranges) VZ_TRY(ValidateReadRange(url_, r.offset, r.length, info_.size));
  return Fetch(ranges);
}

Result<std::vector<Bytes>> HttpSource::Fetch(std::span<const ByteRange> ranges) {
  std::vector<Bytes> out(ranges.size());
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const auto& r = ranges[i];
    if (r.end() <= head_.size()) {
      out[i] = Slice(head_, r.offset, r.length);
    } else if (!tail_.empty() && r.offset >= tail_at_ && r.end() <= tail_at_ + tail_.size()) {
      out[i] = Slice(tail_, r.offset - tail_at_, r.length);
    } else if (r.length > 0) {
      todo.push_back(i);
    }
  }
  int refresh_round = 0;
  for (int attempt = 1; !todo.empty(); ++attempt) {
    std::vector<std::future<Result<HttpResponse>>> futures;
    futures.reserve(todo.size());
    bool direct = false;
    const std::string target = Target(&direct);
    for (auto i : todo) {
      HttpRequest req{target, "GET", {}, ranges[i], 0};
      if (!info_.etag.empty()) req.headers.push_back("If-Match: " + info_.etag);
      // A server that ignores ranges may send the whole object: allow that only when small.
      req.max_body = std::max<std::uint64_t>(ranges[i].length, 16ull << 20);
      // A presigned URL carries its own authorisation: no other may be sent with it.
      if (options_.sign && !direct) VZ_TRY(options_.sign(req));
      futures.push_back(transport_.Submit(std::move(req)));
    }
    std::uint64_t retry_after = 0;
    std::vector<std::size_t> again;
    Error last_error = IoError("no attempt made");
    for (std::size_t k = 0; k < todo.size(); ++k) {
      std::size_t i = todo[k];
      const ByteRange& want = ranges[i];
      auto res = futures[k].get();
      if (!res.ok() && res.error().code() == ErrorCode::kUnsupported) {
        return std::move(res).error();  // e.g. ranges not supported: the same every time
      }
      if (!res.ok()) {
        last_error = std::move(res).error();
        again.push_back(i);
        continue;
      }
      HttpResponse& r = *res;
      if (Transient(r.status)) {
        last_error = StatusError(url_, r.status);
        retry_after = std::max(retry_after, RetryAfterMs(r));
        again.push_back(i);
        continue;
      }
      if (direct && (r.status == 400 || r.status == 401 || r.status == 403)) {
        // The presigned URL expired or was refused: ask the data host again.
        ForgetRedirect();
        last_error = StatusError(url_, r.status);
        again.push_back(i);
        continue;
      }
      if (!direct && (r.status == 401 || r.status == 403) && options_.refresh_on_denied) {
        // Expired credentials: refreshed once per read; the ranges denied in that round are
        // sent again with the fresh ones.
        if (refresh_round == 0 && options_.refresh_on_denied(r)) refresh_round = attempt;
        if (refresh_round == attempt) {
          last_error = StatusError(url_, r.status);
          again.push_back(i);
          continue;
        }
      }
      if (!direct && (r.status == 200 || r.status == 206)) RememberRedirect(r);
      if (r.status == 206) {
        ContentRange cr;
        if (!ParseContentRange(r.Header("content-range"), &cr) || cr.first != want.offset ||
            cr.last != want.end() - 1 || cr.total != info_.size) {
          return IoError(fmt::format("GET {} bytes {}-{}: mismatched Content-Range '{}'", url_,
                                     want.offset, want.end() - 1, r.Header("content-range")));
        }
        if (r.body.size() != want.length) {  // truncated body: retry
          last_error =
              IoError(fmt::format("GET {} bytes {}-{}: truncated body ({} of {} bytes)", url_,
                                  want.offset, want.end() - 1, r.body.size(), want.length));
          again.push_back(i);
          continue;
        }
        out[i] = Slice(r.body, 0, r.body.size());
      } else if (r.status == 200 && r.body.size() == info_.size) {
        out[i] = Slice(r.body, want.offset, want.length);
      } else {
        return StatusError(url_, r.status);
      }
    }
    // A round whose refusals refreshed the credentials is not counted as a failed attempt.
    const bool refreshed_now = refresh_round == attempt;
    if (!again.empty() && attempt >= options_.max_attempts && !refreshed_now) {
      return std::move(last_error).Annotate(fmt::format("after {} attempts", attempt));
    }
    if (!again.empty() && !refreshed_now) {
      std::uint64_t delay = std::min(options_.max_backoff_ms, options_.backoff_ms << (attempt - 1));
      std::uniform_int_distribution<std::uint64_t> jitter(delay / 2, delay);
      // Seeded once per thread: a random_device per read cost 4% of a remote build.
      thread_local std::mt19937_64 rng(std::random_device{}());
      delay = std::max(jitter(rng), std::min(retry_after, options_.max_backoff_ms));
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    }
    todo = std::move(again);
  }
  return out;
}

void HttpSource::RememberRedirect(const HttpResponse& r) {
  if (r.effective_url.empty() || r.effective_url == url_) return;
  const std::int64_t left = PresignedSecondsLeft(r.effective_url);
  if (left <= 0) return;
  std::lock_guard<std::mutex> lock(redirect_mu_);
  presigned_ = r.effective_url;
  presigned_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(left);
}

std::string HttpSource::Target(bool* direct) {
  std::lock_guard<std::mutex> lock(redirect_mu_);
  *direct = !presigned_.empty() && std::chrono::steady_clock::now() < presigned_until_;
  return *direct ? presigned_ : url_;
}

void HttpSource::ForgetRedirect() {
  std::lock_guard<std::mutex> lock(redirect_mu_);
  presigned_.clear();
}

}  // namespace vz::io
