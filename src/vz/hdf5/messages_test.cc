#include "vz/hdf5/messages.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vz/hdf5/test_bytes.h"

namespace vz::hdf5 {
namespace {

using Bytes = std::vector<std::uint8_t>;
using Kind = model::DType::Kind;

TEST(Hdf5Messages, TypeNumbersAndNamesFollowTheSpec) {
  EXPECT_EQ(static_cast<int>(MessageType::kDataspace), 0x01);
  EXPECT_EQ(static_cast<int>(MessageType::kDataLayout), 0x08);
  EXPECT_EQ(static_cast<int>(MessageType::kAttribute), 0x0C);
  EXPECT_EQ(static_cast<int>(MessageType::kContinuation), 0x10);
  EXPECT_EQ(static_cast<int>(MessageType::kAttributeInfo), 0x15);
  EXPECT_EQ(static_cast<int>(MessageType::kFileSpaceInfo), 0x17);
  EXPECT_STREQ(MessageTypeName(MessageType::kDataLayout), "Data Layout");
  EXPECT_STREQ(MessageTypeName(MessageType::kFilterPipeline), "Filter Pipeline");
  EXPECT_STREQ(MessageTypeName(static_cast<MessageType>(0x30)), "unknown");
  Message m;
  m.type = MessageType::kSymbolTable;
  EXPECT_EQ(m.number(), 17);
}

TEST(Hdf5Messages, DataspaceWithUnlimitedMaximum) {
  FileContext ctx;
  Bytes b = {1, 2, 1, 0, 0, 0, 0, 0};  // version 1, rank 2, max dims present, reserved
  PutLE(b, 10, 8);
  PutLE(b, 20, 8);
  PutLE(b, ~std::uint64_t{0}, 8);  // unlimited
  PutLE(b, 20, 8);
  ByteCursor c(b, 0x100);
  auto s = ParseDataspace(ctx, c);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_FALSE(s->null);
  EXPECT_EQ(s->dims, (std::vector<std::uint64_t>{10, 20}));
  EXPECT_EQ(s->max_dims, (std::vector<std::uint64_t>{model::Array::kUnlimited, 20}));

  const Bytes null_space = {2, 0, 0, 2};  // version 2, rank 0, null
  ByteCursor n(null_space);
  auto ns = ParseDataspace(ctx, n);
  ASSERT_TRUE(ns.ok());
  EXPECT_TRUE(ns->null);

  const Bytes v3 = {3, 0, 0, 0};
  ByteCursor c3(v3);
  auto bad = ParseDataspace(ctx, c3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(bad.error().message(), "dataspace version 3");

  ctx.limits.max_rank = 1;
  ByteCursor again(b);
  auto deep = ParseDataspace(ctx, again);
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().code(), ErrorCode::kLimit);
}

TEST(Hdf5Messages, Datatypes) {
  // Fixed point, version 1, big-endian signed, 4 bytes: offset and precision follow.
  const Bytes be_int = {0x10, 0x09, 0, 0, 4, 0, 0, 0, 0, 0, 32, 0};
  ByteCursor c1(be_int);
  auto t1 = ParseDatatype(c1);
  ASSERT_TRUE(t1.ok()) << t1.error().ToString();
  EXPECT_EQ(t1->kind, Kind::kInt);
  EXPECT_EQ(t1->byte_order, '>');
  EXPECT_EQ(t1->size, 4u);
  EXPECT_EQ(c1.remaining(), 0u);

  // Floating point, little-endian, 8 bytes: 12 bytes of properties.
  Bytes f8 = {0x11, 0x20, 0x3f, 0, 8, 0, 0, 0};
  f8.resize(f8.size() + 12, 0);
  ByteCursor c2(f8);
  auto t2 = ParseDatatype(c2);
  ASSERT_TRUE(t2.ok());
  EXPECT_EQ(t2->kind, Kind::kFloat);
  EXPECT_EQ(t2->NumpyStr(), "<f8");

  // Enum of int8 {FALSE: 0, TRUE: 1} is h5py's bool.
  Bytes en = {0x18, 2, 0, 0, 1, 0, 0, 0};  // version 1: names padded to 8 bytes
  const Bytes base = {0x10, 0x08, 0, 0, 1, 0, 0, 0, 0, 0, 8, 0};
  en.insert(en.end(), base.begin(), base.end());
  for (const char* name : {"FALSE", "TRUE"}) {
    const std::string s(name);
    en.insert(en.end(), s.begin(), s.end());
    en.resize(en.size() + (8 - s.size() % 8), 0);  // NUL-terminated, padded to 8
  }
  en.push_back(0);
  en.push_back(1);
  ByteCursor c3(en);
  auto t3 = ParseDatatype(c3);
  ASSERT_TRUE(t3.ok()) << t3.error().ToString();
  EXPECT_EQ(t3->kind, Kind::kBool);
  ASSERT_EQ(t3->enum_members.size(), 2u);
  EXPECT_EQ(t3->enum_members[1].first, 1);
  EXPECT_EQ(t3->enum_members[1].second, "TRUE");

  const Bytes vax = {0x11, 0x40, 0, 0, 4, 0, 0, 0};
  ByteCursor c4(vax, 0x40);
  auto t4 = ParseDatatype(c4);
  ASSERT_FALSE(t4.ok());
  EXPECT_EQ(t4.error().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(t4.error().message(), "VAX float datatype at 0x40");

  const Bytes time = {0x12, 0, 0, 0, 4, 0, 0, 0};
  ByteCursor c5(time, 0x80);
  auto t5 = ParseDatatype(c5);
  ASSERT_FALSE(t5.ok());
  EXPECT_EQ(t5.error().message(), "datatype class 2 at 0x80");
}

TEST(Hdf5Messages, FillValues) {
  // Version 2, space allocation and write time, defined: 4 bytes.
  Bytes v2 = {2, 1, 2, 1};
  PutLE(v2, 4, 4);
  PutLE(v2, 0xdeadbeef, 4);
  ByteCursor c(v2);
  auto f = ParseFillValue(MessageType::kFillValue, c);
  ASSERT_TRUE(f.ok()) << f.error().ToString();
  ASSERT_TRUE(f->has_value());
  EXPECT_EQ(**f, (Bytes{0xef, 0xbe, 0xad, 0xde}));

  // Version 3 without the "fill value defined" flag: none.
  const Bytes v3 = {3, 0x09};
  ByteCursor c3(v3);
  auto none = ParseFillValue(MessageType::kFillValue, c3);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  // Version 3 with it.
  Bytes v3d = {3, 0x20};
  PutLE(v3d, 2, 4);
  v3d.push_back(7);
  v3d.push_back(0);
  ByteCursor c3d(v3d);
  auto defined = ParseFillValue(MessageType::kFillValue, c3d);
  ASSERT_TRUE(defined.ok());
  EXPECT_EQ(defined->value(), (Bytes{7, 0}));

  // The old message: a size and the bytes; size 0 is no fill value.
  Bytes old = {};
  PutLE(old, 0, 4);
  ByteCursor co(old);
  auto empty = ParseFillValue(MessageType::kFillValueOld, co);
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());

  const Bytes v9 = {9, 0, 0, 0};
  ByteCursor c9(v9);
  auto bad = ParseFillValue(MessageType::kFillValue, c9);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(bad.error().message(), "fill value message version 9");

  const Bytes cut = {2, 1};
  ByteCursor cc(cut);
  auto truncated = ParseFillValue(MessageType::kFillValue, cc);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(truncated.error().message(), "fill value message truncated");
}

TEST(Hdf5Messages, FilterPipelineAndInfoMessages) {
  // Version 2: deflate (id 1, no name) with one client value, then shuffle.
  Bytes fp = {2, 2};
  PutLE(fp, 1, 2);
  PutLE(fp, 1, 2);  // flags: optional
  PutLE(fp, 1, 2);
  PutLE(fp, 4, 4);
  PutLE(fp, 2, 2);
  PutLE(fp, 0, 2);
  PutLE(fp, 0, 2);
  ByteCursor c(fp);
  auto filters = ParseFilters(c);
  ASSERT_TRUE(filters.ok()) << filters.error().ToString();
  ASSERT_EQ(filters->size(), 2u);
  EXPECT_EQ((*filters)[0].id, 1);
  EXPECT_EQ((*filters)[0].client_data, (std::vector<std::uint32_t>{4}));
  EXPECT_EQ((*filters)[1].id, 2);

  FileContext ctx;
  // Link Info tracking creation order: an 8-byte maximum creation index precedes the heap.
  Bytes li = {0, 1};
  PutLE(li, 99, 8);
  PutLE(li, 0x1000, 8);
  PutLE(li, 0x2000, 8);
  ByteCursor cl(li);
  auto info = ParseInfoMessage(ctx, cl, MessageType::kLinkInfo);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->creation_order);
  EXPECT_EQ(info->heap, 0x1000u);
  EXPECT_EQ(info->name_index, 0x2000u);
  // The same bytes as Attribute Info read a 2-byte index instead, so the addresses differ.
  ByteCursor ca(li);
  auto ai = ParseInfoMessage(ctx, ca, MessageType::kAttributeInfo);
  ASSERT_TRUE(ai.ok());
  EXPECT_NE(ai->heap, 0x1000u);

  const Bytes cut = {0, 0, 1, 2};
  ByteCursor cc(cut);
  auto bad = ParseInfoMessage(ctx, cc, MessageType::kLinkInfo);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "info message truncated");
}

}  // namespace
}  // namespace vz::hdf5
