#include "vz/app/atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace vz::app {

Status WriteFileAtomically(const std::string& path,
                           const std::function<Status(std::ostream&)>& write) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return NotFound(
        fmt::format("cannot write {}: directory {} does not exist", path, dir.string()));
  }
  std::string tmp =
      (dir / fmt::format(".{}.tmp{}", target.filename().string(), ::getpid())).string();
  Status status;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      return IoError(fmt::format("cannot create {}: {}", tmp, std::strerror(errno)));
    }
    status = write(out);
    out.flush();
    if (status.ok() && !out) {
      status = IoError(fmt::format("cannot write {} (disk full?)", path));
    }
  }
  if (status.ok()) {
    int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
      status = IoError(fmt::format("cannot sync {}: {}", tmp, std::strerror(errno)));
    }
    if (fd >= 0) ::close(fd);
  }
  if (status.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    status = IoError(fmt::format("cannot rename {} to {}: {}", tmp, path, std::strerror(errno)));
  }
  if (!status.ok()) fs::remove(tmp, ec);
  return status;
}

}  // namespace vz::app
