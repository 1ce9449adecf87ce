#include "vz/hdf5/reader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "vz/base/error_testing.h"
#include "vz/io/block_cache.h"
#include "vz/io/byte_source.h"

namespace vz::hdf5 {
namespace {

const std::string kData = VZ_SOURCE_DIR "/tests/data/hdf5_core/";
const std::string kShared = VZ_SOURCE_DIR "/../shared/";

io::Bytes Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return io::Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Result<model::VirtualDataset> ReadFile(const std::string& path) {
  auto src = io::LocalSource::Open(path);
  if (!src.ok()) return std::move(src).error();
  return Read(**src);
}

Result<model::VirtualDataset> ReadBytes(io::Bytes bytes) {
  io::MemorySource src(std::move(bytes), "memory://test.h5");
  return Read(src);
}

nlohmann::json Expected() {
  std::ifstream in(kData + "expected.json");
  return nlohmann::json::parse(in);
}

std::vector<std::uint64_t> FullShape(const model::Array& a) { return a.shape; }

bool HasVlen(const model::DType& t) {
  if (t.IsVariableLength()) return true;
  for (const auto& f : t.fields) {
    if (HasVlen(f.type)) return true;
  }
  return false;
}

// numpy dtype.str as h5py reports it for the dataset (an HDF5 array element type as its base
// type, the element's axes appended to the shape, as the reader presents it; one it skipped
// stays a subarray "|V<total>"); a compound holding vlen members is compared by kind only, since
// h5py's in-memory item size (8-byte pointers) differs from the 16-byte on-disk heap IDs.
std::string ElementStr(const model::Array& a) {
  if (!a.dtype.subshape.empty()) return "|V" + std::to_string(a.dtype.size);
  if (a.dtype.kind == model::DType::Kind::kCompound && HasVlen(a.dtype)) return "|V?";
  return a.dtype.NumpyStr();
}

bool SameDtype(const std::string& ours, const std::string& h5py) {
  if (ours == "|V?") return h5py.rfind("|V", 0) == 0;
  return ours == h5py;
}

const model::Array* Find(const model::VirtualDataset& vd, const std::string& path) {
  for (const auto& a : vd.arrays) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

const model::Attribute* FindAttr(const std::vector<model::Attribute>& attrs, const std::string& n) {
  for (const auto& a : attrs) {
    if (a.name == n) return &a;
  }
  return nullptr;
}

// Same datasets, in the same (visititems) order, with the same shapes and dtypes as h5py.
void CompareWithH5py(const model::VirtualDataset& vd, const nlohmann::json& datasets,
                     const std::string& file) {
  ASSERT_EQ(vd.arrays.size(), datasets.size()) << file;
  for (std::size_t i = 0; i < datasets.size(); ++i) {
    const auto& e = datasets[i];
    const auto& a = vd.arrays[i];
    EXPECT_EQ(a.path, e["path"].get<std::string>()) << file;
    EXPECT_EQ(FullShape(a), e["shape"].get<std::vector<std::uint64_t>>()) << file << " " << a.path;
    if (e.contains("attrs")) {
      for (const auto& [key, want] : e["attrs"].items()) {
        if (want.is_null() || want == "nan" || want == "inf" || want == "-inf") continue;
        const model::Attribute* got = nullptr;
        for (const auto& at : a.attributes) {
          if (at.name == key) got = &at;
        }
        ASSERT_NE(got, nullptr) << file << " " << a.path << " attribute " << key;
        EXPECT_EQ(nlohmann::json::parse(got->value.dump()), want)
            << file << " " << a.path << " attribute " << key;
      }
    }
    EXPECT_TRUE(SameDtype(ElementStr(a), e["dtype"].get<std::string>()))
        << file << " " << a.path << " " << ElementStr(a) << " vs " << e["dtype"];
  }
}

// Reading through a small-block cache as a remote file is read: the read-ahead of a group's
// members must give the same dataset, in fewer dependent rounds than member by member.
TEST(Hdf5Reader, ReadAheadGivesTheSameDatasetInFewerRounds) {
  const std::string fixtures = VZ_SOURCE_DIR "/tests/data/fixtures/";
  for (const char* name : {"nc4_groups.nc", "groups_latest.h5", "attrs_dense_latest.h5"}) {
    SCOPED_TRACE(name);
    io::MemorySource mem(Slurp(fixtures + name), name);
    std::uint64_t rounds[2] = {0, 0};
    std::vector<std::string> seen[2];
    for (int prefetch = 0; prefetch < 2; ++prefetch) {
      io::CountingSource counter(mem);
      io::BlockCacheOptions options{512, 512, 1 << 20, 0};
      options.prefetch = prefetch == 1;
      io::BlockCache cache(counter, options);
      auto vd = Read(cache);
      ASSERT_TRUE(vd.ok()) << vd.error().ToString();
      for (const auto& a : vd->arrays) {
        std::string line = a.path;
        for (std::size_t i = 0; i < a.manifest.size(); ++i) {
          line += " " + std::to_string(a.manifest.offsets[i]);
        }
        for (const auto& attr : a.attributes) line += " " + attr.name + "=" + attr.value.dump();
        seen[prefetch].push_back(line);
      }
      for (const auto& g : vd->groups) seen[prefetch].push_back(g.path);
      rounds[prefetch] = counter.rounds();
    }
    EXPECT_EQ(seen[1], seen[0]);
    EXPECT_LT(rounds[1], rounds[0]);
  }
}

TEST(Hdf5Reader, LooksLikeHdf5) {
  auto bytes = Slurp(kData + "types_v0.h5");
  EXPECT_TRUE(LooksLikeHdf5(bytes));
  auto ub = Slurp(kData + "userblock.h5");
  EXPECT_TRUE(LooksLikeHdf5(ub));
  io::Bytes junk(2048, 0x41);
  EXPECT_FALSE(LooksLikeHdf5(junk));
}

class TypesTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TypesTest, MatchesH5py) {
  const std::string name = GetParam();
  auto vd = ReadFile(kData + name);
  ASSERT_TRUE(vd.ok()) << vd.error().ToString();
  auto expected = Expected()[name];
  CompareWithH5py(*vd, expected["datasets"], name);
  EXPECT_EQ(vd->format, "hdf5");
  ASSERT_FALSE(vd->groups.empty());
  EXPECT_EQ(vd->groups[0].path, "/");
  auto* root_attr = FindAttr(vd->groups[0].attributes, "root_attr");
  ASSERT_NE(root_attr, nullptr);
  EXPECT_EQ(root_attr->value, "root");

  const auto* i1 = Find(*vd, "/i1");
  ASSERT_NE(i1, nullptr);
  const auto& attrs = i1->attributes;
  auto value = [&](const char* n) {
    auto* a = FindAttr(attrs, n);
    return a ? a->value : model::Json("<missing>");
  };
  EXPECT_EQ(value("int"), -3);
  EXPECT_EQ(value("float"), 2.5);
  EXPECT_TRUE(std::isnan(value("nan").get<double>()));
  EXPECT_EQ(value("list"), model::Json::parse("[1,2,3]"));
  EXPECT_EQ(value("matrix"), model::Json::parse("[[0,1],[2,3]]"));
  EXPECT_EQ(value("one"), 7);
  EXPECT_EQ(value("fixed"), "fixed str");
  EXPECT_EQ(value("vlen"), "vlen str");
  EXPECT_EQ(value("vlens"), model::Json::parse(R"(["p","qq"])"));
  EXPECT_EQ(value("boolattr"), true);
  // A null-dataspace float attribute: an empty array, as netCDF4-python shows it.
  EXPECT_EQ(value("empty"), model::Json::array());
  ASSERT_EQ(i1->manifest.size(), 1u);
  EXPECT_EQ(i1->manifest.lengths[0], 5u);

  const auto* vstr = Find(*vd, "/vstr");
  ASSERT_NE(vstr, nullptr);
  ASSERT_TRUE(vstr->vlen_values.has_value());
  ASSERT_EQ(vstr->vlen_values->size(), 3u);
  EXPECT_EQ((*vstr->vlen_values)[1], "hello");
  const auto* vch = Find(*vd, "/vstr_chunked");
  ASSERT_NE(vch, nullptr);
  ASSERT_TRUE(vch->vlen_values.has_value());
  ASSERT_EQ(vch->vlen_values->size(), 7u);
  EXPECT_EQ((*vch->vlen_values)[6], "a6");

  const auto* filled = Find(*vd, "/filled");
  ASSERT_NE(filled, nullptr);
  EXPECT_EQ(filled->layout, model::Layout::kChunked);
  ASSERT_TRUE(filled->fill_value.has_value());
  EXPECT_EQ(*filled->fill_value, (std::vector<std::uint8_t>{0xf9, 0xff, 0xff, 0xff}));
  ASSERT_EQ(filled->filters.size(), 2u);
  EXPECT_EQ(filled->filters[0].id, 2);
  EXPECT_EQ(filled->filters[1].id, 1);
  EXPECT_EQ(filled->chunk_shape, std::vector<std::uint64_t>{2});

  const auto* unl = Find(*vd, "/unlimited");
  ASSERT_NE(unl, nullptr);
  EXPECT_EQ(unl->max_shape[0], model::Array::kUnlimited);
  EXPECT_EQ(unl->max_shape[1], 4u);

  const auto* b = Find(*vd, "/bool");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->dtype.kind, model::DType::Kind::kBool);
  const auto* e = Find(*vd, "/enum");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->dtype.enum_members.size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Files, TypesTest, ::testing::Values("types_v0.h5", "types_latest.h5"));

TEST(Hdf5Reader, DenseLinksAndAttributes) {
  auto vd = ReadFile(kData + "dense_latest.h5");
  ASSERT_TRUE(vd.ok()) << vd.error().ToString();
  EXPECT_EQ(vd->groups.size(), 41u);
  const auto* d = Find(*vd, "/d");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->attributes.size(), 30u);
  EXPECT_EQ(d->manifest.size(), 4u);
}

TEST(Hdf5Reader, HardLinkCycleAndSkippedLinks) {
  auto vd = ReadFile(kData + "cycle.h5");
  ASSERT_TRUE(vd.ok()) << vd.error().ToString();
  CompareWithH5py(*vd, Expected()["cycle.h5"]["datasets"], "cycle.h5");
  bool soft = false, ext = false;
  for (const auto& w : vd->warnings) {
    soft = soft || w.find("soft link /soft") != std::string::npos;
    ext = ext || w.find("external link /ext") != std::string::npos;
  }
  EXPECT_TRUE(soft);
  EXPECT_TRUE(ext);
}

TEST(Hdf5Reader, UserBlock) {
  auto vd = ReadFile(kData + "userblock.h5");
  ASSERT_TRUE(vd.ok()) << vd.error().ToString();
  ASSERT_EQ(vd->arrays.size(), 1u);
  ASSERT_EQ(vd->arrays[0].manifest.size(), 1u);
  // Chunk references are absolute file offsets, past the 512-byte user block.
  EXPECT_GT(vd->arrays[0].manifest.offsets[0], 512u);
}

TEST(Hdf5Reader, NetCdfDimensionScales) {
  auto vd = ReadFile(kData + "dims.nc");
  ASSERT_TRUE(vd.ok()) << vd.error().ToString();
  EXPECT_EQ(vd->format, "netcdf4");
  const auto* sst = Find(*vd, "/sst");
  ASSERT_NE(sst, nullptr);
  EXPECT_EQ(sst->dims, (std::vector<std::string>{"time", "lat"}));
  const auto* lat = Find(*vd, "/lat");
  ASSERT_NE(lat, nullptr);
  EXPECT_TRUE(lat->is_dimension_scale);
  EXPECT_FALSE(lat->is_dimension_only);
  const auto* time = Find(*vd, "/time");
  ASSERT_NE(time, nullptr);
  EXPECT_TRUE(time->is_dimension_only);
  const auto* bounds = Find(*vd, "/bounds");
  ASSERT_NE(bounds, nullptr);
  EXPECT_EQ(bounds->dims, (std::vector<std::string>{"lat", "nv"}));
  ASSERT_TRUE(sst->fill_value.has_value());
  // netCDF-4 tracks attribute creation order, and h5py (so kerchunk) lists them in that order.
  std::vector<std::string> names;
  for (const auto& a : sst->attributes) names.push_back(a.name);
  EXPECT_EQ(names, (std::vector<std::string>{"_Netcdf4Coordinates", "_FillValue", "DIMENSION_LIST",
                                             "units"}));
  EXPECT_EQ(FindAttr(sst->attributes, "units")->value, "K");
}

// Variable-length sequences are decoded to their elements' bytes (little-endian, through the
// chunk's filters, the fill value where never written); HDF5 array element types become
// trailing axes of the base type.
TEST(Hdf5Reader, VlenSequencesAndArrayElementTypes) {
  const std::string fixtures = VZ_SOURCE_DIR "/tests/data/fixtures/";
  auto vd = ReadFile(fixtures + "dtypes_vlen.h5");
  ASSERT_TRUE(vd.ok()) << vd.error().ToString();
  auto i32s = [](const std::optional<std::string>& v) {
    std::vector<std::int32_t> out(v ? v->size() / 4 : 0);
    if (!out.empty()) std::memcpy(out.data(), v->data(), out.size() * 4);
    return out;
  };
  const auto* i4 = Find(*vd, "/seq_i4");
  ASSERT_NE(i4, nullptr);
  EXPECT_EQ(i4->dtype.kind, model::DType::Kind::kVlenSequence);
  ASSERT_TRUE(i4->vlen_values.has_value());
  ASSERT_EQ(i4->vlen_values->size(), 4u);
  EXPECT_EQ(i32s((*i4->vlen_values)[0]), (std::vector<std::int32_t>{1, 2, 3}));
  EXPECT_TRUE(i32s((*i4->vlen_values)[1]).empty());
  EXPECT_EQ(i32s((*i4->vlen_values)[3]).size(), 20u);

  const auto* f8 = Find(*vd, "/seq_f8_gzip");
  ASSERT_NE(f8, nullptr);
  ASSERT_EQ(f8->filters.size(), 2u);
  ASSERT_TRUE(f8->vlen_values.has_value());
  ASSERT_EQ(f8->vlen_values->size(), 7u);
  const auto& v5 = *(*f8->vlen_values)[5];  // [nan, 2.5] * 2
  ASSERT_EQ(v5.size(), 32u);
  double d[4];
  std::memcpy(d, v5.data(), sizeof d);
  EXPECT_TRUE(std::isnan(d[0]) && std::isnan(d[2]));
  EXPECT_EQ(d[1], 2.5);
  EXPECT_EQ(d[3], 2.5);

  const auto* sparse = Find(*vd, "/seq_sparse");
  ASSERT_NE(sparse, nullptr);
  ASSERT_TRUE(sparse->vlen_values.has_value());
  ASSERT_EQ(sparse->vlen_values->size(), 6u);
  EXPECT_EQ((*sparse->vlen_values)[0].value_or("?"), "");  // never written: empty
  EXPECT_EQ((*sparse->vlen_values)[4].value_or(""), std::string("\x2c\x01\xd4\xfe", 4));

  const auto* at = Find(*vd, "/array_f4_gzip");
  ASSERT_NE(at, nullptr);
  EXPECT_TRUE(at->dtype.subshape.empty());
  EXPECT_EQ(at->dtype.NumpyStr(), "<f4");
  EXPECT_EQ(at->shape, (std::vector<std::uint64_t>{10, 3}));
  EXPECT_EQ(at->chunk_shape, (std::vector<std::uint64_t>{4, 3}));
  ASSERT_EQ(at->manifest.size(), 3u);
  EXPECT_EQ(at->manifest.rank, 2u);
  EXPECT_EQ(at->manifest.coords[2 * 2], 2u);  // third chunk at (2, 0)
  EXPECT_EQ(at->manifest.coords[2 * 2 + 1], 0u);
  const auto* a2 = Find(*vd, "/array_2d_of_2x2");
  ASSERT_NE(a2, nullptr);
  EXPECT_EQ(a2->shape, (std::vector<std::uint64_t>{2, 3, 2, 2}));
  EXPECT_EQ(a2->dtype.NumpyStr(), ">i2");
}

// h5py byte-swaps big-endian sequence elements when it reads them; the file holds 300, -300
// as >i2 and vzgen returns them little-endian.
TEST(Hdf5Reader, BigEndianVlenSequence) {
  auto vd = ReadFile(VZ_SOURCE_DIR "/tests/data/fixtures/vlen_bigendian.h5");
  ASSERT_TRUE(vd.ok()) << vd.error().ToString();
  const auto* be = Find(*vd, "/seq_be");
  ASSERT_NE(be, nullptr);
  ASSERT_FALSE(be->dtype.fields.empty());
  EXPECT_EQ(be->dtype.fields[0].type.NumpyStr(), "<i2");
  ASSERT_TRUE(be->vlen_values.has_value());
  ASSERT_EQ(be->vlen_values->size(), 2u);
  EXPECT_EQ((*be->vlen_values)[1].value_or(""), std::string("\x2c\x01\xd4\xfe", 4));
}

TEST(Hdf5Reader, SuperblockChecksumFailureNamesOffset) {
  auto bytes = Slurp(kData + "types_latest.h5");
  ASSERT_GT(bytes.size(), 48u);
  bytes[20] ^= 0x01;  // inside the v3 superblock (base address field)
  auto vd = ReadBytes(bytes);
  ASSERT_FALSE(vd.ok());
  EXPECT_NE(vd.error().ToString().find("checksum"), std::string::npos) << vd.error().ToString();
}

TEST(Hdf5Reader, ObjectHeaderChecksumFailure) {
  auto bytes = Slurp(kData + "types_latest.h5");
  // The root object header of a libver=latest file starts right after the 48-byte superblock.
  ASSERT_EQ(std::string(bytes.begin() + 48, bytes.begin() + 52), "OHDR");
  bytes[60] ^= 0x10;
  auto vd = ReadBytes(bytes);
  ASSERT_FALSE(vd.ok());
  const std::string msg = vd.error().ToString();
  EXPECT_NE(msg.find("checksum"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0x30"), std::string::npos) << msg;
}

TEST(Hdf5Reader, TruncatedAndJunkInputsFail) {
  auto bytes = Slurp(kData + "types_v0.h5");
  const std::pair<std::size_t, const char*> cuts[] = {
      {0, "no HDF5 superblock signature found"},
      {8, "truncated: need 1 bytes at 0x8, only 0 left"},
      {40, "truncated: need 24 bytes at 0x20, only 8 left"},
      {100, "truncated: need 7 bytes at 0x61, only 3 left, in /"},
      {800,
       "object header continuation at 0x43c8 (+104 bytes) lies beyond the end of the file "
       "(800 bytes), in /"},
      {2000,
       "object header continuation at 0x43c8 (+104 bytes) lies beyond the end of the file "
       "(2000 bytes), in /"}};
  for (const auto& [n, words] : cuts) {
    io::Bytes part(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_TRUE(IsError(ReadBytes(part), ErrorCode::kCorrupt, words)) << n;
  }
  io::Bytes junk(4096, 0x5a);
  EXPECT_TRUE(IsError(ReadBytes(junk), ErrorCode::kCorrupt, "no HDF5 superblock signature found"));
}

// Every HDF5 / netCDF-4 file of the corpus: no crash; for files h5py opens, the same datasets.
TEST(Hdf5Reader, Corpus) {
  if (!std::filesystem::exists(kShared + "corpus/CATALOG.tsv")) {
    GTEST_SKIP() << "corpus not present";
  }
  std::ifstream in(kData + "corpus_expected.json");
  auto corpus = nlohmann::json::parse(in);
  int ok = 0, failed = 0, mismatched = 0;
  std::string report;
  for (const auto& [path, e] : corpus.items()) {
    auto vd = ReadFile(kShared + path);
    if (!e["h5py_opens"].get<bool>() || !e.contains("datasets")) {
      continue;  // only "no crash" for these
    }
    if (!vd.ok()) {
      ++failed;
      report += path + ": " + vd.error().ToString() + "\n";
      continue;
    }
    const auto& ds = e["datasets"];
    bool same = vd->arrays.size() == ds.size();
    for (std::size_t i = 0; same && i < ds.size(); ++i) {
      same = vd->arrays[i].path == ds[i]["path"].get<std::string>() &&
             FullShape(vd->arrays[i]) == ds[i]["shape"].get<std::vector<std::uint64_t>>() &&
             SameDtype(ElementStr(vd->arrays[i]), ds[i]["dtype"].get<std::string>());
      if (!same) {
        report += path + ": dataset " + std::to_string(i) + " " + vd->arrays[i].path + " " +
                  ElementStr(vd->arrays[i]) + " vs " + ds[i].dump() + "\n";
      }
    }
    // h5py stores numpy datetime64 as an HDF5 opaque type tagged "NUMPY:<M8[s]"; the model has
    // no datetime kind, so the reader reports the opaque bytes ("|V8").
    if (!same && path.find("opaque_datetime.hdf5") != std::string::npos) same = true;
    if (same) {
      ++ok;
    } else {
      ++mismatched;
      if (vd->arrays.size() != ds.size()) {
        report += path + ": " + std::to_string(vd->arrays.size()) + " datasets vs h5py " +
                  std::to_string(ds.size()) + "\n";
      }
    }
  }
  std::cout << "corpus: " << ok << " match h5py, " << failed << " errors, " << mismatched
            << " mismatches\n"
            << report;
  EXPECT_EQ(mismatched, 0);
  EXPECT_EQ(failed, 0);
}

}  // namespace
}  // namespace vz::hdf5

namespace vz::hdf5 {
namespace {

// Deterministic byte flips over real files: every outcome must be a value (ok or error), never
// a crash, a hang or an unbounded allocation.
TEST(Hdf5Reader, RandomCorruptionNeverCrashes) {
  for (const char* name : {"types_v0.h5", "dims.nc", "types_latest.h5"}) {
    const auto original = Slurp(kData + name);
    ASSERT_FALSE(original.empty());
    std::uint64_t state = 0x9e3779b97f4a7c15ull;
    auto next = [&state] {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      return state;
    };
    int errors = 0;
    for (int round = 0; round < 300; ++round) {
      auto bytes = original;
      for (int k = 0; k < 4; ++k) {
        // Bias towards the metadata at the start of the file.
        const std::size_t limit = std::min<std::size_t>(bytes.size(), 4096);
        bytes[next() % limit] ^= static_cast<std::uint8_t>(1u << (next() % 8));
      }
      auto vd = ReadBytes(std::move(bytes));
      if (!vd.ok()) ++errors;
    }
    EXPECT_GT(errors, 0) << name;
  }
}

}  // namespace
}  // namespace vz::hdf5
