#include "vz/refs/translate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <sstream>

#include "vz/refs/json_writer.h"
#include "vz/refs/store.h"

namespace vz::refs {
namespace {

using model::Array;
using model::Attribute;
using model::DType;
using Kind = DType::Kind;

DType Type(Kind kind, std::uint32_t size, char order = '<') {
  DType t;
  t.kind = kind;
  t.size = size;
  t.byte_order = order;
  return t;
}

Attribute Attr(std::string name, model::Json value) {
  Attribute a;
  a.name = std::move(name);
  a.value = std::move(value);
  return a;
}

Array MakeArray(std::string path, DType dtype, const std::vector<std::uint64_t>& shape) {
  Array a;
  a.path = std::move(path);
  a.dtype = std::move(dtype);
  a.shape = shape;
  a.chunk_shape = shape;
  a.dims.assign(shape.size(), "");
  a.manifest.rank = shape.size();
  return a;
}

template <typename T>
std::vector<std::uint8_t> LittleEndianBytes(T v) {
  std::vector<std::uint8_t> b(sizeof(T));
  std::memcpy(b.data(), &v, sizeof(T));
  return b;
}

std::string Zarray(const Array& a, bool netcdf3 = false) {
  return TranslateArray(a, std::vector<std::string>(a.shape.size(), "x"), netcdf3, PlanCodecs(a))
      .zarray;
}

std::string Zattrs(const Array& a, bool netcdf3 = false) {
  return TranslateArray(a, std::vector<std::string>(a.shape.size(), "x"), netcdf3, PlanCodecs(a))
      .zattrs;
}

std::string FillOf(const Array& a, bool netcdf3 = false) {
  const std::string z = Zarray(a, netcdf3);
  const auto start = z.find("\"fill_value\":") + 13;
  return z.substr(start, z.find(",\"filters\"") - start);
}

TEST(Zarray, HasKerchunkKeysInSortedOrder) {
  Array a = MakeArray("/grp/t", Type(Kind::kFloat, 4, '>'), {10, 20});
  a.layout = model::Layout::kChunked;
  a.chunk_shape = {5, 20};
  a.fill_value = LittleEndianBytes<std::uint32_t>(0);  // 0.0f in either byte order
  EXPECT_EQ(Zarray(a), R"({"chunks":[5,20],"compressor":null,"dtype":">f4","fill_value":0.0,)"
                       R"("filters":null,"order":"C","shape":[10,20],"zarr_format":2})");
}

TEST(Codecs, MapsHdf5FiltersInPipelineOrder) {
  Array a = MakeArray("/v", Type(Kind::kInt, 2), {100});
  a.layout = model::Layout::kChunked;
  a.filters = {{2, "shuffle", 0, {2}}, {1, "deflate", 0, {4}}, {3, "fletcher32", 0, {}}};
  CodecPlan plan = PlanCodecs(a);
  EXPECT_FALSE(plan.needs_decode);
  EXPECT_EQ(plan.trim, 4u);
  EXPECT_EQ(ToJson(plan.filters), R"([{"elementsize":2,"id":"shuffle"},{"id":"zlib","level":4}])");

  // Pipeline order is kept even when shuffle comes second (kerchunk would move it first).
  a.filters = {{1, "deflate", 0, {9}}, {2, "shuffle", 0, {2}}};
  EXPECT_EQ(ToJson(PlanCodecs(a).filters),
            R"([{"id":"zlib","level":9},{"elementsize":2,"id":"shuffle"}])");

  a.filters = {{32001, "blosc", 0, {2, 2, 4, 128, 4, 2, 1}}};
  EXPECT_EQ(ToJson(PlanCodecs(a).filters),
            R"([{"blocksize":0,"clevel":4,"cname":"lz4","id":"blosc","shuffle":2}])");
  a.filters = {{32001, "blosc", 0, {2, 2, 4, 128}}};  // defaults of the HDF5 blosc filter
  EXPECT_EQ(ToJson(PlanCodecs(a).filters),
            R"([{"blocksize":0,"clevel":5,"cname":"blosclz","id":"blosc","shuffle":1}])");
  a.filters = {{32015, "zstd", 0, {7}}, {307, "bzip2", 0, {9}}};
  EXPECT_EQ(ToJson(PlanCodecs(a).filters), R"([{"id":"zstd","level":7},{"id":"bz2","level":9}])");
}

TEST(Codecs, UnreadableFiltersForceDecodingAndNameTheFilter) {
  Array a = MakeArray("/v", Type(Kind::kInt, 4), {100});
  a.layout = model::Layout::kChunked;
  a.filters = {{4, "", 0, {}}};
  CodecPlan plan = PlanCodecs(a);
  EXPECT_TRUE(plan.needs_decode);
  EXPECT_EQ(plan.decode_reason, "filter szip (4)");
  a.filters = {{32004, "lz4", 0, {}}};
  EXPECT_EQ(PlanCodecs(a).decode_reason, "filter lz4 (32004)");
  a.filters = {{6, "scaleoffset", 0, {}}, {1, "deflate", 0, {1}}};
  EXPECT_EQ(PlanCodecs(a).decode_reason, "filter scaleoffset (6)");
  a.filters = {{3, "fletcher32", 0, {}}, {1, "deflate", 0, {1}}};
  EXPECT_TRUE(PlanCodecs(a).needs_decode);
  EXPECT_EQ(PlanCodecs(a).trim, 0u);

  // A chunk written with a filter skipped cannot be described by one zarr codec list.
  a.filters = {{2, "shuffle", 0, {4}}, {1, "deflate", 0, {1}}};
  const std::uint64_t c0[] = {0}, c1[] = {1};
  a.manifest.Add(c0, 100, 10);
  a.manifest.Add(c1, 110, 10, 0x2);
  plan = PlanCodecs(a);
  EXPECT_TRUE(plan.needs_decode);
  EXPECT_EQ(plan.decode_reason, "chunk 1 skips filter deflate (1) (filter mask 0x2)");
}

TEST(FillValue, PlainHdf5UsesTheDatasetFillValue) {
  Array a = MakeArray("/v", Type(Kind::kInt, 2, '>'), {4});
  a.fill_value = std::vector<std::uint8_t>{0xff, 0xfe};  // -2 big-endian
  EXPECT_EQ(FillOf(a), "-2");
  a.fill_value.reset();  // HDF5 default: zeros
  EXPECT_EQ(FillOf(a), "0");
  a.dtype = Type(Kind::kUInt, 8);
  a.fill_value = LittleEndianBytes<std::uint64_t>(18446744073709551614ull);
  EXPECT_EQ(FillOf(a), "18446744073709551614");
  a.dtype = Type(Kind::kFloat, 4);
  a.fill_value = LittleEndianBytes<float>(std::nanf(""));
  EXPECT_EQ(FillOf(a), "\"NaN\"");
  a.fill_value = LittleEndianBytes<float>(-INFINITY);
  EXPECT_EQ(FillOf(a), "\"-Infinity\"");
  a.fill_value = LittleEndianBytes<float>(9.96921e36f);
  EXPECT_EQ(FillOf(a), "9.969209968386869e+36");
  a.dtype = Type(Kind::kFloat, 2);
  a.fill_value = std::vector<std::uint8_t>{0x00, 0x3e};  // 1.5 as float16
  EXPECT_EQ(FillOf(a), "1.5");
  a.dtype = Type(Kind::kBool, 1, '|');
  a.fill_value = std::vector<std::uint8_t>{1};
  EXPECT_EQ(FillOf(a), "true");
}

TEST(FillValue, NetcdfVariablesAndTimesGetNullUnlessFillValueAttribute) {
  Array a = MakeArray("/v", Type(Kind::kFloat, 4), {4});
  a.fill_value = LittleEndianBytes<float>(9.96921e36f);
  a.attributes = {Attr("_Netcdf4Coordinates", 0)};
  // No chunk written: null would read back as uninitialised memory, so the HDF5 fill is used.
  EXPECT_EQ(FillOf(a), "9.969209968386869e+36");
  const std::uint64_t origin[] = {0};
  a.manifest.Add(origin, 100, 16);  // every chunk written: kerchunk's null
  EXPECT_EQ(FillOf(a), "null");
  a.attributes = {Attr("units", "days since 2000-01-01")};
  EXPECT_EQ(FillOf(a), "null");
  a.attributes.push_back(Attr("_FillValue", -999.0));
  EXPECT_EQ(FillOf(a), "-999.0");
  // _FillValue is consumed: it leaves .zattrs.
  EXPECT_EQ(Zattrs(a), R"({"_ARRAY_DIMENSIONS":["x"],"units":"days since 2000-01-01"})");
  a.attributes = {Attr("_FillValue", std::nan(""))};
  EXPECT_EQ(FillOf(a), "\"NaN\"");
  a.dtype = Type(Kind::kInt, 2);
  a.attributes = {Attr("_FillValue", -32767)};
  EXPECT_EQ(FillOf(a), "-32767");
  a.attributes = {Attr("_FillValue", model::Json::array({7}))};  // a one-element list
  EXPECT_EQ(FillOf(a), "7");
}

TEST(FillValue, StringsCompoundsAndInlinedData) {
  Array s = MakeArray("/s", Type(Kind::kFixedString, 4, '|'), {3});
  EXPECT_EQ(FillOf(s), "\"IA==\"");  // " " when the HDF5 fill is empty
  s.fill_value = std::vector<std::uint8_t>{'a', 'b', 0, 0};
  EXPECT_EQ(FillOf(s), "\"YWI=\"");
  s.attributes = {Attr("_FillValue", "zz")};
  EXPECT_EQ(FillOf(s), "\"eno=\"");

  DType c = Type(Kind::kCompound, 8, '|');
  c.fields = {{"a", 0, Type(Kind::kInt, 4)}, {"b", 4, Type(Kind::kFloat, 4)}};
  Array comp = MakeArray("/c", c, {2});
  EXPECT_EQ(FillOf(comp), "null");

  Array compact = MakeArray("/k", Type(Kind::kInt, 4), {2});
  compact.layout = model::Layout::kCompact;
  compact.fill_value = LittleEndianBytes<std::int32_t>(5);
  EXPECT_EQ(FillOf(compact), "null");
  compact.attributes = {Attr("_FillValue", 5)};
  EXPECT_EQ(FillOf(compact), "5");
}

TEST(FillValue, Netcdf3PrefersMissingValueAndKeepsItAsAnAttribute) {
  Array a = MakeArray("/v", Type(Kind::kFloat, 4, '>'), {4});
  a.attributes = {Attr("_FillValue", -1.0), Attr("missing_value", -2.0), Attr("units", "K")};
  EXPECT_EQ(FillOf(a, true), "-2.0");
  // netCDF readers show missing_value and CF readers use it; _FillValue is the fill value.
  EXPECT_EQ(Zattrs(a, true), R"({"_ARRAY_DIMENSIONS":["x"],"missing_value":-2.0,"units":"K"})");
  a.attributes = {Attr("missing_value", -2.0)};
  EXPECT_EQ(FillOf(a, true), "-2.0");
  EXPECT_EQ(Zattrs(a, true), R"({"_ARRAY_DIMENSIONS":["x"],"missing_value":-2.0})");
  a.attributes = {Attr("units", "K")};
  EXPECT_EQ(FillOf(a, true), "null");
  // netCDF-4 rules keep missing_value as an attribute.
  a.attributes = {Attr("_FillValue", -1.0), Attr("missing_value", -2.0)};
  EXPECT_EQ(FillOf(a, false), "-1.0");
  EXPECT_EQ(Zattrs(a, false), R"({"_ARRAY_DIMENSIONS":["x"],"missing_value":-2.0})");
}

TEST(Attributes, HiddenOnesAreDroppedAndTheRestSorted) {
  Array a = MakeArray("/v", Type(Kind::kInt, 4), {2});
  a.attributes = {Attr("zeta", 1),
                  Attr("CLASS", "DIMENSION_SCALE"),
                  Attr("NAME", "v"),
                  Attr("REFERENCE_LIST", 0),
                  Attr("DIMENSION_LIST", 0),
                  Attr("_Netcdf4Dimid", 0),
                  Attr("_Netcdf4Coordinates", model::Json::array({0})),
                  Attr("_nc3_strict", 1),
                  Attr("other", "DIMENSION_SCALE"),
                  Attr("alpha", model::Json::array({1.5, std::nan("")})),
                  Attr("bad\xFF", "caf\xE9")};
  EXPECT_EQ(Zattrs(a),
            "{\"_ARRAY_DIMENSIONS\":[\"x\"],\"alpha\":[1.5,\"NaN\"],"
            "\"bad\\ufffd\":\"caf\\ufffd\",\"zeta\":1}");
  model::Group g;
  g.path = "/";
  g.attributes = {Attr("_NCProperties", "version=2"), Attr("title", "t"), Attr("inf", INFINITY)};
  EXPECT_EQ(TranslateGroupAttributes(g), R"({"inf":"Infinity","title":"t"})");
}

TEST(Dimensions, ScalesAreNamedAsNetcdfShowsThemAndPhonyDimsFollowNetcdfC) {
  model::VirtualDataset ds;
  Array a = MakeArray("/a", Type(Kind::kInt, 4), {3, 3});  // two axes of one length, no scales
  Array b = MakeArray("/b", Type(Kind::kInt, 4), {3, 5});
  Array c = MakeArray("/grp/c", Type(Kind::kInt, 4), {3});  // another group: new phony dim
  Array d = MakeArray("/grp/d", Type(Kind::kInt, 4), {4, 3});
  d.dims = {"grp/y", ""};
  Array e = MakeArray("/e", Type(Kind::kInt, 4), {});
  Array skipped = MakeArray("/bad", Type(Kind::kInt, 4), {7});
  skipped.unsupported = "virtual dataset layout not supported";
  Array dim_only = MakeArray("/nv", Type(Kind::kFloat, 4), {2});
  dim_only.is_dimension_only = true;
  ds.arrays = {a, skipped, b, c, d, e, dim_only};
  auto dims = ResolveDimensions(ds);
  ASSERT_EQ(dims.size(), 7u);
  EXPECT_EQ(dims[0], (std::vector<std::string>{"phony_dim_0", "phony_dim_1"}));
  EXPECT_TRUE(dims[1].empty());
  EXPECT_EQ(dims[2], (std::vector<std::string>{"phony_dim_0", "phony_dim_2"}));
  EXPECT_EQ(dims[3], (std::vector<std::string>{"phony_dim_3"}));
  EXPECT_EQ(dims[4], (std::vector<std::string>{"y", "phony_dim_3"}));
  EXPECT_TRUE(dims[5].empty());
  EXPECT_TRUE(dims[6].empty());
  // --group-dims kerchunk: the scale's path.
  ds.group_dims_as_paths = true;
  EXPECT_EQ(ResolveDimensions(ds)[4], (std::vector<std::string>{"grp/y", "phony_dim_3"}));
}

// netCDF's scoping: a scale in the array's group or above it goes by its own name; one in a
// group that is neither (possible in plain HDF5) keeps its path, so no two differ by name only.
TEST(Dimensions, ScalesOutsideTheArraysAncestorsKeepTheirPath) {
  model::VirtualDataset ds;
  Array root = MakeArray("/v", Type(Kind::kInt, 4), {2, 3});
  root.dims = {"t", "grp/x"};
  Array deep = MakeArray("/grp/sub/w", Type(Kind::kInt, 4), {2, 3, 4});
  deep.dims = {"t", "grp/x", "grp/sub/z"};
  Array sibling = MakeArray("/grp2/u", Type(Kind::kInt, 4), {3});
  sibling.dims = {"grp/x"};
  Array prefix = MakeArray("/grpx/q", Type(Kind::kInt, 4), {3});  // "grp" is not its ancestor
  prefix.dims = {"grp/x"};
  ds.arrays = {root, deep, sibling, prefix};
  auto dims = ResolveDimensions(ds);
  EXPECT_EQ(dims[0], (std::vector<std::string>{"t", "grp/x"}));
  EXPECT_EQ(dims[1], (std::vector<std::string>{"t", "x", "z"}));
  EXPECT_EQ(dims[2], (std::vector<std::string>{"grp/x"}));
  EXPECT_EQ(dims[3], (std::vector<std::string>{"grp/x"}));
}

TEST(Dtype, CompoundsFollowNumpyDescrWithPadding) {
  DType c = Type(Kind::kCompound, 24, '|');
  DType vec = Type(Kind::kFloat, 8, '>');
  vec.size = 8;
  DType arr = Type(Kind::kInt, 4, '<');
  arr.subshape = {2};
  arr.size = 8;
  c.fields = {
      {"b", 8, vec}, {"a", 0, Type(Kind::kInt, 2)}, {"s", 16, Type(Kind::kFixedString, 3, '|')}};
  EXPECT_EQ(ToJson(ZarrDtype(c)), R"([["a","<i2"],["","|V6"],["b",">f8"],["s","|S3"],["","|V5"]])");
  c.fields = {{"a", 0, arr}, {"b", 8, vec}};
  c.size = 16;
  EXPECT_EQ(ToJson(ZarrDtype(c)), R"([["a","<i4",[2]],["b",">f8"]])");
  EXPECT_EQ(ToJson(ZarrDtype(Type(Kind::kUInt, 1, '<'))), R"("|u1")");

  Array overlap = MakeArray("/o", c, {1});
  overlap.dtype.fields = {{"a", 0, Type(Kind::kInt, 8)}, {"b", 4, Type(Kind::kInt, 4)}};
  EXPECT_EQ(SkipReason(overlap), "compound fields overlap");
  Array vlen_member = MakeArray("/m", c, {1});
  vlen_member.dtype.fields = {{"s", 0, Type(Kind::kVlenString, 16, '|')}};
  EXPECT_EQ(SkipReason(vlen_member), "compound datatype with variable-length members");
}

TEST(Skip, UnsupportedArraysAreNamed) {
  Array a = MakeArray("/r", Type(Kind::kReference, 8, '|'), {2});
  EXPECT_EQ(SkipReason(a), "object reference datatype not supported");
  Array v = MakeArray("/s", Type(Kind::kVlenString, 16, '|'), {2});
  EXPECT_EQ(SkipReason(v), "variable-length strings were not decoded");
  v.vlen_values = std::vector<std::optional<std::string>>{"a", std::nullopt};
  EXPECT_EQ(SkipReason(v), "");
  v.unsupported = "external raw storage";
  EXPECT_EQ(SkipReason(v), "external raw storage");
}

TEST(Vlen, EncodesNumcodecsVLenUtf8) {
  auto blob = EncodeVlen({"ab", std::nullopt, "\xC3\xA9"});
  ASSERT_TRUE(blob.ok());
  const std::vector<std::uint8_t> expected = {3, 0, 0, 0, 2, 0, 0, 0, 'a',  'b',
                                              0, 0, 0, 0, 2, 0, 0, 0, 0xC3, 0xA9};
  EXPECT_EQ(*blob, expected);
  Array v = MakeArray("/s", Type(Kind::kVlenString, 16, '|'), {3});
  v.vlen_values = std::vector<std::optional<std::string>>{"a", "b", "c"};
  v.attributes = {Attr("_Netcdf4Dimid", 0)};
  EXPECT_EQ(Zarray(v),
            R"({"chunks":[3],"compressor":null,"dtype":"|O","fill_value":null,)"
            R"("filters":[{"id":"vlen-utf8"}],"order":"C","shape":[3],"zarr_format":2})");
}

// A variable-length sequence of numbers is a numcodecs vlen-array of its base dtype, framed
// like vlen-utf8 but with the elements' raw bytes.
TEST(Vlen, SequencesAreVlenArrays) {
  auto blob = EncodeVlen({std::string("\xff\x00", 2), std::nullopt}, /*utf8=*/false);
  ASSERT_TRUE(blob.ok());
  const std::vector<std::uint8_t> expected = {2, 0, 0, 0, 2, 0, 0, 0, 0xff, 0, 0, 0, 0, 0};
  EXPECT_EQ(*blob, expected);
  DType seq = Type(Kind::kVlenSequence, 16, '|');
  model::Field base;
  base.name = "";
  base.type = Type(Kind::kInt, 2, '<');
  seq.fields.push_back(base);
  Array v = MakeArray("/q", seq, {2});
  EXPECT_EQ(SkipReason(v), "variable-length sequences were not decoded");
  v.vlen_values = std::vector<std::optional<std::string>>{std::string(), std::string(2, '\0')};
  EXPECT_EQ(SkipReason(v), "");
  EXPECT_EQ(Zarray(v), R"({"chunks":[2],"compressor":null,"dtype":"|O","fill_value":null,)"
                       R"("filters":[{"dtype":"<i2","id":"vlen-array"}],"order":"C","shape":[2],)"
                       R"("zarr_format":2})");
  EXPECT_TRUE(IsVlenArray(seq));
  EXPECT_FALSE(IsVlenArray(Type(Kind::kVlenString, 16, '|')));
  // Written by both writers with the elements' bytes kept (0xff is no UTF-8 and stays 0xff).
  v.vlen_values =
      std::vector<std::optional<std::string>>{std::string(), std::string("\xff\x00", 2)};
  model::VirtualDataset ds;
  ds.format = "hdf5";
  ds.paths = {"f.h5"};
  ds.groups = {model::Group{"/", {}}};
  ds.arrays = {v};
  const std::string chunk = R"("q/0":"base64:AgAAAAAAAAACAAAA/wA=")";
  std::ostringstream direct;
  ASSERT_TRUE(WriteTranslated(ds, direct).ok());
  EXPECT_NE(direct.str().find(chunk), std::string::npos) << direct.str();
  auto store = ToRefStore(ds);
  ASSERT_TRUE(store.ok());
  std::ostringstream via_store;
  ASSERT_TRUE(WriteRefStore(*store, via_store).ok());
  EXPECT_EQ(via_store.str(), direct.str());
}

TEST(Inline, TextWhenUtf8ElseBase64) {
  auto value = [](std::vector<std::uint8_t> b) {
    std::string out;
    AppendInlineValue(out, b);
    return out;
  };
  EXPECT_EQ(value({'h', 'i', '\n', 0}), R"("hi\n\u0000")");
  EXPECT_EQ(value({0xff, 0x00}), R"("base64:/wA=")");
  EXPECT_EQ(value({}), R"("")");
  // Text that would be mistaken for the base64 prefix is encoded.
  EXPECT_EQ(value({'b', 'a', 's', 'e', '6', '4', ':', 'x'}), R"("base64:YmFzZTY0Ong=")");
}

TEST(ChunkKeys, DotSeparatedAndZeroForScalars) {
  const std::uint64_t c[] = {1, 0, 12};
  EXPECT_EQ(ChunkKey("grp/v/", c), "grp/v/1.0.12");
  EXPECT_EQ(ChunkKey("s/", {}), "s/0");
}

}  // namespace
}  // namespace vz::refs
