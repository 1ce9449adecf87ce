// ByteSource: the one interface every transport implements (local file, memory, later HTTP and
// S3). Parsers only ever read through it, usually via a BlockCache, never through a file
// descriptor. Implementations must be safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vz/base/error.h"

namespace vz::io {

using Bytes = std::vector<std::uint8_t>;

struct ByteRange {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t end() const { return offset + length; }
  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

struct SourceInfo {
  std::uint64_t size = 0;
  std::string etag;  // empty when the transport has none
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;

  // The URL (or absolute path) the source was opened with; chunk references point at it.
  virtual const std::string& url() const = 0;
  virtual Result<SourceInfo> Stat() = 0;
  // Exactly `length` bytes starting at `offset`; a range that extends past the end of the
  // object is an error naming the range (a zero-length range at or before EOF is fine).
  virtual Result<Bytes> ReadAt(std::uint64_t offset, std::uint64_t length) = 0;
  // Several ranges in one call; transports override this to issue them concurrently. The
  // default reads them one after another. Results are in the order of `ranges`.
  virtual Result<std::vector<Bytes>> ReadMany(std::span<const ByteRange> ranges);
  // A hint that these ranges will be read soon, so a caching source can fetch them together
  // (one round) instead of one by one. Sources without a cache ignore it.
  virtual Status Prefetch(std::span<const ByteRange> /*ranges*/) { return Ok(); }
  // Whether Prefetch saves anything (so that parsers spend no work finding what to ask for).
  virtual bool WantsPrefetch() const { return false; }
};

// Checks `offset + length <= size` with overflow checking; the error names the source.
Status ValidateReadRange(const std::string& url, std::uint64_t offset, std::uint64_t length,
                         std::uint64_t size);

// What a file of this st_mode is, for errors: "a directory", "a FIFO (named pipe)", ...
std::string FileTypeName(unsigned mode);

// Reads a whole local file or a byte range of it with pread.
class LocalSource final : public ByteSource {
 public:
  // Opens `path` for reading; the URL is the absolute path (as kerchunk writes it).
  static Result<std::unique_ptr<LocalSource>> Open(const std::string& path);
  ~LocalSource() override;
  LocalSource(const LocalSource&) = delete;
  LocalSource& operator=(const LocalSource&) = delete;

  const std::string& url() const override { return url_; }
  Result<SourceInfo> Stat() override;
  Result<Bytes> ReadAt(std::uint64_t offset, std::uint64_t length) override;

 private:
  LocalSource(int fd, std::string url, std::uint64_t size);
  int fd_;
  std::string url_;
  std::uint64_t size_;
};

// Serves bytes held in memory (tests, fuzzers, inline data).
class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(Bytes data, std::string url = "memory://");
  const std::string& url() const override { return url_; }
  Result<SourceInfo> Stat() override;
  Result<Bytes> ReadAt(std::uint64_t offset, std::uint64_t length) override;

 private:
  Bytes data_;
  std::string url_;
};

// Counts requests and bytes that pass through to an inner source (benchmarks, tests).
class CountingSource final : public ByteSource {
 public:
  explicit CountingSource(ByteSource& inner) : inner_(inner) {}
  const std::string& url() const override { return inner_.url(); }
  Result<SourceInfo> Stat() override;
  Result<Bytes> ReadAt(std::uint64_t offset, std::uint64_t length) override;
  Result<std::vector<Bytes>> ReadMany(std::span<const ByteRange> ranges) override;

  std::uint64_t requests() const { return requests_; }  // ranges read
  std::uint64_t rounds() const { return rounds_; }      // ReadAt/ReadMany calls
  std::uint64_t bytes() const { return bytes_; }

 private:
  ByteSource& inner_;
  std::uint64_t requests_ = 0;
  std::uint64_t rounds_ = 0;
  std::uint64_t bytes_ = 0;
};

// Opens a local file (a plain path or file://). Remote URLs are opened by app::OpenUrl, which
// knows about credentials.
Result<std::unique_ptr<ByteSource>> OpenSource(const std::string& url);

}  // namespace vz::io
