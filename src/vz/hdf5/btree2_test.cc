#include "vz/hdf5/btree2.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "vz/base/byte_cursor.h"
#include "vz/hdf5/checksum.h"
#include "vz/io/byte_source.h"

namespace vz::hdf5 {
namespace {

const std::string kIndexData = VZ_SOURCE_DIR "/tests/data/hdf5_index/";

io::Bytes Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return io::Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

nlohmann::json LoadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

std::span<const std::uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// A FileContext over bytes held in memory (8-byte offsets and lengths).
struct MemFile {
  explicit MemFile(io::Bytes bytes) {
    ctx.file_size = bytes.size();
    source = std::make_unique<io::MemorySource>(std::move(bytes));
    ctx.source = source.get();
  }
  std::unique_ptr<io::MemorySource> source;
  FileContext ctx;
};

TEST(Lookup3Test, ReferenceValues) {
  // Values printed by the reference lookup3.c driver.
  EXPECT_EQ(Lookup3({}), 0xdeadbeefu);
  EXPECT_EQ(Lookup3(AsBytes("Four score and seven years ago")), 0x17770551u);
  EXPECT_EQ(Lookup3(AsBytes("Four score and seven years ago"), 1), 0xcd628161u);
}

TEST(Lookup3Test, SuperblockAndObjectHeaderOfRealFile) {
  auto file = Slurp(kIndexData + "latest.h5");
  ASSERT_GT(file.size(), 100u);
  // Superblock version 2/3: 8 signature, version, sizes(2), flags, 4 addresses, checksum.
  ASSERT_EQ(file[8], 3);
  const std::size_t covered = 8 + 4 + 4 * 8;
  EXPECT_TRUE(VerifyChecksum(std::span(file).first(covered), UnsafeLoadU32LE(file.data() + covered),
                             "superblock", 0)
                  .ok());
  // The root group's object header ("OHDR"): checksum follows chunk 0.
  const std::uint64_t root = UnsafeLoadU64LE(file.data() + 8 + 4 + 3 * 8);
  ASSERT_LT(root + 16, file.size());
  ASSERT_EQ(std::string(file.begin() + static_cast<long>(root),
                        file.begin() + static_cast<long>(root) + 4),
            "OHDR");
  const std::uint8_t flags = file[root + 5];
  std::size_t p = root + 6 + ((flags & 0x20) ? 16 : 0) + ((flags & 0x10) ? 4 : 0);
  const std::size_t width = std::size_t{1} << (flags & 3);
  ByteCursor cur{std::span<const std::uint8_t>(file).subspan(p, width)};
  const std::uint64_t chunk0 = *cur.UintLE(width);
  const std::size_t end = p + width + chunk0;
  ASSERT_LE(end + 4, file.size());
  auto covered_hdr = std::span(file).subspan(root, end - root);
  EXPECT_TRUE(
      VerifyChecksum(covered_hdr, UnsafeLoadU32LE(file.data() + end), "object header", root).ok());
  // One flipped bit is caught and named.
  io::Bytes bad(covered_hdr.begin(), covered_hdr.end());
  bad[7] ^= 0x10;
  auto st = VerifyChecksum(bad, UnsafeLoadU32LE(file.data() + end), "object header", root);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(st.error().message().find("object header"), std::string::npos);
  EXPECT_NE(st.error().message().find("checksum"), std::string::npos);
}

// Collects the records of the tree at `address`.
Result<std::vector<io::Bytes>> Records(FileContext& ctx, std::uint64_t address) {
  std::vector<io::Bytes> out;
  VZ_TRY(ForEachBTree2Record(ctx, address, [&](std::span<const std::uint8_t> r) -> Status {
    out.emplace_back(r.begin(), r.end());
    return Ok();
  }));
  return out;
}

TEST(BTree2Test, DenseAttributeNameIndexDepthTwo) {
  auto expected = LoadJson(kIndexData + "dense.json");
  MemFile f(Slurp(kIndexData + "dense.h5"));
  const std::uint64_t addr = expected["attr_name_btree"];
  auto hdr = ReadBTree2Header(f.ctx, addr);
  ASSERT_TRUE(hdr.ok()) << hdr.error().ToString();
  EXPECT_EQ(hdr->type, 8);
  EXPECT_EQ(hdr->record_size, 17);
  EXPECT_EQ(hdr->total_records, 600u);
  EXPECT_EQ(hdr->depth, 2) << "the fixture should exercise 'total records' child fields";

  auto recs = Records(f.ctx, addr);
  ASSERT_TRUE(recs.ok()) << recs.error().ToString();
  ASSERT_EQ(recs->size(), 600u);
  // Type 8 record: heap id (8), message flags (1), creation order (4), name hash (4). Records
  // come in key (hash) order and the hashes are lookup3 of the names.
  std::multiset<std::uint32_t> want;
  for (const auto& name : expected["attr_names"]) {
    want.insert(Lookup3(AsBytes(name.get<std::string>())));
  }
  std::multiset<std::uint32_t> got;
  std::set<std::uint64_t> heap_ids;
  std::uint32_t prev = 0;
  for (const auto& r : *recs) {
    const std::uint32_t hash = UnsafeLoadU32LE(r.data() + 13);
    EXPECT_GE(hash, prev);
    prev = hash;
    got.insert(hash);
    heap_ids.insert(UnsafeLoadU64LE(r.data()));
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(heap_ids.size(), 600u);  // every record points at its own heap object
}

TEST(BTree2Test, DenseLinkNameIndex) {
  auto expected = LoadJson(kIndexData + "dense.json");
  MemFile f(Slurp(kIndexData + "dense.h5"));
  const std::uint64_t addr = expected["link_name_btree"];
  auto recs = Records(f.ctx, addr);
  ASSERT_TRUE(recs.ok()) << recs.error().ToString();
  ASSERT_EQ(recs->size(), 200u);
  std::multiset<std::uint32_t> want;
  for (const auto& name : expected["link_names"]) {
    want.insert(Lookup3(AsBytes(name.get<std::string>())));
  }
  std::multiset<std::uint32_t> got;
  for (const auto& r : *recs) {
    ASSERT_EQ(r.size(), 11u);  // hash (4) + heap id (7)
    got.insert(UnsafeLoadU32LE(r.data()));
  }
  EXPECT_EQ(got, want);
}

TEST(BTree2Test, LargeGroupFromCorpus) {
  const std::string path = VZ_SOURCE_DIR
      "/../shared/corpus/jamesmudd+jhdf/jhdf/src/test/resources/hdf5/test_large_group_latest.hdf5";
  auto file = Slurp(path);
  if (file.empty()) GTEST_SKIP() << "corpus not available";
  // Find every v2 B-tree header in the file and walk it: each must verify end to end.
  MemFile f(file);
  int trees = 0;
  std::uint64_t records = 0;
  for (std::size_t i = 0; i + 4 <= file.size(); ++i) {
    if (file[i] != 'B' || file[i + 1] != 'T' || file[i + 2] != 'H' || file[i + 3] != 'D') continue;
    auto recs = Records(f.ctx, i);
    ASSERT_TRUE(recs.ok()) << recs.error().ToString();
    ++trees;
    records += recs->size();
  }
  EXPECT_GE(trees, 1);
  EXPECT_GE(records, 1000u);  // 1000 links in the group
}

TEST(BTree2Test, VisitorErrorStopsTheWalk) {
  auto expected = LoadJson(kIndexData + "dense.json");
  MemFile f(Slurp(kIndexData + "dense.h5"));
  int calls = 0;
  auto st = ForEachBTree2Record(f.ctx, expected["link_name_btree"],
                                [&](std::span<const std::uint8_t>) -> Status {
                                  if (++calls == 3) return Corrupt("stop here");
                                  return Ok();
                                });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "stop here");
  EXPECT_EQ(calls, 3);
}

TEST(BTree2Test, MalformedInput) {
  auto expected = LoadJson(kIndexData + "dense.json");
  const auto file = Slurp(kIndexData + "dense.h5");
  const std::uint64_t addr = expected["attr_name_btree"];
  auto noop = [](std::span<const std::uint8_t>) -> Status { return Ok(); };
  {  // Bad signature.
    auto bytes = file;
    bytes[addr] = 'X';
    MemFile f(bytes);
    auto st = ForEachBTree2Record(f.ctx, addr, noop);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("signature"), std::string::npos) << st.error().ToString();
  }
  {  // Header checksum.
    auto bytes = file;
    bytes[addr + 20] ^= 1;  // inside the root address
    MemFile f(bytes);
    auto st = ForEachBTree2Record(f.ctx, addr, noop);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("checksum"), std::string::npos) << st.error().ToString();
  }
  {  // A node's checksum: corrupt one byte of the root node.
    MemFile good(file);
    auto hdr = ReadBTree2Header(good.ctx, addr);
    ASSERT_TRUE(hdr.ok());
    auto bytes = file;
    bytes[hdr->root_address + 8] ^= 0x40;
    MemFile f(bytes);
    auto st = ForEachBTree2Record(f.ctx, addr, noop);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code(), ErrorCode::kCorrupt);
    EXPECT_NE(st.error().message().find("internal node"), std::string::npos)
        << st.error().ToString();
    EXPECT_NE(st.error().message().find("checksum"), std::string::npos);
  }
  {  // Truncated file: nodes beyond the end.
    MemFile good(file);
    auto hdr = ReadBTree2Header(good.ctx, addr);
    ASSERT_TRUE(hdr.ok());
    io::Bytes bytes(file.begin(), file.begin() + static_cast<long>(hdr->root_address + 20));
    MemFile f(bytes);
    auto st = ForEachBTree2Record(f.ctx, addr, noop);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("beyond the end"), std::string::npos)
        << st.error().ToString();
  }
  {  // Depth over the limit.
    MemFile f(file);
    f.ctx.limits.max_tree_depth = 1;
    auto st = ForEachBTree2Record(f.ctx, addr, noop);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code(), ErrorCode::kLimit);
  }
}

}  // namespace
}  // namespace vz::hdf5
