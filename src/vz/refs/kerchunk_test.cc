#include "vz/refs/kerchunk.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "vz/refs/test_builders.h"

namespace vz::refs {
namespace {

using namespace test_builders;  // NOLINT(google-build-using-namespace): test builders

TEST(WriteKerchunkJson, SmallDatasetExactText) {
  model::VirtualDataset ds;
  ds.format = "netcdf4";
  ds.paths = {"s3://bucket/g.nc"};
  ds.groups = {MakeGroup("/", {Attr("_NCProperties", "x"), Attr("title", "T")}), MakeGroup("/grp")};
  Array t = MakeArray("/grp/t", Type(Kind::kInt, 2), {4}, model::Layout::kChunked);
  t.chunk_shape = {2};
  t.filters = {{1, "deflate", 0, {4}}};
  t.attributes = {Attr("_Netcdf4Coordinates", 0), Attr("_FillValue", -1)};
  t.dims = {"grp/x"};
  const std::uint64_t c0[] = {0}, c1[] = {1};
  t.manifest.Add(c0, 100, 30);
  t.manifest.Add(c1, 130, 31);
  t.manifest.inline_data[1] = {'h', 'i'};
  Array nv = MakeArray("/nv", Type(Kind::kFloat, 4), {2});
  nv.is_dimension_only = true;
  Array bad = MakeArray("/bad", Type(Kind::kInt, 4), {2});
  bad.unsupported = "virtual dataset layout not supported";
  ds.arrays = {t, nv, bad};
  EXPECT_EQ(
      Write(ds),
      "{\"version\":1,\"refs\":{\n"
      "\".zgroup\":\"{\\\"zarr_format\\\":2}\",\n"
      "\".zattrs\":\"{\\\"title\\\":\\\"T\\\"}\",\n"
      "\"grp/.zgroup\":\"{\\\"zarr_format\\\":2}\",\n"
      "\"grp/.zattrs\":\"{}\",\n"
      "\"grp/t/.zarray\":\"{\\\"chunks\\\":[2],\\\"compressor\\\":null,\\\"dtype\\\":"
      "\\\"<i2\\\",\\\"fill_value\\\":-1,\\\"filters\\\":[{\\\"id\\\":\\\"zlib\\\","
      "\\\"level\\\":4}],\\\"order\\\":\\\"C\\\",\\\"shape\\\":[4],\\\"zarr_format\\\":2}\",\n"
      "\"grp/t/.zattrs\":\"{\\\"_ARRAY_DIMENSIONS\\\":[\\\"x\\\"]}\",\n"
      "\"grp/t/0\":[\"s3://bucket/g.nc\",100,30],\n"
      "\"grp/t/1\":\"hi\"\n"
      "}}\n");
}

TEST(WriteKerchunkJson, CompactScalarAndFletcherTrim) {
  model::VirtualDataset ds;
  ds.format = "hdf5";
  ds.paths = {"/data/f.h5"};
  ds.groups = {MakeGroup("/")};
  Array s = MakeArray("/s", Type(Kind::kUInt, 2), {}, model::Layout::kCompact);
  s.compact_data = {0xff, 0xfe};
  Array f = MakeArray("/f", Type(Kind::kInt, 4), {8}, model::Layout::kChunked);
  f.chunk_shape = {4};
  f.filters = {{2, "shuffle", 0, {4}}, {3, "fletcher32", 0, {}}};
  const std::uint64_t c0[] = {1};
  f.manifest.Add(c0, 1000, 20);
  ds.arrays = {s, f};
  const std::string text = Write(ds);
  EXPECT_NE(text.find("\"s/0\":\"base64://4=\""), std::string::npos) << text;
  EXPECT_NE(text.find("\\\"shape\\\":[],"), std::string::npos) << text;
  EXPECT_NE(text.find("\"f/1\":[\"/data/f.h5\",1000,16]"), std::string::npos) << text;
  EXPECT_NE(text.find("[{\\\"elementsize\\\":4,\\\"id\\\":\\\"shuffle\\\"}]"), std::string::npos);
}

TEST(WriteKerchunkJson, RefusesArraysThatStillNeedDecoding) {
  model::VirtualDataset ds;
  ds.paths = {"f"};
  Array a = MakeArray("/z", Type(Kind::kInt, 4), {4}, model::Layout::kChunked);
  a.filters = {{4, "szip", 0, {}}};
  ds.arrays = {a};
  std::ostringstream out;
  auto st = WriteKerchunkJson(ds, {}, out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("/z uses filter szip (4)"), std::string::npos);
}

TEST(WriteKerchunkJson, WrongCompactSizeIsAnError) {
  model::VirtualDataset ds;
  Array s = MakeArray("/s", Type(Kind::kInt, 4), {3}, model::Layout::kCompact);
  s.compact_data = {1, 2, 3};
  ds.arrays = {s};
  std::ostringstream out;
  auto st = WriteKerchunkJson(ds, {}, out);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(st.error().ToString().find("/s: compact data"), std::string::npos);
}

}  // namespace
}  // namespace vz::refs
