// The regression corpus: every file in tests/data/regress/ must fail to scan with the error code
// and the words that tests/data/regress/expectations.tsv gives it (and every file there must
// have a line). A crash or hang ever found goes there, pinned to the message it now gives.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "vz/app/scan.h"

namespace vz::app {
namespace {

const std::string kDir = std::string(VZ_SOURCE_DIR) + "/tests/data/regress";

struct Expectation {
  std::string code;
  std::string words;
};

std::map<std::string, Expectation> LoadExpectations() {
  std::map<std::string, Expectation> out;
  std::ifstream f(kDir + "/expectations.tsv");
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string file, code, words;
    std::getline(fields, file, '\t');
    std::getline(fields, code, '\t');
    std::getline(fields, words);
    out[file] = {code, words};
  }
  return out;
}

TEST(Regress, EveryFileFailsWithItsPinnedError) {
  const auto expected = LoadExpectations();
  ASSERT_FALSE(expected.empty()) << "no expectations in " << kDir;
  std::set<std::string> seen;
  const std::string out = ::testing::TempDir() + "vz_regress_out.json";
  for (const auto& entry : std::filesystem::directory_iterator(kDir)) {
    const std::string name = entry.path().filename().string();
    if (name == "expectations.tsv" || name == "make_regress.py") continue;
    seen.insert(name);
    auto it = expected.find(name);
    ASSERT_NE(it, expected.end()) << name << " has no line in expectations.tsv";
    ScanOptions options;
    const Status status = Scan(entry.path().string(), out, options, nullptr);
    ASSERT_FALSE(status.ok()) << name << " scanned without an error";
    EXPECT_EQ(ErrorCodeName(status.error().code()), it->second.code) << name;
    EXPECT_NE(status.error().ToString().find(it->second.words), std::string::npos)
        << name << ": " << status.error().ToString();
    EXPECT_FALSE(std::filesystem::exists(out)) << name << " left an output behind";
  }
  for (const auto& [name, e] : expected) {
    EXPECT_EQ(seen.count(name), 1u) << "expectations.tsv names " << name << ", which is missing";
  }
}

}  // namespace
}  // namespace vz::app
