#include "vz/hdf5/context.h"

#include <fmt/format.h>

#include <algorithm>

#include "vz/base/checked.h"

namespace vz::hdf5 {

bool FileContext::IsUndefined(std::uint64_t address) const {
  if (size_of_offsets >= 8) return address == kUndefinedAddress;
  return address == ((std::uint64_t{1} << (8 * size_of_offsets)) - 1);
}

namespace {
Status CheckRange(const FileContext& ctx, std::uint64_t address, std::uint64_t length,
                  const char* what) {
  if (length > ctx.limits.max_metadata_block) {
    return LimitExceeded(fmt::format("{} at {:#x}: {} bytes exceeds the metadata block limit", what,
                                     address, length));
  }
  auto abs = AddU64(ctx.base_address, address);
  auto end = abs ? AddU64(*abs, length) : std::nullopt;
  if (!end || *end > ctx.file_size) {
    return Corrupt(fmt::format("{} at {:#x} (+{} bytes) lies beyond the end of the file ({} bytes)",
                               what, address, length, ctx.file_size));
  }
  return Ok();
}
}  // namespace

Result<io::Bytes> FileContext::Read(std::uint64_t address, std::uint64_t length, const char* what) {
  VZ_TRY(CheckRange(*this, address, length, what));
  metadata_bytes_read += length;
  if (metadata_bytes_read > limits.max_metadata_total) {
    return LimitExceeded(fmt::format("metadata read exceeds {} bytes", limits.max_metadata_total));
  }
  return source->ReadAt(base_address + address, length);
}

Result<std::vector<io::Bytes>> FileContext::ReadMany(std::span<const io::ByteRange> ranges,
                                                     const char* what) {
  std::vector<io::ByteRange> abs;
  abs.reserve(ranges.size());
  for (const auto& r : ranges) {
    VZ_TRY(CheckRange(*this, r.offset, r.length, what));
    metadata_bytes_read += r.length;
    abs.push_back({base_address + r.offset, r.length});
  }
  if (metadata_bytes_read > limits.max_metadata_total) {
    return LimitExceeded(fmt::format("metadata read exceeds {} bytes", limits.max_metadata_total));
  }
  return source->ReadMany(abs);
}

void FileContext::Prefetch(std::span<const io::ByteRange> ranges) {
  std::vector<io::ByteRange> abs;
  abs.reserve(ranges.size());
  for (const auto& r : ranges) {
    const std::uint64_t end_of_file = file_size - std::min(file_size, base_address);
    if (r.offset >= end_of_file || r.length == 0) continue;
    const std::uint64_t length =
        std::min({r.length, end_of_file - r.offset, limits.max_metadata_block});
    abs.push_back({base_address + r.offset, length});
  }
  if (abs.empty()) return;
  (void)source->Prefetch(abs);  // a failed prefetch is reported by the read that needed it
}

}  // namespace vz::hdf5
