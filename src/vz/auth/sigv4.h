// AWS Signature Version 4 (the "Signing AWS API requests" algorithm): canonical request ->
// string to sign -> HMAC-SHA256 key derivation -> Authorization header. Our own signer, checked
// against the AWS SigV4 test-suite vectors.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace vz::auth {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
};

struct SigV4Request {
  std::string method = "GET";
  std::string path = "/";  // as sent (already percent-encoded); "" means "/"
  std::vector<std::pair<std::string, std::string>> query;    // decoded names and values
  std::vector<std::pair<std::string, std::string>> headers;  // must include host
  std::string payload_sha256;  // hex; the SHA-256 of the body (of "" for GET)
};

struct SigV4Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string authorization;  // value of the Authorization header
  std::string signed_headers;
};

// `amz_date` is the request time as "YYYYMMDDTHHMMSSZ" (also sent as X-Amz-Date). The
// session token, when present, must already be among the headers (x-amz-security-token) if
// the caller wants it signed (S3 does).
SigV4Signature SignV4(const SigV4Request& request, const AwsCredentials& credentials,
                      const std::string& region, const std::string& service,
                      const std::string& amz_date);

std::string Sha256Hex(const std::string& data);
// RFC 3986 percent-encoding as SigV4 wants it (unreserved characters kept; '/' kept when
// encoding a path).
std::string UriEncode(const std::string& s, bool keep_slash);
// "YYYYMMDDTHHMMSSZ" for a Unix time.
std::string AmzDate(long long unix_seconds);

}  // namespace vz::auth
