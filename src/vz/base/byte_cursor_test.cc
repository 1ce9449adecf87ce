#include "vz/base/byte_cursor.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "vz/base/checked.h"

namespace vz {
namespace {

TEST(ByteCursor, ReadsLittleAndBigEndian) {
  const std::array<std::uint8_t, 8> bytes{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  ByteCursor le(bytes);
  EXPECT_EQ(*le.U16(), 0x0201);
  EXPECT_EQ(*le.U16(), 0x0403);
  EXPECT_EQ(*le.U32(), 0x08070605u);
  EXPECT_TRUE(le.empty());

  ByteCursor be(bytes);
  EXPECT_EQ(*be.U32BE(), 0x01020304u);
  EXPECT_EQ(*be.UintBE(3), 0x050607u);
  EXPECT_EQ(*be.U8(), 0x08);

  ByteCursor all(bytes);
  EXPECT_EQ(*all.U64(), 0x0807060504030201ull);
  ByteCursor all_be(bytes);
  EXPECT_EQ(*all_be.U64BE(), 0x0102030405060708ull);
}

TEST(ByteCursor, VariableWidthIntegers) {
  const std::array<std::uint8_t, 4> bytes{0xff, 0xff, 0xff, 0x7f};
  ByteCursor c(bytes);
  EXPECT_EQ(*c.UintLE(4), 0x7fffffffu);
  ByteCursor z(bytes);
  EXPECT_EQ(*z.UintLE(0), 0u);
  EXPECT_EQ(z.pos(), 0u);
  auto too_wide = z.UintLE(9);
  ASSERT_FALSE(too_wide.ok());
  EXPECT_EQ(too_wide.error().code(), ErrorCode::kCorrupt);
}

TEST(ByteCursor, OverrunNamesTheFileOffset) {
  const std::array<std::uint8_t, 3> bytes{1, 2, 3};
  ByteCursor c(bytes, 0x1000);
  ASSERT_TRUE(c.Skip(2).ok());
  auto r = c.U32();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(r.error().message().find("0x1002"), std::string::npos) << r.error().message();
  // A failed read does not move the cursor.
  EXPECT_EQ(c.pos(), 2u);
  EXPECT_EQ(*c.U8(), 3);
  EXPECT_FALSE(c.U8().ok());
  EXPECT_FALSE(c.Skip(1).ok());
  EXPECT_FALSE(c.Seek(4).ok());
  EXPECT_TRUE(c.Seek(3).ok());
}

TEST(ByteCursor, SubCursorKeepsAbsoluteOffsets) {
  const std::array<std::uint8_t, 6> bytes{9, 9, 1, 2, 3, 4};
  ByteCursor c(bytes, 100);
  ASSERT_TRUE(c.Skip(2).ok());
  auto sub = c.Sub(3);
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(sub->file_offset(), 102u);
  EXPECT_EQ(sub->size(), 3u);
  EXPECT_EQ(c.file_offset(), 105u);
  EXPECT_FALSE(c.Sub(2).ok());
}

TEST(ByteCursor, CStringAndMagic) {
  const std::array<std::uint8_t, 9> bytes{'a', 'b', 0, 'H', 'D', 'F', 'x', 'y', 'z'};
  ByteCursor c(bytes);
  EXPECT_EQ(*c.CString(10), "ab");
  EXPECT_TRUE(c.ExpectMagic("HDF", "test").ok());
  auto unterminated = c.CString(10);
  ASSERT_FALSE(unterminated.ok());
  EXPECT_NE(unterminated.error().message().find("unterminated"), std::string::npos);
  ByteCursor d(bytes);
  auto bad = d.ExpectMagic("XY", "superblock");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "superblock: bad signature at 0x0");
}

TEST(Checked, DetectsOverflow) {
  EXPECT_EQ(*CheckedAdd(1, 2, "x"), 3u);
  EXPECT_FALSE(CheckedAdd(~0ull, 1, "offset").ok());
  EXPECT_FALSE(CheckedMul(1ull << 33, 1ull << 33, "size").ok());
  const std::array<std::uint64_t, 3> dims{1800, 3600, 2};
  EXPECT_EQ(*CheckedProduct(dims, "elements"), 12'960'000u);
  const std::array<std::uint64_t, 3> huge{1ull << 30, 1ull << 30, 1ull << 30};
  auto r = CheckedProduct(huge, "elements");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("elements"), std::string::npos);
  EXPECT_EQ(CeilDiv(10, 3), 4u);
  EXPECT_EQ(CeilDiv(9, 3), 3u);
  EXPECT_EQ(Hex(0x1a2b), "0x1a2b");
}

TEST(Error, ContextChainsOutward) {
  Result<int> r = Corrupt("bad checksum at 0x10");
  r = std::move(r).Annotate("in object header of /sst");
  r = std::move(r).Annotate("in a.nc");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().ToString(), "bad checksum at 0x10, in object header of /sst, in a.nc");
}

Result<int> Twice(Result<int> in) {
  VZ_ASSIGN_OR_RETURN(int v, std::move(in));
  return v * 2;
}

TEST(Error, MacrosPropagate) {
  EXPECT_EQ(*Twice(21), 42);
  auto e = Twice(NotFound("nope"));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace vz
