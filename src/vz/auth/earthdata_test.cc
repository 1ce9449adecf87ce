// HTTPS-style Earthdata access against loopback stand-ins for the data host (TEA), Earthdata
// Login and S3 (tests/servers/earthdata_server.py): the netrc redirect/cookie flow and bearer
// tokens, with the Authorization header never reaching S3.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "vz/io/block_cache.h"
#include "vz/io/http_source.h"
#include "vz/io/http_transport.h"
#include "vz/io/nginx_fixture_test.h"

namespace vz::auth {
namespace {

using io::testing::Opts;

const char* kPython = "/usr/bin/python3";

class EarthdataTest : public ::testing::Test {
 protected:
  // How long the data host's presigned URLs live (vzgen uses them until a minute before).
  virtual int PresignSeconds() const { return 3600; }
  void SetUp() override {
    if (!std::filesystem::exists(kPython)) GTEST_SKIP() << "no /usr/bin/python3";
    char tmpl[] = "/tmp/vz_edl_XXXXXX";
    root_ = mkdtemp(tmpl);
    std::filesystem::create_directories(root_ + "/protected/MUR");
    data_.resize(300000);
    for (std::size_t i = 0; i < data_.size(); ++i) data_[i] = static_cast<std::uint8_t>(i * 7 + 1);
    std::ofstream(root_ + "/protected/MUR/g.nc", std::ios::binary)
        .write(reinterpret_cast<const char*>(data_.data()),  // NOLINT
               static_cast<std::streamsize>(data_.size()));
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      dup2(fds[1], 1);
      close(fds[0]);
      std::string script = std::string(VZ_SOURCE_DIR) + "/tests/servers/earthdata_server.py";
      const std::string presign = std::to_string(PresignSeconds());
      execl(kPython, kPython, script.c_str(), root_.c_str(), "--user", "alice", "--password",
            "s3cret", "--token", "TOKEN.abc.def", "--presign-seconds", presign.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    FILE* out = fdopen(fds[0], "r");
    char line[128] = {};
    ASSERT_NE(std::fgets(line, sizeof line, out), nullptr);
    std::fclose(out);
    ASSERT_EQ(std::sscanf(line, "PORTS %d %d %d", &data_port_, &edl_port_, &s3_port_), 3);
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    if (!root_.empty()) std::filesystem::remove_all(root_, ec);
  }
  std::string Url() const {
    return "http://127.0.0.1:" + std::to_string(data_port_) + "/protected/MUR/g.nc";
  }
  std::string Netrc(const std::string& password) {
    std::string path = root_ + "/netrc";
    std::ofstream(path) << "machine 127.0.0.2 login alice password " << password << "\n";
    chmod(path.c_str(), 0600);
    return path;
  }
  void ExpectReadsCorrectly(io::ByteSource& src) {
    io::BlockCache cache(src, io::BlockCacheOptions{4096, 4096, 1 << 20});
    auto head = cache.ReadAt(0, 100);
    ASSERT_TRUE(head.ok()) << head.error().ToString();
    EXPECT_EQ(*head, io::Bytes(data_.begin(), data_.begin() + 100));
    std::vector<io::ByteRange> level{{100000, 64}, {299936, 64}};
    auto got = cache.ReadMany(level);
    ASSERT_TRUE(got.ok()) << got.error().ToString();
    EXPECT_EQ((*got)[1], io::Bytes(data_.end() - 64, data_.end()));
  }

  std::string root_;
  io::Bytes data_;
  pid_t pid_ = -1;
  int data_port_ = 0, edl_port_ = 0, s3_port_ = 0;
};

TEST_F(EarthdataTest, NetrcLoginFollowsTheRedirectAndCookieFlow) {
  io::HttpTransportOptions topts;
  topts.netrc_file = Netrc("s3cret");
  io::HttpTransport transport(topts);
  io::HttpSource src(Url(), transport, Opts(4096));
  ExpectReadsCorrectly(src);
}

TEST_F(EarthdataTest, BearerTokenIsNotForwardedToS3) {
  io::HttpTransport transport;
  io::HttpSourceOptions o = Opts(4096);
  o.sign = [](io::HttpRequest& r) -> Status {
    r.headers.push_back("Authorization: Bearer TOKEN.abc.def");
    return Ok();
  };
  io::HttpSource src(Url(), transport, o);
  ExpectReadsCorrectly(src);  // S3 answers 400 if the Authorization header reaches it
}

// Requests the data host has answered so far (the test server's own count).
int DataHostRequests(io::HttpTransport& transport, int port) {
  io::HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/__stats";
  auto r = transport.Submit(req).get();
  if (!r.ok() || r->status != 200) return -1;
  const auto j = nlohmann::json::parse(r->body, nullptr, false);
  return j.is_object() ? j.value("data", -1) : -1;
}

TEST_F(EarthdataTest, LaterRangesGoStraightToThePresignedUrl) {
  io::HttpTransport transport;
  io::HttpSourceOptions o = Opts(4096);
  o.sign = [](io::HttpRequest& r) -> Status {
    r.headers.push_back("Authorization: Bearer TOKEN.abc.def");
    return Ok();
  };
  io::HttpSource src(Url(), transport, o);
  const int before = DataHostRequests(transport, data_port_);
  ASSERT_GE(before, 0);
  ASSERT_TRUE(src.Stat().ok());
  for (int round = 0; round < 3; ++round) {
    std::vector<io::ByteRange> ranges{
        {10000u + 1000u * static_cast<unsigned>(round), 100}, {200000, 50}, {299990, 10}};
    auto got = src.ReadMany(ranges);
    ASSERT_TRUE(got.ok()) << got.error().ToString();
    EXPECT_EQ((*got)[2], io::Bytes(data_.end() - 10, data_.end()));
  }
  // Only the opening request asked the data host; nine ranges went to S3 directly.
  EXPECT_EQ(DataHostRequests(transport, data_port_) - before, 1);
}

// Presigned URLs that live 62 s: vzgen keeps them for at most 2 s, then asks the data host again.
class ShortPresignTest : public EarthdataTest {
 protected:
  int PresignSeconds() const override { return 62; }
};

TEST_F(ShortPresignTest, AnExpiredPresignedUrlSendsTheNextReadBackToTheDataHost) {
  io::HttpTransport transport;
  io::HttpSourceOptions o = Opts(4096);
  o.sign = [](io::HttpRequest& r) -> Status {
    r.headers.push_back("Authorization: Bearer TOKEN.abc.def");
    return Ok();
  };
  io::HttpSource src(Url(), transport, o);
  const int before = DataHostRequests(transport, data_port_);
  ASSERT_TRUE(src.Stat().ok());
  ASSERT_TRUE(src.ReadAt(100000, 10).ok());
  EXPECT_EQ(DataHostRequests(transport, data_port_) - before, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(3100));
  auto late = src.ReadAt(200000, 10);
  ASSERT_TRUE(late.ok()) << late.error().ToString();
  EXPECT_EQ(*late, io::Bytes(data_.begin() + 200000, data_.begin() + 200010));
  EXPECT_EQ(DataHostRequests(transport, data_port_) - before, 2);
}

TEST_F(EarthdataTest, WrongPasswordIsAClearPermissionError) {
  io::HttpTransportOptions topts;
  topts.netrc_file = Netrc("wrong");
  io::HttpTransport transport(topts);
  io::HttpSource src(Url(), transport, Opts(4096, 1));
  auto st = src.Stat();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kPermission) << st.error().ToString();
}

TEST_F(EarthdataTest, NoCredentialsIsAPermissionError) {
  io::HttpTransport transport;
  io::HttpSource src(Url(), transport, Opts(4096, 1));
  auto st = src.Stat();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kPermission) << st.error().ToString();
}

}  // namespace
}  // namespace vz::auth
