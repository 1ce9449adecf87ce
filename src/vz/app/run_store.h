// The objects of a scale-out run (plan.json, the shards' parts and markers, the merged store) and
// of a publishing destination, in a local directory or under an s3:// prefix, with the two
// conditional writes the protocol needs: create-only (S3 If-None-Match: *; locally link(2) of a
// complete temporary file, which fails when the name exists) and replace-only-this-version (S3
// If-Match: ETag; locally under an exclusive flock(2) of the directory's lock file).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "vz/auth/aws_api.h"
#include "vz/base/error.h"

namespace vz::app {

struct StoredObject {
  std::string body;
  std::string version;  // S3's ETag; locally the body's SHA-256
};

class RunLocation {
 public:
  // `where` is a directory (created when missing and `create`, else it must exist) or
  // s3://bucket/prefix/. S3 requests go to
  // $VZ_AWS_ENDPOINT (or $VZ_S3_ENDPOINT) when set, else AWS in $AWS_REGION, with AWS's
  // credential chain.
  static Result<RunLocation> Open(const std::string& where, bool create = false);

  // `name` below the location ("shards/00003/_SUCCESS"), for messages and for references.
  std::string Url(const std::string& name) const;
  const std::string& root() const { return root_; }
  bool is_s3() const { return s3_; }

  // nullopt when the object does not exist.
  Result<std::optional<StoredObject>> Read(const std::string& name) const;
  // The object's version, nullopt when it does not exist (S3: a HEAD).
  Result<std::optional<std::string>> Version(const std::string& name) const;
  // Writes (replaces) the object; locally atomically (temporary file, fsync, rename).
  Status Write(const std::string& name, const std::string& body) const;
  // Writes the object only when it does not exist; false when it did (nothing written).
  Result<bool> Create(const std::string& name, const std::string& body) const;
  // Replaces the object only when its version is still `version` ("" = it must not exist);
  // false when it changed. Local callers hold Lock() around the read and this write.
  Result<bool> Replace(const std::string& name, const std::string& body,
                       const std::string& version) const;

  // Locally, an exclusive lock of the location held until the returned object is destroyed;
  // on S3 nothing (the conditional writes are the lock).
  class Lock;
  Result<std::shared_ptr<Lock>> LockForUpdate() const;

 private:
  std::string root_;  // with a trailing '/'
  bool s3_ = false;
  auth::AwsEndpoint aws_;
};

class RunLocation::Lock {
 public:
  explicit Lock(int fd) : fd_(fd) {}
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;
  ~Lock();

 private:
  int fd_ = -1;
};

}  // namespace vz::app
