#include "vz/app/run_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>

#include "vz/app/atomic_file.h"
#include "vz/auth/aws_credentials.h"
#include "vz/auth/sigv4.h"

namespace vz::app {

namespace fs = std::filesystem;

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// One credential cache for the process (the task role in production), refreshed before expiry.
auth::AwsEndpoint RunAws() {
  static std::shared_ptr<auth::CachedCredentials> cache;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (!cache) {
    cache = std::make_shared<auth::CachedCredentials>(
        [] { return auth::CredentialsFromChain([](const char* n) { return Env(n); }); });
  }
  auth::AwsEndpoint e;
  e.endpoint = Env("VZ_AWS_ENDPOINT");
  if (e.endpoint.empty()) e.endpoint = Env("VZ_S3_ENDPOINT");
  if (!Env("AWS_REGION").empty()) e.region = Env("AWS_REGION");
  e.ca_bundle = Env("VZ_CA_BUNDLE");
  auto c = cache;
  e.credentials = [c] { return c->Get(); };
  return e;
}

// A temporary name beside `path` that no other process uses.
std::string TemporaryBeside(const fs::path& path) {
  std::random_device rd;
  return (path.parent_path() /
          fmt::format(".{}.tmp{}-{:08x}", path.filename().string(), ::getpid(), rd()))
      .string();
}

Status WriteWhole(const std::string& tmp, const std::string& body, const std::string& what) {
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return IoError(fmt::format("cannot create {}: {}", what, std::strerror(errno)));
  std::size_t done = 0;
  while (done < body.size()) {
    const ssize_t n = ::write(fd, body.data() + done, body.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return IoError(fmt::format("cannot write {}: {}", what, std::strerror(err)));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return IoError(fmt::format("cannot write {}: {}", what, std::strerror(err)));
  }
  return Ok();
}

}  // namespace

RunLocation::Lock::~Lock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

Result<RunLocation> RunLocation::Open(const std::string& where, bool create) {
  if (where.empty()) return InvalidArgument("no run location given");
  RunLocation r;
  r.root_ = where;
  if (r.root_.back() != '/') r.root_ += '/';
  if (where.rfind("s3://", 0) == 0) {
    const std::string rest = where.substr(5);
    if (rest.empty() || rest[0] == '/') {
      return InvalidArgument(fmt::format("{}: expected s3://bucket/prefix/", where));
    }
    r.s3_ = true;
    r.aws_ = RunAws();
    return r;
  }
  if (where.find("://") != std::string::npos) {
    return InvalidArgument(
        fmt::format("{}: a run lives in a local directory or under s3://, not here", where));
  }
  std::error_code ec;
  if (!create) {
    if (!fs::is_directory(r.root_, ec)) {
      return NotFound(fmt::format("{} is not a directory (no run or destination there)", where));
    }
    return r;
  }
  fs::create_directories(r.root_, ec);
  if (ec || !fs::is_directory(r.root_, ec)) {
    return IoError(fmt::format("cannot create the directory {}: {}", where, ec.message()));
  }
  return r;
}

std::string RunLocation::Url(const std::string& name) const { return root_ + name; }

Result<std::optional<StoredObject>> RunLocation::Read(const std::string& name) const {
  if (s3_) {
    auto got = auth::S3GetObjectWithEtag(Url(name), aws_);
    if (!got.ok() && got.error().code() == ErrorCode::kNotFound) {
      return std::optional<StoredObject>();
    }
    if (!got.ok()) return std::move(got).error();
    return std::optional<StoredObject>(StoredObject{std::move(got->body), got->etag});
  }
  std::ifstream f(Url(name), std::ios::binary);
  if (!f) {
    std::error_code ec;
    if (!fs::exists(Url(name), ec)) return std::optional<StoredObject>();
    return IoError(fmt::format("cannot read {}", Url(name)));
  }
  std::ostringstream s;
  s << f.rdbuf();
  if (f.bad()) return IoError(fmt::format("cannot read {}", Url(name)));
  StoredObject o{s.str(), ""};
  o.version = auth::Sha256Hex(o.body);
  return std::optional<StoredObject>(std::move(o));
}

Result<std::optional<std::string>> RunLocation::Version(const std::string& name) const {
  if (s3_) return auth::S3ObjectEtag(Url(name), aws_);
  VZ_ASSIGN_OR_RETURN(auto current, Read(name));
  if (!current) return std::optional<std::string>();
  return std::optional<std::string>(current->version);
}

Status RunLocation::Write(const std::string& name, const std::string& body) const {
  if (s3_) return auth::S3PutObject(Url(name), body, aws_);
  const fs::path path(Url(name));
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec)
    return IoError(fmt::format("cannot create {}: {}", path.parent_path().string(), ec.message()));
  return WriteFileAtomically(path.string(), [&](std::ostream& out) {
    out << body;
    return out ? Status(Ok()) : Status(IoError("cannot write " + path.string()));
  });
}

Result<bool> RunLocation::Create(const std::string& name, const std::string& body) const {
  if (s3_) return auth::S3PutObjectIf(Url(name), body, aws_, "*");
  const fs::path path(Url(name));
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec)
    return IoError(fmt::format("cannot create {}: {}", path.parent_path().string(), ec.message()));
  // The complete file is linked to its name: link(2) fails with EEXIST when the name exists,
  // so of two attempts exactly one creates it, and never half-written.
  const std::string tmp = TemporaryBeside(path);
  VZ_TRY(WriteWhole(tmp, body, path.string()));
  const int rc = ::link(tmp.c_str(), path.c_str());
  const int err = errno;
  ::unlink(tmp.c_str());
  if (rc == 0) return true;
  if (err == EEXIST) return false;
  return IoError(fmt::format("cannot create {}: {}", path.string(), std::strerror(err)));
}

Result<bool> RunLocation::Replace(const std::string& name, const std::string& body,
                                  const std::string& version) const {
  if (s3_) return auth::S3PutObjectIf(Url(name), body, aws_, version.empty() ? "*" : version);
  VZ_ASSIGN_OR_RETURN(auto current, Read(name));
  if (version.empty() ? current.has_value() : (!current || current->version != version)) {
    return false;
  }
  VZ_TRY(Write(name, body));
  return true;
}

Result<std::shared_ptr<RunLocation::Lock>> RunLocation::LockForUpdate() const {
  if (s3_) return std::shared_ptr<Lock>();
  const std::string path = Url(".vzgen.lock");
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return IoError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    ::close(fd);
    return IoError(fmt::format("cannot lock {}: {}", path, std::strerror(err)));
  }
  return std::make_shared<Lock>(fd);
}

}  // namespace vz::app
