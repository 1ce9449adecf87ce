// SSM GetParameter and S3 uploads against the loopback S3/SSM server, which verifies every
// signature, Content-MD5 and payload hash itself (tests/servers/s3_server.py).
#include "vz/auth/aws_api.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "vz/auth/python_server_test.h"

namespace vz::auth {
namespace {

class AwsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(testing::PythonServer::kPython)) GTEST_SKIP() << "no python3";
    char tmpl[] = "/tmp/vz_aws_XXXXXX";
    root_ = mkdtemp(tmpl);
    std::filesystem::create_directories(root_ + "/out");
    std::ofstream(root_ + "/params.json") << R"({"/edl/user": "alice", "/edl/pass": "s3cr3t-pw"})";
    server_ = std::make_unique<testing::PythonServer>(
        "s3_server.py",
        std::vector<std::string>{root_, "--access-key", "AKIDJOB", "--secret", "jobsecret",
                                 "--token", "TOK", "--ssm-params", root_ + "/params.json",
                                 "--deny-prefix", "out/private/"});
    ASSERT_GT(server_->port(), 0);
    endpoint_.endpoint = server_->url();
    endpoint_.credentials = [] {
      return Result<AwsCredentials>(AwsCredentials{"AKIDJOB", "jobsecret", "TOK"});
    };
  }
  void TearDown() override {
    server_.reset();
    if (!root_.empty()) std::filesystem::remove_all(root_);
  }
  std::string Read(const std::string& rel) {
    std::ifstream f(root_ + "/" + rel, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  std::string root_;
  std::unique_ptr<testing::PythonServer> server_;
  AwsEndpoint endpoint_;
};

TEST_F(AwsApiTest, SsmGetParameterDecrypts) {
  auto v = SsmGetParameter("/edl/pass", endpoint_);
  ASSERT_TRUE(v.ok()) << v.error().ToString();
  EXPECT_EQ(*v, "s3cr3t-pw");
  auto missing = SsmGetParameter("/edl/nope", endpoint_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().ToString().find("/edl/nope"), std::string::npos);
  AwsEndpoint wrong = endpoint_;
  wrong.credentials = [] {
    return Result<AwsCredentials>(AwsCredentials{"AKIDJOB", "bad", "TOK"});
  };
  auto denied = SsmGetParameter("/edl/pass", wrong);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code(), ErrorCode::kPermission) << denied.error().ToString();
  EXPECT_EQ(denied.error().ToString().find("s3cr3t"), std::string::npos);
}

TEST_F(AwsApiTest, PutSmallAndMultipartObjectsAndReadThemBack) {
  ASSERT_TRUE(S3PutObject("s3://out/a/small.json", "{\"x\":1}", endpoint_).ok());
  EXPECT_EQ(Read("out/a/small.json"), "{\"x\":1}");
  std::string big(2'500'000, 'q');
  for (std::size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
  auto st = S3PutObject("s3://out/a/big store.json", big, endpoint_, "application/json", 1 << 20);
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  EXPECT_EQ(Read("out/a/big store.json"), big);
  auto back = S3GetObject("s3://out/a/big store.json", endpoint_);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(*back, big);
  auto missing = S3GetObject("s3://out/a/none.json", endpoint_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_F(AwsApiTest, RefusedUploadsAreClearAndLeaveNothing) {
  auto st = S3PutObject("s3://out/private/x.json", "data", endpoint_);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kPermission);
  EXPECT_NE(st.error().ToString().find("s3://out/private/x.json"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(root_ + "/out/private/x.json"));
  std::string big(3'000'000, 'z');
  auto mp = S3PutObject("s3://out/private/big.json", big, endpoint_, "application/json", 1 << 20);
  ASSERT_FALSE(mp.ok());
  EXPECT_FALSE(std::filesystem::exists(root_ + "/out/private/big.json"));
}

}  // namespace
}  // namespace vz::auth
