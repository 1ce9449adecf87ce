// The DMR++ parser on small documents written to show one feature each (in the form build_dmrpp
// writes them), on malformed ones, and on every real sidecar of ../shared/corpus. That the
// references it makes equal the granule's is tested end to end (tests/e2e/dmrpp_test.py).
#include "vz/dmrpp/reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace vz::dmrpp {
namespace {

using model::DType;
using Kind = DType::Kind;

const std::string kRoot = VZ_SOURCE_DIR;

std::string Doc(const std::string& body, const std::string& name = "g.h5",
                const std::string& version = " dmrpp:version=\"3.21.1\"") {
  return "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
         "<Dataset xmlns=\"http://xml.opendap.org/ns/DAP/4.0#\" "
         "xmlns:dmrpp=\"http://xml.opendap.org/dap/dmrpp/1.0.0#\" dapVersion=\"4.0\" "
         "dmrVersion=\"1.0\" name=\"" +
         name + "\" dmrpp:href=\"OPeNDAP_DMRpp_DATA_ACCESS_URL\"" + version + ">\n" + body +
         "\n</Dataset>\n";
}

Result<Sidecar> Parse(const std::string& xml) {
  ReadOptions o;
  o.data_url = "https://host/g.h5";
  o.sidecar_url = "https://host/g.h5.dmrpp";
  return Read(xml, o);
}

const model::Array& Only(const Sidecar& s) {
  EXPECT_EQ(s.dataset.arrays.size(), 1u);
  return s.dataset.arrays.at(0);
}

TEST(Dmrpp, ChunkedWithFiltersDimsAndAttributes) {
  auto s = Parse(Doc(R"(
  <Dimension name="time" size="1"/><Dimension name="lat" size="3"/>
  <Int16 name="sst">
    <Dim name="/time"/><Dim name="/lat"/>
    <Attribute name="_FillValue" type="Int16"><Value>-32768</Value></Attribute>
    <Attribute name="scale_factor" type="Float64"><Value>0.001</Value></Attribute>
    <Attribute name="valid_range" type="Float32"><Value>0.1</Value><Value>2</Value></Attribute>
    <Attribute name="units" type="String"><Value>kelvin</Value></Attribute>
    <dmrpp:chunks compressionType="deflate shuffle" deflateLevel="4" fillValue="-32768" byteOrder="BE">
      <dmrpp:chunkDimensionSizes>1 2</dmrpp:chunkDimensionSizes>
      <dmrpp:chunk offset="100" nBytes="10" chunkPositionInArray="[0,0]"/>
      <dmrpp:chunk offset="110" nBytes="12" chunkPositionInArray="[0,2]" fm="0x1"/>
    </dmrpp:chunks>
  </Int16>)"));
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_TRUE(s->gaps.empty());
  EXPECT_EQ(s->dataset.paths, std::vector<std::string>{"https://host/g.h5"});
  const auto& a = Only(*s);
  EXPECT_EQ(a.path, "/sst");
  EXPECT_EQ(a.dtype.NumpyStr(), ">i2");
  EXPECT_EQ(a.shape, (std::vector<std::uint64_t>{1, 3}));
  EXPECT_EQ(a.chunk_shape, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(a.dims, (std::vector<std::string>{"time", "lat"}));
  EXPECT_EQ(a.layout, model::Layout::kChunked);
  // Shuffle runs first on write, whatever order compressionType lists.
  ASSERT_EQ(a.filters.size(), 2u);
  EXPECT_EQ(a.filters[0].id, 2);
  EXPECT_EQ(a.filters[0].client_data, std::vector<std::uint32_t>{2});
  EXPECT_EQ(a.filters[1].id, 1);
  EXPECT_EQ(a.filters[1].client_data, std::vector<std::uint32_t>{4});
  ASSERT_EQ(a.manifest.size(), 2u);
  EXPECT_EQ(a.manifest.coords, (std::vector<std::uint64_t>{0, 0, 0, 1}));
  EXPECT_EQ(a.manifest.offsets, (std::vector<std::uint64_t>{100, 110}));
  EXPECT_EQ(a.manifest.lengths, (std::vector<std::uint64_t>{10, 12}));
  EXPECT_EQ(a.manifest.filter_masks, (std::vector<std::uint32_t>{0, 1}));
  EXPECT_EQ(*a.fill_value, (std::vector<std::uint8_t>{0x80, 0x00}));  // big-endian -32768
  ASSERT_EQ(a.attributes.size(), 4u);
  EXPECT_EQ(a.attributes[0].value, -32768);
  EXPECT_EQ(a.attributes[1].value, 0.001);
  // Float32 values are the nearest float, as h5py widens them.
  EXPECT_EQ(a.attributes[2].value[0].get<double>(), static_cast<double>(0.1f));
  EXPECT_EQ(a.attributes[3].value, "kelvin");
}

TEST(Dmrpp, FilterOrder) {
  const std::pair<const char*, std::vector<std::uint16_t>> cases[] = {
      {"deflate shuffle", {2, 1}},
      {"shuffle deflate", {2, 1}},
      {"fletcher32 shuffle deflate", {3, 2, 1}},  // netCDF-C's pipeline
      {"shuffle deflate fletcher32", {2, 1, 3}},  // h5py's
      {"deflate shuffle fletcher32", {2, 1, 3}},
      {"shuffle deflate deflate", {2, 1, 1}},
  };
  for (const auto& [tokens, want] : cases) {
    auto s = Parse(Doc(
        std::string(
            R"(<Int16 name="a"><Dim size="4"/><dmrpp:chunks byteOrder="LE" compressionType=")") +
        tokens + R"("><dmrpp:chunkDimensionSizes>4</dmrpp:chunkDimensionSizes>
        <dmrpp:chunk offset="1" nBytes="9" chunkPositionInArray="[0]"/></dmrpp:chunks></Int16>)"));
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    std::vector<std::uint16_t> got;
    for (const auto& f : Only(*s).filters) got.push_back(f.id);
    EXPECT_EQ(got, want) << tokens;
  }
}

TEST(Dmrpp, ContiguousPiecesJoinAndGroupsNest) {
  auto s = Parse(Doc(R"(
  <Attribute name="title" type="String"><Value>t</Value></Attribute>
  <Group name="g1">
    <Dimension name="x" size="4"/>
    <Int32 name="x"><Dim name="/g1/x"/>
      <dmrpp:chunks byteOrder="LE">
        <dmrpp:chunk offset="50" nBytes="8"/><dmrpp:chunk offset="58" nBytes="8"/>
      </dmrpp:chunks>
    </Int32>
    <Float64 name="v"><Dim name="x"/></Float64>
  </Group>)"));
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  ASSERT_EQ(s->dataset.groups.size(), 2u);
  EXPECT_EQ(s->dataset.groups[1].path, "/g1");
  EXPECT_EQ(s->dataset.groups[0].attributes.at(0).value, "t");
  ASSERT_EQ(s->dataset.arrays.size(), 2u);
  const auto& x = s->dataset.arrays[0];
  EXPECT_EQ(x.layout, model::Layout::kContiguous);
  EXPECT_TRUE(x.is_dimension_scale);
  EXPECT_EQ(x.dims, std::vector<std::string>{"g1/x"});
  EXPECT_EQ(x.manifest.offsets, std::vector<std::uint64_t>{50});
  EXPECT_EQ(x.manifest.lengths, std::vector<std::uint64_t>{16});
  // A relative Dim name is found in the enclosing groups; no storage: never written.
  const auto& v = s->dataset.arrays[1];
  EXPECT_EQ(v.dims, std::vector<std::string>{"g1/x"});
  EXPECT_EQ(v.manifest.size(), 0u);
}

TEST(Dmrpp, CompactMissingDataAndStrings) {
  auto s = Parse(Doc(R"(
  <Int64 name="c"><Dim size="2"/><dmrpp:compact>AQAAAAAAAAACAAAAAAAAAA==</dmrpp:compact></Int64>
  <Float32 name="m"><Dim size="2"/><dmrpp:missingdata>eJxjYIAAAAAIAAE=</dmrpp:missingdata></Float32>
  <String name="vs"><Dim size="2"/><dmrpp:vlsa><v>apple</v><v></v></dmrpp:vlsa></String>
  <String name="fs"><Dim size="3"/>
    <dmrpp:chunks fillValue=""><dmrpp:chunk offset="10" nBytes="12"/></dmrpp:chunks>
    <dmrpp:FixedLengthStringArray string_length="4" pad="null_pad"/></String>
  <String name="old"><Dim size="4"/><dmrpp:chunks><dmrpp:chunk offset="9" nBytes="16"/></dmrpp:chunks></String>
  <String name="heap"><Dim size="4"/><dmrpp:chunks><dmrpp:chunk offset="9" nBytes="64"/></dmrpp:chunks></String>)"));
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  const auto& arrays = s->dataset.arrays;
  ASSERT_EQ(arrays.size(), 6u);
  EXPECT_EQ(arrays[0].layout, model::Layout::kCompact);
  EXPECT_EQ(arrays[0].compact_data.size(), 16u);
  EXPECT_EQ(arrays[0].compact_data[8], 2);
  // missingdata: one embedded zlib chunk.
  EXPECT_EQ(arrays[1].filters.at(0).id, 1);
  EXPECT_EQ(arrays[1].manifest.inline_data.count(0), 1u);
  EXPECT_EQ(arrays[2].dtype.kind, Kind::kVlenString);
  EXPECT_EQ(*arrays[2].vlen_values, (std::vector<std::optional<std::string>>{"apple", ""}));
  EXPECT_EQ(arrays[3].dtype.NumpyStr(), "|S4");
  EXPECT_EQ(*arrays[3].fill_value, std::vector<std::uint8_t>(4, 0));
  // An old sidecar's String: 4 bytes an element can only be fixed-length; 16 could be heap
  // references of variable-length strings, which the sidecar cannot tell apart: a gap.
  EXPECT_EQ(arrays[4].dtype.NumpyStr(), "|S4");
  EXPECT_TRUE(arrays[4].unsupported.empty());
  EXPECT_FALSE(arrays[5].unsupported.empty());
  ASSERT_EQ(s->gaps.size(), 1u);
  EXPECT_NE(s->gaps[0].find("/heap"), std::string::npos);
}

TEST(Dmrpp, WhatItCannotExpressIsAGapNamingTheVariable) {
  auto s = Parse(Doc(R"(
  <Structure name="st"><Int32 name="a"/><dmrpp:chunks fillValue="0"/></Structure>
  <Int64 name="e"><Attribute name="A1" type="null"><Value>UNKNOWN</Value></Attribute>
    <dmrpp:chunks byteOrder="LE"><dmrpp:chunk offset="1" nBytes="8"/></dmrpp:chunks></Int64>
  <Int32 name="z"><Dim size="4"/><dmrpp:chunks byteOrder="LE" compressionType="szip"><dmrpp:chunkDimensionSizes>4</dmrpp:chunkDimensionSizes>
    <dmrpp:chunk offset="1" nBytes="8" chunkPositionInArray="[0]"/></dmrpp:chunks></Int32>)"));
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  ASSERT_EQ(s->gaps.size(), 3u);
  EXPECT_NE(s->gaps[0].find("/st"), std::string::npos);
  EXPECT_NE(s->gaps[0].find("Structure"), std::string::npos);
  EXPECT_NE(s->gaps[1].find("attribute A1 of /e"), std::string::npos);
  EXPECT_NE(s->gaps[2].find("szip"), std::string::npos);
  EXPECT_FALSE(s->dataset.arrays[0].unsupported.empty());
  EXPECT_TRUE(s->dataset.arrays[1].attributes.empty());
  EXPECT_FALSE(s->dataset.arrays[2].unsupported.empty());
}

// What older build_dmrpp left unsaid: the byte order, and whether an Int16 is really int8.
// Both are gaps (auto reads the granule), said once per sidecar.
TEST(Dmrpp, OlderSidecarsAreGaps) {
  auto s = Parse(Doc(R"(
  <Int16 name="mask"><Dim size="2"/><dmrpp:chunks><dmrpp:chunk offset="1" nBytes="4"/></dmrpp:chunks></Int16>
  <Int16 name="sst"><Dim size="2"/><dmrpp:chunks><dmrpp:chunk offset="5" nBytes="4"/></dmrpp:chunks></Int16>)",
                     "g.h5", ""));
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  ASSERT_EQ(s->gaps.size(), 2u);
  EXPECT_NE(s->gaps[0].find("no byteOrder"), std::string::npos);
  EXPECT_NE(s->gaps[1].find("declared int8 data as Int16"), std::string::npos);
  EXPECT_EQ(s->dataset.warnings, s->gaps);
  EXPECT_EQ(s->dataset.arrays[1].dtype.NumpyStr(), "<i2");
  EXPECT_TRUE(s->dataset.arrays[1].unsupported.empty());
}

TEST(Dmrpp, HyraxAdditionsAreLeftOutAndNetcdfIsRecognised) {
  auto s = Parse(Doc(R"(
  <Dimension name="time" size="0"/>
  <Int32 name="time"><Dim name="/time"/>
    <Attribute name="origname" type="String"><Value>time</Value></Attribute>
    <Attribute name="fullnamepath" type="String"><Value>/time</Value></Attribute>
    <dmrpp:chunks fillValue="-1" byteOrder="LE"><dmrpp:chunkDimensionSizes>1</dmrpp:chunkDimensionSizes></dmrpp:chunks>
  </Int32>
  <Attribute name="DODS_EXTRA" type="Container">
    <Attribute name="Unlimited_Dimension" type="String"><Value>time</Value></Attribute></Attribute>
  <Attribute name="build_dmrpp_metadata" type="Container">
    <Attribute name="bes" type="String"><Value>3.21</Value></Attribute></Attribute>)",
                     "g.nc"));
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(s->dataset.format, "netcdf4");
  EXPECT_TRUE(s->dataset.groups[0].attributes.empty());
  const auto& t = Only(*s);
  EXPECT_TRUE(t.attributes.empty());
  EXPECT_TRUE(t.netcdf_variable);
  EXPECT_EQ(t.max_shape, std::vector<std::uint64_t>{model::Array::kUnlimited});
  EXPECT_EQ(s->dataset.warnings.size(), 0u);
}

TEST(Dmrpp, MalformedXmlNamesTheFileAndLine) {
  auto s =
      Parse("<?xml version=\"1.0\"?>\n<Dataset name=\"x\">\n  <Int32 name=\"a\">\n</Dataset>\n");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(s.error().message().find("https://host/g.h5.dmrpp line 4: malformed XML"),
            std::string::npos)
      << s.error().message();
  auto root = Parse("<?xml version=\"1.0\"?>\n<html/>");
  ASSERT_FALSE(root.ok());
  EXPECT_NE(root.error().message().find("not a DMR++ document"), std::string::npos);
  // No entity is expanded (no billion laughs, no external files).
  auto ent = Parse(
      "<?xml version=\"1.0\"?>\n<!DOCTYPE d [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>\n"
      "<Dataset name=\"x\"><Attribute name=\"a\" type=\"String\"><Value>&e;</Value></Attribute>"
      "</Dataset>");
  if (ent.ok()) {
    const auto& v = ent->dataset.groups[0].attributes;
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].value.get<std::string>().find("root:"), std::string::npos);
  }
}

TEST(Dmrpp, ImpossibleValuesAreErrorsWithTheLine) {
  struct Case {
    std::string body;
    std::string words;
  };
  const Case cases[] = {
      {R"(<Int32 name="a"><Dim name="/nope"/></Int32>)", "names dimension /nope, which is not"},
      {R"(<Int32 name="a"><Dim size="-3"/></Int32>)", "is not a count"},
      {R"(<Int32 name="a"><Dim size="4"/><dmrpp:chunks><dmrpp:chunkDimensionSizes>2</dmrpp:chunkDimensionSizes>
        <dmrpp:chunk offset="1" nBytes="2" chunkPositionInArray="[1]"/></dmrpp:chunks></Int32>)",
       "is not the corner of a chunk"},
      {R"(<Int32 name="a"><Dim size="4"/><dmrpp:chunks><dmrpp:chunkDimensionSizes>2 2</dmrpp:chunkDimensionSizes></dmrpp:chunks></Int32>)",
       "has 1 dimensions but 2 chunk sizes"},
      {R"(<Int32 name="a"><dmrpp:chunks><dmrpp:chunk offset="18446744073709551615" nBytes="2"/></dmrpp:chunks></Int32>)",
       "ends past 2^64"},
      {R"(<Int8 name="a"><dmrpp:chunks fillValue="300"/></Int8>)", "fillValue '300'"},
      {R"(<Int8 name="a"><Attribute name="n" type="Int8"><Value>x</Value></Attribute></Int8>)",
       "'x' is not a Int8"},
      {R"(<Int64 name="a"><Dim size="2"/><dmrpp:compact>AQ==</dmrpp:compact></Int64>)",
       "holds 1 bytes, not the 16"},
      {R"(<String name="a"><Dim size="2"/><dmrpp:vlsa><v>x</v></dmrpp:vlsa></String>)",
       "has 2 elements but dmrpp:vlsa holds 1"},
  };
  for (const auto& c : cases) {
    auto s = Parse(Doc(c.body));
    ASSERT_FALSE(s.ok()) << c.body;
    EXPECT_NE(s.error().message().find(c.words), std::string::npos) << s.error().message();
    EXPECT_NE(s.error().message().find("g.h5.dmrpp line "), std::string::npos)
        << s.error().message();
  }
}

TEST(Dmrpp, LimitsHold) {
  ReadOptions o;
  o.sidecar_url = "s.dmrpp";
  o.limits.max_chunks_per_array = 1;
  auto s = Read(
      Doc(R"(<Int8 name="a"><Dim size="2"/><dmrpp:chunks><dmrpp:chunkDimensionSizes>1</dmrpp:chunkDimensionSizes>
      <dmrpp:chunk offset="1" nBytes="1" chunkPositionInArray="[0]"/>
      <dmrpp:chunk offset="2" nBytes="1" chunkPositionInArray="[1]"/></dmrpp:chunks></Int8>)"),
      o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kLimit);
}

TEST(Dmrpp, LooksLike) {
  auto yes = [](const char* s) {
    return LooksLikeDmrpp(std::span(reinterpret_cast<const std::uint8_t*>(s), std::strlen(s)));
  };
  EXPECT_TRUE(yes("<?xml version"));
  EXPECT_TRUE(yes("\n  <Dataset "));
  EXPECT_FALSE(yes("\x89HDF\r\n"));
}

// Every sidecar of the corpus parses; gaps are allowed (and name a variable), errors are not.
TEST(Dmrpp, EveryCorpusSidecarParses) {
  const std::filesystem::path corpus = kRoot + "/../shared/corpus";
  if (!std::filesystem::exists(corpus)) GTEST_SKIP() << "no ../shared/corpus";
  int seen = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(corpus)) {
    if (e.path().extension() != ".dmrpp") continue;
    std::ifstream in(e.path(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ReadOptions o;
    o.sidecar_url = e.path().string();
    o.data_url = e.path().string().substr(0, e.path().string().size() - 6);
    auto s = Read(text, o);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    EXPECT_FALSE(s->dataset.groups.empty());
    for (const auto& g : s->gaps) EXPECT_NE(g.find("line "), std::string::npos) << g;
    ++seen;
  }
  EXPECT_GE(seen, 20);
}

}  // namespace
}  // namespace vz::dmrpp
