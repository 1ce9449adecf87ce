#include "vz/app/catalog.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace vz::app {
namespace {

const std::string kFixtures = std::string(VZ_SOURCE_DIR) + "/../shared/fixtures/cmr/";

std::string ReadFixture(const std::string& name) {
  std::ifstream f(kFixtures + name);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(Catalog, DatesInTheSeedFormAndIso) {
  EXPECT_EQ(*CmrTime("1-1-2022", false), "2022-01-01T00:00:00Z");
  EXPECT_EQ(*CmrTime("12-31-2022", true), "2022-12-31T23:59:59Z");
  EXPECT_EQ(*CmrTime("2022-02-03", true), "2022-02-03T23:59:59Z");
  EXPECT_EQ(*CmrTime("2022-02-03T06:30:00Z", true), "2022-02-03T06:30:00Z");
  EXPECT_EQ(*CmrTime("2-29-2024", false), "2024-02-29T00:00:00Z");
  for (const char* bad : {"2-29-2023", "13-1-2022", "yesterday", "2022/01/01", "1-1-22",
                          "2022-01-01T25:00:00Z", ""}) {
    auto r = CmrTime(bad, false);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(Catalog, SearchUrlIsExact) {
  JobConfig c;
  c.collection = "MUR-JPL-L4-GLOB-v4.1";
  EXPECT_EQ(*GranuleSearchUrl("http://cmr.test/search/", c),
            "http://cmr.test/search/granules.umm_json?short_name=MUR-JPL-L4-GLOB-v4.1"
            "&sort_key%5B%5D=start_date&page_size=2000");
  c.start_date = "1-1-2022";
  c.end_date = "12-31-2022";
  EXPECT_EQ(
      *GranuleSearchUrl("", c),
      "https://cmr.earthdata.nasa.gov/search/granules.umm_json?short_name="
      "MUR-JPL-L4-GLOB-v4.1&temporal%5B%5D=2022-01-01T00%3A00%3A00Z%2C2022-12-31T23%3A59%3A59Z"
      "&sort_key%5B%5D=start_date&page_size=2000");
  c.end_date = "";
  EXPECT_NE(GranuleSearchUrl("", c)->find("temporal%5B%5D=2022-01-01T00%3A00%3A00Z%2C&"),
            std::string::npos);
  JobConfig f;
  f.collection = "SWOT_L2_LR_SSH_Expert_2.0";
  f.provider = "POCLOUD";
  f.granule_names = {"*PIC0*", "*PGC0*"};
  f.bounding_box = "-95.19,30.59,-94.99,30.79";
  EXPECT_EQ(
      *GranuleSearchUrl("http://c/search", f),
      "http://c/search/granules.umm_json?short_name=SWOT_L2_LR_SSH_Expert_2.0"
      "&provider=POCLOUD&readable_granule_name%5B%5D=%2APIC0%2A"
      "&readable_granule_name%5B%5D=%2APGC0%2A"
      "&options%5Breadable_granule_name%5D%5Bpattern%5D=true"
      "&bounding_box=-95.19%2C30.59%2C-94.99%2C30.79&sort_key%5B%5D=start_date&page_size=2000");
  f.bounding_box = "10,20,30";
  EXPECT_FALSE(GranuleSearchUrl("", f).ok());
  c.end_date = "1-1-2021";
  auto reversed = GranuleSearchUrl("", c);
  ASSERT_FALSE(reversed.ok());
  EXPECT_NE(reversed.error().ToString().find("after END_DATE"), std::string::npos);
}

TEST(Catalog, PicksTheNetcdfFileAndItsLinksFromRecordedPages) {
  if (!std::filesystem::exists(kFixtures)) GTEST_SKIP() << "shared fixtures not present";
  auto tellus =
      ParseGranulePage(ReadFixture("granules_TELLUS_GRAC_L3_JPL_RL06_LND_v04_page_size_2000.json"));
  ASSERT_TRUE(tellus.ok()) << tellus.error().ToString();
  ASSERT_EQ(tellus->granules.size(), 163u);  // one .nc per granule, not the .tif or .txt
  const auto& g = tellus->granules[0];
  EXPECT_EQ(g.name, "GRD-3_2002094-2002120_GRAC_JPLEM_BA01_0600_LND_v04.nc");
  EXPECT_EQ(g.s3_url,
            "s3://podaac-ops-cumulus-protected/TELLUS_GRAC_L3_JPL_RL06_LND_v04/"
            "GRD-3_2002094-2002120_GRAC_JPLEM_BA01_0600_LND_v04.nc");
  EXPECT_EQ(
      g.https_url,
      "https://archive.podaac.earthdata.nasa.gov/podaac-ops-cumulus-protected/"
      "TELLUS_GRAC_L3_JPL_RL06_LND_v04/GRD-3_2002094-2002120_GRAC_JPLEM_BA01_0600_LND_v04.nc");
  EXPECT_EQ(g.begin, "2002-04-04T00:00:00.000Z");
  EXPECT_EQ(g.size, 1098347u);
  EXPECT_EQ(g.checksum, "MD5:cdb8ba3cff9617e88b3da89b5c84dc25");
  EXPECT_EQ(tellus->s3_credentials_url, "https://archive.podaac.earthdata.nasa.gov/s3credentials");

  auto swot = ParseGranulePage(
      ReadFixture("granules_SWOT_L2_HR_RiverSP_2.0_revision_date_page_size_62.json"));
  ASSERT_TRUE(swot.ok()) << swot.error().ToString();
  EXPECT_TRUE(swot->granules.empty());  // shapefile zips: nothing vzgen can read
  EXPECT_EQ(swot->without_data.size(), 62u);

  auto empty = ParseGranulePage(ReadFixture("granules_OPERA_DSWX_bbox_temporal_zero_hits.json"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->granules.empty());
  EXPECT_FALSE(ParseGranulePage("<html>").ok());
  EXPECT_FALSE(ParseGranulePage("{\"hits\": 1}").ok());
}

}  // namespace
}  // namespace vz::app
