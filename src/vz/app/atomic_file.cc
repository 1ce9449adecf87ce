#include "vz/app/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <streambuf>

#include "vz/io/byte_source.h"

namespace vz::app {

namespace {

namespace fs = std::filesystem;

// ---- The temporary files being written, for the signal handler.
// Plain arrays and sig_atomic_t: the handler may only read memory and call async-signal-safe
// functions (unlink, write, _exit).
constexpr std::size_t kSlots = 8;
constexpr std::size_t kPathMax = 4096;
enum SlotState : int {
  kFree = 0,
  kCreated = 1,   // the temporary file may exist
  kRenaming = 2,  // the rename may have happened: if the file is gone, the target was replaced
};
struct Slot {
  volatile std::sig_atomic_t state = kFree;
  std::array<char, kPathMax> tmp{};
  std::array<char, kPathMax> target{};
};
std::array<Slot, kSlots> g_slots;
std::array<char, kPathMax> g_output{};             // the output the message names
volatile std::sig_atomic_t g_output_replaced = 0;  // it was replaced before the signal
std::mutex g_slots_mu;

void CopyPath(std::array<char, kPathMax>& to, const std::string& from) {
  const std::size_t n = std::min(from.size(), kPathMax - 1);
  std::memcpy(to.data(), from.data(), n);
  to[n] = '\0';
}

class SlotGuard {
 public:
  SlotGuard(const std::string& tmp, const std::string& target) {
    std::lock_guard<std::mutex> lock(g_slots_mu);
    for (auto& s : g_slots) {
      if (s.state != kFree) continue;
      CopyPath(s.tmp, tmp);
      CopyPath(s.target, target);
      slot_ = &s;
      s.state = kCreated;
      return;
    }
  }
  ~SlotGuard() {
    if (slot_ == nullptr) return;
    std::lock_guard<std::mutex> lock(g_slots_mu);
    slot_->state = kFree;
  }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;
  void Renaming() {
    if (slot_ != nullptr) slot_->state = kRenaming;
  }

 private:
  Slot* slot_ = nullptr;
};

void WriteAll(const char* text) {
  std::size_t n = std::strlen(text);
  while (n > 0) {
    const ssize_t w = ::write(STDERR_FILENO, text, n);
    if (w <= 0) return;
    text += w;
    n -= static_cast<std::size_t>(w);
  }
}

extern "C" void OnInterrupt(int sig) {
  bool replaced = g_output_replaced != 0;
  for (auto& s : g_slots) {
    const std::sig_atomic_t state = s.state;
    if (state == kFree) continue;
    const int r = ::unlink(s.tmp.data());
    if (state == kRenaming && r != 0 && errno == ENOENT &&
        std::strcmp(s.target.data(), g_output.data()) == 0) {
      replaced = true;
    }
  }
  WriteAll(sig == SIGINT ? "vzgen: interrupted (SIGINT)" : "vzgen: terminated (SIGTERM)");
  if (g_output[0] != '\0') {
    WriteAll(replaced ? "; it had already written " : "; nothing was written: ");
    WriteAll(g_output.data());
    WriteAll(replaced ? "\n" : " is unchanged\n");
  } else {
    // The signal came before the command knew its output (while parsing its arguments).
    WriteAll("; nothing was written\n");
  }
  ::_exit(128 + sig);
}

// ---- Writing through a file descriptor, so that a failure has its errno.
class FdBuf final : public std::streambuf {
 public:
  explicit FdBuf(int fd) : fd_(fd), buf_(1 << 16) { setp(buf_.data(), buf_.data() + buf_.size()); }
  int error() const { return error_; }
  bool Flush() {
    const char* p = pbase();
    std::size_t n = static_cast<std::size_t>(pptr() - pbase());
    while (n > 0 && error_ == 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        error_ = w < 0 ? errno : EIO;
        break;
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    setp(buf_.data(), buf_.data() + buf_.size());
    return error_ == 0;
  }

 protected:
  int_type overflow(int_type c) override {
    if (!Flush()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override { return Flush() ? 0 : -1; }

 private:
  int fd_;
  std::vector<char> buf_;
  int error_ = 0;
};

bool ProcessAlive(long pid) {
  if (pid <= 0) return true;  // not ours to judge
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

// Temporary files `.NAME.tmpPID` in `dir` whose process no longer exists.
void RemoveStaleIn(const fs::path& dir, const std::string& name) {
  const std::string prefix = "." + name + ".tmp";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (const dirent* e = ::readdir(d)) {
    const std::string entry = e->d_name;
    if (entry.size() <= prefix.size() || entry.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = entry.substr(prefix.size());
    if (digits.size() > 10 || digits.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    const long pid = std::strtol(digits.c_str(), nullptr, 10);
    if (pid == static_cast<long>(::getpid()) || ProcessAlive(pid)) continue;
    struct stat st {};
    const fs::path p = dir / entry;
    if (::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode)) ::unlink(p.c_str());
  }
  ::closedir(d);
}

// The file a path names after following symbolic links (the path itself when it is none).
Result<fs::path> ResolveLinks(const std::string& path) {
  fs::path p(path);
  for (int depth = 0; depth < 40; ++depth) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    std::error_code ec;
    fs::path next = fs::read_symlink(p, ec);
    if (ec) return IoError(fmt::format("cannot read the link {}: {}", p.string(), ec.message()));
    p = next.is_absolute() ? next : p.parent_path() / next;
  }
  return IoError(fmt::format("{}: too many levels of symbolic links", path));
}

// The first bytes of a file, for recognising what it is.
std::string Head(const fs::path& p, std::size_t n) {
  std::string out(n, '\0');
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return {};
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, out.data() + got, n - got);
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

bool LooksLike(const std::string& head, OutputKind kind) {
  const auto start = head.find_first_not_of(" \t\r\n");
  if (start == std::string::npos || head[start] != '{') return false;
  if (kind == OutputKind::kRunReport) {
    return head.find("\"command\"") != std::string::npos &&
           head.find("\"granules_used\"") != std::string::npos;
  }
  // kerchunk version 1 ({"version": 1, "refs": {...}}) or version 0 (keys at the top level).
  return head.find("\"refs\"") != std::string::npos ||
         head.find("\".zgroup\"") != std::string::npos ||
         head.find("\".zattrs\"") != std::string::npos;
}

// What an existing file seems to be, for the refusal.
std::string Describe(const std::string& head) {
  if (head.size() >= 8 && head.compare(0, 8, "\x89HDF\r\n\x1a\n") == 0) return "an HDF5 file";
  if (head.size() >= 4 && head.compare(0, 3, "CDF") == 0) return "a netCDF-3 file";
  const auto start = head.find_first_not_of(" \t\r\n");
  if (start != std::string::npos && head[start] == '{') return "a JSON document";
  return "a file";
}

bool IsUrl(const std::string& s) {
  return s.find("://") != std::string::npos && s.rfind("file://", 0) != 0;
}

std::string LocalPath(const std::string& s) { return s.rfind("file://", 0) == 0 ? s.substr(7) : s; }

}  // namespace

Status WriteFileAtomically(const std::string& path,
                           const std::function<Status(std::ostream&)>& write) {
  // A link is followed: the file it points to is replaced, the link stays.
  VZ_ASSIGN_OR_RETURN(const fs::path target, ResolveLinks(path));
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return NotFound(
        fmt::format("cannot write {}: directory {} does not exist", path, dir.string()));
  }
  struct stat st {};
  if (::stat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    // A rename over it would replace a device node, FIFO or socket with a regular file.
    return Unsupported(fmt::format("cannot write {}: it is {}, not a regular file", path,
                                   io::FileTypeName(st.st_mode)));
  }
  const std::string name = target.filename().string();
  RemoveStaleIn(dir, name);
  const std::string tmp = (dir / fmt::format(".{}.tmp{}", name, ::getpid())).string();
  SlotGuard slot(tmp, path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    return IoError(fmt::format("cannot create {} (for {}): {}", tmp, path, std::strerror(errno)));
  }
  Status status = Ok();
  {
    FdBuf buf(fd);
    std::ostream out(&buf);
    status = write(out);
    out.flush();
    if (status.ok() && (buf.error() != 0 || !out)) {
      status = IoError(fmt::format("cannot write {}: {}", path,
                                   std::strerror(buf.error() != 0 ? buf.error() : EIO)));
    } else if (!status.ok() && buf.error() != 0) {
      // The writer saw a failed stream: the system's reason is the one to give.
      status = IoError(fmt::format("cannot write {}: {}", path, std::strerror(buf.error())));
    }
  }
  if (status.ok() && ::fsync(fd) != 0) {
    status = IoError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  }
  if (::close(fd) != 0 && status.ok()) {
    status = IoError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  }
  if (status.ok()) {
    slot.Renaming();
    if (std::rename(tmp.c_str(), target.c_str()) != 0) {
      status = IoError(
          fmt::format("cannot rename {} to {}: {}", tmp, target.string(), std::strerror(errno)));
    } else if (path == g_output.data()) {
      g_output_replaced = 1;
    }
  }
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
}

void RemoveStaleTemporaries(const std::string& path) {
  if (path == "-" || IsUrl(path)) return;
  auto target = ResolveLinks(LocalPath(path));
  if (!target.ok()) return;
  RemoveStaleIn(target->has_parent_path() ? target->parent_path() : fs::path("."),
                target->filename().string());
}

Status CheckOutputTarget(const std::string& output, OutputKind kind,
                         const std::vector<std::string>& inputs, bool force) {
  if (output == "-" || IsUrl(output)) return Ok();
  VZ_ASSIGN_OR_RETURN(const fs::path target, ResolveLinks(LocalPath(output)));
  const std::string via = target.string() == LocalPath(output)
                              ? std::string()
                              : fmt::format(" (a link to {})", target.string());
  struct stat st {};
  if (::stat(target.c_str(), &st) != 0) {
    if (errno == ENOENT) return Ok();  // a new file
    return IoError(fmt::format("cannot write {}: {}", output, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return Unsupported(fmt::format("refusing to write {}{}: it is {}, not a regular file", output,
                                   via, io::FileTypeName(st.st_mode)));
  }
  for (const auto& in : inputs) {
    if (IsUrl(in)) continue;
    struct stat is {};
    if (::stat(LocalPath(in).c_str(), &is) == 0 && is.st_dev == st.st_dev &&
        is.st_ino == st.st_ino) {
      return Unsupported(fmt::format(
          "refusing to write {}{}: it is one of the inputs ({}); did the shell expand a "
          "pattern where the output name was meant to be?",
          output, via, in));
    }
  }
  if (force || st.st_size == 0) return Ok();
  const std::string head = Head(target, 64 << 10);
  if (LooksLike(head, kind)) return Ok();
  return Unsupported(
      fmt::format("refusing to replace {}{}: it exists and is {}, not a {}; give --force to "
                  "replace it",
                  output, via, Describe(head),
                  kind == OutputKind::kRunReport ? "vzgen run report" : "reference store"));
}

Status CheckInputsAreFiles(const std::vector<std::string>& inputs) {
  for (const auto& in : inputs) {
    if (IsUrl(in)) continue;
    struct stat st {};
    const std::string p = LocalPath(in);
    if (::stat(p.c_str(), &st) != 0) {
      const int err = errno;
      const std::string msg = fmt::format("cannot open {}: {}", in, std::strerror(err));
      if (err == ENOENT) return NotFound(msg);
      if (err == EACCES) return PermissionDenied(msg);
      return IoError(msg);
    }
    if (!S_ISREG(st.st_mode)) {
      return Unsupported(
          fmt::format("{} is {}, not a file vzgen can read", in, io::FileTypeName(st.st_mode)));
    }
  }
  return Ok();
}

void InstallInterruptHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGINT);
  sigaddset(&sa.sa_mask, SIGTERM);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

void SetInterruptOutput(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_slots_mu);
  CopyPath(g_output, path);
  g_output_replaced = 0;
}

}  // namespace vz::app
