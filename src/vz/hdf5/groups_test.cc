#include "vz/hdf5/groups.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "vz/base/checked.h"
#include "vz/base/error_testing.h"
#include "vz/hdf5/checksum.h"
#include "vz/hdf5/fractal_heap.h"
#include "vz/io/byte_source.h"

namespace vz::hdf5 {
namespace {

const std::string kData = VZ_SOURCE_DIR "/tests/data/hdf5_groups/";
const std::string kCorpus = VZ_SOURCE_DIR "/../shared/corpus/";

io::Bytes Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return io::Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

nlohmann::json Expected() {
  std::ifstream in(kData + "expected.json");
  return nlohmann::json::parse(in);
}

// A file opened for the tests: the source plus a FileContext with the superblock's sizes.
struct TestFile {
  std::unique_ptr<io::ByteSource> source;
  std::unique_ptr<io::CountingSource> counting;
  FileContext ctx;
  std::uint64_t root_header = kUndefinedAddress;  // superblock v2/v3
  std::uint64_t root_btree = kUndefinedAddress;   // superblock v0/v1 scratch pad
  std::uint64_t root_heap = kUndefinedAddress;
};

// Test-only superblock reader (signature at 0, versions 0 and 2/3 with 8-byte offsets).
void Init(TestFile& f) {
  f.counting = std::make_unique<io::CountingSource>(*f.source);
  auto info = f.source->Stat();
  ASSERT_TRUE(info.ok());
  f.ctx.source = f.counting.get();
  f.ctx.file_size = info->size;
  auto head = f.source->ReadAt(0, std::min<std::uint64_t>(info->size, 128));
  ASSERT_TRUE(head.ok());
  const io::Bytes& h = *head;
  ASSERT_GE(h.size(), 96u);
  const int version = h[8];
  if (version == 0 || version == 1) {
    f.ctx.size_of_offsets = h[13];
    f.ctx.size_of_lengths = h[14];
    ASSERT_EQ(f.ctx.size_of_offsets, 8);
    const std::size_t entry = 24 + (version == 1 ? 4 : 0) + 4 * 8;
    f.root_header = UnsafeLoadU64LE(h.data() + entry + 8);
    if (UnsafeLoadU32LE(h.data() + entry + 16) == 1) {  // cache type 1: symbol table addresses
      f.root_btree = UnsafeLoadU64LE(h.data() + entry + 24);
      f.root_heap = UnsafeLoadU64LE(h.data() + entry + 32);
    }
  } else {
    f.ctx.size_of_offsets = h[9];
    f.ctx.size_of_lengths = h[10];
    ASSERT_EQ(f.ctx.size_of_offsets, 8);
    f.root_header = UnsafeLoadU64LE(h.data() + 12 + 24);
  }
  f.ctx.superblock_version = static_cast<std::uint8_t>(version);
}

std::unique_ptr<TestFile> OpenFile(const std::string& path) {
  auto f = std::make_unique<TestFile>();
  auto src = io::LocalSource::Open(path);
  EXPECT_TRUE(src.ok()) << path;
  if (!src.ok()) return nullptr;
  f->source = std::move(*src);
  Init(*f);
  return f;
}

std::unique_ptr<TestFile> OpenBytes(io::Bytes bytes) {
  auto f = std::make_unique<TestFile>();
  f->source = std::make_unique<io::MemorySource>(std::move(bytes));
  Init(*f);
  return f;
}

struct Message {
  int type = 0;
  io::Bytes body;
  std::uint64_t offset = 0;  // absolute file offset of the body
};

// Test-only object header scanner: the messages of a v1 or v2 header, following continuation
// messages (0x10) to the other chunks (v2 chunks start with "OCHK" and end in a checksum).
std::vector<Message> Messages(TestFile& f, std::uint64_t address) {
  std::vector<Message> out;
  auto head = f.source->ReadAt(address, std::min<std::uint64_t>(40, f.ctx.file_size - address));
  EXPECT_TRUE(head.ok());
  if (!head.ok()) return out;
  const io::Bytes& h = *head;
  const bool v1 = h[0] == 1;
  std::size_t mh = 8;                                           // message header size
  std::vector<std::pair<std::uint64_t, std::uint64_t>> chunks;  // (address, length) of messages
  if (v1) {
    chunks.push_back({address + 16, UnsafeLoadU32LE(h.data() + 8)});
  } else {
    EXPECT_EQ(std::string(h.begin(), h.begin() + 4), "OHDR");
    const std::uint8_t flags = h[5];
    std::size_t p = 6;
    if (flags & 0x20) p += 16;
    if (flags & 0x10) p += 4;
    const std::size_t width = std::size_t{1} << (flags & 3);
    std::uint64_t size = 0;
    for (std::size_t i = 0; i < width; ++i) size |= std::uint64_t{h[p + i]} << (8 * i);
    chunks.push_back({address + p + width, size});
    mh = 4 + ((flags & 0x04) ? 2 : 0);
  }
  for (std::size_t k = 0; k < chunks.size() && k < 100; ++k) {
    auto body = f.source->ReadAt(chunks[k].first, chunks[k].second);
    EXPECT_TRUE(body.ok());
    if (!body.ok()) break;
    std::size_t q = (!v1 && k > 0) ? 4 : 0;  // "OCHK"
    while (q + mh <= body->size()) {
      const int type = v1 ? UnsafeLoadU16LE(body->data() + q) : (*body)[q];
      const std::size_t len = UnsafeLoadU16LE(body->data() + q + (v1 ? 2 : 1));
      if (q + mh + len > body->size()) break;
      Message m{type,
                io::Bytes(body->begin() + static_cast<std::ptrdiff_t>(q + mh),
                          body->begin() + static_cast<std::ptrdiff_t>(q + mh + len)),
                chunks[k].first + q + mh};
      if (type == 0x10 && len >= 16) {
        const std::uint64_t next = UnsafeLoadU64LE(m.body.data());
        const std::uint64_t next_len = UnsafeLoadU64LE(m.body.data() + 8);
        chunks.push_back({next, v1 ? next_len : next_len - 4});
      }
      out.push_back(std::move(m));
      q += mh + len;
    }
  }
  return out;
}

const Message* Find(const std::vector<Message>& msgs, int type) {
  for (const auto& m : msgs) {
    if (m.type == type) return &m;
  }
  return nullptr;
}

// Link Info (0x02) / Attribute Info (0x15): (fractal heap, name index B-tree).
std::pair<std::uint64_t, std::uint64_t> InfoAddresses(const Message& m) {
  const std::size_t skip = (m.body[1] & 1) ? (m.type == 0x02 ? 8 : 2) : 0;
  return {UnsafeLoadU64LE(m.body.data() + 2 + skip), UnsafeLoadU64LE(m.body.data() + 10 + skip)};
}

std::vector<Link> CompactLinks(TestFile& f, std::uint64_t header) {
  std::vector<Link> out;
  for (const auto& m : Messages(f, header)) {
    if (m.type != 0x06) continue;
    ByteCursor c(m.body, m.offset);
    auto l = ParseLinkMessage(f.ctx, c);
    EXPECT_TRUE(l.ok()) << l.error().ToString();
    if (l.ok()) out.push_back(*l);
  }
  return out;
}

std::map<std::string, Link> ByName(const std::vector<Link>& links) {
  std::map<std::string, Link> m;
  for (const auto& l : links) m[l.name] = l;
  return m;
}

// Checks links against expected.json's {name: {type, addr|target|file+path}}.
void ExpectLinks(const std::vector<Link>& links, const nlohmann::json& want) {
  auto got = ByName(links);
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, w] : want.items()) {
    ASSERT_TRUE(got.count(name)) << name;
    const Link& l = got[name];
    const std::string type = w["type"];
    if (type == "hard") {
      EXPECT_EQ(l.type, Link::Type::kHard) << name;
      EXPECT_EQ(l.address, w["addr"].get<std::uint64_t>()) << name;
    } else if (type == "soft") {
      EXPECT_EQ(l.type, Link::Type::kSoft) << name;
      EXPECT_EQ(l.soft_target, w["target"].get<std::string>()) << name;
    } else {
      EXPECT_EQ(l.type, Link::Type::kExternal) << name;
      EXPECT_EQ(l.external_file, w["file"].get<std::string>()) << name;
      EXPECT_EQ(l.external_path, w["path"].get<std::string>()) << name;
    }
  }
}

// The members of the group whose object header is at `header`, whatever its storage.
Result<std::vector<Link>> GroupMembers(TestFile& f, std::uint64_t header) {
  auto msgs = Messages(f, header);
  if (const Message* st = Find(msgs, 0x11)) {
    return ReadSymbolTableGroup(f.ctx, UnsafeLoadU64LE(st->body.data()),
                                UnsafeLoadU64LE(st->body.data() + 8));
  }
  if (const Message* li = Find(msgs, 0x02)) {
    auto [heap, bt] = InfoAddresses(*li);
    if (heap != kUndefinedAddress) return ReadDenseLinks(f.ctx, heap, bt);
  }
  return CompactLinks(f, header);
}

// ---------------------------------------------------------------- old-style groups

TEST(SymbolTableGroup, RootMembersMatchH5py) {
  auto f = OpenFile(kData + "old_style.h5");
  ASSERT_TRUE(f);
  auto want = Expected()["old_style.h5"];
  auto links = GroupMembers(*f, f->root_header);
  ASSERT_TRUE(links.ok()) << links.error().ToString();
  ExpectLinks(*links, want["root"]);
}

TEST(SymbolTableGroup, MultiLevelBTreeReadLevelByLevel) {
  auto f = OpenFile(kData + "old_style.h5");
  ASSERT_TRUE(f);
  auto want = Expected()["old_style.h5"];
  auto root = ReadSymbolTableGroup(f->ctx, f->root_btree, f->root_heap);
  ASSERT_TRUE(root.ok()) << root.error().ToString();
  const Link big = ByName(*root)["big"];
  const Link data = ByName(*root)["data"];
  auto msgs = Messages(*f, big.address);
  const Message* st = Find(msgs, 0x11);
  ASSERT_NE(st, nullptr);
  const std::uint64_t btree = UnsafeLoadU64LE(st->body.data());
  // The tree must really have more than one level for this test to mean something.
  auto node = f->source->ReadAt(btree, 8);
  ASSERT_TRUE(node.ok());
  const int levels = (*node)[5] + 1;
  ASSERT_GE(levels, 2);

  const auto rounds_before = f->counting->rounds();
  auto links = ReadSymbolTableGroup(f->ctx, btree, UnsafeLoadU64LE(st->body.data() + 8));
  ASSERT_TRUE(links.ok()) << links.error().ToString();
  // Heap header, heap data, one round per tree level, one round for all symbol nodes (nodes
  // larger than the first guess would add rounds; h5py's default K never does).
  EXPECT_EQ(f->counting->rounds() - rounds_before, static_cast<std::uint64_t>(2 + levels + 1));

  ASSERT_EQ(links->size(), want["big_count"].get<std::size_t>());
  std::size_t soft = 0;
  for (std::size_t i = 0; i < links->size(); ++i) {
    const Link& l = (*links)[i];
    EXPECT_EQ(l.name, fmt::format("m{:04d}", i));  // B-tree order is name order
    if (i % 10 == 0) {
      ++soft;
      EXPECT_EQ(l.type, Link::Type::kSoft);
      EXPECT_EQ(l.soft_target, fmt::format("/target/{}", i));
    } else {
      EXPECT_EQ(l.type, Link::Type::kHard);
      EXPECT_EQ(l.address, data.address);
    }
  }
  EXPECT_EQ(soft, want["big_soft_count"].get<std::size_t>());
}

TEST(SymbolTableGroup, CorpusGroup1k) {
  const std::string path = kCorpus + "HDFGroup+hdf5-json/data/hdf5/group1k.h5";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "corpus not available: " << path;
  auto f = OpenFile(path);
  ASSERT_TRUE(f);
  auto links = ReadSymbolTableGroup(f->ctx, f->root_btree, f->root_heap);
  ASSERT_TRUE(links.ok()) << links.error().ToString();
  ASSERT_EQ(links->size(), 1000u);
  std::set<std::uint64_t> addresses;
  for (const auto& l : *links) {
    EXPECT_EQ(l.type, Link::Type::kHard);
    addresses.insert(l.address);
  }
  EXPECT_EQ(addresses.size(), 1000u);
  EXPECT_TRUE(std::is_sorted(links->begin(), links->end(),
                             [](const Link& a, const Link& b) { return a.name < b.name; }));
}

TEST(SymbolTableGroup, CorpusSoftLinks) {
  const std::string path = kCorpus + "OPENDAP+bes/data/tslink.h5";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "corpus not available: " << path;
  auto f = OpenFile(path);
  ASSERT_TRUE(f);
  auto links = ReadSymbolTableGroup(f->ctx, f->root_btree, f->root_heap);
  ASSERT_TRUE(links.ok()) << links.error().ToString();
  std::size_t soft = 0;
  for (const auto& l : *links) {
    if (l.type == Link::Type::kSoft) {
      ++soft;
      EXPECT_FALSE(l.soft_target.empty());
    }
  }
  EXPECT_GE(soft, 1u);
}

TEST(LocalHeap, ReadsDataSegment) {
  auto f = OpenFile(kData + "old_style.h5");
  ASSERT_TRUE(f);
  auto heap = ReadLocalHeap(f->ctx, f->root_heap);
  ASSERT_TRUE(heap.ok()) << heap.error().ToString();
  const std::string s(heap->begin(), heap->end());
  EXPECT_NE(s.find(std::string("big\0", 4)), std::string::npos);
  EXPECT_NE(s.find(std::string("/big/m0001\0", 11)), std::string::npos);
}

// ---------------------------------------------------------------- link messages

TEST(LinkMessage, CompactGroupAllLinkTypes) {
  auto f = OpenFile(kData + "new_style.h5");
  ASSERT_TRUE(f);
  auto want = Expected()["new_style.h5"];
  auto root = ByName(CompactLinks(*f, f->root_header));
  ASSERT_TRUE(root.count("compact"));
  auto links = CompactLinks(*f, root["compact"].address);
  ExpectLinks(links, want["compact"]);
}

TEST(LinkMessage, HandBuiltVariants) {
  FileContext ctx;
  {  // soft link with creation order and UTF-8 charset, 1-byte name length
    const io::Bytes b = {
        1, 0x08 | 0x04 | 0x10, 1, 7, 0, 0, 0, 0, 0, 0, 0, 1, 3, 'a', 'b', 'c', 2, 0, '/', 'x'};
    ByteCursor c(b, 100);
    auto l = ParseLinkMessage(ctx, c);
    ASSERT_TRUE(l.ok()) << l.error().ToString();
    EXPECT_EQ(l->name, "abc");
    EXPECT_EQ(l->type, Link::Type::kSoft);
    EXPECT_EQ(l->soft_target, "/x");
    ASSERT_TRUE(l->creation_order.has_value());
    EXPECT_EQ(*l->creation_order, 7u);
    EXPECT_EQ(l->charset, 1);
  }
  {  // user-defined link class 99 keeps its value; 2-byte name length
    const io::Bytes b = {1, 0x08 | 0x01, 99, 2, 0, 'u', 'd', 3, 0, 9, 8, 7};
    ByteCursor c(b);
    auto l = ParseLinkMessage(ctx, c);
    ASSERT_TRUE(l.ok()) << l.error().ToString();
    EXPECT_EQ(l->type, Link::Type::kUserDefined);
    EXPECT_EQ(l->user_type, 99);
    EXPECT_EQ(l->user_data, (std::vector<std::uint8_t>{9, 8, 7}));
    EXPECT_FALSE(l->creation_order.has_value());
  }
  {  // hard link with no type field; 8-byte address
    const io::Bytes b = {1, 0, 1, 'h', 0x10, 0x20, 0, 0, 0, 0, 0, 0};
    ByteCursor c(b);
    auto l = ParseLinkMessage(ctx, c);
    ASSERT_TRUE(l.ok()) << l.error().ToString();
    EXPECT_EQ(l->type, Link::Type::kHard);
    EXPECT_EQ(l->address, 0x2010u);
  }
  {  // external link value: flags byte, file name, object path
    const io::Bytes b = {1, 0x08, 64, 1, 'e', 9, 0, 0, 'f', '.', 'h', '5', 0, '/', 'p', 0};
    ByteCursor c(b);
    auto l = ParseLinkMessage(ctx, c);
    ASSERT_TRUE(l.ok()) << l.error().ToString();
    EXPECT_EQ(l->type, Link::Type::kExternal);
    EXPECT_EQ(l->external_file, "f.h5");
    EXPECT_EQ(l->external_path, "/p");
  }
}

TEST(LinkMessage, MalformedIsAnError) {
  FileContext ctx;
  {  // name runs past the message
    const io::Bytes b = {1, 0, 40, 'a', 'b'};
    ByteCursor c(b, 0x500);
    auto l = ParseLinkMessage(ctx, c);
    ASSERT_FALSE(l.ok());
    EXPECT_EQ(l.error().code(), ErrorCode::kCorrupt);
    EXPECT_NE(l.error().ToString().find("0x500"), std::string::npos) << l.error().ToString();
  }
  {  // reserved link type
    const io::Bytes b = {1, 0x08, 5, 1, 'a', 0, 0};
    ByteCursor c(b);
    auto l = ParseLinkMessage(ctx, c);
    ASSERT_FALSE(l.ok());
    EXPECT_NE(l.error().ToString().find("reserved link type 5"), std::string::npos);
  }
  {  // external value without its terminating NULs
    const io::Bytes b = {1, 0x08, 64, 1, 'e', 3, 0, 0, 'f', 'g'};
    ByteCursor c(b);
    EXPECT_TRUE(
        IsError(ParseLinkMessage(ctx, c), ErrorCode::kCorrupt, "unterminated string at 0x8"));
  }
  {  // truncated hard link address
    const io::Bytes b = {1, 0, 1, 'h', 1, 2, 3};
    ByteCursor c(b);
    EXPECT_TRUE(IsError(ParseLinkMessage(ctx, c), ErrorCode::kCorrupt, "truncated"));
  }
}

TEST(LinkMessage, CorpusUserDefinedLink) {
  const std::string path = kCorpus + "HDFGroup+hdf5-json/data/hdf5/tall_with_udlink.h5";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "corpus not available: " << path;
  auto f = OpenFile(path);
  ASSERT_TRUE(f);
  // Walk every group reachable by hard links and count link types.
  std::map<Link::Type, int> types;
  std::vector<std::uint64_t> todo{f->root_header};
  std::set<std::uint64_t> seen;
  while (!todo.empty()) {
    const std::uint64_t h = todo.back();
    todo.pop_back();
    if (!seen.insert(h).second) continue;
    auto msgs = Messages(*f, h);
    if (!Find(msgs, 0x11) && !Find(msgs, 0x06) && !Find(msgs, 0x02)) continue;
    auto links = GroupMembers(*f, h);
    ASSERT_TRUE(links.ok()) << links.error().ToString();
    for (const auto& l : *links) {
      ++types[l.type];
      if (l.type == Link::Type::kHard) todo.push_back(l.address);
    }
  }
  EXPECT_GE(types[Link::Type::kUserDefined], 1);
  EXPECT_GE(types[Link::Type::kExternal], 1);
  EXPECT_GE(types[Link::Type::kSoft], 1);
}

// ---------------------------------------------------------------- dense links

TEST(DenseLinks, MatchH5py) {
  auto f = OpenFile(kData + "new_style.h5");
  ASSERT_TRUE(f);
  auto want = Expected()["new_style.h5"];
  auto root = ByName(CompactLinks(*f, f->root_header));
  auto msgs = Messages(*f, root["dense"].address);
  const Message* li = Find(msgs, 0x02);
  ASSERT_NE(li, nullptr);
  auto [heap, bt] = InfoAddresses(*li);
  ASSERT_NE(heap, kUndefinedAddress);
  auto links = ReadDenseLinks(f->ctx, heap, bt);
  ASSERT_TRUE(links.ok()) << links.error().ToString();
  ExpectLinks(*links, want["dense"]);
  EXPECT_TRUE(std::is_sorted(links->begin(), links->end(),
                             [](const Link& a, const Link& b) { return a.name < b.name; }));
}

TEST(DenseLinks, CreationOrderTracked) {
  auto f = OpenFile(kData + "new_style.h5");
  ASSERT_TRUE(f);
  auto want = Expected()["new_style.h5"];
  auto root = ByName(CompactLinks(*f, f->root_header));
  auto links = GroupMembers(*f, root["ordered"].address);
  ASSERT_TRUE(links.ok()) << links.error().ToString();
  ExpectLinks(*links, want["ordered"]);
  std::vector<Link> by_order = *links;
  for (const auto& l : by_order) ASSERT_TRUE(l.creation_order.has_value()) << l.name;
  std::sort(by_order.begin(), by_order.end(),
            [](const Link& a, const Link& b) { return *a.creation_order < *b.creation_order; });
  std::vector<std::string> names;
  for (const auto& l : by_order) names.push_back(l.name);
  EXPECT_EQ(names, want["ordered_creation"].get<std::vector<std::string>>());
}

TEST(DenseLinks, CorpusLargeGroup) {
  const std::string path =
      kCorpus + "jamesmudd+jhdf/jhdf/src/test/resources/hdf5/test_large_group_latest.hdf5";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "corpus not available: " << path;
  auto f = OpenFile(path);
  ASSERT_TRUE(f);
  // The root holds one group with the many links.
  auto root = GroupMembers(*f, f->root_header);
  ASSERT_TRUE(root.ok()) << root.error().ToString();
  std::size_t most = 0;
  for (const auto& l : *root) {
    if (l.type != Link::Type::kHard) continue;
    auto members = GroupMembers(*f, l.address);
    if (!members.ok()) continue;  // a dataset
    most = std::max(most, members->size());
    std::set<std::string> names;
    for (const auto& m : *members) names.insert(m.name);
    EXPECT_EQ(names.size(), members->size());
  }
  EXPECT_EQ(most, 1000u);
}

// ---------------------------------------------------------------- dense attributes

// Name of an Attribute message body (versions 1-3).
std::string AttributeName(const std::vector<std::uint8_t>& body) {
  const int version = body[0];
  const std::size_t name_len = UnsafeLoadU16LE(body.data() + 2);
  const std::size_t at = version == 3 ? 9 : 8;
  return std::string(body.begin() + static_cast<std::ptrdiff_t>(at),
                     body.begin() + static_cast<std::ptrdiff_t>(at + name_len - 1));
}

TEST(DenseAttributes, NamesValuesAndHugeObject) {
  auto f = OpenFile(kData + "new_style.h5");
  ASSERT_TRUE(f);
  auto want = Expected()["new_style.h5"];
  const std::uint64_t ds = want["attrs_addr"];
  auto msgs = Messages(*f, ds);
  const Message* ai = Find(msgs, 0x15);
  ASSERT_NE(ai, nullptr);
  auto [heap, bt] = InfoAddresses(*ai);
  auto recs = ReadDenseAttributeRecords(f->ctx, heap, bt);
  ASSERT_TRUE(recs.ok()) << recs.error().ToString();
  std::vector<std::string> names;
  for (const auto& r : *recs) {
    EXPECT_FALSE(r.shared());
    const std::string name = AttributeName(r.body);
    names.push_back(name);
    if (name == "attr05") {  // scalar int32: the value ends the body
      EXPECT_EQ(UnsafeLoadU32LE(r.body.data() + r.body.size() - 4), 35u);
    }
    if (name == "long_attr") {  // 80000 bytes: stored as a huge object
      ASSERT_GT(r.body.size(), 80000u);
      const std::uint8_t* v = r.body.data() + r.body.size() - 80000;
      EXPECT_EQ(UnsafeLoadU32LE(v), 0u);
      EXPECT_EQ(UnsafeLoadU32LE(v + 4 * 12345), 12345u);
      EXPECT_EQ(UnsafeLoadU32LE(v + 4 * 19999), 19999u);
    }
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, want["attrs"].get<std::vector<std::string>>());

  auto bodies = ReadDenseAttributes(f->ctx, heap, bt);
  ASSERT_TRUE(bodies.ok());
  ASSERT_EQ(bodies->size(), recs->size());
  EXPECT_EQ((*bodies)[3], (*recs)[3].body);
}

TEST(DenseAttributes, CorpusAttr1k) {
  const std::string path =
      kCorpus + "jamesmudd+jhdf/jhdf/src/test/resources/hdf5/test_attribute_latest.hdf5";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "corpus not available: " << path;
  auto f = OpenFile(path);
  ASSERT_TRUE(f);
  // Find any object header reachable from the root with an Attribute Info message.
  std::vector<std::uint64_t> todo{f->root_header};
  std::set<std::uint64_t> seen;
  std::size_t dense_objects = 0;
  while (!todo.empty()) {
    const std::uint64_t h = todo.back();
    todo.pop_back();
    if (!seen.insert(h).second) continue;
    auto msgs = Messages(*f, h);
    if (const Message* ai = Find(msgs, 0x15)) {
      auto [heap, bt] = InfoAddresses(*ai);
      if (heap != kUndefinedAddress) {
        auto recs = ReadDenseAttributeRecords(f->ctx, heap, bt);
        ASSERT_TRUE(recs.ok()) << recs.error().ToString();
        EXPECT_GT(recs->size(), 8u);
        for (const auto& r : *recs) EXPECT_FALSE(AttributeName(r.body).empty());
        ++dense_objects;
      }
    }
    if (Find(msgs, 0x06) || Find(msgs, 0x02) || Find(msgs, 0x11)) {
      auto links = GroupMembers(*f, h);
      ASSERT_TRUE(links.ok()) << links.error().ToString();
      for (const auto& l : *links) {
        if (l.type == Link::Type::kHard) todo.push_back(l.address);
      }
    }
  }
  EXPECT_GE(dense_objects, 1u);
}

// ---------------------------------------------------------------- fractal heap

struct DenseHeap {
  std::unique_ptr<TestFile> file;
  std::uint64_t heap = 0, btree = 0;
};

DenseHeap OpenDenseGroupHeap(io::Bytes bytes) {
  DenseHeap d;
  d.file = OpenBytes(std::move(bytes));
  auto root = ByName(CompactLinks(*d.file, d.file->root_header));
  auto msgs = Messages(*d.file, root["dense"].address);
  const Message* li = Find(msgs, 0x02);
  EXPECT_NE(li, nullptr);
  if (li != nullptr) std::tie(d.heap, d.btree) = InfoAddresses(*li);
  return d;
}

TEST(FractalHeap, TinyObjectsLiveInTheId) {
  auto d = OpenDenseGroupHeap(Slurp(kData + "new_style.h5"));
  auto heap = FractalHeap::Open(d.file->ctx, d.heap);
  ASSERT_TRUE(heap.ok()) << heap.error().ToString();
  EXPECT_EQ(heap->heap_id_length(), 7);
  const std::vector<std::uint8_t> id = {0x20 | 2, 'x', 'y', 'z', 0, 0, 0};
  auto obj = heap->Get(d.file->ctx, id);
  ASSERT_TRUE(obj.ok()) << obj.error().ToString();
  EXPECT_EQ(*obj, (std::vector<std::uint8_t>{'x', 'y', 'z'}));
  // A length past the ID is an error, not an overread.
  const std::vector<std::uint8_t> bad = {0x20 | 9, 'x', 'y', 'z', 0, 0, 0};
  EXPECT_TRUE(IsError(heap->Get(d.file->ctx, bad), ErrorCode::kCorrupt,
                      "truncated: need 10 bytes at 0x834, only 6 left"));
}

TEST(FractalHeap, ExtendedTinyLengthWithLongIds) {
  io::Bytes bytes = Slurp(kData + "new_style.h5");
  auto d = OpenDenseGroupHeap(bytes);
  // Rewrite the heap ID length to 20 (tiny objects then use a 12-bit length) and re-seal the
  // header checksum.
  const std::size_t h = static_cast<std::size_t>(d.heap);
  bytes[h + 5] = 20;
  bytes[h + 6] = 0;
  const std::size_t hsize = 22 + 12 * 8 + 3 * 8;
  const std::uint32_t sum = Lookup3(std::span<const std::uint8_t>(bytes).subspan(h, hsize));
  for (std::size_t i = 0; i < 4; ++i)
    bytes[h + hsize + i] = static_cast<std::uint8_t>(sum >> (8 * i));
  auto e = OpenBytes(std::move(bytes));
  auto heap = FractalHeap::Open(e->ctx, d.heap);
  ASSERT_TRUE(heap.ok()) << heap.error().ToString();
  std::vector<std::uint8_t> id(20, 0);
  id[0] = 0x20;
  id[1] = 16;  // length 17
  for (std::size_t i = 0; i < 17; ++i) id[2 + i] = static_cast<std::uint8_t>('a' + i);
  auto obj = heap->Get(e->ctx, id);
  ASSERT_TRUE(obj.ok()) << obj.error().ToString();
  EXPECT_EQ(std::string(obj->begin(), obj->end()), "abcdefghijklmnopq");
}

TEST(FractalHeap, BadHeaderChecksum) {
  io::Bytes bytes = Slurp(kData + "new_style.h5");
  auto d = OpenDenseGroupHeap(bytes);
  bytes[static_cast<std::size_t>(d.heap) + 12] ^= 0x40;  // inside "maximum managed size"
  auto e = OpenBytes(std::move(bytes));
  auto r = ReadDenseLinks(e->ctx, d.heap, d.btree);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(r.error().ToString().find("checksum"), std::string::npos) << r.error().ToString();
  EXPECT_NE(r.error().ToString().find(Hex(d.heap)), std::string::npos) << r.error().ToString();
}

TEST(FractalHeap, WrongSignature) {
  io::Bytes bytes = Slurp(kData + "new_style.h5");
  auto d = OpenDenseGroupHeap(bytes);
  bytes[static_cast<std::size_t>(d.heap)] = 'X';
  auto e = OpenBytes(std::move(bytes));
  auto r = FractalHeap::Open(e->ctx, d.heap);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("bad signature"), std::string::npos);
}

// The first direct block of a heap: the root, or the first child of the root indirect block.
// Header offsets for 8-byte offsets/lengths: root address at 132, current rows at 140;
// indirect block entries start after signature, version, heap address and a 4-byte block
// offset (32-bit heap).
std::uint64_t FirstDirectBlock(TestFile& f, std::uint64_t heap) {
  auto h = f.source->ReadAt(heap, 146);
  const std::uint64_t root = UnsafeLoadU64LE(h->data() + 132);
  const std::uint16_t rows = UnsafeLoadU16LE(h->data() + 140);
  if (rows == 0) return root;
  auto ib = f.source->ReadAt(root, 5 + 8 + 4 + 8);
  return UnsafeLoadU64LE(ib->data() + 5 + 8 + 4);
}

TEST(FractalHeap, BadDirectBlockChecksumOrSignature) {
  io::Bytes bytes = Slurp(kData + "new_style.h5");
  auto d = OpenDenseGroupHeap(bytes);
  const std::uint64_t dblock = FirstDirectBlock(*d.file, d.heap);
  auto sig = d.file->source->ReadAt(dblock, 4);
  ASSERT_EQ(std::string(sig->begin(), sig->end()), "FHDB");
  {
    io::Bytes b = bytes;
    b[static_cast<std::size_t>(dblock) + 40] ^= 0x01;  // object data
    auto e = OpenBytes(std::move(b));
    auto r = ReadDenseLinks(e->ctx, d.heap, d.btree);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().ToString().find("checksum"), std::string::npos) << r.error().ToString();
  }
  {
    io::Bytes b = bytes;
    b[static_cast<std::size_t>(dblock) + 1] = 'X';
    auto e = OpenBytes(std::move(b));
    auto r = ReadDenseLinks(e->ctx, d.heap, d.btree);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().ToString().find("bad signature at " + Hex(dblock)), std::string::npos)
        << r.error().ToString();
  }
}

TEST(FractalHeap, TruncatedFile) {
  io::Bytes bytes = Slurp(kData + "new_style.h5");
  auto d = OpenDenseGroupHeap(bytes);
  bytes.resize(static_cast<std::size_t>(d.heap) + 40);
  auto e = OpenBytes(std::move(bytes));
  auto r = FractalHeap::Open(e->ctx, d.heap);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(r.error().ToString().find("beyond the end"), std::string::npos) << r.error().ToString();
}

// ---------------------------------------------------------------- malformed old-style groups

// A hand-built file: local heap "HEAP" at 0 (data at 32), v1 B-tree node(s) after it.
struct HandBuilt {
  io::Bytes bytes = io::Bytes(512, 0);
  void Put(std::size_t at, std::initializer_list<std::uint8_t> v) {
    std::copy(v.begin(), v.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at));
  }
  void Put64(std::size_t at, std::uint64_t v) {
    for (std::size_t i = 0; i < 8; ++i) bytes[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
  HandBuilt() {
    Put(0, {'H', 'E', 'A', 'P', 0, 0, 0, 0});
    Put64(8, 16);   // data segment size
    Put64(16, 8);   // free list
    Put64(24, 32);  // data segment address
    Put(32, {0, 'n', 'a', 'm', 'e', 0});
  }
  // A group B-tree node at `at` with one child.
  void Tree(std::size_t at, std::uint8_t level, std::uint64_t child) {
    Put(at, {'T', 'R', 'E', 'E', 0, level, 1, 0});
    Put64(at + 8, kUndefinedAddress);
    Put64(at + 16, kUndefinedAddress);
    Put64(at + 24, 0);  // key
    Put64(at + 32, child);
    Put64(at + 40, 1);  // key
  }
};

FileContext MemoryContext(io::ByteSource& src, std::uint64_t size) {
  FileContext ctx;
  ctx.source = &src;
  ctx.file_size = size;
  return ctx;
}

TEST(SymbolTableGroup, BTreeCycleIsAnError) {
  HandBuilt hb;
  hb.Tree(64, 1, 64);  // points to itself
  io::MemorySource src(hb.bytes);
  auto ctx = MemoryContext(src, hb.bytes.size());
  auto r = ReadSymbolTableGroup(ctx, 64, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(r.error().ToString().find("cycle"), std::string::npos) << r.error().ToString();
  EXPECT_NE(r.error().ToString().find("0x40"), std::string::npos) << r.error().ToString();
}

TEST(SymbolTableGroup, TwoNodeCycleAndLevelMismatch) {
  HandBuilt hb;
  hb.Tree(64, 2, 128);
  hb.Tree(128, 1, 64);  // back up to the root
  io::MemorySource src(hb.bytes);
  auto ctx = MemoryContext(src, hb.bytes.size());
  auto r = ReadSymbolTableGroup(ctx, 64, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("cycle"), std::string::npos) << r.error().ToString();

  HandBuilt hb2;
  hb2.Tree(64, 2, 128);
  hb2.Tree(128, 2, 192);  // a child at the parent's level
  io::MemorySource src2(hb2.bytes);
  auto ctx2 = MemoryContext(src2, hb2.bytes.size());
  auto r2 = ReadSymbolTableGroup(ctx2, 64, 0);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.error().ToString().find("level 2, expected 1"), std::string::npos)
      << r2.error().ToString();
}

TEST(SymbolTableGroup, HandBuiltOneEntry) {
  HandBuilt hb;
  hb.Tree(64, 0, 128);
  hb.Put(128, {'S', 'N', 'O', 'D', 1, 0, 1, 0});
  hb.Put64(136, 1);  // name offset -> "name"
  hb.Put64(144, 0x1234);
  io::MemorySource src(hb.bytes);
  auto ctx = MemoryContext(src, hb.bytes.size());
  auto r = ReadSymbolTableGroup(ctx, 64, 0);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].name, "name");
  EXPECT_EQ((*r)[0].address, 0x1234u);

  // A name offset outside the heap.
  hb.Put64(136, 99);
  io::MemorySource src2(hb.bytes);
  auto ctx2 = MemoryContext(src2, hb.bytes.size());
  auto r2 = ReadSymbolTableGroup(ctx2, 64, 0);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.error().ToString().find("outside the heap"), std::string::npos)
      << r2.error().ToString();
}

TEST(SymbolTableGroup, EmptyGroup) {
  HandBuilt hb;
  hb.Tree(64, 0, 128);
  hb.bytes[64 + 6] = 0;  // no entries
  io::MemorySource src(hb.bytes);
  io::CountingSource counting(src);
  auto ctx = MemoryContext(counting, hb.bytes.size());
  auto r = ReadSymbolTableGroup(ctx, 64, 0);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(counting.rounds(), 3u);  // heap header, heap data, the root node
}

TEST(SymbolTableGroup, WrongSignatures) {
  HandBuilt hb;
  hb.Tree(64, 0, 128);
  hb.Put(128, {'S', 'N', 'O', 'X', 1, 0, 1, 0});
  {
    io::MemorySource src(hb.bytes);
    auto ctx = MemoryContext(src, hb.bytes.size());
    auto r = ReadSymbolTableGroup(ctx, 64, 0);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().ToString().find("symbol node: bad signature at 0x80"), std::string::npos)
        << r.error().ToString();
  }
  hb.Put(64, {'T', 'R', 'E', 'X'});
  {
    io::MemorySource src(hb.bytes);
    auto ctx = MemoryContext(src, hb.bytes.size());
    auto r = ReadSymbolTableGroup(ctx, 64, 0);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().ToString().find("bad signature at 0x40"), std::string::npos)
        << r.error().ToString();
  }
}

TEST(LocalHeap, TruncatedAndBadSignature) {
  HandBuilt hb;
  hb.Put64(8, 4096);  // data segment larger than the file
  io::MemorySource src(hb.bytes);
  auto ctx = MemoryContext(src, hb.bytes.size());
  auto r = ReadLocalHeap(ctx, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(r.error().ToString().find("local heap data segment"), std::string::npos)
      << r.error().ToString();

  hb.Put(0, {'H', 'E', 'A', 'X'});
  io::MemorySource src2(hb.bytes);
  auto ctx2 = MemoryContext(src2, hb.bytes.size());
  auto r2 = ReadLocalHeap(ctx2, 0);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.error().ToString().find("local heap: bad signature at 0x0"), std::string::npos)
      << r2.error().ToString();

  // Header cut short by the end of the file.
  auto ctx3 = MemoryContext(src2, 20);
  EXPECT_TRUE(IsError(ReadLocalHeap(ctx3, 0), ErrorCode::kCorrupt, "local heap"));
}

}  // namespace
}  // namespace vz::hdf5
