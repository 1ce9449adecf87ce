// The edge cases every ByteSource must handle alike, whatever the transport: shared by the io
// suite (local, memory, block cache, HTTP) and the S3 tests in auth.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "vz/io/byte_source.h"

namespace vz::io::conformance {

// Opens a source over `data` (a new object each call).
using Opener = std::function<ByteSource&(const Bytes&)>;

// Deterministic, non-repeating-looking bytes.
inline Bytes Pattern(std::size_t n, unsigned mul = 7, unsigned add = 3) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>((i * mul + add) & 0xff);
  return b;
}

inline void EmptyObject(ByteSource& src) {
  EXPECT_EQ(src.Stat()->size, 0u);
  auto zero = src.ReadAt(0, 0);
  ASSERT_TRUE(zero.ok()) << zero.error().ToString();
  EXPECT_TRUE(zero->empty());
  EXPECT_FALSE(src.ReadAt(0, 1).ok());
}

inline void RangesInsideAtAndPastEof(const Opener& open) {
  Bytes data = Pattern(1000);
  auto& src = open(data);
  EXPECT_EQ(src.Stat()->size, 1000u);
  auto mid = src.ReadAt(10, 300);
  ASSERT_TRUE(mid.ok()) << mid.error().ToString();
  EXPECT_EQ(*mid, Bytes(data.begin() + 10, data.begin() + 310));
  auto tail = src.ReadAt(990, 10);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, Bytes(data.begin() + 990, data.end()));
  EXPECT_TRUE(src.ReadAt(1000, 0).ok());
  auto past = src.ReadAt(995, 10);
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.error().message().find("past the end"), std::string::npos);
  EXPECT_FALSE(src.ReadAt(~0ull - 2, 5).ok());  // offset + length overflows
}

inline void ReadManyOverlappingRanges(const Opener& open) {
  Bytes data = Pattern(5000);
  auto& src = open(data);
  std::vector<ByteRange> ranges{{4000, 100}, {0, 10}, {5, 20}, {4050, 950}, {2500, 0}};
  auto got = src.ReadMany(ranges);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  ASSERT_EQ(got->size(), ranges.size());
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    auto b = data.begin() + static_cast<std::ptrdiff_t>(ranges[i].offset);
    EXPECT_EQ((*got)[i], Bytes(b, b + static_cast<std::ptrdiff_t>(ranges[i].length))) << i;
  }
  std::vector<ByteRange> bad{{0, 10}, {4999, 2}};
  EXPECT_FALSE(src.ReadMany(bad).ok());
}

}  // namespace vz::io::conformance
