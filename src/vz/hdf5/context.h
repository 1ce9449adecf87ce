// Shared state of one HDF5 file read: the source, the superblock's sizes, the limits. Every
// structure decoder takes a FileContext& and reads through it, so addresses are checked against
// the file size and made absolute (base address) in one place.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vz/base/byte_cursor.h"
#include "vz/base/error.h"
#include "vz/base/limits.h"
#include "vz/io/byte_source.h"

namespace vz::hdf5 {

inline constexpr std::uint64_t kUndefinedAddress = ~std::uint64_t{0};

struct FileContext {
  io::ByteSource* source = nullptr;  // normally a BlockCache
  std::uint64_t file_size = 0;
  std::uint64_t base_address = 0;  // superblock base: all addresses are relative to it
  std::uint8_t size_of_offsets = 8;
  std::uint8_t size_of_lengths = 8;
  std::uint8_t superblock_version = 0;
  Limits limits;
  std::uint64_t metadata_bytes_read = 0;  // checked against limits.max_metadata_total

  // True for the all-ones "undefined address" of the current offset size.
  bool IsUndefined(std::uint64_t address) const;
  // Reads `length` bytes at relative `address` (checked against the file size and
  // limits.max_metadata_block). The error names the address and `what`.
  Result<io::Bytes> Read(std::uint64_t address, std::uint64_t length, const char* what);
  // Reads several (relative) ranges in one round (one ReadMany): use it for B-tree levels.
  Result<std::vector<io::Bytes>> ReadMany(std::span<const io::ByteRange> ranges, const char* what);
  // Asks the source to fetch these (relative) ranges in one round ahead of the reads that will
  // need them. Only a hint: ranges are clipped to the file, failures are left to those reads.
  void Prefetch(std::span<const io::ByteRange> ranges);
  // An "offset" / "length" field of the superblock's sizes.
  Result<std::uint64_t> ReadOffset(ByteCursor& cur) const { return cur.UintLE(size_of_offsets); }
  Result<std::uint64_t> ReadLength(ByteCursor& cur) const { return cur.UintLE(size_of_lengths); }
  // Absolute file offset of a relative address (for chunk references and messages).
  std::uint64_t Absolute(std::uint64_t address) const { return base_address + address; }
};

}  // namespace vz::hdf5
