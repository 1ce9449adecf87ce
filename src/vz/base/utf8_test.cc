#include "vz/base/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace vz {
namespace {

const std::string kR = "\xEF\xBF\xBD";  // U+FFFD

// The same replacements Python makes with bytes.decode("utf-8", errors="replace").
TEST(Utf8, ReplacesIllFormedSequencesLikePython) {
  EXPECT_EQ(SanitizeUtf8(std::string_view("a\xFF"
                                          "b")),
            "a" + kR + "b");
  EXPECT_EQ(SanitizeUtf8(std::string_view("\xE2\x82")), kR);  // truncated: one U+FFFD
  EXPECT_EQ(SanitizeUtf8(std::string_view("\xE2\x82x")), kR + "x");
  EXPECT_EQ(SanitizeUtf8(std::string_view("\xF0\x9F\x98")), kR);
  EXPECT_EQ(SanitizeUtf8(std::string_view("\xED\xA0\x80")), kR + kR + kR);           // surrogate
  EXPECT_EQ(SanitizeUtf8(std::string_view("\xC0\xAF")), kR + kR);                    // overlong
  EXPECT_EQ(SanitizeUtf8(std::string_view("\xF4\x90\x80\x80")), kR + kR + kR + kR);  // > U+10FFFF
  EXPECT_EQ(SanitizeUtf8(std::string_view("\xC3\xA9 \xF0\x9F\x98\x80")),
            "\xC3\xA9 \xF0\x9F\x98\x80");
}

TEST(Utf8, RvalueOverloadRepairsTheSameAndMovesValidText) {
  std::string valid(100, 'x');
  const char* data = valid.data();
  const std::string moved = SanitizeUtf8(std::move(valid));
  EXPECT_EQ(moved, std::string(100, 'x'));
  EXPECT_EQ(moved.data(), data);  // no copy
  EXPECT_EQ(SanitizeUtf8(std::string("\xE2\x82x")), kR + "x");
}

// ASCII is checked eight bytes at a time: a sequence at any offset of a longer text still counts.
TEST(Utf8, SequencesAtEveryOffsetOfLongText) {
  for (std::size_t at = 0; at < 24; ++at) {
    std::string good(24, 'a');
    good.insert(at, "\xC3\xA9");
    EXPECT_TRUE(IsValidUtf8(std::string_view(good))) << at;
    std::string bad(24, 'a');
    bad.insert(at, "\xC3");
    EXPECT_FALSE(IsValidUtf8(std::string_view(bad))) << at;
    EXPECT_EQ(SanitizeUtf8(std::string_view(bad)),
              std::string(at, 'a') + kR + std::string(24 - at, 'a'))
        << at;
  }
}

TEST(Utf8, Validity) {
  EXPECT_TRUE(IsValidUtf8(std::string_view("")));
  EXPECT_FALSE(IsValidUtf8(std::string_view("\xC3")));
  EXPECT_TRUE(IsValidUtf8(std::string_view("\xC3\xA9")));
  const std::uint8_t bytes[] = {0xE2, 0x82, 0xAC};
  EXPECT_TRUE(IsValidUtf8(std::span<const std::uint8_t>(bytes)));
  EXPECT_FALSE(IsValidUtf8(std::span<const std::uint8_t>(bytes).first(2)));
}

}  // namespace
}  // namespace vz
