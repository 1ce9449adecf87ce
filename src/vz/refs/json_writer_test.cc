#include "vz/refs/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "vz/refs/base64.h"

namespace vz::refs {
namespace {

std::string Quote(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

std::string Double(double d) {
  std::string out;
  AppendJsonDouble(out, d);
  return out;
}

TEST(JsonString, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(Quote("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(Quote("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(Quote(std::string("\x00\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\x7f\"");
  EXPECT_EQ(Quote("s3://a/b"), R"("s3://a/b")");  // no \/ needed
}

// Plain text is scanned eight bytes at a time: every byte that needs escaping, at every offset
// within and across those words, must still be escaped, and the text must read back unchanged.
TEST(JsonString, EveryPositionOfAnEscapeInLongText) {
  const std::string specials[] = {"\"",   "\\",   "\n",      std::string(1, '\0'),
                                  "\x1f", "\x7f", "\xC2\xB0"};
  for (const auto& special : specials) {
    for (std::size_t at = 0; at < 40; ++at) {
      std::string text(40, 'a');
      text.insert(at, special);
      const std::string quoted = Quote(text);
      auto back = nlohmann::json::parse(quoted);
      ASSERT_EQ(back.get<std::string>(), text) << "at " << at << ": " << quoted;
      if (special != "\x7f") {
        EXPECT_NE(quoted.substr(1, quoted.size() - 2), text) << "not escaped at " << at;
      }
    }
  }
  EXPECT_EQ(Quote(std::string(100, 'x')), "\"" + std::string(100, 'x') + "\"");
}

// Long text is escaped in pieces of 1 KiB: a worst-case piece (every byte six bytes out), a
// 4-byte sequence and an ill-formed byte straddling each piece boundary, and a text of several
// pieces must all come out whole.
TEST(JsonString, LongTextAcrossPieceBoundaries) {
  const std::string controls(3000, '\x01');
  std::string expected = "\"";
  for (std::size_t i = 0; i < controls.size(); ++i) expected += "\\u0001";
  EXPECT_EQ(Quote(controls), expected + "\"");
  for (std::size_t at = 1016; at < 1032; ++at) {
    std::string text(at, 'a');
    text += "\xF0\x9F\x98\x80";  // U+1F600
    text += "\xFF";
    text += std::string(2100, 'b');
    text += "\"";
    const std::string quoted = Quote(text);
    const std::string tail = "\\ud83d\\ude00\\ufffd" + std::string(2100, 'b') + "\\\"\"";
    ASSERT_EQ(quoted, "\"" + std::string(at, 'a') + tail) << "at " << at;
  }
}

TEST(JsonString, EscapesNonAsciiLikeUjson) {
  EXPECT_EQ(Quote("\xC2\xB0"
                  "C \xE2\x82\xAC \xF0\x9F\x98\x80"),
            R"("\u00b0C \u20ac \ud83d\ude00")");
}

// Ill-formed UTF-8 is escaped as the U+FFFD that vz::SanitizeUtf8 (base/utf8_test.cc) puts in.
TEST(JsonString, ReplacesIllFormedUtf8LikePython) {
  EXPECT_EQ(Quote("x\xFF"), R"("x\ufffd")");
  EXPECT_EQ(Quote("\xE2\x82x"), R"("\ufffdx")");
  EXPECT_EQ(Quote("\xED\xA0\x80"), R"("\ufffd\ufffd\ufffd")");
  // Plain runs, escapes, a multi-byte character and a bad byte interleaved in one string.
  EXPECT_EQ(Quote("ab\"\xC3\xA9\xFF"
                  "z\\\xE2\x82"),
            R"("ab\"\u00e9\ufffdz\\\ufffd")");
}

TEST(JsonNumber, DoublesRoundTripAndStayFloats) {
  EXPECT_EQ(Double(0.1), "0.1");
  EXPECT_EQ(Double(2.0), "2.0");
  EXPECT_EQ(Double(-0.0), "-0.0");
  EXPECT_EQ(Double(1e37), "1e+37");
  EXPECT_EQ(Double(static_cast<double>(9.96921e36f)), "9.969209968386869e+36");
  // RFC 8259 has no NaN/Infinity tokens: zarr's strings for them.
  EXPECT_EQ(Double(std::nan("")), "\"NaN\"");
  EXPECT_EQ(Double(std::numeric_limits<double>::infinity()), "\"Infinity\"");
  EXPECT_EQ(Double(-std::numeric_limits<double>::infinity()), "\"-Infinity\"");
}

TEST(JsonValue, WritesNestedValuesCompactlyWithExactIntegers) {
  nlohmann::ordered_json v;
  v["z"] = std::numeric_limits<std::uint64_t>::max();
  v["a"] = std::numeric_limits<std::int64_t>::min();
  v["list"] = {1.5, std::nan(""), true, nullptr, "t"};
  EXPECT_EQ(
      ToJson(v),
      R"({"z":18446744073709551615,"a":-9223372036854775808,"list":[1.5,"NaN",true,null,"t"]})");
  nlohmann::json sorted = {{"b", 1}, {"a", 2}};
  EXPECT_EQ(ToJson(sorted), R"({"a":2,"b":1})");
}

TEST(RefsStream, WritesVersionOneObjectOneEntryPerLine) {
  std::ostringstream out;
  RefsStreamWriter w(out);
  w.StringEntry(".zgroup", R"({"zarr_format":2})");
  w.ReferenceEntry("a/0", "s3://b/k.nc", 10, 20);
  w.Entry("a/1", R"("base64:AA==")");
  ASSERT_TRUE(w.Finish().ok());
  EXPECT_EQ(out.str(),
            "{\"version\":1,\"refs\":{\n"
            "\".zgroup\":\"{\\\"zarr_format\\\":2}\",\n"
            "\"a/0\":[\"s3://b/k.nc\",10,20],\n"
            "\"a/1\":\"base64:AA==\"\n"
            "}}\n");
}

TEST(RefsStream, EmptyRefsAreValid) {
  std::ostringstream out;
  RefsStreamWriter w(out);
  ASSERT_TRUE(w.Finish().ok());
  EXPECT_EQ(out.str(), "{\"version\":1,\"refs\":{\n}}\n");
}

TEST(RefsStream, ReportsAFailedStream) {
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  RefsStreamWriter w(out);
  w.Entry("k", "1");
  auto st = w.Finish();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kIo);
}

TEST(Base64, MatchesRfc4648Vectors) {
  auto enc = [](std::string_view s) {
    return Base64Encode(std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));  // NOLINT
  };
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "Zg==");
  EXPECT_EQ(enc("fo"), "Zm8=");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("foob"), "Zm9vYg==");
  EXPECT_EQ(enc("fooba"), "Zm9vYmE=");
  EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
  const std::uint8_t high[] = {0xff, 0xfe, 0xfd};
  EXPECT_EQ(Base64Encode(high), "//79");
}

}  // namespace
}  // namespace vz::refs
