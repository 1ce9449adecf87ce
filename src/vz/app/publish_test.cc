#include "vz/app/publish.h"

#include <gtest/gtest.h>

namespace vz::app {
namespace {

TEST(Publish, HttpsTwinFollowsTheSeedHostMap) {
  EXPECT_EQ(*HttpsTwinUrl("s3://podaac-ops-cumulus-protected/MUR-JPL-L4-GLOB-v4.1/a.nc"),
            "https://archive.podaac.earthdata.nasa.gov/podaac-ops-cumulus-protected/"
            "MUR-JPL-L4-GLOB-v4.1/a.nc");
  EXPECT_EQ(*HttpsTwinUrl("s3://podaac-swot-ops-cumulus-protected/SWOT_L2/b.nc"),
            "https://archive.swot.podaac.earthdata.nasa.gov/podaac-swot-ops-cumulus-protected/"
            "SWOT_L2/b.nc");
  EXPECT_EQ(*HttpsTwinUrl("s3://podaac-swot-ops-cumulus-public/x/c.nc"),
            "https://archive.swot.podaac.earthdata.nasa.gov/podaac-swot-ops-cumulus-public/x/c.nc");
  EXPECT_EQ(*S3TwinUrl("https://archive.podaac.earthdata.nasa.gov/podaac-ops-cumulus-protected/"
                       "M/a.nc"),
            "s3://podaac-ops-cumulus-protected/M/a.nc");
  for (const char* bad : {"s3://", "s3://bucket", "s3://bucket/", "http://x/y/z", "/tmp/a.nc"}) {
    EXPECT_FALSE(HttpsTwinUrl(bad).ok()) << bad;
  }
  EXPECT_EQ(*S3TwinUrl("http://127.0.0.1:8080/bucket/dir/a.nc"), "s3://bucket/dir/a.nc");
  for (const char* bad : {"https://host", "https://host/bucket", "s3://b/k", "/data/a.nc"}) {
    EXPECT_FALSE(S3TwinUrl(bad).ok()) << bad;
  }
}

TEST(Publish, TwinStoresShareEverythingButUrls) {
  refs::RefStore s;
  s.urls = {"s3://podaac-ops-cumulus-protected/M/a.nc", "s3://podaac-ops-cumulus-protected/M/b.nc"};
  s.groups.push_back({"", {{"title", "t"}}});
  auto https = WithTwinUrls(s, "https");
  ASSERT_TRUE(https.ok());
  EXPECT_EQ(https->urls[1],
            "https://archive.podaac.earthdata.nasa.gov/podaac-ops-cumulus-protected/M/b.nc");
  EXPECT_EQ(https->groups[0].zattrs, s.groups[0].zattrs);
  auto back = WithTwinUrls(*https, "s3");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->urls, s.urls);
  refs::RefStore local;
  local.urls = {"/data/a.nc"};
  auto fail = WithTwinUrls(local, "https");
  ASSERT_FALSE(fail.ok());
  EXPECT_NE(fail.error().ToString().find("/data/a.nc"), std::string::npos);
}

TEST(Publish, StoreNamesAsTheSeedWritesThem) {
  EXPECT_EQ(StoreFileName("MUR-JPL-L4-GLOB-v4.1", "", "", "s3"),
            "MUR-JPL-L4-GLOB-v4.1_virtual_s3.json");
  EXPECT_EQ(StoreFileName("MUR", "1-1-2022", "12-31-2022", "https"),
            "MUR_1-1-2022_to_12-31-2022_virtual_https.json");
  EXPECT_EQ(StoreFileName("MUR", "1-1-2022", "", "s3"), "MUR_1-1-2022_to_present_virtual_s3.json");
  EXPECT_EQ(StoreFileName("MUR", "", "12-31-2022", "s3"),
            "MUR_beginning_to_12-31-2022_virtual_s3.json");
}

}  // namespace
}  // namespace vz::app
