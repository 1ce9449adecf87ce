// S3 objects as ByteSources: s3://bucket/key mapped to an HTTPS endpoint (virtual-host style by
// default, path style for custom endpoints), every request signed with SigV4 (with the session
// token of temporary credentials) through HttpSource's sign hook.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "vz/auth/sigv4.h"
#include "vz/base/error.h"
#include "vz/io/byte_source.h"
#include "vz/io/http_source.h"
#include "vz/io/http_transport.h"

namespace vz::auth {

struct S3Location {
  std::string bucket;
  std::string key;
};

// "s3://bucket/key/with/slashes" -> {bucket, key}; errors name the URL.
Result<S3Location> ParseS3Url(const std::string& url);

struct S3Options {
  std::string region = "us-west-2";
  // Empty: https://<bucket>.s3.<region>.amazonaws.com/<key>. Otherwise e.g.
  // "http://127.0.0.1:9000" (tests, S3-compatible stores), used path style.
  std::string endpoint;
  bool path_style = false;  // forced on when endpoint is set
  // Called before each request: returns current credentials (may refresh).
  std::function<Result<AwsCredentials>()> credentials;
  // Called when S3 answers ExpiredToken / InvalidToken / TokenRefreshRequired: the next
  // credentials() must fetch fresh ones; the request is then sent once more.
  std::function<void()> invalidate;
  io::HttpSourceOptions http;
};

// The HTTP URL an s3:// URL is fetched from.
std::string S3HttpUrl(const S3Location& location, const S3Options& options);

// Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (the default
// when S3Options.credentials is unset; app::OpenUrl sets AWS's whole chain).
Result<AwsCredentials> EnvironmentCredentials();

// A ByteSource for `s3_url` whose url() is the s3:// URL (so references point at it).
Result<std::unique_ptr<io::ByteSource>> OpenS3Source(const std::string& s3_url, S3Options options,
                                                     io::HttpTransport& transport);

}  // namespace vz::auth
