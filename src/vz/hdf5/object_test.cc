// The stages of reading one object on their own: collecting its header messages, building an
// array from them, ordering attributes and visiting a group's members.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vz/hdf5/reader_internal.h"
#include "vz/hdf5/test_bytes.h"
#include "vz/io/byte_source.h"

namespace vz::hdf5 {
namespace {

using Bytes = std::vector<std::uint8_t>;
using Kind = model::DType::Kind;

Message Msg(MessageType type, Bytes body, std::uint64_t offset = 0x200, std::uint8_t flags = 0) {
  Message m;
  m.type = type;
  m.flags = flags;
  m.body = std::move(body);
  m.offset = offset;
  return m;
}

Message Dataspace1D(std::uint64_t n) {
  Bytes b = {2, 1, 0, 1};  // version 2, rank 1, no max dims, simple
  PutLE(b, n, 8);
  return Msg(MessageType::kDataspace, b);
}

Message Float32() {
  Bytes b = {0x11, 0x20, 0x1f, 0, 4, 0, 0, 0};
  b.resize(b.size() + 12, 0);
  return Msg(MessageType::kDatatype, b);
}

Message Contiguous(std::uint64_t address, std::uint64_t size) {
  Bytes b = {3, 1};
  PutLE(b, address, 8);
  PutLE(b, size, 8);
  return Msg(MessageType::kDataLayout, b, 0x300);
}

Message FillOld(Bytes value) {
  Bytes b;
  PutLE(b, value.size(), 4);
  b.insert(b.end(), value.begin(), value.end());
  return Msg(MessageType::kFillValueOld, b);
}

Message FillNew(Bytes value) {
  Bytes b = {2, 1, 2, 1};
  PutLE(b, value.size(), 4);
  b.insert(b.end(), value.begin(), value.end());
  return Msg(MessageType::kFillValue, b);
}

struct TestReader {
  io::MemorySource source{Bytes(4096, 0)};
  Reader rd;
  TestReader() {
    rd.ctx.source = &source;
    rd.ctx.file_size = 4096;
  }
};

const VlenDecoder kNoVlen = [](const model::Array&, const DataLayout&) -> Result<VlenValues> {
  ADD_FAILURE() << "decode_vlen called for a fixed-size type";
  return VlenValues{};
};

TEST(Hdf5Object, CollectsADatasetsMessages) {
  TestReader t;
  // The old fill value message gives way to the new one, in either order.
  for (bool old_first : {true, false}) {
    std::vector<Message> msgs = {Dataspace1D(5), Float32(), Contiguous(0x800, 20)};
    if (old_first) {
      msgs.push_back(FillOld({1, 1, 1, 1}));
      msgs.push_back(FillNew({2, 2, 2, 2}));
    } else {
      msgs.push_back(FillNew({2, 2, 2, 2}));
      msgs.push_back(FillOld({1, 1, 1, 1}));
    }
    msgs.push_back(Msg(static_cast<MessageType>(0x30), {1, 2, 3}));  // unknown, ignorable
    auto obj = t.rd.CollectMessages(msgs, "/v");
    ASSERT_TRUE(obj.ok()) << obj.error().ToString();
    EXPECT_TRUE(obj->IsDataset());
    EXPECT_TRUE(obj->has_type);
    EXPECT_FALSE(obj->is_group);
    EXPECT_EQ(obj->dtype.NumpyStr(), "<f4");
    EXPECT_EQ(obj->space->dims, (std::vector<std::uint64_t>{5}));
    EXPECT_EQ(obj->fill, (Bytes{2, 2, 2, 2})) << old_first;
    EXPECT_EQ(obj->layout->offset, 0x300u);
  }
}

TEST(Hdf5Object, CollectErrorsNameTheMessageAndThePath) {
  TestReader t;
  std::vector<Message> msgs = {
      Dataspace1D(5), Msg(static_cast<MessageType>(0x30), {}, 0x1a2b, kMessageFailIfUnknown)};
  auto obj = t.rd.CollectMessages(msgs, "/grp/v");
  ASSERT_FALSE(obj.ok());
  EXPECT_EQ(obj.error().code(), ErrorCode::kUnsupported);
  const std::string text = obj.error().ToString();
  EXPECT_NE(text.find("unknown message type 48 marked fail-if-unknown"), std::string::npos) << text;
  EXPECT_NE(text.find("in message type 48 at 0x1a2b"), std::string::npos) << text;
  EXPECT_NE(text.find("in /grp/v"), std::string::npos) << text;

  // An unsupported datatype does not fail the object: the dataset is kept, marked.
  Bytes vax = {0x11, 0x40, 0, 0, 4, 0, 0, 0};
  std::vector<Message> vax_msgs = {Dataspace1D(2), Msg(MessageType::kDatatype, vax, 0x40),
                                   Contiguous(0x800, 8)};
  auto kept = t.rd.CollectMessages(vax_msgs, "/vax");
  ASSERT_TRUE(kept.ok()) << kept.error().ToString();
  EXPECT_EQ(kept->unsupported, "VAX float datatype at 0x40");
}

TEST(Hdf5Object, BuildsContiguousAndCompactArrays) {
  FileContext ctx;
  ctx.file_size = 4096;
  ctx.base_address = 0x10;
  ObjectMessages obj;
  obj.space = Dataspace{false, {5}, {}};
  obj.dtype.kind = Kind::kFloat;
  obj.dtype.size = 4;
  obj.dtype.byte_order = '<';
  obj.layout = Contiguous(0x800, 20);
  obj.fill = Bytes{0, 0, 0xc0, 0x7f};
  auto arr = BuildArray(ctx, std::move(obj), "/v", kNoVlen);
  ASSERT_TRUE(arr.ok()) << arr.error().ToString();
  EXPECT_EQ(arr->path, "/v");
  EXPECT_EQ(arr->layout, model::Layout::kContiguous);
  EXPECT_EQ(arr->shape, (std::vector<std::uint64_t>{5}));
  EXPECT_EQ(arr->chunk_shape, arr->shape);
  EXPECT_EQ(arr->max_shape, arr->shape);
  ASSERT_EQ(arr->manifest.size(), 1u);
  EXPECT_EQ(arr->manifest.offsets[0], 0x810u);  // made absolute with the base address
  EXPECT_EQ(arr->manifest.lengths[0], 20u);
  EXPECT_EQ(arr->fill_value, (Bytes{0, 0, 0xc0, 0x7f}));
  EXPECT_TRUE(arr->unsupported.empty());

  ObjectMessages compact;
  compact.space = Dataspace{false, {2}, {}};
  compact.dtype.kind = Kind::kUInt;
  compact.dtype.size = 2;
  compact.dtype.byte_order = '<';
  compact.layout = Msg(MessageType::kDataLayout, {3, 0, 4, 0, 1, 0, 2, 0});
  auto c = BuildArray(ctx, std::move(compact), "/c", kNoVlen);
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->layout, model::Layout::kCompact);
  EXPECT_EQ(c->compact_data, (Bytes{1, 0, 2, 0}));
  EXPECT_EQ(c->manifest.size(), 0u);
}

TEST(Hdf5Object, WhatCannotBeReferencedIsMarkedNotFailed) {
  FileContext ctx;
  ObjectMessages virt;
  virt.space = Dataspace{false, {3}, {}};
  virt.layout = Msg(MessageType::kDataLayout, {4, 3});
  auto v = BuildArray(ctx, std::move(virt), "/virtual", kNoVlen);
  ASSERT_TRUE(v.ok()) << v.error().ToString();
  EXPECT_EQ(v->unsupported, "virtual dataset layout not supported");

  // A malformed layout is an error naming the message and the dataset.
  ObjectMessages bad;
  bad.space = Dataspace{false, {3}, {}};
  bad.layout = Msg(MessageType::kDataLayout, {3, 9}, 0x456);
  auto b = BuildArray(ctx, std::move(bad), "/bad", kNoVlen);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code(), ErrorCode::kCorrupt);
  const std::string text = b.error().ToString();
  EXPECT_NE(text.find("unknown layout class 9"), std::string::npos) << text;
  EXPECT_NE(text.find("in message type 8 at 0x456"), std::string::npos) << text;
  EXPECT_NE(text.find("in /bad"), std::string::npos) << text;
}

TEST(Hdf5Object, VariableLengthValuesComeFromTheDecoder) {
  FileContext ctx;
  auto strings = [] {
    ObjectMessages o;
    o.space = Dataspace{false, {2}, {}};
    o.dtype.kind = Kind::kVlenString;
    o.dtype.size = 16;
    o.layout = Msg(MessageType::kDataLayout, Bytes{3, 0, 0, 0});
    return o;
  };
  int calls = 0;
  auto arr = BuildArray(ctx, strings(), "/s",
                        [&](const model::Array& a, const DataLayout& dl) -> Result<VlenValues> {
                          ++calls;
                          EXPECT_EQ(a.path, "/s");
                          EXPECT_EQ(dl.layout, model::Layout::kCompact);
                          return VlenValues{"a", std::nullopt};
                        });
  ASSERT_TRUE(arr.ok()) << arr.error().ToString();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(arr->vlen_values, (VlenValues{"a", std::nullopt}));

  auto limited = BuildArray(ctx, strings(), "/s", [](const model::Array&, const DataLayout&) {
    return Result<VlenValues>(LimitExceeded("too many variable-length strings"));
  });
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->unsupported, "too many variable-length strings");

  auto corrupt = BuildArray(ctx, strings(), "/s", [](const model::Array&, const DataLayout&) {
    return Result<VlenValues>(Corrupt("bad heap"));
  });
  ASSERT_FALSE(corrupt.ok());
  EXPECT_NE(corrupt.error().ToString().find("in /s"), std::string::npos);
}

TEST(Hdf5Object, ArrayElementTypesBecomeTrailingAxes) {
  FileContext ctx;
  ObjectMessages obj;
  obj.space = Dataspace{false, {4}, {}};
  obj.dtype.kind = Kind::kFloat;
  obj.dtype.size = 12;
  obj.dtype.byte_order = '<';
  obj.dtype.subshape = {3};
  obj.layout = Contiguous(0x800, 48);
  auto arr = BuildArray(ctx, std::move(obj), "/vec", kNoVlen);
  ASSERT_TRUE(arr.ok()) << arr.error().ToString();
  EXPECT_EQ(arr->shape, (std::vector<std::uint64_t>{4, 3}));
  EXPECT_EQ(arr->chunk_shape, (std::vector<std::uint64_t>{4, 3}));
  EXPECT_EQ(arr->dtype.size, 4u);
  EXPECT_TRUE(arr->dtype.subshape.empty());
  ASSERT_EQ(arr->manifest.size(), 1u);
  EXPECT_EQ(arr->manifest.rank, 2u);
}

TEST(Hdf5Object, AttributesInCreationOrderWhenTrackedElseByName) {
  auto make = [](bool tracked) {
    ObjectMessages o;
    for (const char* n : {"units", "_FillValue", "long_name"}) {
      model::Attribute a;
      a.name = n;
      o.attributes.push_back(a);
    }
    o.attribute_order = {0, 2, 1};
    o.attribute_creation_order = tracked;
    SortAttributes(o);
    std::vector<std::string> names;
    for (const auto& a : o.attributes) names.push_back(a.name);
    return names;
  };
  EXPECT_EQ(make(true), (std::vector<std::string>{"units", "long_name", "_FillValue"}));
  EXPECT_EQ(make(false), (std::vector<std::string>{"_FillValue", "long_name", "units"}));
  ObjectMessages o;
  for (const char* n : {"b", "a"}) {
    model::Attribute a;
    a.name = n;
    o.attributes.push_back(a);
  }
  o.attribute_order = {0, 1};
  o.attribute_creation_order = true;
  SortAttributes(o);
  EXPECT_EQ(o.attributes[0].name, "b");
  o.attribute_creation_order = false;
  SortAttributes(o);
  EXPECT_EQ(o.attributes[0].name, "a");
}

TEST(Hdf5Object, MembersInNameOrderOtherLinksAsWarnings) {
  TestReader t;
  std::vector<Link> links(3);
  links[0].name = "z_soft";
  links[0].type = Link::Type::kSoft;
  links[0].soft_target = "/x";
  links[1].name = "a_ext";
  links[1].type = Link::Type::kExternal;
  links[1].external_file = "other.h5";
  links[1].external_path = "/y";
  links[2].name = "m_user";
  links[2].type = Link::Type::kUserDefined;
  links[2].user_type = 65;
  ASSERT_TRUE(t.rd.VisitMembers(links, "/g", 1).ok());
  EXPECT_EQ(t.rd.out.warnings,
            (std::vector<std::string>{"external link /g/a_ext -> other.h5:/y not followed",
                                      "user-defined link /g/m_user (class 65) not followed",
                                      "soft link /g/z_soft -> /x not followed"}));
  EXPECT_TRUE(t.rd.out.arrays.empty());

  // A hard link to a header that is not there fails with the member's path.
  std::vector<Link> hard(1);
  hard[0].name = "v";
  hard[0].address = 0x100;  // zeros: not an object header
  auto s = t.rd.VisitMembers(hard, "/", 0);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().ToString().find("in /v"), std::string::npos) << s.error().ToString();
}

}  // namespace
}  // namespace vz::hdf5
