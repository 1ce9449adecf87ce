#include "vz/app/verify.h"

#include <fmt/format.h>

#include <map>
#include <variant>

#include "vz/app/sources.h"
#include "vz/base/checked.h"
#include "vz/codecs/codecs.h"
#include "vz/model/scalar.h"

namespace vz::app {

namespace {

using refs::SortedJson;

// The zarr dtype string as a model DType; nullopt for structured dtypes.
std::optional<model::DType> DTypeOf(const SortedJson& dtype) {
  if (!dtype.is_string()) return std::nullopt;
  const auto& s = dtype.get_ref<const std::string&>();
  if (s.size() < 3) return std::nullopt;
  model::DType t;
  t.byte_order = s[0];
  std::uint32_t size = 0;
  for (std::size_t i = 2; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9' || size > (1u << 24)) return std::nullopt;
    size = size * 10 + static_cast<std::uint32_t>(s[i] - '0');
  }
  t.size = size;
  switch (s[1]) {
    case 'b':
      t.kind = model::DType::Kind::kBool;
      break;
    case 'i':
      t.kind = model::DType::Kind::kInt;
      break;
    case 'u':
      t.kind = model::DType::Kind::kUInt;
      break;
    case 'f':
      t.kind = model::DType::Kind::kFloat;
      break;
    case 'c':
      t.kind = model::DType::Kind::kComplex;
      break;
    case 'S':
      t.kind = model::DType::Kind::kFixedString;
      break;
    case 'V':
      t.kind = model::DType::Kind::kOpaque;
      break;
    default:
      return std::nullopt;
  }
  return t;
}

// numcodecs codecs of .zarray (filters, then compressor) as the equivalent HDF5 pipeline.
Result<std::vector<model::Filter>> PipelineOf(const SortedJson& zarray) {
  std::vector<model::Filter> out;
  auto add = [&](const SortedJson& codec) -> Status {
    const std::string id = codec.value("id", "");
    model::Filter f;
    if (id == "zlib" || id == "gzip") {
      f.id = 1;
    } else if (id == "shuffle") {
      f.id = 2;
      f.client_data = {codec.value("elementsize", 4u)};
    } else if (id == "zstd") {
      f.id = 32015;
    } else if (id == "bz2") {
      f.id = 307;
    } else if (id == "blosc") {
      f.id = 32001;
    } else {
      return Unsupported(fmt::format("codec {} is not decoded by vzgen verify", id));
    }
    out.push_back(f);
    return Ok();
  };
  const SortedJson filters = zarray.value("filters", SortedJson());
  if (filters.is_array()) {
    for (const auto& c : filters) VZ_TRY(add(c));
  }
  const SortedJson compressor = zarray.value("compressor", SortedJson());
  if (compressor.is_object()) VZ_TRY(add(compressor));
  return out;
}

std::string FirstValue(const std::vector<std::uint8_t>& raw, const model::DType& t) {
  if (t.size != 1 && t.size != 2 && t.size != 4 && t.size != 8) return "";
  // Half floats are not shown (a sample, not a decoder of every type).
  if (t.kind == model::DType::Kind::kFloat && t.size == 2) return "";
  const auto n = model::DecodeNumber(t, raw);
  if (!n) return "";
  if (const double* d = std::get_if<double>(&*n)) {
    // A single-precision value prints as the float it is ("0.1", not "0.10000000149011612").
    if (t.size == 4) return fmt::format("{}", static_cast<float>(*d));
    return fmt::format("{}", *d);
  }
  return std::visit([](auto v) { return fmt::format("{}", v); }, *n);
}

std::string Key(const refs::RefArray& a, std::span<const std::uint32_t> coords) {
  std::string k = a.name + "/";
  if (coords.empty()) return k + "0";
  for (std::size_t i = 0; i < coords.size(); ++i) {
    if (i > 0) k += '.';
    k += std::to_string(coords[i]);
  }
  return k;
}

}  // namespace

Result<VerifyReport> VerifyStore(const refs::RefStore& store, const VerifyOptions& options) {
  VerifyReport report;
  struct Pending {
    const refs::RefArray* array;
    std::size_t entry;
  };
  std::map<std::uint32_t, std::vector<Pending>> by_url;
  std::vector<Pending> embedded;
  for (const auto& a : store.arrays) {
    ++report.arrays;
    if (a.InMemory()) continue;  // embedded whole; written and read by the same code
    const auto& e = a.entries;
    if (e.size() == 0) continue;
    std::vector<std::size_t> picks;
    const std::size_t n = std::min(options.samples_per_array, e.size());
    for (std::size_t k = 0; k < n; ++k) {
      picks.push_back(n == 1 ? 0 : k * (e.size() - 1) / (n - 1));
    }
    for (std::size_t i : picks) {
      if (e.inline_data.count(i) != 0) {
        embedded.push_back({&a, i});
      } else {
        by_url[e.path_ids[i]].push_back({&a, i});
      }
    }
  }
  // A failure names the chunk's key and, for a referenced chunk, its URL, offset and length.
  auto failure = [](const Pending& p, const std::string& url, const std::string& why) {
    const refs::RefArray& a = *p.array;
    const std::string key = Key(a, a.entries.Coords(p.entry));
    if (url.empty()) return fmt::format("{} (embedded): {}", key, why);
    return fmt::format("{} ({} at offset {}, {} bytes): {}", key, url, a.entries.offsets[p.entry],
                       a.entries.lengths[p.entry], why);
  };
  auto check = [&](const Pending& p, std::span<const std::uint8_t> bytes, const std::string& url) {
    const refs::RefArray& a = *p.array;
    const std::string key = Key(a, a.entries.Coords(p.entry));
    auto fail = [&](const std::string& why) { report.failures.push_back(failure(p, url, why)); };
    auto dtype = DTypeOf(a.zarray.value("dtype", SortedJson()));
    if (!dtype) return;  // structured dtypes: fetched, not decoded
    auto pipeline = PipelineOf(a.zarray);
    if (!pipeline.ok()) return fail(pipeline.error().ToString());
    codecs::ChunkInfo info;
    info.dtype = *dtype;
    info.chunk_shape = a.Chunks();
    auto elems = CheckedProduct(info.chunk_shape, "chunk elements");
    if (!elems.ok()) return fail(elems.error().ToString());
    const std::uint64_t expect = *elems * dtype->size;
    info.max_output = expect * 2 + 4096;
    auto raw = codecs::DecodeChunk(bytes, *pipeline, 0, info);
    if (!raw.ok()) return fail("does not decode: " + raw.error().ToString());
    if (raw->size() != expect) {
      return fail(fmt::format("decodes to {} bytes, the chunk holds {}", raw->size(), expect));
    }
    ++report.chunks;
    report.samples.push_back({key, url, FirstValue(*raw, *dtype)});
  };
  for (const auto& p : embedded) check(p, p.array->entries.inline_data.at(p.entry), "");
  RemoteOptions remote = RemoteOptionsFromEnvironment();
  for (const auto& [url_id, pending] : by_url) {
    if (url_id >= store.urls.size()) return Internal("reference to a missing URL");
    const std::string& url = store.urls[url_id];
    auto source = OpenUrl(url, remote);
    if (!source.ok()) {
      for (const auto& p : pending) {
        report.failures.push_back(failure(p, url, source.error().ToString()));
      }
      continue;
    }
    std::vector<io::ByteRange> ranges;
    for (const auto& p : pending) {
      ranges.push_back({p.array->entries.offsets[p.entry], p.array->entries.lengths[p.entry]});
    }
    auto got = (*source)->ReadMany(ranges);
    if (got.ok()) {
      for (std::size_t k = 0; k < pending.size(); ++k) check(pending[k], (*got)[k], url);
      continue;
    }
    // One range failed the batch (e.g. a file truncated under its references): judge each
    // chunk on its own, so that the ones that are still whole pass.
    for (std::size_t k = 0; k < pending.size(); ++k) {
      auto one = (*source)->ReadAt(ranges[k].offset, ranges[k].length);
      if (!one.ok()) {
        report.failures.push_back(failure(pending[k], url, one.error().ToString()));
      } else {
        check(pending[k], *one, url);
      }
    }
  }
  return report;
}

Result<refs::RefStore> LoadStore(const std::string& url) {
  VZ_ASSIGN_OR_RETURN(auto source, OpenUrl(url, RemoteOptionsFromEnvironment()));
  VZ_ASSIGN_OR_RETURN(auto info, source->Stat());
  VZ_ASSIGN_OR_RETURN(auto bytes, source->ReadAt(0, info.size));
  return refs::ReadRefStore(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),  // NOLINT
      url);
}

}  // namespace vz::app
