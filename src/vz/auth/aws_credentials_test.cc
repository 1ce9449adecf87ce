#include "vz/auth/aws_credentials.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "vz/auth/python_server_test.h"

namespace vz::auth {
namespace {

Getenv Env(std::map<std::string, std::string> vars) {
  return [vars](const char* name) {
    auto it = vars.find(name);
    return it == vars.end() ? std::string() : it->second;
  };
}

TEST(AwsCredentials, Expirations) {
  auto a = ParseExpiration("2016-02-25T06:03:31Z");
  ASSERT_TRUE(a);
  EXPECT_EQ(Clock::to_time_t(*a), 1456380211);
  auto b = ParseExpiration("2021-01-27 00:50:09+00:00");
  ASSERT_TRUE(b);
  EXPECT_EQ(Clock::to_time_t(*b), 1611708609);
  EXPECT_TRUE(ParseExpiration("2021-01-27T00:50:09.123Z"));
  for (const char* bad : {"", "tomorrow", "2021-13-01T00:00:00Z", "2021-01-27T00:50:09+02:00"}) {
    EXPECT_FALSE(ParseExpiration(bad)) << bad;
  }
}

TEST(AwsCredentials, EnvironmentAndProfile) {
  auto env = CredentialsFromEnvironment(Env(
      {{"AWS_ACCESS_KEY_ID", "AK"}, {"AWS_SECRET_ACCESS_KEY", "SK"}, {"AWS_SESSION_TOKEN", "T"}}));
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->credentials.session_token, "T");
  EXPECT_EQ(CredentialsFromEnvironment(Env({})).error().code(), ErrorCode::kNotFound);

  const std::string dir = ::testing::TempDir();
  const std::string file = dir + "/aws_credentials";
  std::ofstream(file) << "# comment\n[default]\naws_access_key_id = AKDEF\n"
                         "aws_secret_access_key=SKDEF\n\n[profile other]\n"
                         " aws_access_key_id = AKO \naws_secret_access_key = SKO\n"
                         "aws_session_token = TO\n";
  auto def = CredentialsFromProfile(Env({{"AWS_SHARED_CREDENTIALS_FILE", file}}));
  ASSERT_TRUE(def.ok()) << def.error().ToString();
  EXPECT_EQ(def->credentials.access_key_id, "AKDEF");
  auto other = CredentialsFromProfile(
      Env({{"AWS_SHARED_CREDENTIALS_FILE", file}, {"AWS_PROFILE", "other"}}));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->credentials.secret_access_key, "SKO");
  EXPECT_EQ(other->credentials.session_token, "TO");
  auto missing =
      CredentialsFromProfile(Env({{"AWS_SHARED_CREDENTIALS_FILE", file}, {"AWS_PROFILE", "nope"}}));
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  const std::string bad = dir + "/aws_bad";
  std::ofstream(bad) << "[default]\naws_access_key_id = AK\nthis line is wrong\n";
  auto broken = CredentialsFromProfile(Env({{"AWS_SHARED_CREDENTIALS_FILE", bad}}));
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().ToString().find("aws_bad:3"), std::string::npos);
  // The chain stops at the broken file instead of silently using something else.
  auto chain = CredentialsFromChain(
      Env({{"AWS_SHARED_CREDENTIALS_FILE", bad}, {"AWS_EC2_METADATA_DISABLED", "true"}}));
  EXPECT_EQ(chain.error().code(), ErrorCode::kCorrupt);
  auto none =
      CredentialsFromChain(Env({{"HOME", dir + "/nohome"}, {"AWS_EC2_METADATA_DISABLED", "true"}}));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), ErrorCode::kPermission);
  EXPECT_NE(none.error().ToString().find("not in an ECS container"), std::string::npos);
}

class MetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(testing::PythonServer::kPython)) GTEST_SKIP() << "no python3";
    server_ = std::make_unique<testing::PythonServer>(
        "metadata_server.py", std::vector<std::string>{"--access-key", "ASIAROLE", "--secret",
                                                       "rolesecret", "--session-token", "ROLETOKEN",
                                                       "--token", "Bearer ecs-auth", "--ttl", "3"});
    ASSERT_GT(server_->port(), 0);
  }
  std::unique_ptr<testing::PythonServer> server_;
};

TEST_F(MetadataTest, EcsContainerEndpoint) {
  auto r = CredentialsFromContainer(
      Env({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", server_->url() + "/creds"},
           {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer ecs-auth"}}));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->credentials.access_key_id, "ASIAROLE");
  EXPECT_EQ(r->credentials.session_token, "ROLETOKEN");
  ASSERT_TRUE(r->expires);
  auto denied = CredentialsFromContainer(
      Env({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", server_->url() + "/creds"}}));
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code(), ErrorCode::kPermission);
  auto foreign = CredentialsFromContainer(
      Env({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds"}}));
  EXPECT_EQ(foreign.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(MetadataTest, Imdsv2) {
  auto r = CredentialsFromInstance(Env({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", server_->url()}}));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->credentials.secret_access_key, "rolesecret");
  EXPECT_EQ(CredentialsFromInstance(Env({{"AWS_EC2_METADATA_DISABLED", "true"}})).error().code(),
            ErrorCode::kNotFound);
}

TEST_F(MetadataTest, CacheRefreshesBeforeExpiryNotAfterAFailure) {
  const auto env = Env({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", server_->url() + "/creds"},
                        {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer ecs-auth"},
                        {"AWS_EC2_METADATA_DISABLED", "true"}});
  // Credentials live 3 s (to the second); a 1 s margin means a refresh once less than 1 s is left.
  CachedCredentials cache([env] { return CredentialsFromChain(env); }, std::chrono::seconds(1));
  ASSERT_TRUE(cache.Get().ok());
  ASSERT_TRUE(cache.Get().ok());
  EXPECT_EQ(cache.fetches(), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(2300));
  ASSERT_TRUE(cache.Get().ok());
  EXPECT_EQ(cache.fetches(), 2);
  cache.Invalidate();
  ASSERT_TRUE(cache.Get().ok());
  EXPECT_EQ(cache.fetches(), 3);
}

TEST(AwsCredentials, EarthdataS3CredentialsJson) {
  auto r = ParseEarthdataS3Credentials(
      R"({"accessKeyId": "ASIAX", "secretAccessKey": "sk", "sessionToken": "tok",
          "expiration": "2021-01-27 00:50:09+00:00"})");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->credentials.session_token, "tok");
  EXPECT_EQ(Clock::to_time_t(*r->expires), 1611708609);
  auto page = ParseEarthdataS3Credentials("<html>login</html>");
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error().ToString().find("sk"), std::string::npos);
}

}  // namespace
}  // namespace vz::auth
