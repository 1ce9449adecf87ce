#include "vz/app/runtime_options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace vz::app {
namespace {

auth::Getenv Environment(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) {
    auto it = vars.find(name);
    return it == vars.end() ? std::string() : it->second;
  };
}

TEST(RuntimeOptions, DefaultsWithoutFlagsOrEnvironment) {
  auto o = RuntimeOptionsFrom({}, Environment({}));
  ASSERT_TRUE(o.ok()) << o.error().ToString();
  EXPECT_EQ(o->concurrency, 128);
  EXPECT_EQ(o->connect_timeout_ms, 10'000);
  EXPECT_EQ(o->low_speed_seconds, 30);
  EXPECT_EQ(o->ca_bundle, "");
  EXPECT_EQ(o->s3_credentials_url, "");
}

TEST(RuntimeOptions, FlagsWinOverTheEnvironment) {
  const auto env = Environment({{"VZ_TIMEOUT", "5"},
                                {"VZ_CONNECT_TIMEOUT", "7"},
                                {"VZ_S3_CREDENTIALS_URL", "https://daac/s3credentials"}});
  auto from_env = RuntimeOptionsFrom({}, env);
  ASSERT_TRUE(from_env.ok()) << from_env.error().ToString();
  EXPECT_EQ(from_env->low_speed_seconds, 5);
  EXPECT_EQ(from_env->connect_timeout_ms, 7000);
  EXPECT_EQ(from_env->s3_credentials_url, "https://daac/s3credentials");

  RuntimeFlags flags;
  flags.timeout = "60";
  flags.connect_timeout = "2";
  flags.s3_credentials_url = "https://other/s3credentials";
  flags.concurrency = 4;
  auto o = RuntimeOptionsFrom(flags, env);
  ASSERT_TRUE(o.ok()) << o.error().ToString();
  EXPECT_EQ(o->low_speed_seconds, 60);
  EXPECT_EQ(o->connect_timeout_ms, 2000);
  EXPECT_EQ(o->s3_credentials_url, "https://other/s3credentials");
  EXPECT_EQ(o->concurrency, 4);
}

TEST(RuntimeOptions, TheJobAndCatalogRunsIgnoreTheCredentialsVariable) {
  RuntimeFlags flags;
  flags.s3_credentials_from_environment = false;
  auto o = RuntimeOptionsFrom(flags, Environment({{"VZ_S3_CREDENTIALS_URL", "https://daac/c"}}));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->s3_credentials_url, "");
}

TEST(RuntimeOptions, BadTimeoutsNameTheFlagAndTheVariable) {
  for (const std::string bad : {"0", "86401", "1.5", "ten", "5s", "-3"}) {
    auto o = RuntimeOptionsFrom({}, Environment({{"VZ_TIMEOUT", bad}}));
    ASSERT_FALSE(o.ok()) << bad;
    EXPECT_EQ(o.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(o.error().message(),
              "--timeout (or VZ_TIMEOUT) must be a whole number of seconds from 1 to 86400, not '" +
                  bad + "'");
  }
  RuntimeFlags flags;
  flags.connect_timeout = "x";
  auto o = RuntimeOptionsFrom(flags, Environment({}));
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(o.error().message().find("--connect-timeout (or VZ_CONNECT_TIMEOUT) must be"),
            std::string::npos);
}

TEST(RuntimeOptions, TheCaBundleMustBeAFile) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("vz_runtime_options_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string pem = (dir / "ca.pem").string();
  std::ofstream(pem) << "-----BEGIN CERTIFICATE-----\n";
  auto ok = RuntimeOptionsFrom({}, Environment({{"VZ_CA_BUNDLE", pem}}));
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(ok->ca_bundle, pem);

  for (const std::string& bad : {(dir / "missing.pem").string(), dir.string()}) {
    RuntimeFlags flags;
    flags.ca_bundle = bad;
    auto o = RuntimeOptionsFrom(flags, Environment({{"VZ_CA_BUNDLE", pem}}));
    ASSERT_FALSE(o.ok()) << bad;
    EXPECT_EQ(o.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(o.error().message(), "CA bundle " + bad + " is not a readable file");
  }
  std::filesystem::remove_all(dir);
}

TEST(RuntimeOptions, CatalogDatesAreCheckedBeforeAnythingIsSent) {
  EXPECT_TRUE(CheckCatalogDates("", "").ok());
  EXPECT_TRUE(CheckCatalogDates("1-1-2022", "2022-01-31").ok());
  auto st = CheckCatalogDates("1-1-2022", "yesterday");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(st.error().message(), "date 'yesterday' is neither M-D-YYYY nor YYYY-MM-DD");
}

}  // namespace
}  // namespace vz::app
