#include "vz/io/http_source.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "vz/io/block_cache.h"
#include "vz/io/nginx_fixture_test.h"

namespace vz::io {
namespace {

using testing::Opts;

Bytes Pattern(std::size_t n) { return testing::Pattern(n, 13, 1); }

class HttpSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::NginxServer::Available()) GTEST_SKIP() << "nginx not installed";
    server_ = std::make_unique<testing::NginxServer>();
    ASSERT_TRUE(server_->Accepting());
  }
  std::unique_ptr<testing::NginxServer> server_;
};

TEST_F(HttpSourceTest, OpenReadServesTheHeadWithoutAnotherRequest) {
  Bytes data = Pattern(100000);
  HttpSource src(server_->Put("g.nc", data), HttpTransport::Default(), Opts(4096));
  CountingSource counter(src);
  BlockCache cache(counter, BlockCacheOptions{4096, 4096, 1 << 20});
  auto head = cache.ReadAt(100, 200);
  ASSERT_TRUE(head.ok()) << head.error().ToString();
  EXPECT_EQ(*head, Bytes(data.begin() + 100, data.begin() + 300));
  EXPECT_EQ(src.Stat()->size, 100000u);
  EXPECT_FALSE(src.Stat()->etag.empty());
  // A whole level of far-apart nodes: one round, three ranges, all correct.
  std::vector<ByteRange> level{{20000, 10}, {50000, 10}, {99990, 10}};
  auto got = cache.ReadMany(level);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ((*got)[2], Bytes(data.begin() + 99990, data.end()));
  EXPECT_EQ(counter.rounds(), 2u);
}

TEST_F(HttpSourceTest, OpenTailIsFetchedInParallelAndServesTheEnd) {
  Bytes data = Pattern(100000);
  HttpSourceOptions opts = Opts(4096);
  opts.open_tail = 2048;
  HttpSource src(server_->Put("t.nc", data), HttpTransport::Default(), opts);
  CountingSource counter(src);
  BlockCache cache(counter, BlockCacheOptions{4096, 4096, 1 << 20, 2048});
  auto head = cache.ReadAt(100, 200);
  ASSERT_TRUE(head.ok()) << head.error().ToString();
  auto end = cache.ReadAt(98500, 1500);
  ASSERT_TRUE(end.ok()) << end.error().ToString();
  EXPECT_EQ(*end, Bytes(data.begin() + 98500, data.end()));
  // Two requests on the wire: the head and the suffix range, both sent at open.
  auto sent = server_->Requests(2);
  ASSERT_EQ(sent.size(), 2u);
  std::sort(sent.begin(), sent.end());
  EXPECT_EQ(sent[0], "/t.nc bytes=-2048 206");
  EXPECT_EQ(sent[1], "/t.nc bytes=0-4095 206");
  auto middle = cache.ReadAt(50000, 10);
  ASSERT_TRUE(middle.ok());
  EXPECT_EQ(*middle, Bytes(data.begin() + 50000, data.begin() + 50010));
  EXPECT_EQ(server_->Requests(3).size(), 3u);
}

TEST_F(HttpSourceTest, MissingObjectIsNotFoundAndNamesTheUrl) {
  HttpSource src(server_->Url("nope.nc"), HttpTransport::Default());
  auto st = src.Stat();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(st.error().message().find("nope.nc"), std::string::npos);
}

TEST_F(HttpSourceTest, ObjectChangedMidScanIsAnError) {
  Bytes data = Pattern(10000);
  std::string url = server_->Put("changing.nc", data);
  HttpSource src(url, HttpTransport::Default(), Opts(16));
  ASSERT_TRUE(src.Stat().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // new mtime -> new ETag
  Bytes other = Pattern(10000);
  other[5000] ^= 0xff;
  server_->Put("changing.nc", other);
  auto r = src.ReadAt(4000, 2000);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("changed"), std::string::npos) << r.error().ToString();
}

TEST_F(HttpSourceTest, ConnectionRefusedIsRetriedThenReported) {
  HttpSource src("http://127.0.0.1:1/x.nc", HttpTransport::Default(), Opts(16, 2, 1));
  auto st = src.Stat();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kIo);
  EXPECT_NE(st.error().ToString().find("127.0.0.1:1"), std::string::npos);
}

}  // namespace
}  // namespace vz::io
