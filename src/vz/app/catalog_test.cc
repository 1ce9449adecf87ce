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
  for (const char* bad :
       {"2-29-2023", "13-1-2022", "yesterday", "2022/01/01", "1-1-22", "2022-01-01T25:00:00Z", "",
        // found by fuzzing: numbers too large for an int used to throw
        "2025-0522222222222222222222222222222222-24T06:00:00Z", "2022-01-99999999999999999999",
        "2022-01-01T99999999999999999999:00Z"}) {
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

TEST(Catalog, ProfileSearchesAreCheckedAndIntersectedWithTheRun) {
  // SWOT-like: reprocessed (PGC/PIC) granules up to a date, forward-processed (PGD/PID) after.
  auto parts = ParseSearchProfile(R"({"searches": [
      {"granule_names": ["*_PIC0_*", "*_PGC0_*"], "end": "2024-05-01"},
      {"granule_names": ["*_PID0_*", "*_PGD0_*"], "start": "5-2-2024"}]})");
  ASSERT_TRUE(parts.ok()) << parts.error().ToString();
  ASSERT_EQ(parts->size(), 2U);
  EXPECT_EQ((*parts)[0].end, "2024-05-01T23:59:59Z");
  EXPECT_EQ((*parts)[1].start, "2024-05-02T00:00:00Z");

  JobConfig c;
  c.collection = "SWOT_L2_LR_SSH_Basic_2.0";
  c.start_date = "1-1-2024";
  c.end_date = "12-31-2024";
  c.searches = *parts;
  auto plan = PlanSearches(c);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->size(), 2U);
  EXPECT_EQ((*plan)[0].start_date, "2024-01-01T00:00:00Z");
  EXPECT_EQ((*plan)[0].end_date, "2024-05-01T23:59:59Z");
  EXPECT_EQ((*plan)[0].granule_names, (std::vector<std::string>{"*_PIC0_*", "*_PGC0_*"}));
  EXPECT_EQ((*plan)[1].start_date, "2024-05-02T00:00:00Z");
  EXPECT_EQ((*plan)[1].end_date, "2024-12-31T23:59:59Z");
  EXPECT_TRUE((*plan)[1].searches.empty());
  EXPECT_EQ(*GranuleSearchUrl("http://c/search", (*plan)[1]),
            "http://c/search/granules.umm_json?short_name=SWOT_L2_LR_SSH_Basic_2.0"
            "&readable_granule_name%5B%5D=%2A_PID0_%2A&readable_granule_name%5B%5D=%2A_PGD0_%2A"
            "&options%5Breadable_granule_name%5D%5Bpattern%5D=true&temporal%5B%5D="
            "2024-05-02T00%3A00%3A00Z%2C2024-12-31T23%3A59%3A59Z&sort_key%5B%5D=start_date"
            "&page_size=2000");

  // A run that ends before the second period searches only the first.
  c.end_date = "3-1-2024";
  plan = PlanSearches(c);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->size(), 1U);
  EXPECT_EQ((*plan)[0].end_date, "2024-03-01T23:59:59Z");
  // No run dates: each search keeps its own window; no profile: the run itself.
  c.start_date.clear();
  c.end_date.clear();
  plan = PlanSearches(c);
  ASSERT_EQ(plan->size(), 2U);
  EXPECT_EQ((*plan)[0].start_date, "");
  EXPECT_EQ((*plan)[1].end_date, "");
  c.searches.clear();
  c.granule_names = {"*x*"};
  plan = PlanSearches(c);
  ASSERT_EQ(plan->size(), 1U);
  EXPECT_EQ((*plan)[0].granule_names, c.granule_names);

  for (const auto& [text, says] : std::vector<std::pair<std::string, std::string>>{
           {"[]", "not a JSON object"},
           {"{\"search\": []}", "unknown key 'search'"},
           {"{\"searches\": []}", "non-empty list"},
           {R"({"searches": [{"granule_name": ["a"]}]})",
            "unknown key 'granule_name' in searches[0]"},
           {R"({"searches": [{"granule_names": "a"}]})", "searches[0].granule_names is not a list"},
           {R"({"searches": [{}, {"start": "31-12-2024"}]})", "searches[1].start"},
           {R"({"searches": [{"start": "2024-02-01", "end": "2024-01-01"}]})", "is after end"},
       }) {
    auto r = ParseSearchProfile(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.error().ToString().find(says), std::string::npos) << r.error().ToString();
  }
  auto missing = LoadSearchProfile("/nonexistent/profile.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().ToString().find("/nonexistent/profile.json"), std::string::npos);
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

// Members of unexpected JSON types (found by fuzzing: nlohmann's value() throws on them) are
// read as absent, never as a crash.
TEST(Catalog, MembersOfTheWrongTypeAreAbsent) {
  for (const char* page :
       {R"({"items": [[1, 2], 3, "x", null]})",
        R"({"items": [{"umm": []}, {"umm": {"DataGranule": [], "RelatedUrls": {}}}]})",
        R"({"items": [{"umm": {"TemporalExtent": [], "SpatialExtent": {"HorizontalSpatialDomain":
            {"Track": {"Passes": 7, "Cycle": "c"}}},
            "DataGranule": {"ArchiveAndDistributionInformation": [7, {"Name": 3}]}}}]})"}) {
    auto r = ParseGranulePage(page);
    ASSERT_TRUE(r.ok()) << page << ": " << r.error().ToString();
    EXPECT_TRUE(r->granules.empty()) << page;
  }
}

}  // namespace
}  // namespace vz::app
