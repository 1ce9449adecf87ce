// The bitshuffle HDF5 filter (id 32008; github.com/kiyo-masui/bitshuffle, bshuf_h5filter.c).
//
// Client data: [0] major, [1] minor version, [2] element size, [3] block size in elements
// (0 = the default: 8192 bytes' worth, a multiple of 8, at least 128), [4] compression
// (0 none, 2 lz4, 3 zstd), [5] zstd level.
//
// A chunk of n elements is cut into blocks of block-size elements, the last one cut down to a
// multiple of 8; each block is bit-transposed (bit k of element i becomes bit i of bit plane k,
// planes of n/8 bytes, bits least significant first); the n % 8 elements left over are copied
// as they are at the end. Without compression the chunk is exactly that. With lz4 or zstd it
// starts with the decoded size (u64 big-endian) and the block size in bytes (u32 big-endian),
// and every block is stored as its compressed size (u32 big-endian) and the compressed bytes;
// the left-over elements follow raw.
#include <fmt/format.h>
#include <lz4.h>

#include <climits>
#include <cstring>

#include "vz/base/byte_cursor.h"
#include "vz/codecs/filters.h"

namespace vz::codecs {
namespace {

constexpr std::uint32_t kNone = 0;
constexpr std::uint32_t kLz4 = 2;
constexpr std::uint32_t kZstd = 3;

Error Fail(const std::string& why) { return Corrupt("bitshuffle decode failed: " + why); }

std::size_t DefaultBlockSize(std::size_t element_size) {
  std::size_t block = 8192 / element_size;
  block = block / 8 * 8;
  return std::max<std::size_t>(block, 128);
}

// Reverses the bit transpose of one block of `n` elements (n a multiple of 8) of `size` bytes.
void BitUnshuffleBlock(ByteSpan in, std::size_t n, std::size_t size, std::uint8_t* out) {
  std::memset(out, 0, n * size);
  const std::size_t plane = n / 8;  // bytes per bit plane
  for (std::size_t k = 0; k < 8 * size; ++k) {
    const std::uint8_t* row = in.data() + k * plane;
    const std::size_t byte = k / 8;
    const auto bit = static_cast<unsigned>(k % 8);
    for (std::size_t j = 0; j < plane; ++j) {
      const unsigned bits = row[j];
      if (bits == 0) continue;
      for (unsigned b = 0; b < 8; ++b) {
        if ((bits >> b) & 1u)
          out[(j * 8 + b) * size + byte] |= static_cast<std::uint8_t>(1u << bit);
      }
    }
  }
}

}  // namespace

Result<Bytes> DecodeBitshuffle(ByteSpan in, std::span<const std::uint32_t> cd,
                               const model::DType& dtype, std::uint64_t max_output) {
  const std::size_t size = cd.size() > 2 && cd[2] != 0 ? cd[2] : dtype.size;
  if (size == 0) return Fail("element size 0");
  const std::uint32_t compression = cd.size() > 4 ? cd[4] : kNone;
  if (compression != kNone && compression != kLz4 && compression != kZstd) {
    return Unsupported(
        fmt::format("bitshuffle compression {} (known: 0 none, 2 lz4, 3 zstd)", compression));
  }
  ByteCursor cur(in);
  std::uint64_t total = in.size();
  std::size_t block = cd.size() > 3 && cd[3] != 0 ? cd[3] : DefaultBlockSize(size);
  if (compression != kNone) {
    auto t = cur.U64BE();
    auto b = cur.U32BE();
    if (!t.ok() || !b.ok()) return Fail("chunk shorter than its 12-byte header");
    total = *t;
    block = *b / size;
    if (block == 0 || *b % size != 0 || block % 8 != 0) {
      return Fail(
          fmt::format("block of {} bytes is not a multiple of 8 elements of {} bytes", *b, size));
    }
  }
  if (total > max_output) {
    return LimitExceeded(fmt::format(
        "bitshuffle chunk of {} bytes exceeds the decode limit of {} bytes", total, max_output));
  }
  if (total % size != 0) {
    return Fail(fmt::format("{} bytes is not a whole number of {}-byte elements", total, size));
  }
  const std::uint64_t n = total / size;
  Bytes out(static_cast<std::size_t>(total));
  Bytes scratch;
  std::size_t pos = 0;  // elements written
  while (n - pos >= 8) {
    std::size_t count = std::min<std::uint64_t>(block, n - pos);
    count -= count % 8;
    const std::size_t bytes = count * size;
    ByteSpan shuffled;
    if (compression == kNone) {
      auto raw = cur.Bytes(bytes);
      if (!raw.ok()) return Fail(fmt::format("chunk truncated at byte {}", cur.pos()));
      shuffled = *raw;
    } else {
      auto stored = cur.U32BE();
      if (!stored.ok()) return Fail(fmt::format("chunk truncated at byte {}", cur.pos()));
      auto packed = cur.Bytes(*stored);
      if (!packed.ok()) {
        return Fail(fmt::format("block at byte {} of {} bytes runs past the chunk's end", cur.pos(),
                                *stored));
      }
      if (compression == kLz4) {
        if (*stored > INT_MAX || bytes > INT_MAX) return Fail("block too large");
        scratch.resize(bytes);
        // NOLINTNEXTLINE(*-reinterpret-cast): lz4's C API takes char buffers
        const int got = LZ4_decompress_safe(reinterpret_cast<const char*>(packed->data()),
                                            reinterpret_cast<char*>(scratch.data()),  // NOLINT
                                            static_cast<int>(*stored), static_cast<int>(bytes));
        if (got < 0 || static_cast<std::size_t>(got) != bytes) {
          return Fail(fmt::format("lz4 block at byte {} does not decode to {} bytes",
                                  cur.pos() - *stored, bytes));
        }
      } else {
        VZ_ASSIGN_OR_RETURN(scratch, DecodeZstd(*packed, bytes));
        if (scratch.size() != bytes) {
          return Fail(fmt::format("zstd block at byte {} does not decode to {} bytes",
                                  cur.pos() - *stored, bytes));
        }
      }
      shuffled = scratch;
    }
    BitUnshuffleBlock(shuffled, count, size, out.data() + pos * size);
    pos += count;
  }
  const std::size_t left = static_cast<std::size_t>(n - pos) * size;
  auto tail = cur.Bytes(left);
  if (!tail.ok()) return Fail(fmt::format("chunk truncated at byte {}", cur.pos()));
  if (left != 0) std::memcpy(out.data() + pos * size, tail->data(), left);
  return out;
}

}  // namespace vz::codecs
