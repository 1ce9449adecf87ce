#include "vz/app/job_config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "vz/app/build.h"

namespace vz::app {
namespace {

Result<JobConfig> From(std::map<std::string, std::string> env) {
  return JobConfigFromEnvironment([&](const char* name) {
    auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
  });
}

TEST(JobConfig, ReadsTheSeedEnvironment) {
  auto c = From({{"COLLECTION", "MUR-JPL-L4-GLOB-v4.1"},
                 {"LOADABLE_VARS", "lat, lon,time"},
                 {"START_DATE", "1-1-2022"},
                 {"END_DATE", "12-31-2022"},
                 {"OUTPUT_BUCKET", "my-bucket"},
                 {"SSM_EDL_USERNAME", "/edl/user"},
                 {"SSM_EDL_PASSWORD", "/edl/pass"},
                 {"CPU_COUNT", "16"},
                 {"MEMORY_LIMIT", "12GB"},
                 {"BATCH_SIZE", "48"}});
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->collection, "MUR-JPL-L4-GLOB-v4.1");
  EXPECT_EQ(c->loadable_vars, (std::vector<std::string>{"lat", "lon", "time"}));
  EXPECT_EQ(c->start_date, "1-1-2022");
  EXPECT_EQ(c->output_bucket, "my-bucket");
  EXPECT_TRUE(c->output_dir.empty());
  EXPECT_EQ(c->mode, "build");
  EXPECT_EQ(c->jobs, 128u);
  EXPECT_EQ(c->notices.size(), 2u);
}

TEST(JobConfig, BadSettingsNameTheVariable) {
  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> cases = {
      {{}, "COLLECTION is not set"},
      {{{"COLLECTION", "a b"}}, "COLLECTION 'a b'"},
      {{{"COLLECTION", "X"}, {"OUTPUT_BUCKET", "Bad_Bucket"}}, "OUTPUT_BUCKET 'Bad_Bucket'"},
      {{{"COLLECTION", "X"}, {"SSM_EDL_USERNAME", "/u"}}, "SSM_EDL_USERNAME and SSM_EDL_PASSWORD"},
      {{{"COLLECTION", "X"}, {"VZ_JOB_MODE", "rebuild"}}, "VZ_JOB_MODE 'rebuild'"},
      {{{"COLLECTION", "X"}, {"VZ_ACCESS", "ftp"}}, "VZ_ACCESS 'ftp'"},
      {{{"COLLECTION", "X"}, {"CPU_COUNT", "many"}}, "CPU_COUNT 'many'"},
      {{{"COLLECTION", "X"}, {"VZ_METADATA", "xml"}},
       "VZ_METADATA must be auto, dmrpp or granule, not 'xml'"},
  };
  for (const auto& [env, expect] : cases) {
    auto c = From(env);
    ASSERT_FALSE(c.ok()) << expect;
    EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(c.error().ToString().find(expect), std::string::npos) << c.error().ToString();
  }
  auto local = From({{"COLLECTION", "X"}});
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->output_dir, "out");
  EXPECT_EQ(local->metadata, "granule");
  auto sidecars = From({{"COLLECTION", "X"}, {"VZ_METADATA", "auto"}});
  ASSERT_TRUE(sidecars.ok());
  EXPECT_EQ(sidecars->metadata, "auto");
}

}  // namespace
}  // namespace vz::app

namespace vz::app {
namespace {

TEST(GranuleTable, ReadsTypedColumnsAndNamesBadLines) {
  const std::string dir = ::testing::TempDir();
  const std::string good = dir + "/table.csv";
  {
    std::ofstream f(good);
    f << "file,cycle,orbit_time,name\n"
      << "# comment\n"
      << "a.nc,10,1.5,\"x, y\"\n"
      << "b.nc,11,2.5,z\n";
  }
  auto t = ReadGranuleTable(good);
  ASSERT_TRUE(t.ok()) << t.error().ToString();
  ASSERT_EQ(t->size(), 2u);
  const auto& a = t->at("a.nc");
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].first, "cycle");
  EXPECT_TRUE(a[0].second.is_number_integer());
  EXPECT_EQ(a[0].second.get<int>(), 10);
  EXPECT_DOUBLE_EQ(a[1].second.get<double>(), 1.5);
  EXPECT_EQ(a[2].second.get<std::string>(), "x, y");
  const std::string bad = dir + "/bad.csv";
  {
    std::ofstream f(bad);
    f << "file,cycle\n"
      << "a.nc,1\n"
      << "b.nc,2,3\n";
  }
  auto b = ReadGranuleTable(bad);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().ToString().find("bad.csv:3"), std::string::npos) << b.error().ToString();
  EXPECT_FALSE(ReadGranuleTable(dir + "/missing.csv").ok());
}

}  // namespace
}  // namespace vz::app
