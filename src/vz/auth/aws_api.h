// The few AWS API calls the collection job makes besides reading granules: SSM GetParameter
// (the Earthdata Login credentials) and S3 PutObject / multipart upload (publishing stores).
// Each is a signed (SigV4) request on its own blocking libcurl handle: they are rare, large or
// sequential, so they do not go through the shared read transport.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vz/auth/sigv4.h"
#include "vz/base/error.h"

namespace vz::auth {

struct AwsEndpoint {
  std::string region = "us-west-2";
  // Empty: the AWS endpoint of the service in `region`. Otherwise e.g. "http://127.0.0.1:9000"
  // (tests, S3-compatible stores); S3 is then addressed path style.
  std::string endpoint;
  std::string ca_bundle;  // empty: the system's CA store
  long timeout_ms = 0;    // whole-request timeout; 0: none (connect timeout 10 s)
  // Current credentials, asked before each request (so a refreshing provider can be used).
  std::function<Result<AwsCredentials>()> credentials;
};

struct AwsReply {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// One signed request. `url` is absolute; `headers` ("name", "value") are signed too. An empty
// `service` sends the request unsigned (instance and container metadata endpoints).
Result<AwsReply> AwsRequest(const std::string& method, const std::string& url,
                            const std::vector<std::pair<std::string, std::string>>& headers,
                            const std::string& body, const AwsEndpoint& endpoint,
                            const std::string& service);

// SSM GetParameter with decryption. Errors: kNotFound for a parameter that does not exist,
// kPermission when access is denied; the value never appears in an error.
Result<std::string> SsmGetParameter(const std::string& name, const AwsEndpoint& endpoint);

// Uploads `data` to s3://bucket/key: one PUT up to `part_size`, else a multipart upload (parts
// of `part_size`, aborted on failure). Every part carries Content-MD5, so S3 rejects a corrupted
// transfer; the object appears only when complete.
Status S3PutObject(const std::string& s3_url, const std::string& data, const AwsEndpoint& endpoint,
                   const std::string& content_type = "application/json",
                   std::uint64_t part_size = 64ull << 20);

// A conditional single PUT (S3's conditional writes): `if_match` "*" sends If-None-Match: *
// (create the object only when it does not exist), anything else If-Match: <ETag> (replace only
// that version). Returns false when the condition did not hold (412, or 409 when S3 saw a
// concurrent conditional write), true when the object was written.
Result<bool> S3PutObjectIf(const std::string& s3_url, const std::string& data,
                           const AwsEndpoint& endpoint, const std::string& if_match,
                           const std::string& content_type = "application/json");

struct S3Object {
  std::string body;
  std::string etag;  // as S3 answers it, quotes included
};

// HEAD of an S3 object: its ETag, or nullopt when it does not exist.
Result<std::optional<std::string>> S3ObjectEtag(const std::string& s3_url,
                                                const AwsEndpoint& endpoint);

// GET of a whole S3 object with its ETag. kNotFound when it does not exist.
Result<S3Object> S3GetObjectWithEtag(const std::string& s3_url, const AwsEndpoint& endpoint);

// GET of a whole S3 object (used to read a published store back for append). kNotFound when
// the object does not exist.
Result<std::string> S3GetObject(const std::string& s3_url, const AwsEndpoint& endpoint);

}  // namespace vz::auth
