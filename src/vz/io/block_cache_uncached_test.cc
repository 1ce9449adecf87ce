#include <gtest/gtest.h>

#include "vz/io/block_cache.h"
#include "vz/io/byte_source.h"

namespace vz::io {
namespace {

Bytes Pattern(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
  return b;
}

TEST(BlockCacheUncached, CachedRangesCostNoReadAndNearbyRangesShareOneRequest) {
  const Bytes data = Pattern(1 << 20);
  MemorySource mem(data);
  CountingSource counted(mem);
  BlockCacheOptions o;
  o.first_read = 64 << 10;
  o.block_size = 4096;
  BlockCache cache(counted, o);
  ASSERT_TRUE(cache.ReadAt(0, 16).ok());  // the first read: 64 KiB
  ASSERT_EQ(counted.requests(), 1u);
  const std::vector<ByteRange> ranges = {
      {100, 50},                    // inside the first read: from memory
      {500000, 100},                // these two are 1 KiB apart: one request
      {501100, 200}, {900000, 10},  // far away: its own request
      {65530, 20},                  // straddles the end of the first read: read
  };
  auto got = cache.ReadUncached(ranges, 4096);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const auto& r = ranges[i];
    EXPECT_EQ((*got)[i], Bytes(data.begin() + static_cast<std::ptrdiff_t>(r.offset),
                               data.begin() + static_cast<std::ptrdiff_t>(r.end())))
        << i;
  }
  EXPECT_EQ(counted.requests(), 1u + 3u);
  EXPECT_EQ(counted.rounds(), 2u);
  // Nothing read uncached was kept: the same far range costs a request again.
  ASSERT_TRUE(cache.ReadUncached(std::vector<ByteRange>{{900000, 10}}).ok());
  EXPECT_EQ(counted.requests(), 5u);
  // Ranges past the end are errors naming the source.
  auto bad = cache.ReadUncached(std::vector<ByteRange>{{(1 << 20) - 4, 8}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().ToString().find("memory://"), std::string::npos);
  UncachedView view(cache);
  auto one = view.ReadAt(200, 4);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, Bytes(data.begin() + 200, data.begin() + 204));
}

}  // namespace
}  // namespace vz::io
