#include "vz/refs/store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

namespace vz::refs {
namespace {

constexpr const char* kStore = R"({"version":1,"vzgen":{"concat_dim":"time"},"refs":{
".zgroup":"{\"zarr_format\":2}",
".zattrs":"{\"title\":\"t\",\"bad\":NaN}",
"g/.zgroup":"{\"zarr_format\":2}",
"g/.zattrs":"{}",
"time/.zarray":"{\"chunks\":[2],\"compressor\":null,\"dtype\":\"<i4\",\"fill_value\":null,\"filters\":null,\"order\":\"C\",\"shape\":[2],\"zarr_format\":2}",
"time/.zattrs":"{\"_ARRAY_DIMENSIONS\":[\"time\"],\"units\":\"days since 2000-01-01\"}",
"time/0":"base64:AQAAAAIAAAA=",
"g/v/.zarray":"{\"chunks\":[1,3],\"compressor\":null,\"dtype\":\"<f4\",\"fill_value\":\"NaN\",\"filters\":[{\"id\":\"zlib\",\"level\":4}],\"order\":\"C\",\"shape\":[2,3],\"zarr_format\":2}",
"g/v/.zattrs":"{\"_ARRAY_DIMENSIONS\":[\"time\",\"x\"]}",
"g/v/0.0":["s3:\/\/bucket\/a.nc",100,20],
"g/v/1.0":["s3:\/\/bucket\/b.nc",200,30],
"s/.zarray":"{\"chunks\":[2],\"compressor\":null,\"dtype\":\"|O\",\"fill_value\":null,\"filters\":[{\"id\":\"vlen-utf8\"}],\"order\":\"C\",\"shape\":[2],\"zarr_format\":2}",
"s/.zattrs":"{\"_ARRAY_DIMENSIONS\":[\"time\"]}",
"s/0":"base64:AgAAAAEAAABhAgAAAGJj"
}})";

TEST(RefStore, ReadsKerchunkWithUjsonEscapesAndBareNaN) {
  auto store = ReadRefStore(kStore, "store.json");
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  EXPECT_EQ(store->meta.value("concat_dim", ""), "time");
  ASSERT_EQ(store->groups.size(), 2u);
  EXPECT_EQ(store->groups[0].name, "");
  EXPECT_EQ(store->groups[0].zattrs["bad"], "NaN");
  const RefArray* t = store->FindArray("time");
  ASSERT_NE(t, nullptr);
  ASSERT_TRUE(t->raw.has_value());
  EXPECT_EQ(*t->raw, (std::vector<std::uint8_t>{1, 0, 0, 0, 2, 0, 0, 0}));
  const RefArray* v = store->FindArray("g/v");
  ASSERT_NE(v, nullptr);
  EXPECT_FALSE(v->InMemory());
  ASSERT_EQ(v->entries.size(), 2u);
  EXPECT_EQ(store->urls[v->entries.path_ids[0]], "s3://bucket/a.nc");
  EXPECT_EQ(v->entries.offsets[1], 200u);
  EXPECT_EQ(v->entries.lengths[1], 30u);
  EXPECT_EQ(v->Dims(), (std::vector<std::string>{"time", "x"}));
  const RefArray* s = store->FindArray("s");
  ASSERT_TRUE(s != nullptr && s->strings.has_value());
  ASSERT_EQ(s->strings->size(), 2u);
  EXPECT_EQ(*(*s->strings)[0], "a");
  EXPECT_EQ(*(*s->strings)[1], "bc");
}

TEST(RefStore, WriteThenReadKeepsEverything) {
  auto store = ReadRefStore(kStore, "store.json");
  ASSERT_TRUE(store.ok());
  std::ostringstream out;
  ASSERT_TRUE(WriteRefStore(*store, out).ok());
  auto again = ReadRefStore(out.str(), "again.json");
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  std::ostringstream out2;
  ASSERT_TRUE(WriteRefStore(*again, out2).ok());
  EXPECT_EQ(out.str(), out2.str());
  EXPECT_NE(out.str().find("\"vzgen\":{\"concat_dim\":\"time\"}"), std::string::npos);
  EXPECT_NE(out.str().find("\"g/v/1.0\":[\"s3://bucket/b.nc\",200,30]"), std::string::npos);
  // The bare NaN of the kerchunk store is written back as strict JSON.
  EXPECT_NE(out.str().find("\"bad\\\":\\\"NaN\\\""), std::string::npos);
}

// A vlen-array chunk (numbers, not text) is read into memory and written back byte for byte.
TEST(RefStore, VlenArrayRoundTrips) {
  constexpr const char* kSeq = R"({"version":1,"refs":{
".zgroup":"{\"zarr_format\":2}",
"q/.zarray":"{\"chunks\":[2],\"compressor\":null,\"dtype\":\"|O\",\"fill_value\":null,\"filters\":[{\"dtype\":\"<i2\",\"id\":\"vlen-array\"}],\"order\":\"C\",\"shape\":[2],\"zarr_format\":2}",
"q/.zattrs":"{}",
"q/0":"base64:AgAAAAIAAAD/AAAAAAA="
}})";
  auto store = ReadRefStore(kSeq, "seq.json");
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  const RefArray* q = store->FindArray("q");
  ASSERT_TRUE(q != nullptr && q->strings.has_value());
  ASSERT_EQ(q->strings->size(), 2u);
  EXPECT_EQ(*(*q->strings)[0], std::string("\xff\x00", 2));
  EXPECT_EQ(*(*q->strings)[1], "");
  std::ostringstream out;
  ASSERT_TRUE(WriteRefStore(*store, out).ok());
  EXPECT_NE(out.str().find("\"q/0\":\"base64:AgAAAAIAAAD/AAAAAAA=\""), std::string::npos)
      << out.str();
}

TEST(RefStore, RejectsMalformedStoresWithTheirName) {
  for (const char* bad : {"", "[1,2]", "{\"version\":2,\"refs\":{}}",
                          R"({"version":1,"refs":{"a/.zarray":"{\"shape\":[2]}"}})",
                          R"({"version":1,"refs":{"a/.zarray":"{\"shape\":[2],\"chunks\":[1]}",
                             "a/x.y":["u",1,2]}})",
                          R"({"version":1,"refs":{"a/.zarray":"{\"shape\":[2],\"chunks\":[1]}",
                             "a/0":["u",-1]}})",
                          R"({"version":1,"refs":{"a/.zarray":"{\"shape\":[2],\"chunks\":[1]}",
                             "a/0":"base64:%%%"}})"}) {
    auto store = ReadRefStore(bad, "bad.json");
    ASSERT_FALSE(store.ok()) << bad;
    EXPECT_NE(store.error().ToString().find("bad.json"), std::string::npos)
        << store.error().ToString();
  }
}

TEST(RefStore, LenientJsonKeepsNanInsideStrings) {
  auto j = ParseLenientJson(R"({"a":"NaN Infinity","b":[NaN,-Infinity,Infinity]})");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["a"], "NaN Infinity");
  EXPECT_EQ((*j)["b"], SortedJson::array({"NaN", "-Infinity", "Infinity"}));
}

}  // namespace
}  // namespace vz::refs
