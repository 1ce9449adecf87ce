#include "vz/app/runtime_options.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include "vz/app/catalog.h"

namespace vz::app {
namespace {

// A whole number of seconds from a flag or the environment; 0 when absent.
Result<long> Seconds(const std::string& text, const char* what) {
  if (text.empty()) return 0L;
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0' || v < 1 || v > 86400) {
    return InvalidArgument(
        fmt::format("{} must be a whole number of seconds from 1 to 86400, not '{}'", what, text));
  }
  return v;
}

std::string FlagOrEnvironment(const std::string& flag, const auth::Getenv& getenv,
                              const char* name) {
  return flag.empty() ? getenv(name) : flag;
}

}  // namespace

Result<RuntimeOptions> RuntimeOptionsFrom(const RuntimeFlags& flags, const auth::Getenv& getenv) {
  RuntimeOptions o;
  if (flags.concurrency != 0) o.concurrency = std::max(1L, flags.concurrency);
  VZ_ASSIGN_OR_RETURN(
      const long stall,
      Seconds(FlagOrEnvironment(flags.timeout, getenv, "VZ_TIMEOUT"), "--timeout (or VZ_TIMEOUT)"));
  VZ_ASSIGN_OR_RETURN(const long connect, Seconds(FlagOrEnvironment(flags.connect_timeout, getenv,
                                                                    "VZ_CONNECT_TIMEOUT"),
                                                  "--connect-timeout (or VZ_CONNECT_TIMEOUT)"));
  if (connect != 0) o.connect_timeout_ms = connect * 1000;
  if (stall != 0) o.low_speed_seconds = stall;
  o.ca_bundle = FlagOrEnvironment(flags.ca_bundle, getenv, "VZ_CA_BUNDLE");
  if (!o.ca_bundle.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(o.ca_bundle, ec)) {
      return InvalidArgument(fmt::format("CA bundle {} is not a readable file", o.ca_bundle));
    }
  }
  o.s3_credentials_url = flags.s3_credentials_url;
  if (o.s3_credentials_url.empty() && flags.s3_credentials_from_environment) {
    o.s3_credentials_url = getenv("VZ_S3_CREDENTIALS_URL");
  }
  return o;
}

Status CheckCatalogDates(const std::string& start_date, const std::string& end_date) {
  for (const auto& [date, end] : {std::pair{start_date, false}, std::pair{end_date, true}}) {
    if (date.empty()) continue;
    auto t = CmrTime(date, end);
    if (!t.ok()) return InvalidArgument(t.error().message());
  }
  return Ok();
}

}  // namespace vz::app
