// `vzgen scan` writes with refs::WriteTranslated (metadata rendered straight from the model);
// `vzgen build` goes through a RefStore (parsed metadata) and WriteRefStore. The two must give
// the same bytes: checked over every fixture and every file of the shared corpus.
#include "vz/app/scan.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "vz/io/block_cache.h"
#include "vz/materialize/materialize.h"
#include "vz/refs/kerchunk.h"
#include "vz/refs/store.h"

namespace vz::app {
namespace {

const std::string kSource = VZ_SOURCE_DIR;

bool LooksLikeData(const std::filesystem::path& p) {
  static const std::vector<std::string> kExt = {".h5", ".hdf5", ".he5", ".nc", ".nc4", ".cdf"};
  const std::string ext = p.extension().string();
  for (const auto& e : kExt) {
    if (ext == e) return true;
  }
  return false;
}

// Both writers' output for one file; false when the file does not get as far as writing.
struct Outputs {
  bool parsed = false;
  bool direct_ok = false;
  bool store_ok = false;
  std::string direct;
  std::string store;
  std::string direct_error;
  std::string store_error;
};

Outputs WriteBoth(const std::string& path) {
  Outputs o;
  auto src = io::OpenSource(path);
  if (!src.ok()) return o;
  io::BlockCache cache(**src);
  ScanOptions options;
  auto ds = ParseFile(cache, options.limits);
  if (!ds.ok()) return o;
  io::UncachedView data(cache);
  if (!materialize::MaterializeInline(*ds, data, options.kerchunk).ok()) return o;
  o.parsed = true;
  std::ostringstream direct;
  auto st = refs::WriteTranslated(*ds, direct);
  o.direct_ok = st.ok();
  if (!st.ok()) o.direct_error = st.error().ToString();
  o.direct = direct.str();
  std::ostringstream via_store;
  auto store = refs::ToRefStore(*ds);
  if (store.ok()) {
    auto w = refs::WriteRefStore(*store, via_store);
    o.store_ok = w.ok();
    if (!w.ok()) o.store_error = w.error().ToString();
  } else {
    o.store_error = store.error().ToString();
  }
  o.store = via_store.str();
  return o;
}

void CheckTree(const std::filesystem::path& root, int* compared) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file() || !LooksLikeData(entry.path())) continue;
    const std::string path = entry.path().string();
    const Outputs o = WriteBoth(path);
    if (!o.parsed) continue;
    ++(*compared);
    EXPECT_EQ(o.direct_ok, o.store_ok)
        << path << ": direct: " << o.direct_error << " store: " << o.store_error;
    if (o.direct_ok && o.store_ok) {
      EXPECT_EQ(o.direct, o.store) << path;
    }
    if (!o.direct_ok) {
      EXPECT_TRUE(o.direct.empty()) << path << ": output written before the error";
      EXPECT_EQ(o.direct_error, o.store_error) << path;
    }
  }
}

TEST(WriteTranslated, SameBytesAsTheStoreWriterForEveryFixture) {
  int compared = 0;
  CheckTree(kSource + "/tests/data", &compared);
  EXPECT_GT(compared, 40);
}

TEST(WriteTranslated, SameBytesAsTheStoreWriterForTheCorpus) {
  const std::filesystem::path corpus = kSource + "/../shared/corpus";
  if (!std::filesystem::exists(corpus / "CATALOG.tsv")) {
    GTEST_SKIP() << "corpus not present (../shared/corpus)";
  }
  int compared = 0;
  CheckTree(corpus, &compared);
  EXPECT_GT(compared, 100);
}

}  // namespace
}  // namespace vz::app
