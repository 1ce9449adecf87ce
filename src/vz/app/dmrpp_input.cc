#include "vz/app/dmrpp_input.h"

#include <fmt/format.h>

#include <filesystem>
#include <mutex>

#include "vz/app/scan.h"
#include "vz/app/sources.h"
#include "vz/codecs/filters.h"
#include "vz/dmrpp/reader.h"

namespace vz::app {

namespace {

constexpr std::string_view kSuffix = ".dmrpp";

bool IsLocal(const std::string& url) {
  return url.find("://") == std::string::npos || url.rfind("file://", 0) == 0;
}

// The URL references name for a granule: a local path made absolute, as LocalSource does.
std::string ReferenceUrl(const std::string& url) {
  if (!IsLocal(url)) return url;
  const std::string path = url.rfind("file://", 0) == 0 ? url.substr(7) : url;
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec).lexically_normal();
  return ec ? path : abs.string();
}

// The granule behind a sidecar, opened on the first read: a scan whose chunks are all
// referenced never touches it. A remote granule's opening request is the first read itself when
// the ranges wanted end within the first-read size (one round for the sidecar's small chunks);
// otherwise it costs one more round of one byte, counted in extra_rounds().
class LazyGranule final : public io::ByteSource {
 public:
  LazyGranule(std::string url, std::string sidecar, RemoteOptions remote)
      : url_(ReferenceUrl(url)),
        open_url_(std::move(url)),
        sidecar_(std::move(sidecar)),
        remote_(std::move(remote)) {}

  const std::string& url() const override { return url_; }
  Result<io::SourceInfo> Stat() override {
    VZ_ASSIGN_OR_RETURN(auto* s, Get(0));
    return s->Stat();
  }
  // The end of the bytes the scan will want first (its small chunks), so that the opening
  // request brings them.
  void set_first_end(std::uint64_t end) {
    std::lock_guard<std::mutex> lock(mu_);
    first_end_ = end;
  }
  Result<io::Bytes> ReadAt(std::uint64_t offset, std::uint64_t length) override {
    VZ_ASSIGN_OR_RETURN(auto* s, Get(offset + length));
    return s->ReadAt(offset, length);
  }
  Result<std::vector<io::Bytes>> ReadMany(std::span<const io::ByteRange> ranges) override {
    std::uint64_t end = 0;
    for (const auto& r : ranges) end = std::max(end, r.end());
    VZ_ASSIGN_OR_RETURN(auto* s, Get(end));
    return s->ReadMany(ranges);
  }
  bool opened() {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_ != nullptr;
  }
  std::uint64_t extra_rounds() {
    std::lock_guard<std::mutex> lock(mu_);
    return extra_rounds_;
  }

 private:
  Result<io::ByteSource*> Get(std::uint64_t end) {
    std::lock_guard<std::mutex> lock(mu_);
    if (inner_ == nullptr) {
      RemoteOptions remote = remote_;
      end = std::max(end, first_end_);
      const bool in_first = end > 0 && end <= remote_.open_read;
      remote.open_read = in_first ? end : 1;
      auto opened = OpenUrl(open_url_, remote);
      if (!opened.ok()) {
        return std::move(opened).error().Annotate(
            fmt::format("reading chunk bytes from the granule of sidecar {}", sidecar_));
      }
      inner_ = std::move(opened).value();
      if (!in_first && !IsLocal(open_url_)) extra_rounds_ = 1;
    }
    return inner_.get();
  }

  std::string url_;
  std::string open_url_;
  std::string sidecar_;
  RemoteOptions remote_;
  std::mutex mu_;
  std::unique_ptr<io::ByteSource> inner_;
  std::uint64_t extra_rounds_ = 0;
  std::uint64_t first_end_ = 0;
};

Status CheckInside(const model::VirtualDataset& ds, const std::string& sidecar,
                   const std::string& granule, std::uint64_t size) {
  for (const auto& a : ds.arrays) {
    const auto& m = a.manifest;
    for (std::size_t i = 0; i < m.size(); ++i) {
      if (!m.path_ids.empty() && m.path_ids[i] != 0) continue;
      if (m.inline_data.count(i) != 0) continue;
      if (m.offsets[i] > size || m.lengths[i] > size - m.offsets[i]) {
        return Incompatible(fmt::format(
            "the sidecar {} does not describe the granule {}: it puts chunk {} of {} at {:#x} "
            "({} bytes), past the end of the granule ({} bytes)",
            sidecar, granule, i, a.path, m.offsets[i], m.lengths[i], size));
      }
    }
  }
  return Ok();
}

}  // namespace

Result<MetadataSource> ParseMetadataSource(const std::string& text, const std::string& what) {
  if (text.empty() || text == "granule") return MetadataSource::kGranule;
  if (text == "dmrpp") return MetadataSource::kDmrpp;
  if (text == "auto") return MetadataSource::kAuto;
  return InvalidArgument(fmt::format("{} must be auto, dmrpp or granule, not '{}'", what, text));
}

bool IsSidecarUrl(const std::string& url) {
  return url.size() > kSuffix.size() &&
         url.compare(url.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
}

Result<model::VirtualDataset> OpenAndParseSidecar(const std::string& url,
                                                  const ScanOptions& options, OpenedFile& file) {
  const bool given = IsSidecarUrl(url);
  const MetadataSource mode = given ? MetadataSource::kDmrpp : options.metadata;
  const std::string sidecar_url = given ? url : url + std::string(kSuffix);
  const std::string granule_url = given ? url.substr(0, url.size() - kSuffix.size()) : url;

  RemoteOptions remote = RemoteOptionsFromEnvironment();
  remote.open_read = options.cache.first_read;
  remote.open_tail = 0;
  auto opened = OpenUrl(sidecar_url, remote);
  if (!opened.ok()) {
    if (mode == MetadataSource::kAuto && opened.error().code() == ErrorCode::kNotFound) {
      return OpenAndParseGranule(url, options, file);
    }
    if (opened.error().code() == ErrorCode::kNotFound && !given) {
      return NotFound(
          fmt::format("no DMR++ sidecar at {} (--metadata dmrpp; auto falls back to "
                      "the granule)",
                      sidecar_url));
    }
    return std::move(opened).error();
  }
  auto counted = std::make_unique<io::CountingSource>(**opened);
  VZ_ASSIGN_OR_RETURN(auto info, counted->Stat());
  if (info.size > options.limits.max_metadata_total) {
    return LimitExceeded(fmt::format("the sidecar {} is {} bytes (the limit is {})", sidecar_url,
                                     info.size, options.limits.max_metadata_total));
  }
  VZ_ASSIGN_OR_RETURN(auto bytes, counted->ReadAt(0, info.size));
  if (!dmrpp::LooksLikeDmrpp(bytes)) {
    return Corrupt(fmt::format("{} is not a DMR++ sidecar (not XML)", sidecar_url));
  }
  dmrpp::ReadOptions ro;
  ro.limits = options.limits;
  ro.data_url = ReferenceUrl(granule_url);
  ro.sidecar_url = sidecar_url;
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()),  // NOLINT
                              bytes.size());
  VZ_ASSIGN_OR_RETURN(auto sidecar, dmrpp::Read(text, ro));
  if (mode == MetadataSource::kAuto && !sidecar.gaps.empty()) {
    auto ds = OpenAndParseGranule(url, options, file);
    if (ds.ok()) {
      ds->warnings.push_back(fmt::format(
          "the sidecar {} cannot express {} thing(s), so the granule's metadata was read "
          "instead; the first: {}",
          sidecar_url, sidecar.gaps.size(), sidecar.gaps.front()));
    }
    return ds;
  }
  model::VirtualDataset& ds = sidecar.dataset;
  const std::string& href = sidecar.href;
  if (!href.empty() && href != dmrpp::kDataUrlTemplate && href.find("://") != std::string::npos &&
      href.rfind("file://", 0) != 0 && href != ds.paths[0]) {
    ds.warnings.push_back(
        fmt::format("the sidecar {} names its granule {} (dmrpp:href); references point at {}",
                    sidecar_url, href, ds.paths[0]));
  }

  file.sidecar_raw = std::move(opened).value();
  file.sidecar = std::move(counted);
  file.sidecar_url = sidecar_url;
  auto lazy = std::make_unique<LazyGranule>(granule_url, sidecar_url, remote);
  std::uint64_t small_end = 0;
  for (const auto& a : ds.arrays) {
    const auto& m = a.manifest;
    for (std::size_t i = 0; i < m.size(); ++i) {
      if (m.lengths[i] > 0 && m.lengths[i] < options.kerchunk.inline_threshold &&
          m.inline_data.count(i) == 0 && (m.path_ids.empty() || m.path_ids[i] == 0)) {
        small_end = std::max(small_end, m.offsets[i] + m.lengths[i]);
      }
    }
  }
  lazy->set_first_end(small_end);
  file.raw = std::move(lazy);
  file.source = std::make_unique<io::CountingSource>(*file.raw);
  file.cache = std::make_unique<io::BlockCache>(*file.source, CacheOptionsFor(url, options));
  if (IsLocal(granule_url)) {
    // A local granule costs nothing to look at: check the sidecar against it now, or say that
    // it is missing (small chunks then stay references instead of being embedded).
    auto st = file.source->Stat();
    if (st.ok()) {
      VZ_TRY(CheckInside(ds, sidecar_url, ds.paths[0], st->size));
    } else if (st.error().code() == ErrorCode::kNotFound) {
      file.granule_readable = false;
      ds.warnings.push_back(fmt::format(
          "the granule {} of sidecar {} is not there: references point at it unchecked, and no "
          "chunk was embedded",
          ds.paths[0], sidecar_url));
    } else {
      return std::move(st).error();
    }
  }
  return std::move(ds);
}

std::uint64_t GranuleOpenRounds(OpenedFile& file) {
  auto* lazy = dynamic_cast<LazyGranule*>(file.raw.get());
  return lazy == nullptr ? 0 : lazy->extra_rounds();
}

Status CheckGranuleAgainstSidecar(OpenedFile& file, const model::VirtualDataset& dataset) {
  auto* lazy = dynamic_cast<LazyGranule*>(file.raw.get());
  if (lazy == nullptr || !lazy->opened() || !file.granule_readable) return Ok();
  VZ_ASSIGN_OR_RETURN(auto info, file.raw->Stat());
  VZ_TRY(CheckInside(dataset, file.sidecar_url, file.raw->url(), info.size));
  // Checksums: where the last filter on write was fletcher32, a stored chunk ends in the
  // Fletcher-32 of the rest. The smallest chunk of each such array is read (one round for all)
  // and checked, which catches a sidecar made from another copy of the file even when all its
  // chunks fit inside this one.
  std::vector<io::ByteRange> ranges;
  std::vector<std::pair<const model::Array*, std::size_t>> which;
  for (const auto& a : dataset.arrays) {
    if (a.filters.empty() || a.filters.back().id != 3 || !a.unsupported.empty()) continue;
    const auto& m = a.manifest;
    std::size_t best = m.size();
    for (std::size_t i = 0; i < m.size(); ++i) {
      if (!m.path_ids.empty() && m.path_ids[i] != 0) continue;
      if (!m.filter_masks.empty() && (m.filter_masks[i] & (1u << (a.filters.size() - 1))) != 0) {
        continue;  // fletcher32 skipped for this chunk
      }
      if (m.lengths[i] > 4 && (best == m.size() || m.lengths[i] < m.lengths[best])) best = i;
    }
    if (best == m.size() || m.lengths[best] > (4u << 20)) continue;
    ranges.push_back({m.offsets[best], m.lengths[best]});
    which.emplace_back(&a, best);
  }
  if (ranges.empty()) return Ok();
  VZ_ASSIGN_OR_RETURN(auto blobs, file.source->ReadMany(ranges));
  for (std::size_t k = 0; k < which.size() && k < blobs.size(); ++k) {
    if (!codecs::CheckFletcher32(blobs[k]).ok()) {
      return Incompatible(fmt::format(
          "the sidecar {} does not describe the granule {}: chunk {} of {} at {:#x} ({} bytes) "
          "fails its Fletcher-32 checksum",
          file.sidecar_url, file.raw->url(), which[k].second, which[k].first->path,
          ranges[k].offset, ranges[k].length));
    }
  }
  return Ok();
}

}  // namespace vz::app
