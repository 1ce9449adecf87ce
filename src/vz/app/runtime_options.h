// The settings a run works with that are not about its inputs: how many HTTP/S3 requests are in
// flight, the CA bundle TLS is verified with, the HTTP timeouts and where s3:// reads get their
// credentials. Built once, from the command line's flags and then the environment (through an
// injected getenv, so that it is testable), checked before anything is read, and installed by
// UseRuntimeOptions before the first remote open.
#pragma once

#include <string>

#include "vz/auth/aws_credentials.h"
#include "vz/base/error.h"

namespace vz::app {

// The flags as given; empty (or 0) when not given.
struct RuntimeFlags {
  std::string ca_bundle;           // --ca-bundle
  std::string timeout;             // --timeout, whole seconds
  std::string connect_timeout;     // --connect-timeout, whole seconds
  std::string s3_credentials_url;  // --s3-credentials-url
  long concurrency = 0;            // --concurrency
  // Whether $VZ_S3_CREDENTIALS_URL applies (not for the job and catalog runs, which find the
  // DAAC's endpoint themselves).
  bool s3_credentials_from_environment = true;
};

struct RuntimeOptions {
  long concurrency = 128;            // HTTP/S3 requests in flight, to all hosts and to one host
  std::string ca_bundle;             // "" = the system's CA store; TLS is always verified
  long connect_timeout_ms = 10'000;  // --connect-timeout / $VZ_CONNECT_TIMEOUT
  long low_speed_seconds = 30;       // --timeout / $VZ_TIMEOUT: a transfer without data that long
  std::string s3_credentials_url;    // a DAAC's s3credentials endpoint; "" = the AWS chain
};

// The flags, then $VZ_CA_BUNDLE, $VZ_TIMEOUT, $VZ_CONNECT_TIMEOUT and $VZ_S3_CREDENTIALS_URL for
// what they leave empty. Errors (kInvalidArgument) name the flag and its variable: a timeout that
// is not a whole number of seconds from 1 to 86400, a CA bundle that is not a readable file.
Result<RuntimeOptions> RuntimeOptionsFrom(const RuntimeFlags& flags, const auth::Getenv& getenv);

// The catalog's date range, checked before anything is sent (kInvalidArgument naming the date).
Status CheckCatalogDates(const std::string& start_date, const std::string& end_date);

}  // namespace vz::app
