// Opening a granule by URL: local paths, http(s):// (Earthdata Login through netrc or a bearer
// token) and s3:// (SigV4 with credentials from the environment).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "vz/app/runtime_options.h"
#include "vz/auth/sigv4.h"
#include "vz/base/error.h"
#include "vz/io/byte_source.h"
#include "vz/io/http_transport.h"

namespace vz::app {

struct RemoteOptions {
  std::string s3_region = "us-west-2";   // $AWS_REGION / $AWS_DEFAULT_REGION override it
  std::string s3_endpoint;               // $VZ_S3_ENDPOINT, e.g. http://127.0.0.1:9000
  std::string netrc;                     // "" = $NETRC or ~/.netrc when present
  std::uint64_t open_read = 1ull << 20;  // as ScanOptions' first read
  std::uint64_t open_tail = 0;           // bytes from the end fetched at open, in parallel
};

// Makes `options` the run's, once, before the first remote open: every transport is created
// with its concurrency, CA bundle and timeouts, and with an s3credentials URL s3:// reads use
// the DAAC's credentials (fetched here once: its error names the flag).
Status UseRuntimeOptions(const RuntimeOptions& options);
// The options UseRuntimeOptions installed (the defaults before it is called).
const RuntimeOptions& CurrentRuntimeOptions();
// HTTP requests in flight for the whole process (all hosts together, and to one host).
long RemoteConcurrency();

// The transport for requests without Earthdata Login (CMR searches), made from the run's options.
io::HttpTransport& PlainTransport();

// Where s3:// reads get their credentials (default: the AWS_* environment variables). The
// collection job sets the DAAC's temporary in-region credentials here.
// `invalidate` is called when S3 says the token expired (the read is then retried once).
void SetS3Credentials(std::function<Result<auth::AwsCredentials>()> provider,
                      std::function<void()> invalidate = {});

// s3:// reads use the temporary credentials of a DAAC's s3credentials endpoint, fetched through
// Earthdata Login (EARTHDATA_TOKEN or netrc), shared by every reader, refreshed before they
// expire and once more when S3 says they did. Returns the first fetch (errors name the URL).
Status UseEarthdataS3Credentials(const std::string& url);

// One GET through the Earthdata Login flow (bearer token or netrc, cookies kept), for small
// documents such as a DAAC's s3credentials.
Result<io::HttpResponse> EarthdataGet(const std::string& url);

// RemoteOptions with the environment applied.
RemoteOptions RemoteOptionsFromEnvironment();

Result<std::unique_ptr<io::ByteSource>> OpenUrl(const std::string& url,
                                                const RemoteOptions& options);

}  // namespace vz::app
