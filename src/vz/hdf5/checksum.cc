// Bob Jenkins' lookup3 hashlittle() over bytes, which HDF5 stores after every checksummed
// metadata structure (spec III.F "Checksums"). Bytes are assembled explicitly little-endian,
// so the result does not depend on the host or on alignment.
#include "vz/hdf5/checksum.h"

#include <fmt/format.h>

namespace vz::hdf5 {

namespace {

constexpr std::uint32_t Rot(std::uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

void Mix(std::uint32_t& a, std::uint32_t& b, std::uint32_t& c) {
  a -= c;
  a ^= Rot(c, 4);
  c += b;
  b -= a;
  b ^= Rot(a, 6);
  a += c;
  c -= b;
  c ^= Rot(b, 8);
  b += a;
  a -= c;
  a ^= Rot(c, 16);
  c += b;
  b -= a;
  b ^= Rot(a, 19);
  a += c;
  c -= b;
  c ^= Rot(b, 4);
  b += a;
}

void Final(std::uint32_t& a, std::uint32_t& b, std::uint32_t& c) {
  c ^= b;
  c -= Rot(b, 14);
  a ^= c;
  a -= Rot(c, 11);
  b ^= a;
  b -= Rot(a, 25);
  c ^= b;
  c -= Rot(b, 16);
  a ^= c;
  a -= Rot(c, 4);
  b ^= a;
  b -= Rot(a, 14);
  c ^= b;
  c -= Rot(b, 24);
}

// Little-endian word of up to 4 bytes starting at p (missing high bytes are zero).
std::uint32_t Word(const std::uint8_t* p, std::size_t n) {
  std::uint32_t w = 0;
  for (std::size_t i = 0; i < n; ++i) w |= static_cast<std::uint32_t>(p[i]) << (8 * i);
  return w;
}

}  // namespace

std::uint32_t Lookup3(std::span<const std::uint8_t> data, std::uint32_t initval) {
  std::size_t length = data.size();
  // The reference adds the length as a 32-bit value.
  std::uint32_t a = 0xdeadbeefu + static_cast<std::uint32_t>(length) + initval;
  std::uint32_t b = a;
  std::uint32_t c = a;
  const std::uint8_t* k = data.data();
  while (length > 12) {
    a += Word(k, 4);
    b += Word(k + 4, 4);
    c += Word(k + 8, 4);
    Mix(a, b, c);
    length -= 12;
    k += 12;
  }
  if (length == 0) return c;
  // The last block of 1..12 bytes: bytes missing at the end count as zero.
  a += Word(k, length < 4 ? length : 4);
  if (length > 4) b += Word(k + 4, length < 8 ? length - 4 : 4);
  if (length > 8) c += Word(k + 8, length - 8);
  Final(a, b, c);
  return c;
}

Status VerifyChecksum(std::span<const std::uint8_t> covered, std::uint32_t stored, const char* what,
                      std::uint64_t at) {
  const std::uint32_t computed = Lookup3(covered);
  if (computed != stored) {
    return Corrupt(fmt::format("{} at {:#x}: bad checksum (stored {:#010x}, computed {:#010x})",
                               what, at, stored, computed));
  }
  return Ok();
}

}  // namespace vz::hdf5
