#include "fuzz/fuzz_targets.h"

#include <sstream>

#include "vz/app/catalog.h"
#include "vz/combine/combine.h"
#include "vz/dmrpp/reader.h"
#include "vz/hdf5/reader.h"
#include "vz/io/block_cache.h"
#include "vz/io/byte_source.h"
#include "vz/materialize/materialize.h"
#include "vz/netcdf3/reader.h"
#include "vz/refs/kerchunk.h"
#include "vz/refs/store.h"

namespace vz::fuzz {
namespace {

void WriteRefs(model::VirtualDataset& ds, io::ByteSource& src) {
  refs::KerchunkOptions options;
  options.max_decoded_inline = 1 << 20;
  if (!materialize::MaterializeInline(ds, src, options).ok()) return;
  std::ostringstream out;
  (void)refs::WriteKerchunkJson(ds, options, out);
}

}  // namespace

int RunHdf5(const std::uint8_t* data, std::size_t size) {
  io::MemorySource src(io::Bytes(data, data + size), "fuzz.h5");
  // Through a small-block cache, as a remote file is read: prefetching and the tail read run.
  io::BlockCache cache(src, io::BlockCacheOptions{4096, 1024, 1 << 20, 1024});
  hdf5::ReadOptions options;
  options.limits = FuzzLimits();
  auto ds = hdf5::Read(cache, options);
  if (ds.ok()) WriteRefs(*ds, src);
  return 0;
}

int RunNetcdf3(const std::uint8_t* data, std::size_t size) {
  io::MemorySource src(io::Bytes(data, data + size), "fuzz.nc");
  auto ds = netcdf3::Read(src, FuzzLimits());
  if (ds.ok()) WriteRefs(*ds, src);
  return 0;
}

int RunDmrpp(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  dmrpp::ReadOptions options;
  options.limits = FuzzLimits();
  options.data_url = "fuzz.h5";
  options.sidecar_url = "fuzz.h5.dmrpp";
  auto sidecar = dmrpp::Read(text, options);
  if (!sidecar.ok()) return 0;
  // The granule: 64 KiB of a pattern, so small chunks are embedded and decoded as a scan does.
  io::Bytes granule(64 << 10);
  for (std::size_t i = 0; i < granule.size(); ++i) granule[i] = static_cast<std::uint8_t>(i * 31);
  io::MemorySource src(std::move(granule), "fuzz.h5");
  WriteRefs(sidecar->dataset, src);
  return 0;
}

int RunRefStore(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  auto store = refs::ReadRefStore(text, "fuzz.json");
  if (!store.ok()) return 0;
  std::ostringstream out;
  (void)refs::WriteRefStore(*store, out);
  for (const char* dim : {"time", "x"}) {
    combine::CombineOptions options;
    options.concat_dim = dim;
    combine::Combiner combiner(options);
    if (!combiner.Add(*store, "a.json").ok()) continue;
    (void)combiner.Add(*store, "b.json");
    auto combined = combiner.Finish();
    if (combined.ok()) {
      std::ostringstream again;
      (void)refs::WriteRefStore(*combined, again);
    }
  }
  combine::CombineOptions stack;
  stack.new_dim = "granule";
  combine::Combiner stacked(stack);
  if (stacked.Add(*store, "a.json").ok() && stacked.Add(*store, "b.json").ok()) {
    (void)stacked.Finish();
  }
  return 0;
}

int RunCatalog(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);  // NOLINT
  (void)app::ParseGranulePage(text);
  auto profile = app::ParseSearchProfile(text);
  if (profile.ok()) {
    app::JobConfig c;
    c.collection = "C";
    c.start_date = "2024-01-01";
    c.end_date = "2024-12-31";
    c.searches = *profile;
    auto plan = app::PlanSearches(c);
    if (plan.ok()) {
      for (const auto& s : *plan) (void)app::GranuleSearchUrl("http://cmr.test/search", s);
    }
  }
  return 0;
}

}  // namespace vz::fuzz
