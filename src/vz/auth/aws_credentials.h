// Where AWS credentials come from (EARTHDATA.md section 6), in AWS's own order: environment
// variables, the shared credentials file, the ECS container endpoint, EC2 IMDSv2; and a cache
// that refreshes temporary credentials before they expire (never only after a failure), shared
// by every thread. Secrets never appear in errors.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "vz/auth/sigv4.h"
#include "vz/base/error.h"

namespace vz::auth {

using Getenv = std::function<std::string(const char*)>;
using Clock = std::chrono::system_clock;

struct TimedCredentials {
  AwsCredentials credentials;
  std::optional<Clock::time_point> expires;  // nullopt: long-term keys
};

// "2016-02-25T06:03:31Z" (AWS), "2021-01-27 00:50:09+00:00" (Earthdata s3credentials).
std::optional<Clock::time_point> ParseExpiration(const std::string& text);

// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN; kNotFound when unset.
Result<TimedCredentials> CredentialsFromEnvironment(const Getenv& getenv);

// [profile] of AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials (AWS_PROFILE, else "default").
// kNotFound when there is no file or no such profile; kCorrupt (naming file and line) when the
// file is malformed.
Result<TimedCredentials> CredentialsFromProfile(const Getenv& getenv);

// The ECS task role: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on 169.254.170.2) or
// AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or a loopback / ECS address), with
// AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE). kNotFound when neither variable is set.
Result<TimedCredentials> CredentialsFromContainer(const Getenv& getenv);

// EC2 IMDSv2 (token PUT, role name, role credentials); AWS_EC2_METADATA_SERVICE_ENDPOINT
// overrides the address, AWS_EC2_METADATA_DISABLED=true turns it off (kNotFound).
Result<TimedCredentials> CredentialsFromInstance(const Getenv& getenv);

// The first of environment, profile, container and instance that has credentials.
Result<TimedCredentials> CredentialsFromChain(const Getenv& getenv);

// Thread-safe cache over a source: Get() refetches when the credentials expire within
// `margin`; Invalidate() makes the next Get() refetch (after an ExpiredToken answer).
class CachedCredentials {
 public:
  using Fetch = std::function<Result<TimedCredentials>()>;
  explicit CachedCredentials(Fetch fetch, std::chrono::seconds margin = std::chrono::seconds(300));
  Result<AwsCredentials> Get();
  void Invalidate();
  int fetches() const;

 private:
  Fetch fetch_;
  std::chrono::seconds margin_;
  mutable std::mutex mu_;
  std::optional<TimedCredentials> current_;
  int fetches_ = 0;
};

// Parses the JSON of a DAAC's s3credentials endpoint (accessKeyId, secretAccessKey,
// sessionToken, expiration).
Result<TimedCredentials> ParseEarthdataS3Credentials(const std::string& body);

}  // namespace vz::auth
