// Decodes real stored chunks (taken from corpus files and from files written with h5py by
// tests/data/codecs/make_vectors.py) and compares with what HDF5 or an independent codec gives.
#include "vz/codecs/codecs.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "vz/base/byte_cursor.h"
#include "vz/codecs/filters.h"

namespace vz::codecs {
namespace {

using model::DType;
using Kind = model::DType::Kind;

const std::string kDataDir = VZ_SOURCE_DIR "/tests/data/codecs/";

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

DType DTypeFromJson(const model::Json& j) {
  DType t;
  const std::string kind = j.at("kind");
  t.kind = kind == "i"   ? Kind::kInt
           : kind == "u" ? Kind::kUInt
           : kind == "f" ? Kind::kFloat
           : kind == "V" ? Kind::kCompound
                         : Kind::kOpaque;
  t.size = j.at("size");
  t.byte_order = std::string(j.at("order"))[0];
  if (j.contains("fields")) {
    for (const auto& f : j.at("fields")) {
      t.fields.push_back(model::Field{f.at("name"), f.at("offset"), DTypeFromJson(f)});
    }
  }
  return t;
}

struct Vector {
  std::string name;
  std::vector<model::Filter> pipeline;
  std::uint32_t mask = 0;
  ChunkInfo info;
  Bytes stored;
  Bytes expected;
};

std::vector<Vector> LoadVectors() {
  std::ifstream in(kDataDir + "vectors.json");
  if (!in.good()) return {};
  const model::Json all = model::Json::parse(in);
  std::vector<Vector> out;
  for (const auto& j : all) {
    Vector v;
    v.name = j.at("name");
    for (const auto& f : j.at("pipeline")) {
      model::Filter filter;
      filter.id = f.at("id");
      filter.flags = f.at("flags");
      filter.name = f.at("name");
      filter.client_data = f.at("client_data").get<std::vector<std::uint32_t>>();
      v.pipeline.push_back(filter);
    }
    v.mask = j.at("filter_mask");
    v.info.dtype = DTypeFromJson(j.at("dtype"));
    v.info.chunk_shape = j.at("chunk_shape").get<std::vector<std::uint64_t>>();
    v.stored = ReadFile(kDataDir + v.name + ".stored");
    v.expected = ReadFile(kDataDir + v.name + ".expected");
    out.push_back(std::move(v));
  }
  return out;
}

const Vector& Find(const std::vector<Vector>& all, const std::string& name) {
  for (const auto& v : all) {
    if (v.name == name) return v;
  }
  ADD_FAILURE() << "no vector " << name;
  static const Vector kEmpty;
  return kEmpty;
}

class CodecVectors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { vectors_ = new std::vector<Vector>(LoadVectors()); }
  static void TearDownTestSuite() {
    delete vectors_;
    vectors_ = nullptr;
  }
  static std::vector<Vector>* vectors_;
};
std::vector<Vector>* CodecVectors::vectors_ = nullptr;

TEST_F(CodecVectors, EveryVectorDecodesToTheExpectedBytes) {
  ASSERT_GE(vectors_->size(), 30u) << "tests/data/codecs/vectors.json missing or short";
  for (const Vector& v : *vectors_) {
    SCOPED_TRACE(v.name);
    auto r = DecodeChunk(v.stored, v.pipeline, v.mask, v.info);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    ASSERT_EQ(r->size(), v.expected.size());
    EXPECT_TRUE(*r == v.expected) << "decoded bytes differ";
  }
}

TEST_F(CodecVectors, CoversEveryFilter) {
  std::set<std::uint16_t> ids;
  for (const Vector& v : *vectors_) {
    for (const auto& f : v.pipeline) ids.insert(f.id);
  }
  for (const int id : {1, 2, 3, 4, 5, 6, 307, 32000, 32001, 32004, 32008, 32015}) {
    EXPECT_TRUE(ids.count(static_cast<std::uint16_t>(id))) << "no vector for filter " << id;
    EXPECT_TRUE(CanDecode(static_cast<std::uint16_t>(id)));
  }
  EXPECT_FALSE(CanDecode(32026));  // blosc2
  EXPECT_FALSE(CanDecode(0));
}

// Every prefix of a stored chunk must fail cleanly (or, for filters that ignore trailing
// bytes, decode to the right bytes) — never crash or read out of bounds.
TEST_F(CodecVectors, TruncatedChunksFailWithAnErrorNamingTheFilter) {
  for (const Vector& v : *vectors_) {
    if (v.pipeline.empty() || v.mask != 0) continue;
    SCOPED_TRACE(v.name);
    const std::size_t cuts[] = {0, 1, v.stored.size() / 2, v.stored.size() - 1};
    for (std::size_t cut : cuts) {
      if (cut >= v.stored.size()) continue;
      const Bytes part(v.stored.begin(), v.stored.begin() + static_cast<std::ptrdiff_t>(cut));
      auto r = DecodeChunk(part, v.pipeline, v.mask, v.info);
      if (r.ok()) {
        // A short n-bit/scale-offset tail can still hold every value; it must be the same data.
        EXPECT_TRUE(*r == v.expected) << "cut at " << cut << " decoded to different data";
      } else {
        EXPECT_FALSE(r.error().message().empty());
      }
    }
  }
}

TEST_F(CodecVectors, ErrorsNameTheFilter) {
  const Vector& v = Find(*vectors_, "szip_h5ex_i32");
  Bytes cut(v.stored.begin(), v.stored.begin() + 10);
  auto r = DecodeChunk(cut, v.pipeline, v.mask, v.info);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("szip decode failed"), std::string::npos)
      << r.error().message();

  const Vector& d = Find(*vectors_, "shuffle_deflate_f32");
  Bytes half(d.stored.begin(), d.stored.begin() + static_cast<std::ptrdiff_t>(d.stored.size() / 2));
  auto rd = DecodeChunk(half, d.pipeline, d.mask, d.info);
  ASSERT_FALSE(rd.ok());
  EXPECT_EQ(rd.error().message(), "deflate decode failed: truncated stream");

  for (const char* name : {"bitshuffle_lz4_f8", "bitshuffle_zstd_i4", "lzf_h5py_i4"}) {
    SCOPED_TRACE(name);
    const Vector& b = Find(*vectors_, name);
    Bytes part(b.stored.begin(), b.stored.end() - 3);
    auto rb = DecodeChunk(part, b.pipeline, b.mask, b.info);
    ASSERT_FALSE(rb.ok());
    const std::string want = name[0] == 'l' ? "lzf decode failed" : "bitshuffle decode failed";
    EXPECT_NE(rb.error().message().find(want), std::string::npos) << rb.error().message();
  }
}

// Bitshuffle's block framing: a block size that is not a multiple of 8 elements and an unknown
// compression code are refused with the reason.
TEST(Codecs, BitshuffleFramingErrors) {
  model::DType t;
  t.kind = Kind::kInt;
  t.size = 4;
  t.byte_order = '<';
  // u64be 32 bytes, u32be block of 12 bytes (3 elements), then nothing.
  const Bytes header = {0, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0, 12};
  const std::vector<std::uint32_t> lz4 = {0, 4, 4, 0, 2};
  auto r = DecodeBitshuffle(header, lz4, t, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("not a multiple of 8 elements"), std::string::npos)
      << r.error().message();
  const std::vector<std::uint32_t> unknown = {0, 4, 4, 0, 9};
  auto u = DecodeBitshuffle(header, unknown, t, 1 << 20);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(u.error().message().find("bitshuffle compression 9"), std::string::npos);
}

TEST_F(CodecVectors, Fletcher32DetectsACorruptedByte) {
  for (const char* name : {"fletcher32_h5ex", "fletcher32_int8_odd", "fletcher32_float64"}) {
    SCOPED_TRACE(name);
    const Vector& v = Find(*vectors_, name);
    Bytes bad = v.stored;
    bad[bad.size() / 3] ^= 0x10;
    auto r = DecodeChunk(bad, v.pipeline, v.mask, v.info);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
    EXPECT_NE(r.error().message().find("fletcher32 decode failed: checksum mismatch"),
              std::string::npos);
  }
}

TEST_F(CodecVectors, Fletcher32AcceptsTheByteSwappedFormOfOldFiles) {
  const Vector& v = Find(*vectors_, "fletcher32_h5ex");
  Bytes old = v.stored;
  const std::size_t n = old.size();
  std::swap(old[n - 4], old[n - 3]);
  std::swap(old[n - 2], old[n - 1]);
  auto r = DecodeChunk(old, v.pipeline, v.mask, v.info);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_TRUE(*r == v.expected);
}

TEST_F(CodecVectors, OutputLimitStopsDecompressionBombs) {
  for (const char* name :
       {"zstd_numcodecs", "lz4_hdf5_framing", "bzip2_netcdf_f32", "blosc_lz4_bitshuffle_i64",
        "szip_netcdf_i32", "shuffle_deflate_f32", "scaleoffset_h5ex_f64", "nbit_h5ex_i32_p16_o5",
        "bitshuffle_plain_i4", "bitshuffle_lz4_f8", "bitshuffle_zstd_i4", "lzf_h5py_i4"}) {
    SCOPED_TRACE(name);
    const Vector& v = Find(*vectors_, name);
    // Lie about the chunk size so only the per-filter cap can stop the decoder.
    ChunkInfo info = v.info;
    info.chunk_shape = {1};
    info.dtype.size = 1;
    info.max_output = 16;
    auto r = DecodeChunk(v.stored, v.pipeline, v.mask, info);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kLimit) << r.error().ToString();
  }
}

TEST_F(CodecVectors, WrongChunkSizeIsAnError) {
  const Vector& v = Find(*vectors_, "bzip2_h5ex_i32");
  ChunkInfo info = v.info;
  info.chunk_shape = {4, 9};
  auto r = DecodeChunk(v.stored, v.pipeline, v.mask, info);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "decoded chunk has 128 bytes, expected 144");
}

TEST_F(CodecVectors, NbitIntegersAreShiftedAndSignExtended) {
  // h5ex_d_nbit stores i*j - j as 16-bit values at bit offset 5; HDF5 reads them back as-is.
  const Vector& v = Find(*vectors_, "nbit_h5ex_i32_p16_o5");
  auto r = DecodeChunk(v.stored, v.pipeline, v.mask, v.info);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  bool negative = false;
  for (std::size_t i = 0; i < r->size(); i += 4) {
    negative |= static_cast<std::int32_t>(UnsafeLoadU32LE(r->data() + i)) < 0;
  }
  EXPECT_TRUE(negative) << "chunk 3 of h5ex_d_nbit holds negative values";
}

TEST(Codecs, UnknownFilterIsUnsupported) {
  model::Filter f;
  f.id = 32026;
  f.name = "blosc2";
  ChunkInfo info;
  info.chunk_shape = {4};
  const Bytes data(4, 0);
  auto r = DecodeChunk(data, std::span<const model::Filter>(&f, 1), 0, info);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(r.error().message(), "filter 32026 (blosc2) is not supported");
  // ... unless the chunk says the filter was skipped.
  auto skipped = DecodeChunk(data, std::span<const model::Filter>(&f, 1), 1, info);
  ASSERT_TRUE(skipped.ok());
}

TEST(Codecs, UnshuffleKeepsTrailingBytesLikeHdf5) {
  // Three 4-byte elements shuffled (bytes grouped by position), then two bytes that do not fill
  // an element and stay where they are.
  const Bytes stored = {0xa0, 0xb0, 0xc0, 0xa1, 0xb1, 0xc1, 0xa2,
                        0xb2, 0xc2, 0xa3, 0xb3, 0xc3, 0xee, 0xff};
  const Bytes want = {0xa0, 0xa1, 0xa2, 0xa3, 0xb0, 0xb1, 0xb2,
                      0xb3, 0xc0, 0xc1, 0xc2, 0xc3, 0xee, 0xff};
  EXPECT_EQ(Unshuffle(stored, 4), want);
  EXPECT_EQ(Unshuffle(stored, 1), stored);
  // Fewer bytes than one element: nothing to shuffle.
  EXPECT_EQ(Unshuffle(Bytes{1, 2, 3}, 4), (Bytes{1, 2, 3}));
}

TEST(Codecs, ShuffleElementSizeFallsBackToTheDtype) {
  model::Filter f;
  f.id = 2;
  ChunkInfo info;
  info.dtype.size = 2;
  info.chunk_shape = {3};
  const Bytes stored = {1, 2, 3, 10, 20, 30};
  auto r = DecodeChunk(stored, std::span<const model::Filter>(&f, 1), 0, info);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (Bytes{1, 10, 2, 20, 3, 30}));
}

TEST(Codecs, Fletcher32KnownValues) {
  // "abcde" as 16-bit big-endian words 0x6162 0x6364 and a last odd byte 0x65.
  const std::string s = "abcde";
  const ByteSpan data(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  const std::uint32_t sum1 = 0x6162 + 0x6364 + 0x6500;
  const std::uint32_t sum2 = 0x6162 + (0x6162 + 0x6364) + sum1;
  const std::uint32_t f1 = (sum1 & 0xffff) + (sum1 >> 16);
  const std::uint32_t f2 = (sum2 & 0xffff) + (sum2 >> 16);
  EXPECT_EQ(Fletcher32(data), (f2 << 16) | f1);
  EXPECT_FALSE(CheckFletcher32(Bytes{1, 2, 3}).ok());
}

TEST(Codecs, DeflateBombIsStopped) {
  const Bytes zeros(1 << 20, 0);
  uLongf len = compressBound(static_cast<uLong>(zeros.size()));
  Bytes packed(len);
  ASSERT_EQ(compress(packed.data(), &len, zeros.data(), static_cast<uLong>(zeros.size())), Z_OK);
  packed.resize(len);
  auto r = InflateZlib(packed, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kLimit);
  EXPECT_NE(r.error().message().find("deflate decode failed"), std::string::npos);
  auto ok = InflateZlib(packed, 1 << 20);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), zeros.size());
  // Garbage is not a zlib stream.
  auto bad = InflateZlib(Bytes{1, 2, 3, 4, 5, 6}, 1000);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kCorrupt);
}

TEST(Codecs, Lz4FramingErrors) {
  // Declares 8 bytes in blocks of 8, then a block claiming 100 stored bytes.
  const Bytes frame = {0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 100, 1, 2};
  auto r = DecodeHdf5Lz4(frame, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("lz4 decode failed"), std::string::npos);
  // Raw block (stored size == raw size) is copied.
  const Bytes raw = {0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 8, 0, 0, 0, 3, 7, 8, 9};
  auto ok = DecodeHdf5Lz4(raw, 1000);
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(*ok, (Bytes{7, 8, 9}));
  // Block size 0 with data to produce would never end.
  const Bytes zero_block = {0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0};
  EXPECT_FALSE(DecodeHdf5Lz4(zero_block, 1000).ok());
}

TEST(Codecs, BadClientDataIsAnError) {
  const Bytes some(64, 0x55);
  EXPECT_FALSE(DecodeSzip(some, std::vector<std::uint32_t>{169, 7, 32, 8}, 1000).ok());
  EXPECT_FALSE(DecodeSzip(some, std::vector<std::uint32_t>{169}, 1000).ok());
  DType i4{Kind::kInt, '<', 4, {}, {}, {}};
  // n-bit: a count that disagrees with the data, a precision wider than the type.
  EXPECT_FALSE(
      DecodeNbit(some, std::vector<std::uint32_t>{9, 0, 4, 1, 4, 0, 16, 5}, i4, 1000).ok());
  EXPECT_FALSE(
      DecodeNbit(some, std::vector<std::uint32_t>{8, 0, 4, 1, 4, 0, 40, 0}, i4, 1000).ok());
  EXPECT_FALSE(DecodeNbit(some, std::vector<std::uint32_t>{5, 0, 4, 9, 4}, i4, 1000).ok());
  // scale-offset: E-scaling is not implemented by HDF5 either.
  auto e = DecodeScaleOffset(some, std::vector<std::uint32_t>{1, 2, 4, 1, 4, 0, 0, 0}, i4, 1000);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code(), ErrorCode::kUnsupported);
  // minbits larger than the type.
  Bytes header(40, 0);
  header[0] = 33;
  EXPECT_FALSE(
      DecodeScaleOffset(header, std::vector<std::uint32_t>{2, 0, 4, 0, 4, 1, 0, 0}, i4, 1000).ok());
}

}  // namespace
}  // namespace vz::codecs
