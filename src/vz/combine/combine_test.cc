#include "vz/combine/combine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "vz/combine/time_units.h"

namespace vz::combine {
namespace {

using refs::RefArray;
using refs::RefStore;
using refs::SortedJson;

std::vector<std::uint8_t> Int32s(std::initializer_list<std::int32_t> values) {
  std::vector<std::uint8_t> out;
  for (std::int32_t v : values) {
    const auto u = static_cast<std::uint32_t>(v);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(u >> (8 * i)));
  }
  return out;
}

std::vector<std::int32_t> ToInt32s(const std::vector<std::uint8_t>& raw) {
  std::vector<std::int32_t> out(raw.size() / 4);
  std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

// A MUR-like granule: time (in memory), lat (in memory), sst (time, lat) in chunks of (1, 2).
RefStore Granule(const std::string& url, std::vector<std::int32_t> times, int ntimes_chunk = 1) {
  RefStore s;
  s.urls = {url};
  s.groups.push_back({"", {{"title", "MUR"}, {"date_created", url}}});
  const auto n = times.size();
  RefArray time;
  time.name = "time";
  time.zarray = {{"chunks", {n}},         {"compressor", nullptr}, {"dtype", "<i4"},
                 {"fill_value", nullptr}, {"filters", nullptr},    {"order", "C"},
                 {"shape", {n}},          {"zarr_format", 2}};
  time.zattrs = {{"_ARRAY_DIMENSIONS", {"time"}}, {"units", "days since 2000-01-01"}};
  time.raw = std::vector<std::uint8_t>();
  for (auto t : times) {
    auto b = Int32s({t});
    time.raw->insert(time.raw->end(), b.begin(), b.end());
  }
  RefArray lat;
  lat.name = "lat";
  lat.zarray = time.zarray;
  lat.zarray["shape"] = {4};
  lat.zarray["chunks"] = {4};
  lat.zattrs = {{"_ARRAY_DIMENSIONS", {"lat"}}};
  lat.raw = Int32s({-3, -1, 1, 3});
  RefArray sst;
  sst.name = "sst";
  sst.zarray = {{"chunks", {ntimes_chunk, 2}},
                {"compressor", nullptr},
                {"dtype", "<i2"},
                {"fill_value", -32768},
                {"filters", SortedJson::array({{{"id", "zlib"}, {"level", 4}}})},
                {"order", "C"},
                {"shape", {n, 4}},
                {"zarr_format", 2}};
  sst.zattrs = {{"_ARRAY_DIMENSIONS", {"time", "lat"}},
                {"scale_factor", 0.001},
                {"add_offset", 298.15},
                {"long_name", "sst"}};
  sst.entries.rank = 2;
  const std::size_t tchunks =
      (n + static_cast<std::size_t>(ntimes_chunk) - 1) / static_cast<std::size_t>(ntimes_chunk);
  for (std::uint32_t t = 0; t < tchunks; ++t) {
    for (std::uint32_t y = 0; y < 2; ++y) {
      const std::uint32_t c[] = {t, y};
      sst.entries.Add(c, 0, 1000 + 100 * (2 * t + y), 50);
    }
  }
  s.arrays = {time, lat, sst};
  return s;
}

CombineOptions Along(const std::string& dim) {
  CombineOptions o;
  o.concat_dim = dim;
  return o;
}

TEST(Combiner, ConcatenatesSortsAndReindexes) {
  Combiner c(Along("time"));
  ASSERT_TRUE(c.Add(Granule("b.nc", {2}), "b.nc").ok());
  ASSERT_TRUE(c.Add(Granule("a.nc", {1}), "a.nc").ok());
  ASSERT_TRUE(c.Add(Granule("c.nc", {3}), "c.nc").ok());
  auto r = c.Finish();
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  const RefArray* time = r->FindArray("time");
  EXPECT_EQ(ToInt32s(*time->raw), (std::vector<std::int32_t>{1, 2, 3}));
  EXPECT_EQ(time->Shape(), (std::vector<std::uint64_t>{3}));
  const RefArray* sst = r->FindArray("sst");
  EXPECT_EQ(sst->Shape(), (std::vector<std::uint64_t>{3, 4}));
  ASSERT_EQ(sst->entries.size(), 6u);
  // b.nc was added first but sorts second: its chunks are at time index 1.
  for (std::size_t i = 0; i < sst->entries.size(); ++i) {
    const std::string& url = r->urls[sst->entries.path_ids[i]];
    const std::uint32_t t = sst->entries.Coords(i)[0];
    EXPECT_EQ(url, std::string(1, static_cast<char>('a' + t)) + ".nc");
  }
  // Global attributes keep only what every granule agrees on.
  EXPECT_TRUE(r->groups[0].zattrs.contains("title"));
  EXPECT_FALSE(r->groups[0].zattrs.contains("date_created"));
}

TEST(Combiner, EachGranulesEtagFollowsItsUrl) {
  Combiner c(Along("time"));
  RefStore b = Granule("b.nc", {2});
  b.checksums = {"\"etag-b\""};
  RefStore local = Granule("c.nc", {3});  // a local file: no ETag
  RefStore a = Granule("a.nc", {1});
  a.checksums = {"\"etag-a\""};
  a.last_modified = {1700000000};
  ASSERT_TRUE(c.Add(std::move(b), "b.nc").ok());
  ASSERT_TRUE(c.Add(std::move(local), "c.nc").ok());
  ASSERT_TRUE(c.Add(std::move(a), "a.nc").ok());
  auto r = c.Finish();
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(r->checksums.size(), r->urls.size());
  ASSERT_EQ(r->last_modified.size(), r->urls.size());
  for (std::size_t u = 0; u < r->urls.size(); ++u) {
    const std::string& url = r->urls[u];
    EXPECT_EQ(r->checksums[u], url == "a.nc" ? "\"etag-a\"" : url == "b.nc" ? "\"etag-b\"" : "");
    EXPECT_EQ(r->last_modified[u], url == "a.nc" ? 1700000000 : 0);
  }
}

TEST(Combiner, EachCheckNamesTheGranuleAndVariable) {
  struct Case {
    const char* what;
    std::function<void(RefStore&)> spoil;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"dtype", [](RefStore& s) { s.arrays[2].zarray["dtype"] = "<i4"; }, "sst: dtype"},
      {"shape", [](RefStore& s) { s.arrays[2].zarray["shape"][1] = 5; }, "sst: shape"},
      {"chunks", [](RefStore& s) { s.arrays[2].zarray["chunks"][1] = 4; }, "sst: chunk shape"},
      {"codecs", [](RefStore& s) { s.arrays[2].zarray["filters"] = nullptr; }, "sst: codecs"},
      {"fill", [](RefStore& s) { s.arrays[2].zarray["fill_value"] = 0; }, "sst: fill value"},
      {"scale", [](RefStore& s) { s.arrays[2].zattrs["scale_factor"] = 0.01; }, "scale_factor"},
      {"offset", [](RefStore& s) { s.arrays[2].zattrs["add_offset"] = 1.0; }, "add_offset"},
      {"lat values", [](RefStore& s) { (*s.arrays[1].raw)[0] = 9; }, "lat: values differ"},
      {"missing", [](RefStore& s) { s.arrays.pop_back(); }, "sst is missing"},
      {"dims", [](RefStore& s) { s.arrays[2].zattrs["_ARRAY_DIMENSIONS"][1] = "y"; },
       "sst: dimensions"},
  };
  for (const auto& k : cases) {
    Combiner c(Along("time"));
    ASSERT_TRUE(c.Add(Granule("a.nc", {1}), "a.nc").ok());
    RefStore bad = Granule("bad.nc", {2});
    k.spoil(bad);
    Status st = c.Add(std::move(bad), "bad.nc");
    ASSERT_FALSE(st.ok()) << k.what;
    EXPECT_NE(st.error().ToString().find("bad.nc"), std::string::npos) << st.error().ToString();
    EXPECT_NE(st.error().ToString().find(k.expect), std::string::npos) << st.error().ToString();
    // A rejected granule leaves no trace: the combine still finishes with the good one.
    ASSERT_TRUE(c.Add(Granule("c.nc", {3}), "c.nc").ok());
    auto r = c.Finish();
    ASSERT_TRUE(r.ok()) << k.what << ": " << r.error().ToString();
    EXPECT_EQ(r->FindArray("sst")->Shape()[0], 2u) << k.what;
  }
}

TEST(Combiner, IdenticalVarsSkipsTheValueCheck) {
  CombineOptions o = Along("time");
  o.identical_vars = {"lat"};
  Combiner c(o);
  ASSERT_TRUE(c.Add(Granule("a.nc", {1}), "a.nc").ok());
  RefStore b = Granule("b.nc", {2});
  (*b.arrays[1].raw)[0] = 9;
  ASSERT_TRUE(c.Add(std::move(b), "b.nc").ok());
  ASSERT_TRUE(c.Finish().ok());
}

TEST(Combiner, DuplicateAndOverlappingTimesNameBothGranules) {
  Combiner c(Along("time"));
  ASSERT_TRUE(c.Add(Granule("a.nc", {1, 2}), "a.nc").ok());
  ASSERT_TRUE(c.Add(Granule("b.nc", {2, 3}), "b.nc").ok());
  auto r = c.Finish();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("b.nc: time values 2 .. 3 repeat those of a.nc"),
            std::string::npos)
      << r.error().ToString();
}

TEST(Combiner, PartialChunkFollowedByAnotherGranuleIsAnError) {
  Combiner c(Along("time"));
  ASSERT_TRUE(c.Add(Granule("a.nc", {1, 2, 3}, 2), "a.nc").ok());
  ASSERT_TRUE(c.Add(Granule("b.nc", {4, 5}, 2), "b.nc").ok());
  auto r = c.Finish();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("a.nc: variable sst has 3 values along time in chunks of 2"),
            std::string::npos)
      << r.error().ToString();
  // The same granules in the other order are fine: the partial chunk is last.
  Combiner ok(Along("time"));
  ASSERT_TRUE(ok.Add(Granule("b.nc", {1, 2}, 2), "b.nc").ok());
  ASSERT_TRUE(ok.Add(Granule("a.nc", {3, 4, 5}, 2), "a.nc").ok());
  auto r2 = ok.Finish();
  ASSERT_TRUE(r2.ok()) << r2.error().ToString();
  const RefArray* sst = r2->FindArray("sst");
  EXPECT_EQ(sst->Shape()[0], 5u);
  std::uint32_t max_t = 0;
  for (std::size_t i = 0; i < sst->entries.size(); ++i) {
    max_t = std::max(max_t, sst->entries.Coords(i)[0]);
  }
  EXPECT_EQ(max_t, 2u);  // chunks 0 (b), 1 and 2 (a)
}

TEST(Combiner, UncompressedChunksLongerThanAGranuleAreSplitIntoRows) {
  // netCDF's unlimited-dimension default: chunks of 4 records, granules of 3 and 2 records.
  auto raw = [](const std::string& url, std::vector<std::int32_t> times) {
    RefStore s = Granule(url, times, 4);
    auto& sst = s.arrays[2];
    sst.zarray["filters"] = nullptr;
    for (auto& len : sst.entries.lengths) len = 4 * 2 * 2;  // 4 rows x 2 columns x int16
    return s;
  };
  Combiner c(Along("time"));
  ASSERT_TRUE(c.Add(raw("a.nc", {1, 2, 3}), "a.nc").ok());
  ASSERT_TRUE(c.Add(raw("b.nc", {4, 5}), "b.nc").ok());
  auto r = c.Finish();
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  const RefArray* sst = r->FindArray("sst");
  EXPECT_EQ(sst->Chunks(), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(sst->Shape(), (std::vector<std::uint64_t>{5, 4}));
  ASSERT_EQ(sst->entries.size(), 10u);  // 5 rows x 2 column chunks
  for (std::size_t i = 0; i < sst->entries.size(); ++i) {
    const auto row = sst->entries.Coords(i)[0];
    const auto col = sst->entries.Coords(i)[1];
    const bool in_a = row < 3;
    EXPECT_EQ(r->urls[sst->entries.path_ids[i]], in_a ? "a.nc" : "b.nc");
    const std::uint64_t local = in_a ? row : row - 3;
    EXPECT_EQ(sst->entries.offsets[i], 1000 + 100 * (2 * 0 + col) + local * 4) << i;
    EXPECT_EQ(sst->entries.lengths[i], 4u);
  }
}

TEST(Combiner, ReencodesTimeUnitsIntoTheFirstGranules) {
  Combiner c(Along("time"));
  ASSERT_TRUE(c.Add(Granule("a.nc", {0}), "a.nc").ok());
  RefStore b = Granule("b.nc", {1});
  b.arrays[0].zattrs["units"] = "days since 2000-01-31";  // day 30 + 1
  ASSERT_TRUE(c.Add(std::move(b), "b.nc").ok());
  auto r = c.Finish();
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(ToInt32s(*r->FindArray("time")->raw), (std::vector<std::int32_t>{0, 31}));
  EXPECT_EQ(r->FindArray("time")->zattrs["units"], "days since 2000-01-01");
  // Hours that are not whole days cannot be held by an int32 "days" coordinate.
  Combiner c2(Along("time"));
  ASSERT_TRUE(c2.Add(Granule("a.nc", {0}), "a.nc").ok());
  RefStore h = Granule("h.nc", {5});
  h.arrays[0].zattrs["units"] = "hours since 2000-01-02";
  Status st = c2.Add(std::move(h), "h.nc");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().ToString().find("h.nc: variable time"), std::string::npos);
}

TEST(Combiner, NewDimensionFromAGlobalAttribute) {
  CombineOptions o;
  o.new_dim = "granule";
  o.granule_coord = "attr:date_created";
  Combiner c(o);
  ASSERT_TRUE(c.Add(Granule("2.nc", {1}), "2.nc").ok());
  ASSERT_TRUE(c.Add(Granule("1.nc", {1}), "1.nc").ok());
  auto r = c.Finish();
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  const RefArray* g = r->FindArray("granule");
  ASSERT_TRUE(g != nullptr && g->strings.has_value());
  EXPECT_EQ(*(*g->strings)[0], "1.nc");
  EXPECT_EQ(*(*g->strings)[1], "2.nc");
  const RefArray* sst = r->FindArray("sst");
  EXPECT_EQ(sst->Shape(), (std::vector<std::uint64_t>{2, 1, 4}));
  EXPECT_EQ(sst->Chunks(), (std::vector<std::uint64_t>{1, 1, 2}));
  EXPECT_EQ(sst->Dims(), (std::vector<std::string>{"granule", "time", "lat"}));
  EXPECT_EQ(r->FindArray("time")->Shape(), (std::vector<std::uint64_t>{1}));
  // lat is a dimension coordinate: taken once, not stacked.
  EXPECT_EQ(r->FindArray("lat")->Shape(), (std::vector<std::uint64_t>{4}));
  CombineOptions bad = o;
  bad.granule_coord = "attr:nope";
  Combiner c3(bad);
  Status st = c3.Add(Granule("x.nc", {1}), "x.nc");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().ToString().find("x.nc: no global attribute nope"), std::string::npos);
  EXPECT_FALSE(ValidateGranuleCoord("regex:(").ok());
  EXPECT_FALSE(ValidateGranuleCoord("file").ok());
}

TEST(TimeUnits, ParsesCfForms) {
  auto a = ParseTimeUnits("seconds since 1981-01-01 00:00:00 UTC");
  ASSERT_TRUE(a);
  EXPECT_DOUBLE_EQ(a->epoch, 347155200.0);
  EXPECT_DOUBLE_EQ(a->seconds_per_unit, 1.0);
  auto b = ParseTimeUnits("days since 2002-04-01");
  ASSERT_TRUE(b);
  EXPECT_DOUBLE_EQ(b->epoch, 1017619200.0);
  auto c = ParseTimeUnits("hours since 2020-01-01T06:30:00Z");
  ASSERT_TRUE(c);
  EXPECT_DOUBLE_EQ(c->epoch, 1577836800.0 + 6.5 * 3600);
  auto d = ParseTimeUnits("minutes since 2020-01-01 00:00:00 +01:00");
  ASSERT_TRUE(d);
  EXPECT_DOUBLE_EQ(d->epoch, 1577836800.0 - 3600);
  EXPECT_DOUBLE_EQ(Reencode(1, *b, *a), (1017619200.0 + 86400 - 347155200.0));
  for (const char* bad : {"months since 2000-01-01", "days", "days since yesterday",
                          "days since 2000-13-01", "days since 2000-01-01 junk"}) {
    EXPECT_FALSE(ParseTimeUnits(bad)) << bad;
  }
}

}  // namespace
}  // namespace vz::combine
