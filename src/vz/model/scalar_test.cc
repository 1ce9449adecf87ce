#include "vz/model/scalar.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace vz::model {
namespace {

using Kind = DType::Kind;

struct Case {
  Kind kind;
  std::uint32_t size;
  std::vector<std::uint8_t> little;  // the element little-endian; big-endian is its reverse
  Number want;
};

const Case kCases[] = {
    // Integers: the sign bit of every size, the extremes, a byte-order-sensitive value.
    {Kind::kInt, 1, {0x7f}, std::int64_t{127}},
    {Kind::kInt, 1, {0x80}, std::int64_t{-128}},
    {Kind::kInt, 2, {0x34, 0x12}, std::int64_t{0x1234}},
    {Kind::kInt, 2, {0xfe, 0xff}, std::int64_t{-2}},
    {Kind::kInt, 4, {0x78, 0x56, 0x34, 0x12}, std::int64_t{0x12345678}},
    {Kind::kInt, 4, {0x00, 0x00, 0x00, 0x80}, std::int64_t{-2147483648LL}},
    {Kind::kInt, 8, {1, 0, 0, 0, 0, 0, 0, 0x80}, std::numeric_limits<std::int64_t>::min() + 1},
    {Kind::kInt, 8, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, std::int64_t{-1}},
    {Kind::kUInt, 1, {0xff}, std::uint64_t{255}},
    {Kind::kUInt, 2, {0x34, 0x12}, std::uint64_t{0x1234}},
    {Kind::kUInt, 2, {0xff, 0xff}, std::uint64_t{65535}},
    {Kind::kUInt, 4, {0x00, 0x00, 0x00, 0x80}, std::uint64_t{0x80000000u}},
    {Kind::kUInt,
     8,
     {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01},
     std::uint64_t{0x0102030405060708ULL}},
    {Kind::kUInt, 8, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ~std::uint64_t{0}},
    {Kind::kBool, 1, {0x01}, std::uint64_t{1}},
    {Kind::kBool, 1, {0x00}, std::uint64_t{0}},
    // Half floats: normal, negative, the smallest subnormal, the largest finite, infinity.
    {Kind::kFloat, 2, {0x00, 0x3c}, 1.0},
    {Kind::kFloat, 2, {0x00, 0xc0}, -2.0},
    {Kind::kFloat, 2, {0x01, 0x00}, std::ldexp(1.0, -24)},
    {Kind::kFloat, 2, {0xff, 0x7b}, 65504.0},
    {Kind::kFloat, 2, {0x00, 0x7c}, std::numeric_limits<double>::infinity()},
    {Kind::kFloat, 2, {0x00, 0xfc}, -std::numeric_limits<double>::infinity()},
    {Kind::kFloat, 2, {0x00, 0x80}, -0.0},
    {Kind::kFloat, 4, {0x00, 0x00, 0xc0, 0x3f}, 1.5},
    {Kind::kFloat, 4, {0xcd, 0xcc, 0xcc, 0x3d}, static_cast<double>(0.1f)},
    {Kind::kFloat, 4, {0x00, 0x00, 0x80, 0xff}, -std::numeric_limits<double>::infinity()},
    {Kind::kFloat, 8, {0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, 1.0},
    {Kind::kFloat, 8, {0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f}, 0.1},
    {Kind::kFloat, 8, {0, 0, 0, 0, 0, 0, 0x24, 0xc0}, -10.0},
};

TEST(Scalar, DecodesEveryKindSizeAndByteOrder) {
  for (const auto& c : kCases) {
    for (char order : {'<', '>'}) {
      DType t;
      t.kind = c.kind;
      t.size = c.size;
      t.byte_order = c.size == 1 ? '|' : order;
      std::vector<std::uint8_t> bytes = c.little;
      if (order == '>') std::reverse(bytes.begin(), bytes.end());
      const auto got = DecodeNumber(t, bytes);
      ASSERT_TRUE(got.has_value()) << t.NumpyStr();
      ASSERT_EQ(got->index(), c.want.index()) << t.NumpyStr();
      if (const double* d = std::get_if<double>(&*got)) {
        const double want = std::get<double>(c.want);
        EXPECT_EQ(*d, want) << t.NumpyStr();
        EXPECT_EQ(std::signbit(*d), std::signbit(want)) << t.NumpyStr();
      } else {
        EXPECT_EQ(*got, c.want) << t.NumpyStr();
      }
      // Writing the raw integer back gives the same bytes.
      std::vector<std::uint8_t> back(c.size);
      StoreUnsigned(back, c.size, t.byte_order, LoadUnsigned(bytes, c.size, t.byte_order));
      EXPECT_EQ(back, bytes) << t.NumpyStr();
    }
  }
}

TEST(Scalar, HalfFloatNaNIsNaN) {
  for (const int bits : {0x7e00, 0x7c01, 0xfe00}) {
    EXPECT_TRUE(std::isnan(HalfToDouble(static_cast<std::uint16_t>(bits)))) << bits;
  }
}

TEST(Scalar, RefusesWhatIsNotOneNumber) {
  DType t;
  t.kind = Kind::kFloat;
  t.byte_order = '<';
  const std::vector<std::uint8_t> bytes(16, 0);
  t.size = 3;
  EXPECT_FALSE(DecodeNumber(t, bytes).has_value());
  t.size = 16;
  EXPECT_FALSE(DecodeNumber(t, bytes).has_value());
  t.kind = Kind::kInt;
  t.size = 9;
  EXPECT_FALSE(DecodeNumber(t, bytes).has_value());
  t.size = 4;
  EXPECT_FALSE(DecodeNumber(t, std::span(bytes).first(3)).has_value());
  t.kind = Kind::kFixedString;
  EXPECT_FALSE(DecodeNumber(t, bytes).has_value());
  t.kind = Kind::kComplex;
  t.size = 8;
  EXPECT_FALSE(DecodeNumber(t, bytes).has_value());
}

TEST(Scalar, OddIntegerSizesAndDoubles) {
  DType t;
  t.kind = Kind::kInt;
  t.size = 3;
  t.byte_order = '>';
  const std::uint8_t minus_two[] = {0xff, 0xff, 0xfe};
  EXPECT_EQ(DecodeNumber(t, minus_two), Number(std::int64_t{-2}));
  EXPECT_EQ(SignExtend(0x80, 1), -128);
  EXPECT_EQ(SignExtend(0x80, 2), 128);
  EXPECT_EQ(ToDouble(Number(std::int64_t{-3})), -3.0);
  EXPECT_EQ(ToDouble(Number(std::uint64_t{7})), 7.0);
  EXPECT_EQ(ToDouble(Number(0.25)), 0.25);
}

}  // namespace
}  // namespace vz::model
