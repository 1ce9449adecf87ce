// HttpSource: a ByteSource over an http(s) URL with range GETs through the shared
// HttpTransport. Opening fetches the first bytes of the object (the metadata block of most
// netCDF-4 files) in the same request that learns its size and ETag, and the last bytes in a
// parallel suffix-range request, so a BlockCache over it costs no extra round trip. Every later
// range must come back as a 206 whose Content-Range matches; If-Match on the ETag turns a file that
// changes mid-scan into a clear error.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "vz/io/byte_source.h"
#include "vz/io/http_transport.h"

namespace vz::io {

struct HttpSourceOptions {
  std::uint64_t open_read = 4ull << 20;  // bytes fetched at open (match BlockCache first_read)
  // Bytes fetched from the end at open, in parallel with open_read (match BlockCache
  // tail_read). Speculative: when that request fails, later reads fetch the bytes as usual.
  std::uint64_t open_tail = 0;
  int max_attempts = 5;                   // for 5xx, 429, resets, timeouts, truncated bodies
  std::uint64_t backoff_ms = 100;         // first retry delay; doubles, with jitter
  std::uint64_t max_backoff_ms = 10'000;  // also caps a server's Retry-After
  // Called on every request just before it is sent (e.g. to add SigV4 headers for S3, or an
  // Authorization header). An error stops the read.
  std::function<Status(HttpRequest&)> sign;
  // Called on a 401/403 (not from a presigned URL): true when the caller refreshed what `sign`
  // uses (expired temporary credentials), and the request should be sent once more.
  std::function<bool(const HttpResponse&)> refresh_on_denied;
};

class HttpSource final : public ByteSource {
 public:
  // The largest object read whole when its server ignores range requests.
  static constexpr std::uint64_t kMaxWholeObject = 64ull << 20;

  HttpSource(std::string url, HttpTransport& transport, HttpSourceOptions options = {});

  const std::string& url() const override { return url_; }
  Result<SourceInfo> Stat() override;
  Result<Bytes> ReadAt(std::uint64_t offset, std::uint64_t length) override;
  Result<std::vector<Bytes>> ReadMany(std::span<const ByteRange> ranges) override;

 private:
  Status EnsureOpen();
  void KeepTail(Result<HttpResponse> response);  // the open's suffix-range response
  // After a redirect to a presigned URL (Earthdata's data host -> S3), later ranges go straight
  // there until it expires; a refused presigned URL is forgotten and the original asked again.
  void RememberRedirect(const HttpResponse& r);
  std::string Target(bool* direct);
  void ForgetRedirect();
  // Sends the ranges concurrently, retrying what failed transiently.
  Result<std::vector<Bytes>> Fetch(std::span<const ByteRange> ranges);

  std::string url_;
  HttpTransport& transport_;
  HttpSourceOptions options_;
  std::mutex mu_;
  bool open_ = false;
  SourceInfo info_;
  // The response bodies of the opening requests, kept as they came.
  std::string head_;           // the first open_read bytes
  std::string tail_;           // the last bytes, from open_tail (may be empty)
  std::uint64_t tail_at_ = 0;  // file offset of tail_[0]
  std::mutex redirect_mu_;
  std::string presigned_;  // empty: none
  std::chrono::steady_clock::time_point presigned_until_;
};

}  // namespace vz::io
