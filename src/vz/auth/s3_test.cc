// S3Source against a loopback S3 test server that verifies SigV4 on its own
// (tests/servers/s3_server.py).
#include "vz/auth/s3.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "vz/auth/python_server_test.h"
#include "vz/io/source_conformance_test.h"

namespace vz::auth {
namespace {

const char* kPython = testing::PythonServer::kPython;

// The loopback S3 server with this test's credentials.
class S3Server : public testing::PythonServer {
 public:
  S3Server(const std::string& root, const std::string& token)
      : PythonServer("s3_server.py", {root, "--access-key", "AKIDTEST", "--secret",
                                      "secret/key+TEST", "--token", token}) {}
  std::string endpoint() const { return url(); }
};

class S3SourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kPython)) GTEST_SKIP() << "no /usr/bin/python3";
    char tmpl[] = "/tmp/vz_s3_XXXXXX";
    root_ = mkdtemp(tmpl);
    std::filesystem::create_directories(root_ + "/bucket/dir");
    data_.resize(50000);
    for (std::size_t i = 0; i < data_.size(); ++i) data_[i] = static_cast<std::uint8_t>(i * 31);
    std::ofstream(root_ + "/bucket/dir/granule 1.nc", std::ios::binary)
        .write(reinterpret_cast<const char*>(data_.data()),  // NOLINT
               static_cast<std::streamsize>(data_.size()));
    server_ = std::make_unique<S3Server>(root_, "TOKEN123");
    ASSERT_GT(server_->port(), 0);
  }
  void TearDown() override {
    server_.reset();
    std::error_code ec;
    if (!root_.empty()) std::filesystem::remove_all(root_, ec);
  }
  S3Options Options(AwsCredentials creds) {
    S3Options o;
    o.endpoint = server_->endpoint();
    o.credentials = [creds]() -> Result<AwsCredentials> { return creds; };
    o.http.open_read = 1024;
    o.http.max_attempts = 1;
    return o;
  }
  // A new object holding `data`, opened as an S3Source (kept until the test ends).
  io::ByteSource& OpenObject(const io::Bytes& data) {
    const std::string key = "conformance/object" + std::to_string(opened_.size());
    std::filesystem::create_directories(root_ + "/bucket/conformance");
    std::ofstream(root_ + "/bucket/" + key, std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()),  // NOLINT
               static_cast<std::streamsize>(data.size()));
    auto options = Options({"AKIDTEST", "secret/key+TEST", "TOKEN123"});
    options.http.open_read = 64;  // most ranges really go over the wire
    auto src = OpenS3Source("s3://bucket/" + key, options, io::HttpTransport::Default());
    EXPECT_TRUE(src.ok()) << src.error().ToString();
    opened_.push_back(std::move(*src));
    return *opened_.back();
  }
  std::string root_;
  io::Bytes data_;
  std::unique_ptr<S3Server> server_;
  std::vector<std::unique_ptr<io::ByteSource>> opened_;
};

// The io conformance suite (empty object, ranges at and past the end, overlapping ReadMany)
// over signed S3 reads.
TEST_F(S3SourceTest, ConformanceEmptyObject) { io::conformance::EmptyObject(OpenObject({})); }

TEST_F(S3SourceTest, ConformanceRangesInsideAtAndPastEof) {
  io::conformance::RangesInsideAtAndPastEof(
      [&](const io::Bytes& d) -> io::ByteSource& { return OpenObject(d); });
}

TEST_F(S3SourceTest, ConformanceReadManyOverlappingRanges) {
  io::conformance::ReadManyOverlappingRanges(
      [&](const io::Bytes& d) -> io::ByteSource& { return OpenObject(d); });
}

TEST_F(S3SourceTest, SignedRangeReadsWithSessionToken) {
  auto src = OpenS3Source("s3://bucket/dir/granule 1.nc",
                          Options({"AKIDTEST", "secret/key+TEST", "TOKEN123"}),
                          io::HttpTransport::Default());
  ASSERT_TRUE(src.ok()) << src.error().ToString();
  EXPECT_EQ((*src)->url(), "s3://bucket/dir/granule 1.nc");
  auto info = (*src)->Stat();
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->size, data_.size());
  std::vector<io::ByteRange> ranges{{30000, 100}, {49900, 100}, {10, 10}};
  auto got = (*src)->ReadMany(ranges);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ((*got)[0], io::Bytes(data_.begin() + 30000, data_.begin() + 30100));
  EXPECT_EQ((*got)[1], io::Bytes(data_.begin() + 49900, data_.end()));
}

TEST_F(S3SourceTest, WrongSecretIsDenied) {
  auto src = OpenS3Source("s3://bucket/dir/granule 1.nc",
                          Options({"AKIDTEST", "wrong", "TOKEN123"}), io::HttpTransport::Default());
  ASSERT_TRUE(src.ok());
  auto info = (*src)->Stat();
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code(), ErrorCode::kPermission);
}

TEST_F(S3SourceTest, ExpiredTokenIsDenied) {
  auto src =
      OpenS3Source("s3://bucket/dir/granule 1.nc", Options({"AKIDTEST", "secret/key+TEST", "OLD"}),
                   io::HttpTransport::Default());
  ASSERT_TRUE(src.ok());
  EXPECT_EQ((*src)->Stat().error().code(), ErrorCode::kPermission);
}

TEST_F(S3SourceTest, AnExpiredTokenIsRefreshedOnceAndTheReadRetried) {
  // The provider hands out an expired session token until it is told to refresh.
  auto fresh = std::make_shared<int>(0);
  auto fetches = std::make_shared<int>(0);
  S3Options o = Options({});
  o.credentials = [fresh, fetches]() -> Result<AwsCredentials> {
    ++*fetches;
    return AwsCredentials{"AKIDTEST", "secret/key+TEST", *fresh != 0 ? "TOKEN123" : "OLD"};
  };
  o.invalidate = [fresh] { *fresh = 1; };
  auto src = OpenS3Source("s3://bucket/dir/granule 1.nc", o, io::HttpTransport::Default());
  ASSERT_TRUE(src.ok());
  auto info = (*src)->Stat();
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  *fresh = 0;  // the token expires again: both ranges are refused, refreshed, retried
  std::vector<io::ByteRange> ranges{{30000, 100}, {40000, 100}};
  auto got = (*src)->ReadMany(ranges);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ((*got)[1], io::Bytes(data_.begin() + 40000, data_.begin() + 40100));
  // A token that stays refused is a clear error after one refresh, not a loop.
  S3Options bad = Options({});
  auto refreshes = std::make_shared<int>(0);
  bad.credentials = []() -> Result<AwsCredentials> {
    return AwsCredentials{"AKIDTEST", "secret/key+TEST", "OLD"};
  };
  bad.invalidate = [refreshes] { ++*refreshes; };
  auto stuck = OpenS3Source("s3://bucket/dir/granule 1.nc", bad, io::HttpTransport::Default());
  ASSERT_TRUE(stuck.ok());
  auto denied = (*stuck)->Stat();
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code(), ErrorCode::kPermission);
  EXPECT_EQ(*refreshes, 1);
}

TEST_F(S3SourceTest, MissingKeyIsNotFound) {
  auto src =
      OpenS3Source("s3://bucket/nope.nc", Options({"AKIDTEST", "secret/key+TEST", "TOKEN123"}),
                   io::HttpTransport::Default());
  ASSERT_TRUE(src.ok());
  auto info = (*src)->Stat();
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(info.error().message().find("nope.nc"), std::string::npos);
}

TEST(S3Url, ParsingAndEndpoints) {
  auto loc = ParseS3Url("s3://podaac-ops-cumulus-protected/MUR/a b.nc");
  ASSERT_TRUE(loc.ok());
  EXPECT_EQ(loc->bucket, "podaac-ops-cumulus-protected");
  EXPECT_EQ(loc->key, "MUR/a b.nc");
  S3Options o;
  EXPECT_EQ(S3HttpUrl(*loc, o),
            "https://podaac-ops-cumulus-protected.s3.us-west-2.amazonaws.com/MUR/a%20b.nc");
  o.endpoint = "http://127.0.0.1:9000/";
  EXPECT_EQ(S3HttpUrl(*loc, o), "http://127.0.0.1:9000/podaac-ops-cumulus-protected/MUR/a%20b.nc");
  EXPECT_FALSE(ParseS3Url("s3://bucket").ok());
  EXPECT_FALSE(ParseS3Url("s3:///key").ok());
  EXPECT_FALSE(ParseS3Url("https://x/y").ok());
}

}  // namespace
}  // namespace vz::auth
