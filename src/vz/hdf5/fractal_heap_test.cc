#include "vz/hdf5/fractal_heap.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <string>

#include "vz/base/byte_cursor.h"
#include "vz/base/error_testing.h"
#include "vz/hdf5/checksum.h"
#include "vz/io/byte_source.h"

namespace vz::hdf5 {
namespace {

// Hand-built heaps (8-byte offsets and lengths): header at 0, root direct block at 1024
// (512 bytes, 32-bit heap: 4-byte block offsets; direct blocks checksummed), optionally
// deflated through a one-filter pipeline, and a raw huge object at 4096.
constexpr std::uint64_t kRoot = 1024;
constexpr std::uint64_t kHuge = 4096;
constexpr std::size_t kBlock = 512;
constexpr std::size_t kPrefix = 5 + 8 + 4 + 4;  // signature, version, heap, offset, checksum

struct Builder {
  io::Bytes file = io::Bytes(8192, 0);
  std::size_t pos = 0;
  void U8(std::uint64_t v) { file[pos++] = static_cast<std::uint8_t>(v); }
  void Le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) U8(v >> (8 * i));
  }
  void Seal(std::size_t start) {  // lookup3 of [start, pos) appended
    const std::uint32_t sum =
        Lookup3(std::span<const std::uint8_t>(file).subspan(start, pos - start));
    Le(sum, 4);
  }
};

struct BuiltHeap {
  io::Bytes file;
  std::string object = "hello from a fractal heap";
};

BuiltHeap Build(std::uint16_t id_len, bool deflate, bool break_stream = false) {
  Builder b;
  BuiltHeap out;
  // Direct block image.
  io::Bytes block(kBlock, 0);
  std::memcpy(block.data(), "FHDB", 4);
  // version 0, heap address 0, block offset 0: already zero.
  std::memcpy(block.data() + kPrefix, out.object.data(), out.object.size());
  const std::uint32_t sum = Lookup3(block);  // checksum field still zero
  for (std::size_t i = 0; i < 4; ++i) block[17 + i] = static_cast<std::uint8_t>(sum >> (8 * i));
  io::Bytes stored = block;
  if (deflate) {
    uLongf n = compressBound(static_cast<uLong>(block.size()));
    stored.assign(n, 0);
    EXPECT_EQ(compress2(stored.data(), &n, block.data(), static_cast<uLong>(block.size()), 6),
              Z_OK);
    stored.resize(n);
    if (break_stream) stored.resize(n / 2);
  }
  std::copy(stored.begin(), stored.end(), b.file.begin() + kRoot);
  for (std::size_t i = 0; i < 300; ++i) b.file[kHuge + i] = static_cast<std::uint8_t>(i * 7);

  // Header.
  b.pos = 0;
  for (char ch : std::string("FRHP")) b.U8(static_cast<std::uint8_t>(ch));
  b.U8(0);
  b.Le(id_len, 2);
  const std::uint16_t filter_len = deflate ? 12 : 0;
  b.Le(filter_len, 2);
  b.U8(0x02);      // direct blocks checksummed
  b.Le(4096, 4);   // max managed object size
  b.Le(0, 8);      // next huge ID
  b.Le(~0ull, 8);  // huge B-tree: none (huge IDs are direct when they fit)
  b.Le(0, 8);
  b.Le(~0ull, 8);
  for (int i = 0; i < 8; ++i) b.Le(0, 8);
  b.Le(4, 2);       // table width
  b.Le(kBlock, 8);  // starting block size
  b.Le(65536, 8);   // max direct block size
  b.Le(32, 2);      // max heap size (bits)
  b.Le(1, 2);       // starting rows
  b.Le(kRoot, 8);   // root block
  b.Le(0, 2);       // current rows: the root is a direct block
  if (deflate) {
    b.Le(stored.size(), 8);  // filtered root direct block size
    b.Le(0, 4);              // filter mask
    b.U8(2);                 // pipeline version 2
    b.U8(1);                 // one filter
    b.Le(1, 2);              // deflate
    b.Le(0, 2);              // flags
    b.Le(1, 2);              // one client value
    b.Le(6, 4);              // level
  }
  b.Seal(0);
  out.file = std::move(b.file);
  return out;
}

struct Opened {
  std::unique_ptr<io::MemorySource> src;
  FileContext ctx;
};

Opened OpenMemory(io::Bytes bytes) {
  Opened o;
  o.ctx.file_size = bytes.size();
  o.src = std::make_unique<io::MemorySource>(std::move(bytes));
  o.ctx.source = o.src.get();
  return o;
}

std::vector<std::uint8_t> ManagedId(std::uint64_t offset, std::uint64_t length,
                                    std::size_t id_len) {
  std::vector<std::uint8_t> id(id_len, 0);
  id[0] = 0x00;
  for (std::size_t i = 0; i < 4; ++i) id[1 + i] = static_cast<std::uint8_t>(offset >> (8 * i));
  for (std::size_t i = 0; i < 2; ++i) id[5 + i] = static_cast<std::uint8_t>(length >> (8 * i));
  return id;
}

TEST(FractalHeapBuilt, ManagedObjectInRootDirectBlock) {
  auto h = Build(7, false);
  auto o = OpenMemory(h.file);
  auto heap = FractalHeap::Open(o.ctx, 0);
  ASSERT_TRUE(heap.ok()) << heap.error().ToString();
  auto obj = heap->Get(o.ctx, ManagedId(kPrefix, h.object.size(), 7));
  ASSERT_TRUE(obj.ok()) << obj.error().ToString();
  EXPECT_EQ(std::string(obj->begin(), obj->end()), h.object);

  // GetMany reports where the object sits in the file.
  const auto id = ManagedId(kPrefix + 6, 4, 7);
  const std::span<const std::uint8_t> ids[] = {id};
  auto many = heap->GetMany(o.ctx, ids);
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(std::string((*many)[0].data.begin(), (*many)[0].data.end()), "from");
  EXPECT_EQ((*many)[0].file_offset, kRoot + kPrefix + 6);
}

TEST(FractalHeapBuilt, ManagedObjectOutsideItsBlock) {
  auto h = Build(7, false);
  auto o = OpenMemory(h.file);
  auto heap = FractalHeap::Open(o.ctx, 0);
  ASSERT_TRUE(heap.ok());
  auto past = heap->Get(o.ctx, ManagedId(kBlock - 4, 10, 7));
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.error().ToString().find("does not fit"), std::string::npos)
      << past.error().ToString();
  auto header = heap->Get(o.ctx, ManagedId(3, 4, 7));  // inside the block header
  EXPECT_FALSE(header.ok());
  auto outside = heap->Get(o.ctx, ManagedId(kBlock + 10, 4, 7));
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.error().ToString().find("outside the root direct block"), std::string::npos)
      << outside.error().ToString();
}

TEST(FractalHeapBuilt, DeflatedRootDirectBlock) {
  auto h = Build(7, true);
  auto o = OpenMemory(h.file);
  auto heap = FractalHeap::Open(o.ctx, 0);
  ASSERT_TRUE(heap.ok()) << heap.error().ToString();
  auto obj = heap->Get(o.ctx, ManagedId(kPrefix, h.object.size(), 7));
  ASSERT_TRUE(obj.ok()) << obj.error().ToString();
  EXPECT_EQ(std::string(obj->begin(), obj->end()), h.object);
}

TEST(FractalHeapBuilt, BrokenDeflateStream) {
  auto h = Build(7, true, /*break_stream=*/true);
  auto o = OpenMemory(h.file);
  auto heap = FractalHeap::Open(o.ctx, 0);
  ASSERT_TRUE(heap.ok()) << heap.error().ToString();
  auto obj = heap->Get(o.ctx, ManagedId(kPrefix, h.object.size(), 7));
  ASSERT_FALSE(obj.ok());
  EXPECT_EQ(obj.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(obj.error().ToString().find("0x400"), std::string::npos) << obj.error().ToString();
}

TEST(FractalHeapBuilt, DirectHugeObject) {
  // 17-byte IDs hold a huge object's address and length directly.
  auto h = Build(17, false);
  auto o = OpenMemory(h.file);
  auto heap = FractalHeap::Open(o.ctx, 0);
  ASSERT_TRUE(heap.ok()) << heap.error().ToString();
  std::vector<std::uint8_t> id(17, 0);
  id[0] = 0x10;
  for (std::size_t i = 0; i < 8; ++i) id[1 + i] = static_cast<std::uint8_t>(kHuge >> (8 * i));
  id[9] = 44;  // 300 = 0x12c
  id[10] = 1;
  auto obj = heap->Get(o.ctx, id);
  ASSERT_TRUE(obj.ok()) << obj.error().ToString();
  ASSERT_EQ(obj->size(), 300u);
  EXPECT_EQ((*obj)[299], static_cast<std::uint8_t>(299 * 7));

  // An indirect huge ID needs the huge-object B-tree, which this heap does not have.
  auto small = Build(7, false);
  auto o2 = OpenMemory(small.file);
  auto heap2 = FractalHeap::Open(o2.ctx, 0);
  ASSERT_TRUE(heap2.ok());
  const std::vector<std::uint8_t> indirect = {0x10, 1, 0, 0, 0, 0, 0};
  auto r = heap2->Get(o2.ctx, indirect);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("no huge-object B-tree"), std::string::npos)
      << r.error().ToString();
}

TEST(FractalHeapBuilt, BadIdsAndHeaders) {
  auto h = Build(7, false);
  auto o = OpenMemory(h.file);
  auto heap = FractalHeap::Open(o.ctx, 0);
  ASSERT_TRUE(heap.ok());
  EXPECT_TRUE(IsError(heap->Get(o.ctx, std::vector<std::uint8_t>{0x40, 0, 0}),
                      ErrorCode::kUnsupported, "heap ID version 1"));
  EXPECT_TRUE(IsError(heap->Get(o.ctx, std::vector<std::uint8_t>{0x30, 0, 0}), ErrorCode::kCorrupt,
                      "heap ID of unknown type 3"));
  EXPECT_TRUE(IsError(heap->Get(o.ctx, std::vector<std::uint8_t>{}), ErrorCode::kCorrupt,
                      "truncated: need 1 bytes at 0x0, only 0 left"));

  // A doubling table with a width that is not a power of two (checksum re-sealed).
  io::Bytes bad = h.file;
  const std::size_t width_at = 110;
  bad[width_at] = 3;
  const std::size_t hsize = 142;
  const std::uint32_t sum = Lookup3(std::span<const std::uint8_t>(bad).first(hsize));
  for (std::size_t i = 0; i < 4; ++i) bad[hsize + i] = static_cast<std::uint8_t>(sum >> (8 * i));
  auto o2 = OpenMemory(bad);
  auto r = FractalHeap::Open(o2.ctx, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("invalid doubling table"), std::string::npos)
      << r.error().ToString();
}

}  // namespace
}  // namespace vz::hdf5
