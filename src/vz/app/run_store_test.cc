#include "vz/app/run_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "vz/app/plan_internal.h"

namespace vz::app {
namespace {

class RunStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vz_run_store_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(RunStoreTest, CreateWritesOnceAndNeverHalf) {
  EXPECT_FALSE(RunLocation::Open(dir_ + "/runs/r1").ok());  // reading a run never makes one
  auto run = RunLocation::Open(dir_ + "/runs/r1", true);
  ASSERT_TRUE(run.ok());
  auto missing = run->Read("shards/00000/_SUCCESS");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  EXPECT_TRUE(*run->Create("shards/00000/_SUCCESS", "first"));
  EXPECT_FALSE(*run->Create("shards/00000/_SUCCESS", "second"));
  EXPECT_EQ((*run->Read("shards/00000/_SUCCESS"))->body, "first");
  // No temporary file is left beside it.
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/runs/r1/shards/00000")) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

TEST_F(RunStoreTest, OfManyRacingCreatesExactlyOneWins) {
  auto run = RunLocation::Open(dir_);
  ASSERT_TRUE(run.ok());
  std::atomic<int> won{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto r = run->Create("_SUCCESS", std::to_string(i));
      if (r.ok() && *r) ++won;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
}

TEST_F(RunStoreTest, ReplaceOnlyTheVersionRead) {
  auto run = RunLocation::Open(dir_);
  ASSERT_TRUE(run.ok());
  EXPECT_TRUE(*run->Replace("_PUBLISHED.json", "a", ""));   // absent, as asked
  EXPECT_FALSE(*run->Replace("_PUBLISHED.json", "b", ""));  // no longer absent
  const std::string v = (*run->Read("_PUBLISHED.json"))->version;
  EXPECT_TRUE(*run->Replace("_PUBLISHED.json", "c", v));
  EXPECT_FALSE(*run->Replace("_PUBLISHED.json", "d", v));  // changed since
  EXPECT_EQ((*run->Read("_PUBLISHED.json"))->body, "c");
}

TEST_F(RunStoreTest, OnlyDirectoriesAndS3) {
  auto bad = RunLocation::Open("https://example.com/runs/");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("local directory or under s3://"), std::string::npos);
  EXPECT_FALSE(RunLocation::Open("s3:///runs").ok());
}

TEST(Schema, DifferenceNamesTheVariable) {
  refs::RefStore a;
  refs::RefArray v;
  v.name = "sst";
  v.zarray = {{"dtype", "<f4"}, {"shape", {1, 4}}, {"chunks", {1, 4}}, {"fill_value", nullptr}};
  v.zattrs = {{"_ARRAY_DIMENSIONS", {"time", "x"}}};
  v.entries.rank = 2;
  v.entries.Add(std::vector<std::uint32_t>{0, 0}, 0, 0, 16);
  a.arrays.push_back(v);
  refs::RefStore b = a;
  b.arrays[0].zarray["shape"] = {3, 4};  // along time: the same schema
  const Schema sa = SchemaOf(SchemaSummary(a), "time");
  EXPECT_EQ(sa.fingerprint, SchemaOf(SchemaSummary(b), "time").fingerprint);
  b.arrays[0].zarray["dtype"] = "<f8";
  const Schema sb = SchemaOf(SchemaSummary(b), "time");
  EXPECT_NE(sa.fingerprint, sb.fingerprint);
  const std::string diff = SchemaDifference(SchemaJson(sa), SchemaJson(sb));
  EXPECT_NE(diff.find("variable sst"), std::string::npos) << diff;
  EXPECT_NE(diff.find("<f8"), std::string::npos) << diff;
  b.arrays[0].name = "ice";
  EXPECT_NE(SchemaDifference(SchemaJson(sa), SchemaJson(SchemaOf(SchemaSummary(b), "time")))
                .find("variable sst is missing"),
            std::string::npos);
}

}  // namespace
}  // namespace vz::app
