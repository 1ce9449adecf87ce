// One conformance suite run against every ByteSource implementation (tensorstore-style): the
// same edge cases must behave the same whatever the transport.
#include "vz/io/byte_source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>

#include "vz/io/block_cache.h"
#include "vz/io/http_source.h"
#include "vz/io/nginx_fixture_test.h"
#include "vz/io/source_conformance_test.h"

namespace vz::io {
namespace {

using testing::Opts;

using conformance::Pattern;

struct Fixture {
  std::unique_ptr<ByteSource> inner;
  std::unique_ptr<ByteSource> outer;  // what the test reads (may wrap inner)
  std::string temp_path;
  ~Fixture() {
    outer.reset();
    inner.reset();
    if (!temp_path.empty()) std::filesystem::remove(temp_path);
  }
};

using Factory = std::function<std::unique_ptr<Fixture>(const Bytes&)>;

std::unique_ptr<Fixture> MakeLocal(const Bytes& data) {
  auto f = std::make_unique<Fixture>();
  char tmpl[] = "/tmp/vz_source_XXXXXX";
  int fd = mkstemp(tmpl);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  close(fd);
  f->temp_path = tmpl;
  auto src = LocalSource::Open(tmpl);
  EXPECT_TRUE(src.ok());
  f->inner = std::move(*src);
  return f;
}

std::unique_ptr<Fixture> MakeMemory(const Bytes& data) {
  auto f = std::make_unique<Fixture>();
  f->inner = std::make_unique<MemorySource>(data, "memory://test");
  return f;
}

std::unique_ptr<Fixture> MakeCached(const Bytes& data) {
  auto f = MakeMemory(data);
  f->outer = std::make_unique<BlockCache>(*f->inner, BlockCacheOptions{100, 64, 256});
  return f;
}

testing::NginxServer* Nginx() {
  static auto server = testing::NginxServer::Available() ? std::make_unique<testing::NginxServer>()
                                                         : std::unique_ptr<testing::NginxServer>();
  return server.get();
}

std::unique_ptr<Fixture> MakeHttp(const Bytes& data) {
  auto f = std::make_unique<Fixture>();
  static int counter = 0;
  std::string url = Nginx()->Put("object" + std::to_string(counter++), data);
  // A small open read so that most ranges really go over the wire.
  f->inner = std::make_unique<HttpSource>(url, HttpTransport::Default(), Opts(64));
  return f;
}

class SourceConformance : public ::testing::TestWithParam<std::pair<const char*, Factory>> {
 protected:
  ByteSource& Open(const Bytes& data) {
    if (std::string(GetParam().first) == "http" && Nginx() == nullptr) {
      ADD_FAILURE() << "nginx is not installed (make deps installs it)";
    }
    fixture_ = GetParam().second(data);
    return fixture_->outer ? *fixture_->outer : *fixture_->inner;
  }
  std::unique_ptr<Fixture> fixture_;
};

TEST_P(SourceConformance, EmptyObject) { conformance::EmptyObject(Open({})); }

TEST_P(SourceConformance, RangesInsideAtAndPastEof) {
  conformance::RangesInsideAtAndPastEof([&](const Bytes& d) -> ByteSource& { return Open(d); });
}

TEST_P(SourceConformance, ReadManyOverlappingRanges) {
  conformance::ReadManyOverlappingRanges([&](const Bytes& d) -> ByteSource& { return Open(d); });
}

INSTANTIATE_TEST_SUITE_P(AllSources, SourceConformance,
                         ::testing::Values(std::make_pair("local", Factory(MakeLocal)),
                                           std::make_pair("memory", Factory(MakeMemory)),
                                           std::make_pair("block_cache", Factory(MakeCached)),
                                           std::make_pair("http", Factory(MakeHttp))),
                         [](const auto& param_info) {
                           return std::string(param_info.param.first);
                         });

TEST(LocalSource, MissingFileIsNotFoundAndNamesThePath) {
  auto r = LocalSource::Open("/nonexistent/dir/granule.nc");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(r.error().message().find("/nonexistent/dir/granule.nc"), std::string::npos);
}

// Not a command-line error (exit 2) but an input vzgen cannot read (exit 1).
TEST(LocalSource, DirectoryIsRejectedNamingWhatItIs) {
  auto r = LocalSource::Open("/tmp");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(r.error().message().find("a directory"), std::string::npos) << r.error().ToString();
}

// Opening a FIFO for reading would wait for a writer forever; it is refused at once.
TEST(LocalSource, FifoIsRejectedWithoutWaiting) {
  const std::string path = ::testing::TempDir() + "vz_fifo_" + std::to_string(::getpid());
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  auto r = LocalSource::Open(path);
  ::unlink(path.c_str());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(r.error().message().find("FIFO"), std::string::npos) << r.error().ToString();
}

TEST(BlockCache, FirstReadIsLargeAndLaterHitsCostNothing) {
  Bytes data = Pattern(10000);
  MemorySource mem(data);
  CountingSource counter(mem);
  BlockCache cache(counter, BlockCacheOptions{4096, 1024, 1 << 20});
  ASSERT_TRUE(cache.ReadAt(8, 16).ok());
  EXPECT_EQ(counter.rounds(), 1u);
  EXPECT_EQ(counter.bytes(), 4096u);
  ASSERT_TRUE(cache.ReadAt(1000, 2000).ok());  // inside the first read
  EXPECT_EQ(counter.rounds(), 1u);
  // Three separate misses in one ReadMany cost one round.
  std::vector<ByteRange> level{{5000, 10}, {7000, 10}, {9500, 10}};
  auto got = cache.ReadMany(level);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)[1], Bytes(data.begin() + 7000, data.begin() + 7010));
  EXPECT_EQ(counter.rounds(), 2u);
  EXPECT_EQ(counter.requests(), 4u);
  // A range straddling the first read and a cached block.
  auto straddle = cache.ReadAt(4000, 1010);
  ASSERT_TRUE(straddle.ok());
  EXPECT_EQ(*straddle, Bytes(data.begin() + 4000, data.begin() + 5010));
}

TEST(BlockCache, TailReadComesWithTheFirstReadInOneRound) {
  Bytes data = Pattern(10000);
  MemorySource mem(data);
  CountingSource counter(mem);
  BlockCache cache(counter, BlockCacheOptions{2048, 1024, 1 << 20, 1500});
  ASSERT_TRUE(cache.ReadAt(8, 16).ok());
  EXPECT_EQ(counter.rounds(), 1u);
  EXPECT_EQ(counter.requests(), 2u);
  EXPECT_EQ(counter.bytes(), 2048u + 1500u);
  auto end = cache.ReadAt(8600, 1400);  // the last bytes: already there
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, Bytes(data.begin() + 8600, data.end()));
  EXPECT_EQ(counter.rounds(), 1u);
  ASSERT_TRUE(cache.ReadAt(5000, 10).ok());  // in between: one block
  EXPECT_EQ(counter.rounds(), 2u);

  // A file smaller than both reads together is read once, whole.
  Bytes small = Pattern(3000);
  MemorySource small_mem(small);
  CountingSource small_counter(small_mem);
  BlockCache small_cache(small_counter, BlockCacheOptions{2048, 1024, 1 << 20, 4096});
  auto all = small_cache.ReadAt(0, 3000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, small);
  EXPECT_EQ(small_counter.rounds(), 1u);
  EXPECT_EQ(small_counter.bytes(), 3000u);
}

TEST(BlockCache, FrontExtentIsTheFurthestReadInsideTheWindow) {
  Bytes data = Pattern(10000);
  MemorySource mem(data);
  BlockCacheOptions options{1024, 512, 1 << 20, 0};
  options.front_window = 4096;
  BlockCache cache(mem, options);
  EXPECT_EQ(cache.front_extent(), 0u);
  ASSERT_TRUE(cache.ReadAt(100, 50).ok());
  EXPECT_EQ(cache.front_extent(), 150u);
  std::vector<ByteRange> level{{3000, 200}, {8000, 100}};  // the second is outside the window
  ASSERT_TRUE(cache.ReadMany(level).ok());
  EXPECT_EQ(cache.front_extent(), 3200u);
  ASSERT_TRUE(cache.Prefetch(std::vector<ByteRange>{{3900, 100}}).ok());  // a hint: not counted
  EXPECT_EQ(cache.front_extent(), 3200u);
  ASSERT_TRUE(cache.ReadUncached(std::vector<ByteRange>{{5000, 10}, {3500, 300}}).ok());
  EXPECT_EQ(cache.front_extent(), 3800u);
}

TEST(BlockCache, EvictsBeyondCapacityAndStillServesCorrectBytes) {
  Bytes data = Pattern(100000);
  MemorySource mem(data);
  CountingSource counter(mem);
  BlockCache cache(counter, BlockCacheOptions{0, 1000, 3000});
  for (std::uint64_t off = 0; off < 100000; off += 1000) {
    auto b = cache.ReadAt(off, 10);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ((*b)[0], data[off]);
  }
  auto again = cache.ReadAt(0, 10);  // evicted long ago: fetched again
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(counter.rounds(), 101u);
}

}  // namespace
}  // namespace vz::io
