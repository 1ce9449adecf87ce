#include "vz/io/byte_source.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "vz/base/checked.h"

namespace vz::io {

Result<std::vector<Bytes>> ByteSource::ReadMany(std::span<const ByteRange> ranges) {
  std::vector<Bytes> out;
  out.reserve(ranges.size());
  for (const auto& r : ranges) {
    VZ_ASSIGN_OR_RETURN(auto b, ReadAt(r.offset, r.length));
    out.push_back(std::move(b));
  }
  return out;
}

Status ValidateReadRange(const std::string& url, std::uint64_t offset, std::uint64_t length,
                         std::uint64_t size) {
  auto end = AddU64(offset, length);
  if (!end || *end > size) {
    return Corrupt(fmt::format("read of {} bytes at {:#x} past the end of {} ({} bytes)", length,
                               offset, url, size));
  }
  return Ok();
}

std::string FileTypeName(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "a regular file";
    case S_IFDIR:
      return "a directory";
    case S_IFCHR:
      return "a character device";
    case S_IFBLK:
      return "a block device";
    case S_IFIFO:
      return "a FIFO (named pipe)";
    case S_IFSOCK:
      return "a socket";
    case S_IFLNK:
      return "a symbolic link";
    default:
      return "not a regular file";
  }
}

// ---- LocalSource

LocalSource::LocalSource(int fd, std::string url, std::uint64_t size)
    : fd_(fd), url_(std::move(url)), size_(size) {}

LocalSource::~LocalSource() { ::close(fd_); }

Result<std::unique_ptr<LocalSource>> LocalSource::Open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    std::string msg = fmt::format("cannot open {}: {}", path, std::strerror(err));
    if (err == ENOENT) return NotFound(msg);
    if (err == EACCES) return PermissionDenied(msg);
    return IoError(msg);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return IoError(fmt::format("cannot stat {}: {}", path, std::strerror(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Unsupported(
        fmt::format("{} is {}, not a file vzgen can read", path, FileTypeName(st.st_mode)));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec).lexically_normal();
  std::string url = ec ? path : abs.string();
  return std::unique_ptr<LocalSource>(
      new LocalSource(fd, std::move(url), static_cast<std::uint64_t>(st.st_size)));
}

Result<SourceInfo> LocalSource::Stat() { return SourceInfo{size_, ""}; }

Result<Bytes> LocalSource::ReadAt(std::uint64_t offset, std::uint64_t length) {
  VZ_TRY(ValidateReadRange(url_, offset, length, size_));
  VZ_ASSIGN_OR_RETURN(auto n, ToSize(length, "read length"));
  Bytes out(n);
  std::size_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(fd_, out.data() + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return IoError(
          fmt::format("read of {} at {:#x} failed: {}", url_, offset + done, std::strerror(errno)));
    }
    if (got == 0) {
      return IoError(
          fmt::format("{} shrank while reading: end of file at {:#x}", url_, offset + done));
    }
    done += static_cast<std::size_t>(got);
  }
  return out;
}

// ---- MemorySource

MemorySource::MemorySource(Bytes data, std::string url)
    : data_(std::move(data)), url_(std::move(url)) {}

Result<SourceInfo> MemorySource::Stat() { return SourceInfo{data_.size(), ""}; }

Result<Bytes> MemorySource::ReadAt(std::uint64_t offset, std::uint64_t length) {
  VZ_TRY(ValidateReadRange(url_, offset, length, data_.size()));
  auto begin = data_.begin() + static_cast<std::ptrdiff_t>(offset);
  return Bytes(begin, begin + static_cast<std::ptrdiff_t>(length));
}

// ---- CountingSource

Result<SourceInfo> CountingSource::Stat() { return inner_.Stat(); }

Result<Bytes> CountingSource::ReadAt(std::uint64_t offset, std::uint64_t length) {
  ++rounds_;
  ++requests_;
  bytes_ += length;
  return inner_.ReadAt(offset, length);
}

Result<std::vector<Bytes>> CountingSource::ReadMany(std::span<const ByteRange> ranges) {
  ++rounds_;
  requests_ += ranges.size();
  for (const auto& r : ranges) bytes_ += r.length;
  return inner_.ReadMany(ranges);
}

// ---- OpenSource

Result<std::unique_ptr<ByteSource>> OpenSource(const std::string& url) {
  std::string path = url;
  if (path.rfind("file://", 0) == 0) path = path.substr(7);
  auto scheme_end = path.find("://");
  if (scheme_end != std::string::npos) {
    return Unsupported(
        fmt::format("{}: URL scheme '{}' is not supported yet", url, path.substr(0, scheme_end)));
  }
  VZ_ASSIGN_OR_RETURN(auto src, LocalSource::Open(path));
  return std::unique_ptr<ByteSource>(std::move(src));
}

}  // namespace vz::io
