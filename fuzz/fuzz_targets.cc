#include "fuzz/fuzz_targets.h"

#include <sstream>

#include "vz/hdf5/reader.h"
#include "vz/io/byte_source.h"
#include "vz/netcdf3/reader.h"
#include "vz/refs/kerchunk.h"

namespace vz::fuzz {
namespace {

void WriteRefs(model::VirtualDataset& ds, io::ByteSource& src) {
  refs::KerchunkOptions options;
  options.max_decoded_inline = 1 << 20;
  if (!refs::MaterializeInline(ds, src, options).ok()) return;
  std::ostringstream out;
  (void)refs::WriteKerchunkJson(ds, options, out);
}

}  // namespace

int RunHdf5(const std::uint8_t* data, std::size_t size) {
  io::MemorySource src(io::Bytes(data, data + size), "fuzz.h5");
  hdf5::ReadOptions options;
  options.limits = FuzzLimits();
  auto ds = hdf5::Read(src, options);
  if (ds.ok()) WriteRefs(*ds, src);
  return 0;
}

int RunNetcdf3(const std::uint8_t* data, std::size_t size) {
  io::MemorySource src(io::Bytes(data, data + size), "fuzz.nc");
  auto ds = netcdf3::Read(src, FuzzLimits());
  if (ds.ok()) WriteRefs(*ds, src);
  return 0;
}

}  // namespace vz::fuzz
